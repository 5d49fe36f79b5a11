import { type Kysely, PostgresAdapter, sql } from "kysely";

// Kinde's auth_url takes a user_id OR an org_code: a connection may belong to an organization
// (any of its members may consent; the organization's back end fetches the token) rather than to
// one user. So `user_id` becomes optional and `org_code` is added; at least one is always set.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`alter table connections alter column user_id drop not null`.execute(db);
    await db.schema
      .alterTable("connections")
      .addColumn("org_code", "text", (c) => c.references("organizations.code").onDelete("cascade"))
      .execute();
  } else {
    // SQLite cannot drop NOT NULL in place: rebuild the table with the same columns, in the same
    // order (org_code last, as PostgreSQL appends it), and the same indexes.
    await db.schema
      .createTable("connections_next")
      .addColumn("id", "text", (c) => c.primaryKey().notNull())
      .addColumn("key_code_ref", "text", (c) => c.notNull())
      .addColumn("user_id", "text", (c) => c.references("users.id").onDelete("cascade"))
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
      .addColumn("refresh_retry_after", "bigint")
      .addColumn("last_error", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .addColumn("refresh_lock_owner", "text")
      .addColumn("org_code", "text", (c) => c.references("organizations.code").onDelete("cascade"))
      .execute();
    await sql`insert into connections_next (id, key_code_ref, user_id, status, start_token_hash, state_hash,
        code_verifier_sealed, callback_url, access_token_sealed, refresh_token_sealed, access_token_expires_at,
        scope, refresh_locked_until, refresh_retry_after, last_error, created_at, expires_at, updated_at,
        refresh_lock_owner)
      select id, key_code_ref, user_id, status, start_token_hash, state_hash, code_verifier_sealed, callback_url,
        access_token_sealed, refresh_token_sealed, access_token_expires_at, scope, refresh_locked_until,
        refresh_retry_after, last_error, created_at, expires_at, updated_at, refresh_lock_owner
      from connections`.execute(db);
    await db.schema.dropTable("connections").execute();
    await db.schema.alterTable("connections_next").renameTo("connections").execute();
    await db.schema
      .createIndex("connections_start_unique")
      .on("connections")
      .column("start_token_hash")
      .unique()
      .execute();
    await db.schema.createIndex("connections_state").on("connections").column("state_hash").execute();
    await db.schema.createIndex("connections_user").on("connections").column("user_id").execute();
  }
  await db.schema.createIndex("connections_org").on("connections").column("org_code").execute();
}
