import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  // Kinde's organizations: the tenants of a B2B app. Exactly one is the default (is_default = 1),
  // which every new user joins; `branding` is JSON text (colours, theme) shown by hosted pages.
  await db.schema
    .createTable("organizations")
    .addColumn("code", "text", (c) => c.primaryKey().notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("handle", "text")
    .addColumn("external_id", "text")
    .addColumn("is_default", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("is_auto_membership_enabled", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("is_allow_registrations", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("is_suspended", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("suspended_at", "bigint")
    .addColumn("sender_name", "text")
    .addColumn("sender_email", "text")
    .addColumn("branding", "text", (c) => c.notNull().defaultTo("{}"))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("organizations_handle_unique")
    .on("organizations")
    .column("handle")
    .unique()
    .execute();
  await db.schema
    .createIndex("organizations_external_id_unique")
    .on("organizations")
    .column("external_id")
    .unique()
    .execute();

  await db.schema
    .createTable("organization_users")
    .addColumn("org_code", "text", (c) => c.notNull().references("organizations.code").onDelete("cascade"))
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("joined_at", "bigint", (c) => c.notNull())
    // When the user last signed into this organization: the one they get when they name none.
    .addColumn("last_accessed_at", "bigint")
    .addPrimaryKeyConstraint("organization_users_pk", ["org_code", "user_id"])
    .execute();
  await db.schema.createIndex("organization_users_user").on("organization_users").column("user_id").execute();

  await db.schema
    .createTable("permissions")
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("key", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("description", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("permissions_key_unique").on("permissions").column("key").unique().execute();

  await db.schema
    .createTable("roles")
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("key", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("description", "text")
    // Given to every user who joins an organization (Kinde's default roles).
    .addColumn("is_default_role", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("assignment_permission_id", "text", (c) => c.references("permissions.id").onDelete("set null"))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("roles_key_unique").on("roles").column("key").unique().execute();

  await db.schema
    .createTable("role_permissions")
    .addColumn("role_id", "text", (c) => c.notNull().references("roles.id").onDelete("cascade"))
    .addColumn("permission_id", "text", (c) => c.notNull().references("permissions.id").onDelete("cascade"))
    .addPrimaryKeyConstraint("role_permissions_pk", ["role_id", "permission_id"])
    .execute();

  // Roles and permissions are given per organization membership: they leave with it.
  await db.schema
    .createTable("organization_user_roles")
    .addColumn("org_code", "text", (c) => c.notNull())
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("role_id", "text", (c) => c.notNull().references("roles.id").onDelete("cascade"))
    .addPrimaryKeyConstraint("organization_user_roles_pk", ["org_code", "user_id", "role_id"])
    .addForeignKeyConstraint(
      "organization_user_roles_member_fk",
      ["org_code", "user_id"],
      "organization_users",
      ["org_code", "user_id"],
      (fk) => fk.onDelete("cascade"),
    )
    .execute();
  await db.schema
    .createTable("organization_user_permissions")
    .addColumn("org_code", "text", (c) => c.notNull())
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("permission_id", "text", (c) => c.notNull().references("permissions.id").onDelete("cascade"))
    .addPrimaryKeyConstraint("organization_user_permissions_pk", ["org_code", "user_id", "permission_id"])
    .addForeignKeyConstraint(
      "organization_user_permissions_member_fk",
      ["org_code", "user_id"],
      "organization_users",
      ["org_code", "user_id"],
      (fk) => fk.onDelete("cascade"),
    )
    .execute();

  // Feature flags: a typed default, an optional environment override, and overrides per
  // organization and per user down to `allow_override_level`. Values are text in Kinde's API
  // ("true", "42") and typed only when they enter a token.
  await db.schema
    .createTable("feature_flags")
    .addColumn("key", "text", (c) => c.primaryKey().notNull())
    .addColumn("id", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("description", "text")
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("allow_override_level", "text", (c) => c.notNull())
    .addColumn("default_value", "text", (c) => c.notNull())
    .addColumn("environment_value", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("organization_feature_flags")
    .addColumn("org_code", "text", (c) => c.notNull().references("organizations.code").onDelete("cascade"))
    .addColumn("flag_key", "text", (c) => c.notNull().references("feature_flags.key").onDelete("cascade"))
    .addColumn("value", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("organization_feature_flags_pk", ["org_code", "flag_key"])
    .execute();
  await db.schema
    .createTable("user_feature_flags")
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("flag_key", "text", (c) => c.notNull().references("feature_flags.key").onDelete("cascade"))
    .addColumn("value", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("user_feature_flags_pk", ["user_id", "flag_key"])
    .execute();

  // The organization a code and its grant signed the user into: tokens of the grant carry its
  // org_code, permissions and flags (recomputed at every refresh).
  await db.schema.alterTable("authorization_codes").addColumn("org_code", "text").execute();
  await db.schema.alterTable("grants").addColumn("org_code", "text").execute();

  // The default organization, which every existing user joins (as new users will).
  const now = Math.floor(Date.now() / 1000);
  const code = `org_${randomBytes(6).toString("hex").slice(0, 11)}`;
  await db
    .insertInto("organizations")
    .values({ code, name: "Default Organization", is_default: 1, created_at: now, updated_at: now })
    .execute();
  await db
    .insertInto("organization_users")
    .columns(["org_code", "user_id", "joined_at"])
    .expression(db.selectFrom("users").select([(eb) => eb.val(code).as("org_code"), "id", "created_at"]))
    .execute();
}
