// Delivers the outbox: runs in every server process with MAIL_TRANSPORT=smtp, started and stopped
// with the server. It claims due messages under a lease (mail.store.ts: FOR UPDATE SKIP LOCKED on
// PostgreSQL, so several instances share the work), sends them one at a time, and records each
// outcome: sent (the body is dropped), a retry with exponential backoff and jitter, or failed after
// a day of attempts. A sender that dies mid-batch leaves its lease to expire; the messages are then
// claimed again. Delivery is at least once: a crash between the relay's acceptance and the `sent`
// mark sends that message again, under the same Message-ID, so it is recognisably one message.
import { hostname } from "node:os";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { BusinessStore } from "../business/business.store.js";
import { type Clock, systemClock } from "../clock.js";
import type { Config } from "../config/config.js";
import { randomHex } from "../crypto/random.js";
import type { Db } from "../storage/database.js";
import { backoffSeconds as exponentialBackoff, PollingLoop } from "../storage/polling-loop.js";
import { domainOf, type MailService } from "./mail.service.js";
import { type MailRow, MailStore } from "./mail.store.js";
import { type MailTransport, SendError, smtpTransport } from "./transport.js";

export interface MailWorkerOptions {
  db: Db;
  mail: MailService;
  transport: MailTransport;
  logger: Logger;
  issuer: string;
  /** The From address (MAIL_FROM); the business name is its display name. */
  from: string;
  clock?: Clock;
  /** How often to look for due messages when not woken (ms). */
  pollIntervalMs?: number;
  batchSize?: number;
  /** For jitter; tests pin it. */
  random?: () => number;
}

/** How long a claim holds its messages against other senders. */
export const LEASE_SECONDS = 120;
/** The time one attempt may take (transport.ts bounds it at 60 s): no attempt starts closer to the lease's end. */
const ATTEMPT_SECONDS = 60;
/** Attempts stop a day after the message was written; it is marked failed. */
export const GIVE_UP_AFTER_SECONDS = 86_400;

/** 15 s · 2^(n-1) after the n-th failure, capped at an hour; "equal jitter" spreads a burst's retries. */
export function backoffSeconds(failures: number, random: () => number = Math.random): number {
  return exponentialBackoff(failures, { baseSeconds: 15, capSeconds: 3_600 }, random);
}

