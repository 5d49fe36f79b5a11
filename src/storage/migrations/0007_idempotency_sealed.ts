import type { Kysely } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  // Idempotency-Key records, reshaped:
  // - the recorded response is sealed with the master key (it can carry a new client secret), so
  //   the column is renamed to say so and holds nothing readable;
  // - a request whose handler calls out to a provider is not run inside a transaction: its record
  //   is committed first as an in-progress claim (status_code 0, response_body_sealed null) owned
  //   by `lock_token`, and only its owner may complete or release it.
  // Rows written by earlier versions hold responses in clear. A migration has no master key to seal
  // them with, so the table is recreated empty instead. Little is lost: a record only lets a retry
  // within 24 hours replay its response; only a client still retrying a request it sent before the
  // upgrade is affected (its retry runs again instead of replaying).
  await db.schema.dropTable("idempotency_keys").execute();
  await db.schema
    .createTable("idempotency_keys")
    .addColumn("client_id", "text", (c) => c.notNull())
    .addColumn("key", "text", (c) => c.notNull())
    .addColumn("method", "text", (c) => c.notNull())
    .addColumn("path", "text", (c) => c.notNull())
    .addColumn("request_hash", "text", (c) => c.notNull())
    .addColumn("status_code", "integer", (c) => c.notNull())
    .addColumn("response_body_sealed", "text")
    .addColumn("lock_token", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("idempotency_keys_pk", ["client_id", "key"])
    .execute();
  // The purge deletes by age.
  await db.schema
    .createIndex("idempotency_keys_created")
    .on("idempotency_keys")
    .column("created_at")
    .execute();
}
