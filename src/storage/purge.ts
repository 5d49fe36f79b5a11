// Deletes rows that can no longer matter: expired single-use values, sessions, counters and
// idempotency records. Every instance may run it; the deletes are idempotent.
import type { Db } from "./database.js";

/** Idempotency-Key responses are replayed for a day, as Stripe does. */
export const IDEMPOTENCY_RETENTION_SECONDS = 86_400;
/** Sent and failed messages (metadata only; their bodies went when they did) are kept for a month. */
export const MAIL_RETENTION_SECONDS = 30 * 86_400;
/** Outbox messages (bodies with codes, long expired) are kept for a week. */
export const OUTBOX_RETENTION_SECONDS = 7 * 86_400;
/**
 * Events and finished webhook deliveries are kept for a month (GET /api/v1/events/{id}, the
 * delivery log). An event still pending for some endpoint (a disabled one waits for its
 * administrator) stays until delivered, whatever its age.
 */
export const EVENT_RETENTION_SECONDS = 30 * 86_400;

export async function purgeExpired(db: Db, now: number): Promise<number> {
  const hourAgo = now - 3_600;
  const results = await Promise.all([
    db.deleteFrom("authorization_requests").where("expires_at", "<", hourAgo).executeTakeFirst(),
    db.deleteFrom("authorization_codes").where("expires_at", "<", hourAgo).executeTakeFirst(),
    db.deleteFrom("refresh_tokens").where("expires_at", "<", now).executeTakeFirst(),
    // A revoked JWT stays refusable while verifiers still accept it: they allow clock skew past
    // `exp`, so its revocation row must outlive `exp` by more than that (an hour here).
    db.deleteFrom("access_tokens").where("expires_at", "<", hourAgo).executeTakeFirst(),
    db.deleteFrom("browser_sessions").where("expires_at", "<", now).executeTakeFirst(),
    db.deleteFrom("one_time_codes").where("expires_at", "<", now).executeTakeFirst(),
    db
      .deleteFrom("rate_limits")
      .where("window_start", "<", now - 86_400)
      .executeTakeFirst(),
    db
      .deleteFrom("idempotency_keys")
      .where("created_at", "<", now - IDEMPOTENCY_RETENTION_SECONDS)
      .executeTakeFirst(),
    // Pending messages stay until delivered or given up (a day), whatever their age.
    db
      .deleteFrom("mail_messages")
      .where("status", "in", ["sent", "failed"])
      .where("created_at", "<", now - MAIL_RETENTION_SECONDS)
      .executeTakeFirst(),
    db
      .deleteFrom("mail_messages")
      .where("status", "=", "outbox")
      .where("created_at", "<", now - OUTBOX_RETENTION_SECONDS)
      .executeTakeFirst(),
    db
      .deleteFrom("webhook_deliveries")
      .where("status", "in", ["delivered", "failed"])
      .where("created_at", "<", now - EVENT_RETENTION_SECONDS)
      .executeTakeFirst(),
  ]);
  // After the deliveries: an old event goes once no delivery of it is left.
  const events = await db
    .deleteFrom("events")
    .where("created_at", "<", now - EVENT_RETENTION_SECONDS)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom("webhook_deliveries")
            .select("id")
            .whereRef("webhook_deliveries.event_id", "=", "events.id"),
        ),
      ),
    )
    .executeTakeFirst();
  results.push(events);
  return results.reduce((sum, r) => sum + Number(r.numDeletedRows), 0);
}
