// Recording an event: one row in `events` and one delivery per endpoint subscribed to its type,
// written with the caller's transaction handle (DESIGN.md "Outbox for side effects") — so a
// committed change always has its event and a rolled-back one never does. Callers pass the
// transaction that makes the change; recording outside one is a bug the type cannot catch, so
// every caller in this codebase goes through inTransaction.
import { type Expression, type SqlBool, sql } from "kysely";
import type { Clock } from "../clock.js";
import { randomHex } from "../crypto/random.js";
import type { Db } from "../storage/database.js";
import type { EventSource } from "../storage/schema.js";
import type { EventsTable } from "../storage/schema-outbox.js";
import { type EventType, TEST_EVENT_TYPE } from "./event-types.js";

export type { EventSource };

export interface NewEvent {
  type: EventType;
  source: EventSource;
  data: Record<string, unknown>;
  /** The user the event is about (the audit log's filter). */
  userId?: string;
}

/** Who caused a Management API change: an administrator in the dashboard, or a machine token. */
export function sourceOfCaller(caller: { userId?: string } | undefined): EventSource {
  return caller?.userId === undefined ? "api" : "admin";
}

let lastMs = 0;
let sequence = 0;

/**
 * `event_` + 12 hex of milliseconds + 4 hex of this process's sequence within the millisecond +
 * 16 random hex: ids sort by time, and an endpoint's deliveries follow that order. Physical time
 * (not the injectable Clock): the order of events is a fact about this machine, not about expiry.
 */
export function newEventId(): { id: string; ms: number } {
  const now = Date.now();
  // Never backwards within a process (a clock step back would reorder its events).
  if (now > lastMs) {
    lastMs = now;
    sequence = 0;
  } else {
    sequence += 1;
    if (sequence > 0xffff) {
      lastMs += 1;
      sequence = 0;
    }
  }
  const ms = lastMs;
  const id = `event_${ms.toString(16).padStart(12, "0")}${sequence.toString(16).padStart(4, "0")}${randomHex(8)}`;
  return { id, ms };
}

/** A new delivery row's id. */
function deliveryId(): string {
  return `delivery_${randomHex(16)}`;
}

/** A new event's row: its id (newEventId), the millisecond its deliveries are ordered by, now. */
export function newEventRow(
  clock: Clock,
  event: { type: string; source: EventSource; data: Record<string, unknown>; userId?: string },
): EventsTable {
  const { id, ms } = newEventId();
  return {
    id,
    type: event.type,
    source: event.source,
    data: JSON.stringify(event.data),
    occurred_at_ms: ms,
    user_id: event.userId ?? null,
    created_at: clock.now(),
  };
}

async function insertEvent(
  db: Db,
  clock: Clock,
  event: { type: string; source: EventSource; data: Record<string, unknown>; userId?: string },
): Promise<{ id: string; ms: number; now: number }> {
  const row = newEventRow(clock, event);
  await db.insertInto("events").values(row).execute();
  return { id: row.id, ms: row.occurred_at_ms, now: row.created_at };
}

/**
 * The INSERT queuing `event` (its row, newEventRow's) for every enabled endpoint subscribed to its
 * type: recordEvent runs it; a caller writing the event in one statement with other writes embeds
 * it, with `onlyIf` holding it to that statement's condition.
 */
export function queueDeliveries(
  db: Db,
  event: { id: string; type: string; occurred_at_ms: number; created_at: number },
  onlyIf?: Expression<SqlBool>,
) {
  const { id, occurred_at_ms: ms, created_at: now } = event;
  return db
    .insertInto("webhook_deliveries")
    .columns(["id", "webhook_id", "event_id", "occurred_at_ms", "status", "attempts", "created_at"])
    .expression((eb) => {
      const subscribed = eb
        .selectFrom("webhook_event_types as t")
        .innerJoin("webhooks as w", "w.id", "t.webhook_id")
        .where("t.event_type", "=", event.type)
        .where("w.disabled_at", "is", null)
        // Typed casts: PostgreSQL gives an untyped parameter in a select list the type text.
        .select((s) => [
          // One id per endpoint: the event's id with the endpoint's (unique per pair).
          sql<string>`${`delivery_${id.slice(6)}_`} || w.id`.as("id"),
          "w.id as webhook_id",
          s.cast<string>(s.val(id), "text").as("event_id"),
          s.cast<number>(s.val(ms), "bigint").as("occurred_at_ms"),
          s.cast<"pending">(s.val("pending"), "text").as("status"),
          s.cast<number>(s.val(0), "integer").as("attempts"),
          s.cast<number>(s.val(now), "bigint").as("created_at"),
        ]);
      return onlyIf ? subscribed.where(onlyIf) : subscribed;
    });
}

/**
 * Records `event` with `db` — the transaction making the change — and queues it for every enabled
 * endpoint subscribed to its type. Two statements, whatever the number of endpoints. Returns the id.
 */
export async function recordEvent(db: Db, clock: Clock, event: NewEvent): Promise<string> {
  const row = newEventRow(clock, event);
  await db.insertInto("events").values(row).execute();
  await queueDeliveries(db, row).execute();
  return row.id;
}

/** A test event for one endpoint: recorded like any event and queued for that endpoint alone. */
export async function recordTestEvent(db: Db, clock: Clock, webhookId: string): Promise<string> {
  const { id, ms, now } = await insertEvent(db, clock, {
    type: TEST_EVENT_TYPE,
    source: "admin",
    data: { webhook: { id: webhookId }, message: "A test event sent from the dashboard." },
  });
  await db
    .insertInto("webhook_deliveries")
    .values({
      id: deliveryId(),
      webhook_id: webhookId,
      event_id: id,
      occurred_at_ms: ms,
      status: "pending",
      attempts: 0,
      created_at: now,
    })
    .execute();
  return id;
}
