import type { Kysely } from "kysely";

// The mail outbox (DESIGN.md "Outbox for side effects"): a message is a row written in the same
// transaction as the change that causes it, and a worker delivers it — at least once, with backoff;
// a crash loses none. `idempotency_key` is the cause's own key (e.g. `verify:<code id>`), so a
// retried transaction cannot enqueue the same message twice. The body (text and HTML together)
// carries one-time codes and links: it is sealed with the master key (AAD: the row's id) and
// cleared once delivered or given up, keeping only the metadata.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("mail_messages")
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("idempotency_key", "text", (c) => c.notNull().unique())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("to_address", "text", (c) => c.notNull())
    .addColumn("subject", "text", (c) => c.notNull())
    .addColumn("body_sealed", "text")
    // pending (the worker delivers it) | sent | failed (given up) | outbox (kept, never sent)
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("next_attempt_at", "bigint", (c) => c.notNull())
    // A sender's claim: while lease_until is ahead, no other sender takes the row; past it (the
    // sender crashed), any may.
    .addColumn("lease_owner", "text")
    .addColumn("lease_until", "bigint")
    .addColumn("last_error", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("sent_at", "bigint")
    .execute();
  // The worker's claim: due pending rows, oldest due first.
  await db.schema
    .createIndex("mail_messages_due")
    .on("mail_messages")
    .columns(["status", "next_attempt_at"])
    .execute();
  // The outbox listing (newest first) and the purge (by age).
  await db.schema
    .createIndex("mail_messages_created")
    .on("mail_messages")
    .columns(["created_at", "id"])
    .execute();
}
