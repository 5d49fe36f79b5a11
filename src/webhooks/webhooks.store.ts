// SQL of webhooks (tables webhooks, webhook_event_types, webhook_deliveries; migration 0020). A
// sender claims an endpoint (not single deliveries) under a lease, so one sender at a time works
// through an endpoint's queue in event order; every write after the claim is fenced on the lease
// owner, so a sender whose lease expired cannot overwrite the one that took over.
import type { Selectable } from "kysely";
import { randomHex } from "../crypto/random.js";
import type { Db } from "../storage/database.js";
import { inTransaction } from "../storage/database.js";
import { claimLeased } from "../storage/lease-claim.js";
import type { EventsTable, WebhookDeliveriesTable, WebhooksTable } from "../storage/schema.js";

export type WebhookRow = Selectable<WebhooksTable>;
export type DeliveryRow = Selectable<WebhookDeliveriesTable>;
export type EventRow = Selectable<EventsTable>;

export interface Webhook extends WebhookRow {
  event_types: string[];
}

/** A pending delivery with what the sender needs to send it. */
export interface QueuedDelivery {
  id: string;
  attempts: number;
  event: EventRow;
}

export function newWebhookId(): string {
  return `webhook_${randomHex(16)}`;
}

export class WebhooksStore {
  constructor(private readonly db: Db) {}

  async list(): Promise<Webhook[]> {
    const rows = await this.db
      .selectFrom("webhooks")
      .selectAll()
      .orderBy("created_at")
      .orderBy("id")
      .execute();
    return this.withTypes(rows);
  }

  async find(id: string): Promise<Webhook | undefined> {
    const row = await this.db.selectFrom("webhooks").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? (await this.withTypes([row]))[0] : undefined;
  }

  private async withTypes(rows: WebhookRow[]): Promise<Webhook[]> {
    if (rows.length === 0) return [];
    const types = await this.db
      .selectFrom("webhook_event_types")
      .select(["webhook_id", "event_type"])
      .where(
        "webhook_id",
        "in",
        rows.map((r) => r.id),
      )
      .orderBy("event_type")
      .execute();
    return rows.map((row) => ({
      ...row,
      event_types: types.filter((t) => t.webhook_id === row.id).map((t) => t.event_type),
    }));
  }

  async insert(input: {
    id: string;
    name: string;
    description: string | null;
    endpoint: string;
    eventTypes: readonly string[];
    now: number;
  }): Promise<void> {
    await inTransaction(this.db, async (trx) => {
      await trx
        .insertInto("webhooks")
        .values({
          id: input.id,
          name: input.name,
          description: input.description,
          endpoint: input.endpoint,
          created_at: input.now,
          updated_at: input.now,
          disabled_at: null,
          disabled_reason: null,
          failing_since: null,
          lease_owner: null,
          lease_until: null,
        })
        .execute();
      await new WebhooksStore(trx).replaceTypes(input.id, input.eventTypes);
    });
  }

