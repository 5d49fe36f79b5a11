import type { Kysely } from "kysely";

// Issue 19: session lifetimes for organizations and applications, and who was active when.
// - applications.authenticated_session_lifetime: Kinde's PATCH …/tokens field, seconds; null = the
//   environment's (src/sign-in/session-lifetime.ts).
// - organizations: Kinde's PATCH /organizations/{org_code}/sessions — the SSO session policy
//   override (is_use_org_sso_session_policy + sso_session_persistence_mode) and the authenticated
//   session lifetime override (is_use_org_authenticated_session_lifetime + seconds).
// - organization_user_roles gains (org_code, role_id, user_id): the holders of one role in one
//   organization, in user id order, without scanning the organization's other roles.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("applications").addColumn("authenticated_session_lifetime", "integer").execute();
  await db.schema
    .alterTable("organizations")
    .addColumn("sso_session_policy_enabled", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable("organizations").addColumn("sso_session_persistence", "text").execute();
  await db.schema
    .alterTable("organizations")
    .addColumn("session_lifetime_enabled", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable("organizations")
    .addColumn("authenticated_session_lifetime", "integer")
    .execute();
  await db.schema
    .createIndex("organization_user_roles_role")
    .on("organization_user_roles")
    .columns(["org_code", "role_id", "user_id"])
    .execute();
}
