import type { Kysely } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  // Idempotency-Key on Management API POSTs: the response is stored in the same transaction as the
  // write it describes, so a retried create returns the first result instead of making a second row.
  await db.schema
    .createTable("idempotency_keys")
    .addColumn("client_id", "text", (c) => c.notNull())
    .addColumn("key", "text", (c) => c.notNull())
    .addColumn("method", "text", (c) => c.notNull())
    .addColumn("path", "text", (c) => c.notNull())
    .addColumn("request_hash", "text", (c) => c.notNull())
    .addColumn("status_code", "integer", (c) => c.notNull())
    .addColumn("response_body", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("idempotency_keys_pk", ["client_id", "key"])
    .execute();

  // Kinde exposes "last signed in" and sign-in counts per user.
  await db.schema
    .alterTable("users")
    .addColumn("total_sign_ins", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable("users")
    .addColumn("failed_sign_ins", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
}
