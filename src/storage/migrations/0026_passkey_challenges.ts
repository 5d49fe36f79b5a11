import type { Kysely } from "kysely";

// WebAuthn challenges (issue 22, src/passkeys/). A challenge is what an authenticator signs: each is
// issued for one ceremony, bound to what asked for it, and accepted once.
// - challenge_hash: SHA-256 of the base64url challenge (it is a bearer value until used: a copy of
//   the database must not let anyone finish a ceremony someone else started).
// - purpose: sign_in (a passkey alone), second_factor (after a first proof), register.
// - request_id + browser: the sign-in under way and the browser doing it (the hash of its CSRF
//   cookie, as SignInProgress.browser); session_id: the browser session of /account/passkeys.
// - user_id: whose credential must answer (null for a sign-in, where the passkey names the user).
// - consumed_at: set by one conditional UPDATE, so a challenge verifies at most one response.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("passkey_challenges")
    .addColumn("challenge_hash", "text", (c) => c.primaryKey().notNull())
    .addColumn("purpose", "text", (c) => c.notNull())
    .addColumn("request_id", "text")
    .addColumn("browser", "text")
    .addColumn("session_id", "text")
    .addColumn("user_id", "text", (c) => c.references("users.id").onDelete("cascade"))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .addColumn("consumed_at", "bigint")
    .execute();
  await db.schema
    .createIndex("passkey_challenges_expires")
    .on("passkey_challenges")
    .column("expires_at")
    .execute();
}
