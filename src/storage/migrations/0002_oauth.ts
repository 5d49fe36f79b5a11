import type { Kysely } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("users")
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("email", "text")
    .addColumn("email_verified", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("given_name", "text")
    .addColumn("family_name", "text")
    .addColumn("picture", "text")
    .addColumn("username", "text")
    .addColumn("provided_id", "text")
    .addColumn("password_hash", "text")
    .addColumn("is_suspended", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("is_admin", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addColumn("last_signed_in_at", "bigint")
    .execute();
  // Emails are stored lower-cased, so a plain unique index is case-insensitive.
  await db.schema.createIndex("users_email_unique").on("users").column("email").unique().execute();
  await db.schema.createIndex("users_username_unique").on("users").column("username").unique().execute();

  await db.schema
    .createTable("applications")
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("client_secret_sealed", "text")
    .addColumn("access_token_lifetime", "integer", (c) => c.notNull())
    .addColumn("refresh_token_lifetime", "integer", (c) => c.notNull())
    .addColumn("id_token_lifetime", "integer", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("application_urls")
    .addColumn("application_id", "text", (c) => c.notNull().references("applications.id").onDelete("cascade"))
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("url", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("application_urls_pk", ["application_id", "kind", "url"])
    .execute();

  await db.schema
    .createTable("apis")
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("audience", "text", (c) => c.notNull())
    .addColumn("is_management_api", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("apis_audience_unique").on("apis").column("audience").unique().execute();

  await db.schema
    .createTable("api_scopes")
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("api_id", "text", (c) => c.notNull().references("apis.id").onDelete("cascade"))
    .addColumn("key", "text", (c) => c.notNull())
    .addColumn("description", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("api_scopes_key_unique")
    .on("api_scopes")
    .columns(["api_id", "key"])
    .unique()
    .execute();

  await db.schema
    .createTable("api_applications")
    .addColumn("api_id", "text", (c) => c.notNull().references("apis.id").onDelete("cascade"))
    .addColumn("application_id", "text", (c) => c.notNull().references("applications.id").onDelete("cascade"))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("api_applications_pk", ["api_id", "application_id"])
    .execute();

  await db.schema
    .createTable("api_application_scopes")
    .addColumn("api_id", "text", (c) => c.notNull())
    .addColumn("application_id", "text", (c) => c.notNull())
    .addColumn("scope_id", "text", (c) => c.notNull().references("api_scopes.id").onDelete("cascade"))
    .addPrimaryKeyConstraint("api_application_scopes_pk", ["api_id", "application_id", "scope_id"])
    .addForeignKeyConstraint(
      "api_application_scopes_grant_fk",
      ["api_id", "application_id"],
      "api_applications",
      ["api_id", "application_id"],
      (fk) => fk.onDelete("cascade"),
    )
    .execute();

  await db.schema
    .createTable("signing_keys")
    .addColumn("kid", "text", (c) => c.primaryKey().notNull())
    .addColumn("algorithm", "text", (c) => c.notNull())
    .addColumn("public_jwk", "text", (c) => c.notNull())
    .addColumn("private_key_sealed", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    // Published in the JWKS from created_at; signs from active_at; stops signing at retired_at;
    // leaves the JWKS at expires_at, once every token it signed has expired.
    .addColumn("active_at", "bigint", (c) => c.notNull())
    .addColumn("retired_at", "bigint")
    .addColumn("expires_at", "bigint")
    .execute();

  await db.schema
    .createTable("browser_sessions")
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("token_hash", "text", (c) => c.notNull())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("auth_time", "bigint", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .addColumn("revoked_at", "bigint")
    .addColumn("ip_address", "text")
    .addColumn("user_agent", "text")
    .execute();
  await db.schema
    .createIndex("browser_sessions_token_unique")
    .on("browser_sessions")
    .column("token_hash")
    .unique()
    .execute();
  await db.schema.createIndex("browser_sessions_user").on("browser_sessions").column("user_id").execute();

  // An authorization request waiting for the user to sign in (the "interaction").
  await db.schema
    .createTable("authorization_requests")
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("client_id", "text", (c) => c.notNull().references("applications.id").onDelete("cascade"))
    .addColumn("params", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .addColumn("completed_at", "bigint")
    .execute();

  // One grant per user authorization of a client: the family of tokens issued from one code.
  await db.schema
    .createTable("grants")
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("client_id", "text", (c) => c.notNull().references("applications.id").onDelete("cascade"))
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("session_id", "text")
    .addColumn("scope", "text", (c) => c.notNull())
    .addColumn("audience", "text", (c) => c.notNull())
    .addColumn("auth_time", "bigint", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("revoked_at", "bigint")
    .addColumn("revoked_reason", "text")
    .execute();
  await db.schema.createIndex("grants_user").on("grants").column("user_id").execute();

  await db.schema
    .createTable("authorization_codes")
    .addColumn("code_hash", "text", (c) => c.primaryKey().notNull())
    .addColumn("client_id", "text", (c) => c.notNull().references("applications.id").onDelete("cascade"))
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("session_id", "text")
    .addColumn("redirect_uri", "text", (c) => c.notNull())
    .addColumn("scope", "text", (c) => c.notNull())
    .addColumn("audience", "text", (c) => c.notNull())
    .addColumn("nonce", "text")
    .addColumn("code_challenge", "text")
    .addColumn("auth_time", "bigint", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .addColumn("consumed_at", "bigint")
    .addColumn("grant_id", "text")
    .execute();

  await db.schema
    .createTable("refresh_tokens")
    .addColumn("token_hash", "text", (c) => c.primaryKey().notNull())
    .addColumn("grant_id", "text", (c) => c.notNull().references("grants.id").onDelete("cascade"))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .addColumn("consumed_at", "bigint")
    .execute();
  await db.schema.createIndex("refresh_tokens_grant").on("refresh_tokens").column("grant_id").execute();

  // User access tokens (to revoke them with their grant) and revoked M2M tokens, by `jti`.
  await db.schema
    .createTable("access_tokens")
    .addColumn("jti", "text", (c) => c.primaryKey().notNull())
    .addColumn("client_id", "text", (c) => c.notNull())
    .addColumn("grant_id", "text")
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .addColumn("revoked_at", "bigint")
    .execute();
  await db.schema.createIndex("access_tokens_grant").on("access_tokens").column("grant_id").execute();

  // Fixed-window counters shared by every instance (failed sign-ins per account and per IP).
  await db.schema
    .createTable("rate_limits")
    .addColumn("key", "text", (c) => c.primaryKey().notNull())
    .addColumn("window_start", "bigint", (c) => c.notNull())
    .addColumn("count", "integer", (c) => c.notNull())
    .execute();
}
