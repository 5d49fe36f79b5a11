import { type Kysely, PostgresAdapter, sql } from "kysely";

// Multi-factor authentication and passkeys (issue 22).
// - business: the environment's MFA policy (Kinde's PUT /api/v1/mfa: off | optional | required),
//   its enabled factors (JSON array of mfa:authenticator_app | mfa:email | mfa:sms), whether
//   recovery codes are offered, and the passkey policy (off | optional | mandatory). Read on every
//   sign-in through the configuration cache, so the trigger below moves config_generation (0009).
// - organizations: is_enforce_mfa (the organization asks for a second factor whatever the
//   environment says: the stricter wins), and optional overrides of the factors, recovery codes
//   and passkey policy (null = the environment's). Read only for sign-ins into an organization.
// - mfa_factors: a user's second factors. An authenticator app's TOTP secret is sealed with the
//   master key (it must be replayed to check a code, so it is encrypted, not hashed); last_used_step
//   is the RFC 6238 time step of the last accepted code, so each code works once (§5.2).
// - mfa_recovery_codes: single-use codes, stored as SHA-256 only (they are high-entropy random
//   strings: a slow hash buys nothing) and consumed by a conditional UPDATE.
// - passkeys: WebAuthn credentials (public key, signature counter, backup flags).
// - browser_sessions.amr: what the sign-in proved (RFC 8176), for the ID token's amr and for
//   deciding whether the session still satisfies the policy.
// - users.mfa_offer_dismissed_at: "optional" offers enrolment at sign-in until the user says not now.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("business")
    .addColumn("mfa_policy", "text", (c) => c.notNull().defaultTo("off"))
    .execute();
  await db.schema
    .alterTable("business")
    .addColumn("mfa_enabled_factors", "text", (c) => c.notNull().defaultTo('["mfa:authenticator_app"]'))
    .execute();
  await db.schema
    .alterTable("business")
    .addColumn("mfa_recovery_codes", "integer", (c) => c.notNull().defaultTo(1))
    .execute();
  await db.schema
    .alterTable("business")
    .addColumn("passkey_policy", "text", (c) => c.notNull().defaultTo("optional"))
    .execute();

  await db.schema
    .alterTable("organizations")
    .addColumn("mfa_enforced", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable("organizations").addColumn("mfa_enabled_factors", "text").execute();
  await db.schema.alterTable("organizations").addColumn("mfa_recovery_codes", "integer").execute();
  await db.schema.alterTable("organizations").addColumn("passkey_policy", "text").execute();

  await db.schema.alterTable("users").addColumn("mfa_offer_dismissed_at", "bigint").execute();
  await db.schema
    .alterTable("browser_sessions")
    .addColumn("amr", "text", (c) => c.notNull().defaultTo("[]"))
    .execute();

  await db.schema
    .createTable("mfa_factors")
    // `mfa_` + 32 hex (Kinde's factor ids)
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("type", "text", (c) => c.notNull())
    // What the factor is shown as: the address or number a code goes to, or the app's label
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("secret_sealed", "text")
    // null while enrolment waits for the first code
    .addColumn("verified_at", "bigint")
    .addColumn("last_used_step", "bigint")
    .addColumn("usage_count", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("last_used_at", "bigint")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  // One factor of each type per user: enrolling again replaces the unconfirmed one.
  await db.schema
    .createIndex("mfa_factors_user_type")
    .on("mfa_factors")
    .columns(["user_id", "type"])
    .unique()
    .execute();

  await db.schema
    .createTable("mfa_recovery_codes")
    .addColumn("code_hash", "text", (c) => c.primaryKey().notNull())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("used_at", "bigint")
    .execute();
  await db.schema.createIndex("mfa_recovery_codes_user").on("mfa_recovery_codes").column("user_id").execute();

  await db.schema
    .createTable("passkeys")
    // `passkey_` + 32 hex
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    // base64url of the authenticator's credential id (what assertions name)
    .addColumn("credential_id", "text", (c) => c.notNull().unique())
    // base64url of the COSE public key
    .addColumn("public_key", "text", (c) => c.notNull())
    .addColumn("sign_count", "bigint", (c) => c.notNull().defaultTo(0))
    // JSON array of AuthenticatorTransport
    .addColumn("transports", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("device_type", "text", (c) => c.notNull())
    .addColumn("backed_up", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("aaguid", "text")
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("last_used_at", "bigint")
    .execute();
  await db.schema.createIndex("passkeys_user").on("passkeys").column("user_id").execute();

  // Inserts and deletes of the business row move the generation already (0019's triggers).
  const columns = sql.raw("mfa_policy, mfa_enabled_factors, mfa_recovery_codes, passkey_policy");
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`
      create trigger business_mfa_config_generation
      after update of ${columns} on business
      for each statement execute function latchkey_bump_config_generation()`.execute(db);
    return;
  }
  await sql`
    create trigger business_mfa_config_generation
    after update of ${columns} on business
    begin
      update config_generation set generation = generation + 1 where id = 1;
    end`.execute(db);
}
