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

/** AUDIT_LOG_RETENTION_DAYS' default: the audit log and the authentication log keep 30 days. */
export const AUDIT_LOG_RETENTION_SECONDS = 30 * 86_400;
/** Rows per DELETE of old log entries (see purgeAuditLogs). */
export const AUDIT_PURGE_BATCH_SIZE = 1_000;

export interface PurgeOptions {
  /** How long audit_log and authentication_log entries are kept (AUDIT_LOG_RETENTION_DAYS). */
  auditLogRetentionSeconds?: number;
}

export async function purgeExpired(db: Db, now: number, options: PurgeOptions = {}): Promise<number> {
  const hourAgo = now - 3_600;
  const audited = await purgeAuditLogs(db, now, options.auditLogRetentionSeconds);
  const results = await Promise.all([
    db.deleteFrom("authorization_requests").where("expires_at", "<", hourAgo).executeTakeFirst(),
    db.deleteFrom("authorization_codes").where("expires_at", "<", hourAgo).executeTakeFirst(),
    db.deleteFrom("device_codes").where("expires_at", "<", hourAgo).executeTakeFirst(),
    db.deleteFrom("refresh_tokens").where("expires_at", "<", now).executeTakeFirst(),
    // A revoked JWT stays refusable while verifiers still accept it: they allow clock skew past
    // `exp`, so its revocation row must outlive `exp` by more than that (an hour here).
    db.deleteFrom("access_tokens").where("expires_at", "<", hourAgo).executeTakeFirst(),
    db.deleteFrom("browser_sessions").where("expires_at", "<", now).executeTakeFirst(),
    db.deleteFrom("one_time_codes").where("expires_at", "<", now).executeTakeFirst(),
    db.deleteFrom("passkey_challenges").where("expires_at", "<", now).executeTakeFirst(),
    // A connection sign-in's state nobody came back with (UpstreamStates.purgeExpired's rule).
    db.deleteFrom("upstream_sign_in_states").where("expires_at", "<=", now).executeTakeFirst(),
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
  return audited.deleted + results.reduce((sum, r) => sum + Number(r.numDeletedRows), 0);
}

/**
 * Deletes audit_log and authentication_log entries older than the retention, AUDIT_PURGE_BATCH_SIZE
 * rows per statement, one statement after another until one deletes fewer. A busy server writes
 * thousands of authentication entries an hour: a month's backlog (a first start with the setting
 * lowered, or the purge off for a while) removed in one DELETE would hold SQLite's write lock, or
 * PostgreSQL's row locks and WAL, for the whole of it; small statements let sign-ins and the log's
 * own INSERTs through between them. The oldest first, found on the (created_at, id) index.
 */
export async function purgeAuditLogs(
  db: Db,
  now: number,
  retentionSeconds = AUDIT_LOG_RETENTION_SECONDS,
  batchSize = AUDIT_PURGE_BATCH_SIZE,
): Promise<{ deleted: number; statements: number }> {
  const before = now - retentionSeconds;
  let deleted = 0;
  let statements = 0;
  for (const table of ["audit_log", "authentication_log"] as const) {
    for (;;) {
      const result = await db
        .deleteFrom(table)
        .where("id", "in", (eb) =>
          eb
            .selectFrom(table)
            .select("id")
            .where("created_at", "<", before)
            .orderBy("created_at")
            .orderBy("id")
            .limit(batchSize),
        )
        .executeTakeFirst();
      const count = Number(result.numDeletedRows);
      deleted += count;
      statements += 1;
      if (count < batchSize) break;
    }
  }
  return { deleted, statements };
}
