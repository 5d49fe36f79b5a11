// SQL of the mail outbox (table mail_messages, migration 0016). Every write a sender makes after its
// claim is fenced on its lease_owner: a sender whose lease expired (paused, partitioned) cannot
// overwrite the outcome of the one that took the row over.
import type { Selectable } from "kysely";
import type { Db } from "../storage/database.js";
import { claimLeased } from "../storage/lease-claim.js";
import type { MailMessagesTable, MailStatus } from "../storage/schema.js";

export type MailRow = Selectable<MailMessagesTable>;

/** Additional authenticated data of a message body: it opens only in its own row. */
export function mailBodyAad(id: string): string {
  return `mail_body:${id}`;
}

export interface NewMailRow {
  id: string;
  idempotencyKey: string;
  kind: string;
  to: string;
  subject: string;
  bodySealed: string;
  status: Extract<MailStatus, "pending" | "outbox">;
  now: number;
}

export class MailStore {
  constructor(private readonly db: Db) {}

  /**
   * Writes the message unless one with the same idempotency key exists (a retried transaction):
   * then nothing is written and that message's id is returned.
   */
  async insert(row: NewMailRow): Promise<{ id: string; status: MailStatus; created: boolean }> {
    const inserted = await this.db
      .insertInto("mail_messages")
      .values({
        id: row.id,
        idempotency_key: row.idempotencyKey,
        kind: row.kind,
        to_address: row.to,
        subject: row.subject,
        body_sealed: row.bodySealed,
        status: row.status,
        attempts: 0,
        next_attempt_at: row.now,
        created_at: row.now,
      })
      .onConflict((oc) => oc.column("idempotency_key").doNothing())
      .returning(["id", "status"])
      .executeTakeFirst();
    if (inserted) return { ...inserted, created: true };
    const existing = await this.db
      .selectFrom("mail_messages")
      .select(["id", "status"])
      .where("idempotency_key", "=", row.idempotencyKey)
      .executeTakeFirstOrThrow();
    return { ...existing, created: false };
  }

  find(id: string): Promise<MailRow | undefined> {
    return this.db.selectFrom("mail_messages").selectAll().where("id", "=", id).executeTakeFirst();
  }

  /**
   * Claims up to `limit` due pending messages (or only `onlyId`) for `owner` until `leaseUntil`.
   * A row is due when its next attempt time has come and no live lease holds it; an expired lease
   * (its sender crashed) no longer does. How the claim stays atomic across instances: claimLeased.
   */
  async claim(options: {
    owner: string;
    now: number;
    leaseUntil: number;
    limit: number;
    onlyId?: string;
  }): Promise<MailRow[]> {
    const { owner, now, leaseUntil, limit, onlyId } = options;
    const due = (db: Db) => {
      let query = db
        .selectFrom("mail_messages")
        .select("id")
        .where("status", "=", "pending")
        .where("next_attempt_at", "<=", now)
        .where((eb) => eb.or([eb("lease_until", "is", null), eb("lease_until", "<=", now)]));
      if (onlyId !== undefined) query = query.where("id", "=", onlyId);
      return query.orderBy("next_attempt_at").orderBy("id").limit(limit);
    };
    return claimLeased(this.db, due, (db, ids) =>
      db
        .updateTable("mail_messages")
        .set({ lease_owner: owner, lease_until: leaseUntil })
        .where("id", "in", ids)
        .returningAll()
        .execute(),
    );
  }

  /** Delivered: the body (the code) goes, the metadata stays. */
  async markSent(id: string, owner: string, now: number, attempts: number): Promise<boolean> {
    const result = await this.db
      .updateTable("mail_messages")
      .set({
        status: "sent",
        sent_at: now,
        attempts,
        body_sealed: null,
        last_error: null,
        lease_owner: null,
        lease_until: null,
      })
      .where("id", "=", id)
      .where("lease_owner", "=", owner)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** A failed attempt with another to come at `nextAttemptAt`. */
  async markRetry(
    id: string,
    owner: string,
    attempts: number,
    nextAttemptAt: number,
    lastError: string,
  ): Promise<void> {
    await this.db
      .updateTable("mail_messages")
      .set({
        attempts,
        next_attempt_at: nextAttemptAt,
        last_error: lastError,
        lease_owner: null,
        lease_until: null,
      })
      .where("id", "=", id)
      .where("lease_owner", "=", owner)
      .execute();
  }

  /** Given up: no more attempts; the body (an expired code by now) goes. */
  async markFailed(id: string, owner: string, attempts: number, lastError: string): Promise<void> {
    await this.db
      .updateTable("mail_messages")
      .set({
        status: "failed",
        attempts,
        last_error: lastError,
        body_sealed: null,
        lease_owner: null,
        lease_until: null,
      })
      .where("id", "=", id)
      .where("lease_owner", "=", owner)
      .execute();
  }

  /** Hands back claimed messages not attempted (shutdown, a lease running short): due again at once. */
  async release(ids: readonly string[], owner: string): Promise<void> {
    if (ids.length === 0) return;
    await this.db
      .updateTable("mail_messages")
      .set({ lease_owner: null, lease_until: null })
      .where("id", "in", [...ids])
      .where("lease_owner", "=", owner)
      .where("status", "=", "pending")
      .execute();
  }

  /** Newest first, keyset-paged on (created_at, id). */
  page(limit: number, after?: { at: number; id: string }): Promise<MailRow[]> {
    let query = this.db.selectFrom("mail_messages").selectAll();
    if (after) {
      query = query.where((eb) =>
        eb.or([
          eb("created_at", "<", after.at),
          eb.and([eb("created_at", "=", after.at), eb("id", "<", after.id)]),
        ]),
      );
    }
    return query.orderBy("created_at", "desc").orderBy("id", "desc").limit(limit).execute();
  }
}
