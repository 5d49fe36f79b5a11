import type { Selectable, Updateable } from "kysely";
import type { Clock } from "../clock.js";
import { newId } from "../crypto/random.js";
import type { Db } from "../storage/database.js";
import type { BusinessTable } from "../storage/schema.js";

export const DEFAULT_BUSINESS_NAME = "Latchkey";

export type BusinessRow = Selectable<BusinessTable>;
// The dashboard's application is set by bootstrap alone (src/dashboard/dashboard-app.ts).
export type BusinessChanges = Omit<
  Updateable<BusinessTable>,
  "id" | "created_at" | "updated_at" | "dashboard_client_id"
>;

export class BusinessStore {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async name(): Promise<string> {
    const row = await this.db.selectFrom("business").select("name").executeTakeFirst();
    return row?.name ?? DEFAULT_BUSINESS_NAME;
  }

  /** The business this installation serves (created on first use if the bootstrap has not run). */
  async get(): Promise<BusinessRow> {
    const row = await this.db.selectFrom("business").selectAll().executeTakeFirst();
    if (row) return row;
    await this.ensure();
    return this.db.selectFrom("business").selectAll().executeTakeFirstOrThrow();
  }

  async update(changes: BusinessChanges): Promise<void> {
    const { id } = await this.get();
    await this.db
      .updateTable("business")
      .set({ ...changes, updated_at: this.clock.now() })
      .where("id", "=", id)
      .execute();
  }

  /** Creates the business row of a new installation (idempotent). */
  async ensure(): Promise<void> {
    const existing = await this.db.selectFrom("business").select("id").executeTakeFirst();
    if (existing) return;
    const now = this.clock.now();
    await this.db
      .insertInto("business")
      .values({ id: newId.business(), name: DEFAULT_BUSINESS_NAME, created_at: now, updated_at: now })
      .execute();
  }
}
