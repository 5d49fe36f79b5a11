import type { Selectable, Updateable } from "kysely";
import type { Clock } from "../clock.js";
import { newId } from "../crypto/random.js";
import { configCacheFor } from "../oauth/config-cache.js";
import type { Db } from "../storage/database.js";
import type { BusinessTable } from "../storage/schema.js";

export const DEFAULT_BUSINESS_NAME = "Latchkey";

export type BusinessRow = Selectable<BusinessTable>;
// The dashboard's and the Management API's generated applications are set by bootstrap alone
// (src/dashboard/dashboard-app.ts, src/bootstrap.ts); the sign-in methods by setSignInMethods
// alone, which keeps at least one of them on.
export type BusinessChanges = Omit<
  Updateable<BusinessTable>,
  | "id"
  | "created_at"
  | "updated_at"
  | "dashboard_client_id"
  | "bootstrap_client_id"
  | "sign_in_password"
  | "sign_in_email_code"
>;

/** Which ways of signing in the hosted pages offer (migration 0019). */
export interface SignInMethods {
  password: boolean;
  email_code: boolean;
}

export const DEFAULT_SIGN_IN_METHODS: Readonly<SignInMethods> = Object.freeze({
  password: true,
  email_code: true,
});

function signInMethodsOf(
  row: Pick<BusinessRow, "sign_in_password" | "sign_in_email_code"> | undefined,
): Readonly<SignInMethods> {
  if (!row) return DEFAULT_SIGN_IN_METHODS;
  const methods = { password: row.sign_in_password === 1, email_code: row.sign_in_email_code === 1 };
  // Neither is only reachable by hand-written SQL (setSignInMethods refuses it): a sign-in page
  // offering nothing would lock everyone out, administrators included, so both are offered.
  if (!methods.password && !methods.email_code) return DEFAULT_SIGN_IN_METHODS;
  return Object.freeze(methods);
}

export class BusinessStore {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async name(): Promise<string> {
    const row = await this.db.selectFrom("business").select("name").executeTakeFirst();
    return row?.name ?? DEFAULT_BUSINESS_NAME;
  }

  /**
   * The sign-in methods, read on every sign-in page and form: served from the configuration cache
   * (src/oauth/config-cache.ts), which re-reads them as soon as anyone writes them (migration 0019's
   * triggers move the generation it checks), so no request ever sees a stale setting and a page view
   * costs no query of its own. Inside a transaction the row itself is read.
   */
  signInMethods(): Promise<Readonly<SignInMethods>> {
    const read = async () =>
      signInMethodsOf(
        await this.db
          .selectFrom("business")
          .select(["sign_in_password", "sign_in_email_code"])
          .executeTakeFirst(),
      );
    if (this.db.isTransaction) return read();
    return configCacheFor(this.db).memo("business:sign_in_methods", read);
  }

  /** Sets both methods at once; refuses turning both off (nobody could sign in any more). */
  async setSignInMethods(methods: SignInMethods): Promise<Readonly<SignInMethods>> {
    if (!methods.password && !methods.email_code) throw new NoSignInMethodError();
    const { id } = await this.get();
    await this.db
      .updateTable("business")
      .set({
        sign_in_password: methods.password ? 1 : 0,
        sign_in_email_code: methods.email_code ? 1 : 0,
        updated_at: this.clock.now(),
      })
      .where("id", "=", id)
      .execute();
    return signInMethodsOf({
      sign_in_password: methods.password ? 1 : 0,
      sign_in_email_code: methods.email_code ? 1 : 0,
    });
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

export class NoSignInMethodError extends Error {
  constructor() {
    super("At least one sign-in method must stay on: password or email_code");
  }
}
