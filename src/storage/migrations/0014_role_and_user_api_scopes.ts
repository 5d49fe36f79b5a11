import type { Kysely } from "kysely";

// Kinde's role scopes and organization-user API scopes: which API scopes a user holds, and so
// which of the scopes an app requests for them reach their access token (src/oauth/user-scopes.ts).
// A role holds scopes of any API; a member holds them through their roles in an organization or
// directly in it. Every row leaves with what it hangs on: the role, the scope (and so its API),
// the membership (and so the user and the organization).
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("role_scopes")
    .addColumn("role_id", "text", (c) => c.notNull().references("roles.id").onDelete("cascade"))
    .addColumn("scope_id", "text", (c) => c.notNull().references("api_scopes.id").onDelete("cascade"))
    .addPrimaryKeyConstraint("role_scopes_pk", ["role_id", "scope_id"])
    .execute();
  // Deleting a scope finds its rows without reading the whole table.
  await db.schema.createIndex("role_scopes_scope").on("role_scopes").column("scope_id").execute();

  await db.schema
    .createTable("organization_user_api_scopes")
    .addColumn("org_code", "text", (c) => c.notNull())
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("scope_id", "text", (c) => c.notNull().references("api_scopes.id").onDelete("cascade"))
    .addPrimaryKeyConstraint("organization_user_api_scopes_pk", ["org_code", "user_id", "scope_id"])
    .addForeignKeyConstraint(
      "organization_user_api_scopes_member_fk",
      ["org_code", "user_id"],
      "organization_users",
      ["org_code", "user_id"],
      (fk) => fk.onDelete("cascade"),
    )
    .execute();
  await db.schema
    .createIndex("organization_user_api_scopes_scope")
    .on("organization_user_api_scopes")
    .column("scope_id")
    .execute();
}