  /** Changes the given fields; false when the webhook does not exist. */
  async update(
    id: string,
    changes: {
      name?: string;
      description?: string | null;
      eventTypes?: readonly string[];
      enabled?: boolean;
    },
    now: number,
  ): Promise<boolean> {
    return inTransaction(this.db, async (trx) => {
      const enable =
        changes.enabled === undefined
          ? {}
          : changes.enabled
            ? // Re-enabled: its pending deliveries go at once, with a clean failure record.
              {
                disabled_at: null,
                disabled_reason: null,
                failing_since: null,
                consecutive_failures: 0,
                next_attempt_at: 0,
              }
            : { disabled_at: now, disabled_reason: "disabled by an administrator" };
      const result = await trx
        .updateTable("webhooks")
        .set({
          ...(changes.name === undefined ? {} : { name: changes.name }),
          ...(changes.description === undefined ? {} : { description: changes.description }),
          ...enable,
          updated_at: now,
        })
        .where("id", "=", id)
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) return false;
      if (changes.eventTypes) await new WebhooksStore(trx).replaceTypes(id, changes.eventTypes);
      return true;
    });
  }

  private async replaceTypes(id: string, eventTypes: readonly string[]): Promise<void> {
    await this.db.deleteFrom("webhook_event_types").where("webhook_id", "=", id).execute();
    const unique = [...new Set(eventTypes)];
    if (unique.length > 0) {
      await this.db
        .insertInto("webhook_event_types")
        .values(unique.map((event_type) => ({ webhook_id: id, event_type })))
        .execute();
    }
  }

  /** Deletes the webhook with its subscriptions and deliveries (cascade). */
  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom("webhooks").where("id", "=", id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  // ---- the sender --------------------------------------------------------------------------------

  /**
   * Claims up to `limit` endpoints with a due pending delivery for `owner` until `leaseUntil`: an
   * enabled endpoint whose backoff has passed and that no live lease holds. Instances claiming
   * together take different endpoints (claimLeased).
   */
  async claim(options: {
    owner: string;
    now: number;
    leaseUntil: number;
    limit: number;
  }): Promise<WebhookRow[]> {
    const { owner, now, leaseUntil, limit } = options;
    const due = (db: Db) =>
      db
        .selectFrom("webhooks")
        .select("id")
        .where("disabled_at", "is", null)
        .where("next_attempt_at", "<=", now)
        .where((eb) => eb.or([eb("lease_until", "is", null), eb("lease_until", "<=", now)]))
        .where((eb) =>
          eb.exists(
            eb
              .selectFrom("webhook_deliveries")
              .select("id")
              .whereRef("webhook_deliveries.webhook_id", "=", "webhooks.id")
              .where("webhook_deliveries.status", "=", "pending"),
          ),
        )
        .orderBy("next_attempt_at")
        .orderBy("id")
        .limit(limit);
    return claimLeased(this.db, due, (db, ids) =>
      db
        .updateTable("webhooks")
        .set({ lease_owner: owner, lease_until: leaseUntil })
        .where("id", "in", ids)
        .returningAll()
        .execute(),
    );
  }

  /** The endpoint's next pending deliveries, oldest event first, with their events. */
  async queue(webhookId: string, limit: number): Promise<QueuedDelivery[]> {
    const rows = await this.db
      .selectFrom("webhook_deliveries as d")
      .innerJoin("events as e", "e.id", "d.event_id")
      .select([
        "d.id as delivery_id",
        "d.attempts",
        "e.id",
        "e.type",
        "e.source",
        "e.data",
        "e.occurred_at_ms",
        "e.user_id",
        "e.created_at",
      ])
      .where("d.webhook_id", "=", webhookId)
      .where("d.status", "=", "pending")
      .orderBy("d.occurred_at_ms")
      .orderBy("d.id")
      .limit(limit)
      .execute();
    return rows.map(({ delivery_id, attempts, ...event }) => ({ id: delivery_id, attempts, event }));
  }

  /**
   * Delivered, while `owner` holds the endpoint's lease: the row records it and, when the endpoint
   * has a failure record (`clearFailures`, known from its claimed row: only the lease holder writes
   * it), that record is cleared. Otherwise one statement: a success does not rewrite the endpoint.
   */
  async markDelivered(
    webhookId: string,
    deliveryId: string,
    owner: string,
    outcome: { attempts: number; statusCode: number; durationMs: number; now: number },
    clearFailures: boolean,
  ): Promise<boolean> {
    const delivered = async (db: Db) => {
      const result = await db
        .updateTable("webhook_deliveries")
        .set({
          status: "delivered",
          attempts: outcome.attempts,
          last_attempt_at: outcome.now,
          last_status_code: outcome.statusCode,
          last_duration_ms: outcome.durationMs,
          last_error: null,
          delivered_at: outcome.now,
        })
        .where("id", "=", deliveryId)
        .where((eb) =>
          eb.exists(
            eb
              .selectFrom("webhooks")
              .select("webhooks.id")
              .where("webhooks.id", "=", webhookId)
              .where("webhooks.lease_owner", "=", owner),
          ),
        )
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    };
    if (!clearFailures) return delivered(this.db);
    return inTransaction(this.db, async (trx) => {
      const held = await trx
        .updateTable("webhooks")
        .set({ failing_since: null, consecutive_failures: 0 })
        .where("id", "=", webhookId)
        .where("lease_owner", "=", owner)
        .executeTakeFirst();
      if (held.numUpdatedRows === 0n) return false;
      return delivered(trx);
    });
  }

  /**
   * A failed attempt: the delivery keeps its place at the head of the queue; the endpoint waits
   * until `nextAttemptAt`, or is disabled (`disable`) when it has failed for too long.
   */
  async markFailed(
    webhookId: string,
    deliveryId: string,
    owner: string,
    outcome: {
      attempts: number;
      statusCode: number | null;
      durationMs: number;
      error: string;
      now: number;
      nextAttemptAt: number;
      disable?: string;
    },
  ): Promise<boolean> {
    return inTransaction(this.db, async (trx) => {
      const held = await trx
        .updateTable("webhooks")
        .set((eb) => ({
          next_attempt_at: outcome.nextAttemptAt,
          failing_since: eb.fn.coalesce("failing_since", eb.val(outcome.now)),
          consecutive_failures: eb("consecutive_failures", "+", 1),
          lease_owner: null,
          lease_until: null,
          ...(outcome.disable ? { disabled_at: outcome.now, disabled_reason: outcome.disable } : {}),
        }))
        .where("id", "=", webhookId)
        .where("lease_owner", "=", owner)
        .executeTakeFirst();
      if (held.numUpdatedRows === 0n) return false;
      await trx
        .updateTable("webhook_deliveries")
        .set({
          attempts: outcome.attempts,
          last_attempt_at: outcome.now,
          last_status_code: outcome.statusCode,
          last_duration_ms: outcome.durationMs,
          last_error: outcome.error,
        })
        .where("id", "=", deliveryId)
        .execute();
      return true;
    });
  }

  /** Gives the endpoint back (its queue done, or the sender stopping): due again at once. */
  async release(webhookId: string, owner: string): Promise<void> {
    await this.db
      .updateTable("webhooks")
      .set({ lease_owner: null, lease_until: null })
      .where("id", "=", webhookId)
      .where("lease_owner", "=", owner)
      .execute();
  }

  /** The first failure of a run of failures (for the give-up rule), read under the lease. */
  async failingSince(webhookId: string): Promise<number | null> {
    const row = await this.db
      .selectFrom("webhooks")
      .select("failing_since")
      .where("id", "=", webhookId)
      .executeTakeFirst();
    return row?.failing_since ?? null;
  }

  // ---- the delivery log ------------------------------------------------------------------------

  /** An endpoint's deliveries, newest event first, keyset-paged on (occurred_at_ms, id). */
  deliveries(
    webhookId: string,
    limit: number,
    after?: { at: number; id: string },
  ): Promise<(DeliveryRow & { event_type: string })[]> {
    let query = this.db
      .selectFrom("webhook_deliveries as d")
      .innerJoin("events as e", "e.id", "d.event_id")
      .selectAll("d")
      .select("e.type as event_type")
      .where("d.webhook_id", "=", webhookId);
    if (after) {
      query = query.where((eb) =>
        eb(eb.refTuple("d.occurred_at_ms", "d.id"), "<", eb.tuple(after.at, after.id)),
      );
    }
    return query.orderBy("d.occurred_at_ms", "desc").orderBy("d.id", "desc").limit(limit).execute();
  }

  /**
   * Puts a delivery back in its endpoint's queue (it keeps its place in event order): false when
   * there is no such delivery for this endpoint.
   */
  async resend(webhookId: string, deliveryId: string): Promise<boolean> {
    const result = await this.db
      .updateTable("webhook_deliveries")
      .set({ status: "pending", delivered_at: null })
      .where("id", "=", deliveryId)
      .where("webhook_id", "=", webhookId)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Pending deliveries of enabled endpoints (the queue-depth metric). */
  async pendingCount(): Promise<number> {
    const row = await this.db
      .selectFrom("webhook_deliveries as d")
      .innerJoin("webhooks as w", "w.id", "d.webhook_id")
      .select((eb) => eb.fn.countAll<number | string | bigint>().as("n"))
      .where("d.status", "=", "pending")
      .where("w.disabled_at", "is", null)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  findEvent(id: string): Promise<EventRow | undefined> {
    return this.db.selectFrom("events").selectAll().where("id", "=", id).executeTakeFirst();
  }
}
