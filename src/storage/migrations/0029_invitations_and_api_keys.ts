import type { Kysely } from "kysely";

// Organization invitations and API keys for customers' APIs (issue 19).
// - organization_invitations: Kinde's /api/v1/organization/{org_code}/invites. `id` (inv_ + 32 hex)
//   names the invitation to administrators; the code that accepts it is a separate 256-bit secret,
//   kept only as its SHA-256 (code_hash), shown once when the invitation is made. The address is
//   canonical (src/users/email.ts). accepted_at / revoked_at end it; accepting is one conditional
//   UPDATE (accepted_at IS NULL …) in the transaction that adds the membership, so it works once.
// - organization_invitation_roles: the roles the invitee gets in the organization (a role deleted
//   since is simply not given).
// - api_keys: keys a customer's API verifies (POST /api/v1/api_keys/verify). `lookup` is the key's
//   visible prefix, unique, found by an index; key_hash is the SHA-256 of the whole key, compared in
//   constant time. Owned by a user or an organization (or the environment), scoped to one API.
// - api_key_scopes: the API's scopes the key carries.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("organization_invitations")
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("code_hash", "text", (c) => c.notNull().unique())
    .addColumn("org_code", "text", (c) => c.notNull().references("organizations.code").onDelete("cascade"))
    .addColumn("email", "text", (c) => c.notNull())
    .addColumn("first_name", "text")
    .addColumn("last_name", "text")
    .addColumn("is_sent", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .addColumn("accepted_at", "bigint")
    .addColumn("accepted_by", "text", (c) => c.references("users.id").onDelete("set null"))
    .addColumn("revoked_at", "bigint")
    .execute();
  await db.schema
    .createIndex("organization_invitations_org")
    .on("organization_invitations")
    .columns(["org_code", "created_at"])
    .execute();
  await db.schema
    .createTable("organization_invitation_roles")
    .addColumn("invitation_id", "text", (c) =>
      c.notNull().references("organization_invitations.id").onDelete("cascade"),
    )
    .addColumn("role_id", "text", (c) => c.notNull().references("roles.id").onDelete("cascade"))
    .addPrimaryKeyConstraint("organization_invitation_roles_pk", ["invitation_id", "role_id"])
    .execute();

  await db.schema
    .createTable("api_keys")
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull().defaultTo("active"))
    .addColumn("lookup", "text", (c) => c.notNull().unique())
    .addColumn("key_hash", "text", (c) => c.notNull())
    .addColumn("key_suffix", "text", (c) => c.notNull())
    .addColumn("api_id", "text", (c) => c.notNull().references("apis.id").onDelete("cascade"))
    .addColumn("user_id", "text", (c) => c.references("users.id").onDelete("cascade"))
    .addColumn("org_code", "text", (c) => c.references("organizations.code").onDelete("cascade"))
    .addColumn("created_by", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("rotated_at", "bigint")
    .addColumn("last_verified_at", "bigint")
    .addColumn("last_verified_ip", "text")
    .addColumn("verification_count", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex("api_keys_created").on("api_keys").columns(["created_at", "id"]).execute();
  await db.schema
    .createTable("api_key_scopes")
    .addColumn("api_key_id", "text", (c) => c.notNull().references("api_keys.id").onDelete("cascade"))
    .addColumn("scope_id", "text", (c) => c.notNull().references("api_scopes.id").onDelete("cascade"))
    .addPrimaryKeyConstraint("api_key_scopes_pk", ["api_key_id", "scope_id"])
    .execute();
}
