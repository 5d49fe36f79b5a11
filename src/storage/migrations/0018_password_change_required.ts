import type { Kysely } from "kysely";

// Kinde's is_password_reset_requested and is_temporary_password: the account must choose a new
// password at its next sign-in (a step of the sign-in, src/sign-in/steps.ts) before it gets a code.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("users")
    .addColumn("password_change_required", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
}
