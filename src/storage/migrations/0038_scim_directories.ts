import type { Kysely } from "kysely";

// SCIM directories (issue 19): Kinde's /api/v1/directories and, per directory, a SCIM 2.0 service
// provider (RFC 7643/7644) at <issuer>/scim/v2/<endpoint_id> that an organization's IdP calls.
// - scim_directories: one per organization (Kinde's DIRECTORY_EXISTS). `endpoint_id` (ksde_ + 32
//   hex) names the SCIM base URL; `token_hash` is the SHA-256 of the bearer token the IdP sends,
//   shown once at creation (a 256-bit random value: a fast hash is right, compared in constant time).
// - scim_users: the accounts a directory provisioned. The SCIM id is the Latchkey user id;
//   `user_name_key` is userName lower-cased, unique per directory (RFC 7643 §4.1.1: userName is
//   caseExact false, so "Ada@X" and "ada@x" are one user). `resource` is the JSON the IdP sent
//   (minus what has columns), returned as it was given. `created_account` says whether the
//   directory made the account (then deleting it through SCIM deletes the account).
// - scim_groups / scim_group_members: groups and their members; a group whose displayName is a
//   role key gives its members that role in the directory's organization.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("scim_directories")
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("endpoint_id", "text", (c) => c.notNull().unique())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("provider_code", "text", (c) => c.notNull())
    .addColumn("org_code", "text", (c) =>
      c.notNull().unique().references("organizations.code").onDelete("cascade"),
    )
    .addColumn("enterprise_connection_id", "text", (c) =>
      c.references("sign_in_connections.id").onDelete("set null"),
    )
    .addColumn("token_hash", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull().defaultTo("Pending"))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addColumn("last_sync_started_at", "bigint")
    .addColumn("last_sync_completed_at", "bigint")
    .addColumn("last_sync_error", "text")
    .execute();
  await db.schema
    .createIndex("scim_directories_created")
    .on("scim_directories")
    .columns(["created_at", "id"])
    .execute();

  await db.schema
    .createTable("scim_users")
    .addColumn("directory_id", "text", (c) =>
      c.notNull().references("scim_directories.id").onDelete("cascade"),
    )
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("user_name", "text", (c) => c.notNull())
    .addColumn("user_name_key", "text", (c) => c.notNull())
    .addColumn("external_id", "text")
    .addColumn("active", "integer", (c) => c.notNull().defaultTo(1))
    .addColumn("resource", "text", (c) => c.notNull())
    .addColumn("created_account", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("version", "integer", (c) => c.notNull().defaultTo(1))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("scim_users_pk", ["directory_id", "user_id"])
    .addUniqueConstraint("scim_users_user_name", ["directory_id", "user_name_key"])
    .execute();
  await db.schema.createIndex("scim_users_user").on("scim_users").column("user_id").execute();

  await db.schema
    .createTable("scim_groups")
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("directory_id", "text", (c) =>
      c.notNull().references("scim_directories.id").onDelete("cascade"),
    )
    .addColumn("display_name", "text", (c) => c.notNull())
    .addColumn("display_name_key", "text", (c) => c.notNull())
    .addColumn("external_id", "text")
    .addColumn("version", "integer", (c) => c.notNull().defaultTo(1))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addUniqueConstraint("scim_groups_display_name", ["directory_id", "display_name_key"])
    .execute();
  await db.schema
    .createTable("scim_group_members")
    .addColumn("group_id", "text", (c) => c.notNull().references("scim_groups.id").onDelete("cascade"))
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addPrimaryKeyConstraint("scim_group_members_pk", ["group_id", "user_id"])
    .execute();
  await db.schema.createIndex("scim_group_members_user").on("scim_group_members").column("user_id").execute();
}
