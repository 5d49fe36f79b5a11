import type { Kysely } from "kysely";

// Signing in through connections (issue 17). Three things:
// - external_identities: an account at an upstream provider (a connection and the provider's `sub`)
//   linked to a Latchkey user. (connection_id, provider_subject) is unique: one provider account
//   belongs to one user, and the second sign-in finds it by that key (OIDC Core §2: `sub` is unique
//   only within its issuer, so it is never looked up without the connection).
// - upstream_sign_in_states: the `state` of a sign-in sent to a provider (RFC 6749 §10.12, RFC 9700
//   §4.7), stored only as its SHA-256 with what the callback must check against it (the connection,
//   its issuer, the nonce, the sealed PKCE verifier, the browser); deleted when used, so it works once.
// - browser_sessions.external_identity_id: the identity a browser session signed in with, so the
//   tokens of that sign-in carry Kinde's ext_provider claim (on refresh too).
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("external_identities")
    // `identity_` + 32 hex (Kinde's identity ids)
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("connection_id", "text", (c) =>
      c.notNull().references("sign_in_connections.id").onDelete("cascade"),
    )
    .addColumn("provider_subject", "text", (c) => c.notNull())
    // As the provider gave it (not canonicalised: it is the provider's statement, kept as made)
    .addColumn("email", "text")
    .addColumn("email_verified_by_provider", "integer", (c) => c.notNull().defaultTo(0))
    // JSON: a bounded copy of the provider's profile claims (ext_provider.claims)
    .addColumn("claims", "text", (c) => c.notNull())
    .addColumn("total_logins", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("last_signed_in_at", "bigint")
    .execute();
  await db.schema
    .createIndex("external_identities_subject")
    .on("external_identities")
    .columns(["connection_id", "provider_subject"])
    .unique()
    .execute();
  await db.schema
    .createIndex("external_identities_user")
    .on("external_identities")
    .columns(["user_id", "created_at"])
    .execute();

  await db.schema
    .createTable("upstream_sign_in_states")
    .addColumn("state_hash", "text", (c) => c.primaryKey().notNull())
    .addColumn("request_id", "text", (c) => c.notNull())
    .addColumn("connection_id", "text", (c) =>
      c.notNull().references("sign_in_connections.id").onDelete("cascade"),
    )
    // The issuer the request went to (RFC 9207 and the ID token's iss are checked against it)
    .addColumn("issuer", "text", (c) => c.notNull())
    .addColumn("nonce", "text", (c) => c.notNull())
    .addColumn("code_verifier_sealed", "text", (c) => c.notNull())
    .addColumn("browser", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("upstream_sign_in_states_expires")
    .on("upstream_sign_in_states")
    .column("expires_at")
    .execute();

  await db.schema.alterTable("browser_sessions").addColumn("external_identity_id", "text").execute();
}
