import type { Clock } from "../clock.js";
import { newId } from "../crypto/random.js";
import type { Db } from "../storage/database.js";

export const DEFAULT_BUSINESS_NAME = "Latchkey";

export class BusinessStore {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async name(): Promise<string> {
    const row = await this.db.selectFrom("business").select("name").executeTakeFirst();
    return row?.name ?? DEFAULT_BUSINESS_NAME;
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
