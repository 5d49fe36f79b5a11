import type { Kysely } from "kysely";

// Issue 19: applications' access roles and Hasura mapping.
// - applications.is_access_control_enabled: Kinde's role-based access to an application (PATCH
//   /api/v1/applications/{id}); when 1, only people holding one of its access roles, in the
//   organization they sign in to, may sign in to it (src/oauth/access-control.ts).
// - applications.is_hasura_mapping_enabled: Kinde's Hasura mode (PATCH …/tokens): the application's
//   tokens carry Kinde's claims under x-hasura- names. Both are columns of applications, so a change
//   moves config_generation (0009) and the token endpoint's cached client sees it at once.
// - application_access_roles: the roles allowed to sign in to an application; they go with the
//   application and with the role (a deleted role admits nobody any more).

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("applications")
    .addColumn("is_access_control_enabled", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable("applications")
    .addColumn("is_hasura_mapping_enabled", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createTable("application_access_roles")
    .addColumn("application_id", "text", (c) => c.notNull().references("applications.id").onDelete("cascade"))
    .addColumn("role_id", "text", (c) => c.notNull().references("roles.id").onDelete("cascade"))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("application_access_roles_pk", ["application_id", "role_id"])
    .execute();
  await db.schema
    .createIndex("application_access_roles_role")
    .on("application_access_roles")
    .column("role_id")
    .execute();
}
