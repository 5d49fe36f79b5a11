import type { Kysely } from "kysely";

// Security review M1: a SCIM group grants a role only when an administrator allowed that role's key
// for the directory (Latchkey's `assignable_role_keys` on /api/v1/directories/{id}). A JSON array
// of role keys, empty by default: existing directories' groups then grant nothing until allowed.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("scim_directories")
    .addColumn("assignable_role_keys", "text", (c) => c.notNull().defaultTo("[]"))
    .execute();
}
