import type { Kysely } from "kysely";

// Events and their webhook deliveries (DESIGN.md "Outbox for side effects"). An event is written in
// the same transaction as the change that causes it, together with one delivery row per endpoint
// subscribed to its type at that moment: a committed change always has its event and deliveries, a
// rolled-back one has neither. A worker then delivers each endpoint's rows in event order.
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("events")
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("type", "text", (c) => c.notNull())
    // Kinde's source: admin (the dashboard) | api (a machine token) | user (the user themself)
    .addColumn("source", "text", (c) => c.notNull())
    // JSON: Kinde's `data` object for the type
    .addColumn("data", "text", (c) => c.notNull())
    // Milliseconds: the order of events (and of each endpoint's deliveries)
    .addColumn("occurred_at_ms", "bigint", (c) => c.notNull())
    // The user the event is about, when there is one: the audit log filters on it
    .addColumn("user_id", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("events_created").on("events").columns(["created_at", "id"]).execute();
  await db.schema
    .createIndex("events_user")
    .on("events")
    .columns(["user_id", "created_at"])
    .where("user_id", "is not", null)
    .execute();

  await db.schema
    .createTable("webhooks")
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("description", "text")
    .addColumn("endpoint", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    // Set when deliveries kept failing for WEBHOOK_GIVE_UP_SECONDS (or by an administrator); the
    // endpoint then receives nothing until re-enabled, and its pending deliveries wait.
    .addColumn("disabled_at", "bigint")
    .addColumn("disabled_reason", "text")
    // The endpoint's backoff: its next delivery is not attempted before this time.
    .addColumn("next_attempt_at", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("failing_since", "bigint")
    .addColumn("consecutive_failures", "integer", (c) => c.notNull().defaultTo(0))
    // A sender's claim on the endpoint (one sender per endpoint keeps its deliveries in order).
    .addColumn("lease_owner", "text")
    .addColumn("lease_until", "bigint")
    .execute();

  await db.schema
    .createTable("webhook_event_types")
    .addColumn("webhook_id", "text", (c) => c.notNull().references("webhooks.id").onDelete("cascade"))
    .addColumn("event_type", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("webhook_event_types_pk", ["webhook_id", "event_type"])
    .execute();
  await db.schema
    .createIndex("webhook_event_types_type")
    .on("webhook_event_types")
    .columns(["event_type", "webhook_id"])
    .execute();

  await db.schema
    .createTable("webhook_deliveries")
    .addColumn("id", "text", (c) => c.primaryKey().notNull())
    .addColumn("webhook_id", "text", (c) => c.notNull().references("webhooks.id").onDelete("cascade"))
    .addColumn("event_id", "text", (c) => c.notNull().references("events.id").onDelete("cascade"))
    // The event's occurred_at_ms, copied so the worker orders an endpoint's rows from one index.
    .addColumn("occurred_at_ms", "bigint", (c) => c.notNull())
    // pending | delivered | failed (given up with its endpoint, or removed from the queue)
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("last_attempt_at", "bigint")
    .addColumn("last_status_code", "integer")
    .addColumn("last_duration_ms", "integer")
    // A short reason for the last failed attempt (no response body, no secret)
    .addColumn("last_error", "text")
    .addColumn("delivered_at", "bigint")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  // The worker: an endpoint's pending rows in event order.
  await db.schema
    .createIndex("webhook_deliveries_queue")
    .on("webhook_deliveries")
    .columns(["webhook_id", "status", "occurred_at_ms", "id"])
    .execute();
  // The delivery log: an endpoint's rows newest first.
  await db.schema
    .createIndex("webhook_deliveries_recent")
    .on("webhook_deliveries")
    .columns(["webhook_id", "occurred_at_ms"])
    .execute();
  await db.schema
    .createIndex("webhook_deliveries_event")
    .on("webhook_deliveries")
    .columns(["event_id"])
    .execute();
}