export class MailWorker {
  /** This sender's lease id: host, process and a random part (a restarted process is another sender). */
  readonly owner = `${hostname()}:${process.pid}:${randomHex(4)}`;
  private readonly store: MailStore;
  private readonly clock: Clock;
  private readonly messageIdHost: string;
  private readonly loop: PollingLoop;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: MailWorkerOptions) {
    this.store = new MailStore(options.db);
    this.clock = options.clock ?? systemClock;
    this.messageIdHost = new URL(options.issuer).hostname;
    const batchSize = options.batchSize ?? 10;
    this.loop = new PollingLoop({
      // A full batch: more may be due at once.
      round: async () => (await this.runOnce()) >= batchSize,
      intervalMs: options.pollIntervalMs ?? 1_000,
      // The database (or the business row) briefly away: said once a minute, retried each poll.
      onTrouble: (error) =>
        options.logger.warn({ err: error }, "the mail worker cannot reach the outbox; it keeps trying"),
    });
  }

  start(): void {
    this.unsubscribe?.();
    this.unsubscribe = this.options.mail.onWake(() => this.wake());
    this.loop.start();
  }

  /** Finishes the message being sent, hands the rest of the batch back, and closes the connection. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.loop.stop();
    this.options.transport.close();
  }

  wake(): void {
    this.loop.wake();
  }

  /** One claim and its deliveries; the number of messages claimed. */
  async runOnce(): Promise<number> {
    const now = this.clock.now();
    const batchSize = this.options.batchSize ?? 10;
    const rows = await this.store.claim({
      owner: this.owner,
      now,
      leaseUntil: now + LEASE_SECONDS,
      limit: batchSize,
    });
    await this.deliverClaimed(rows);
    return rows.length;
  }

  /**
   * Claims and sends one message now (`latchkey mail test`); its row afterwards, or undefined when
   * it is not there. A message another sender holds, or that is not due, is left to it.
   */
  async deliver(id: string): Promise<MailRow | undefined> {
    const now = this.clock.now();
    const rows = await this.store.claim({
      owner: this.owner,
      now,
      leaseUntil: now + LEASE_SECONDS,
      limit: 1,
      onlyId: id,
    });
    await this.deliverClaimed(rows);
    return this.store.find(id);
  }

  private async deliverClaimed(rows: MailRow[]): Promise<void> {
    if (rows.length === 0) return;
    const from = {
      name: await new BusinessStore(this.options.db, this.clock).name(),
      address: this.options.from,
    };
    const left = rows.map((r) => r.id);
    try {
      for (const row of rows) {
        // Stopping, or the lease too short for a whole attempt: the rest is handed back untouched.
        if (this.loop.isStopping || this.clock.now() + ATTEMPT_SECONDS > (row.lease_until ?? 0)) break;
        left.shift();
        await this.attempt(row, from);
      }
    } finally {
      await this.store.release(left, this.owner).catch(() => {});
    }
  }

  private async attempt(row: MailRow, from: { name: string; address: string }): Promise<void> {
    const { logger, mail, transport } = this.options;
    const attempts = row.attempts + 1;
    const fields = { mailId: row.id, kind: row.kind, recipientDomain: domainOf(row.to_address), attempts };
    let body: { text: string; html: string };
    try {
      body = mail.open(row);
    } catch {
      await this.store.markFailed(
        row.id,
        this.owner,
        row.attempts,
        "the body does not open with the master key",
      );
      logger.error(
        { event: "mail_failed", ...fields },
        "e-mail given up: its body does not open with the master key",
      );
      return;
    }
    try {
      await transport.send({
        messageId: `<${row.id}@${this.messageIdHost}>`,
        from,
        to: row.to_address,
        subject: row.subject,
        text: body.text,
        html: body.html,
      });
    } catch (error) {
      const failure =
        error instanceof SendError ? error : new SendError("unexpected error while sending", false);
      const now = this.clock.now();
      const giveUpAt = row.created_at + GIVE_UP_AFTER_SECONDS;
      if (failure.permanent || now >= giveUpAt) {
        await this.store.markFailed(row.id, this.owner, attempts, failure.summary);
        logger.warn({ event: "mail_failed", ...fields, error: failure.summary }, "e-mail given up");
      } else {
        const next = Math.min(now + backoffSeconds(attempts, this.options.random), giveUpAt);
        await this.store.markRetry(row.id, this.owner, attempts, next, failure.summary);
        logger.warn(
          { event: "mail_retry", ...fields, retryIn: next - now, error: failure.summary },
          "e-mail not sent; it will be retried",
        );
      }
      return;
    }
    await this.store.markSent(row.id, this.owner, this.clock.now(), attempts);
    logger.info({ event: "mail_sent", ...fields }, "e-mail sent");
  }
}

/**
 * With MAIL_TRANSPORT=smtp, a worker that starts when the server is ready and stops when it closes
 * (graceful shutdown: the message being sent finishes, the rest of its batch is handed back).
 */
export function registerMailWorker(
  app: FastifyInstance,
  deps: { config: Config; db: Db; mail: MailService; logger: Logger; clock?: Clock },
): MailWorker | undefined {
  const { mail: settings, issuerUrl } = deps.config;
  if (settings.transport !== "smtp" || !settings.smtp) return undefined;
  const worker = new MailWorker({
    db: deps.db,
    mail: deps.mail,
    transport: smtpTransport(settings.smtp, { pool: true }),
    logger: deps.logger,
    issuer: issuerUrl,
    from: settings.from,
    clock: deps.clock,
  });
  app.addHook("onReady", async () => worker.start());
  app.addHook("onClose", async () => worker.stop());
  return worker;
}
