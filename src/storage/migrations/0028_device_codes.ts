import type { Kysely } from "kysely";

// The device authorization grant (RFC 8628, src/oauth/device.ts): one row per request a device made
// at /oauth2/device/auth, waiting for a person to approve or deny it on /device.
// - device_code_hash: SHA-256 of the 256-bit device code (a bearer secret the device polls with).
// - user_code_mac: the 8-letter code the person types, as a keyed hash (SecretBox.mac): its space
//   is small enough that a plain hash would give it away to anyone holding a copy of the database.
// - status: pending → approved | denied (on /device) → consumed (tokens issued, once).
// - poll_interval / last_polled_at / slowed_down: the polling interval the token endpoint enforces
//   (§3.5 slow_down adds 5 s), moved by one conditional UPDATE per poll.
// - user_id, org_code, auth_time: who approved, the organization the tokens are for, and when that
//   person signed in; grant_id: the grant the tokens belong to (revoked if the code comes back).
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("device_codes")
    .addColumn("device_code_hash", "text", (c) => c.primaryKey().notNull())
    .addColumn("user_code_mac", "text", (c) => c.notNull().unique())
    .addColumn("client_id", "text", (c) => c.notNull().references("applications.id").onDelete("cascade"))
    .addColumn("scope", "text", (c) => c.notNull())
    .addColumn("audience", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("poll_interval", "integer", (c) => c.notNull())
    .addColumn("last_polled_at", "bigint")
    .addColumn("slowed_down", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("user_id", "text", (c) => c.references("users.id").onDelete("cascade"))
    .addColumn("org_code", "text")
    .addColumn("auth_time", "bigint")
    .addColumn("grant_id", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .addColumn("decided_at", "bigint")
    .execute();
  await db.schema.createIndex("device_codes_expires").on("device_codes").column("expires_at").execute();
}
