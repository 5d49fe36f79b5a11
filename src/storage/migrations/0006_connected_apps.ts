import type { Kysely } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  // A business's configuration of one provider (Kinde: Settings › Connected apps).
  await db.schema
    .createTable("connected_apps")
    .addColumn("key_code_ref", "text", (c) => c.primaryKey().notNull())
    .addColumn("provider", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("client_id", "text", (c) => c.notNull())
    .addColumn("client_secret_sealed", "text", (c) => c.notNull())
    .addColumn("callback_url", "text", (c) => c.notNull())
    .addColumn("scopes", "text", (c) => c.notNull())
    .addColumn("settings", "text", (c) => c.notNull())
    .addColumn("offer_at_sign_in", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();

  // One user's connection to one connected app, from `auth_url` (pending) to tokens (connected)
  // to revoked. `id` is the session_id Kinde's API hands out; tokens are sealed with the master key.
  await db.schema
    .createTable("connections")
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("key_code_ref", "text", (c) => c.notNull())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("start_token_hash", "text", (c) => c.notNull())
    .addColumn("state_hash", "text")
    .addColumn("code_verifier_sealed", "text")
    .addColumn("callback_url", "text", (c) => c.notNull())
    .addColumn("access_token_sealed", "text")
    .addColumn("refresh_token_sealed", "text")
    .addColumn("access_token_expires_at", "bigint")
    .addColumn("scope", "text")
    .addColumn("refresh_locked_until", "bigint")
    // After a transient provider failure, refreshes wait until then instead of hammering it.
    .addColumn("refresh_retry_after", "bigint")
    .addColumn("last_error", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("connections_start_unique")
    .on("connections")
    .column("start_token_hash")
    .unique()
    .execute();
  await db.schema.createIndex("connections_state").on("connections").column("state_hash").execute();
  await db.schema.createIndex("connections_user").on("connections").column("user_id").execute();
}
