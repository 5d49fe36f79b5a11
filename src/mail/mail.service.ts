// The rules of e-mail: a message is rendered and written to the outbox in the transaction of the
// change that causes it (DESIGN.md "Outbox for side effects"), never sent from inside a request; the
// worker (worker.ts) delivers it after the commit. With MAIL_TRANSPORT=outbox nothing is sent: the
// message stays in the database for the dashboard's Outbox.
import type { Logger } from "pino";
import { BusinessStore } from "../business/business.store.js";
import type { Clock } from "../clock.js";
import { randomHex } from "../crypto/random.js";
import type { SecretBox } from "../crypto/secret-box.js";
import type { Db } from "../storage/database.js";
import type { MailStatus } from "../storage/schema.js";
import { emailProblem } from "../users/email.js";
import { type MailRow, MailStore, mailBodyAad } from "./mail.store.js";
import { type MailTemplate, renderMail } from "./templates.js";

export interface MailOptions {
  /** smtp: pending rows the worker sends; outbox: kept in the database, never sent. */
  transport: "smtp" | "outbox";
  logger?: Logger;
}

export interface MailMessage {
  /**
   * The cause's own key, e.g. `verify:<code id>`: a retried transaction that enqueues again with
   * the same key writes nothing new.
   */
  idempotencyKey: string;
  to: string;
  template: MailTemplate;
}

export interface EnqueuedMail {
  id: string;
  status: MailStatus;
  /** False when a message with this idempotency key already existed (nothing was written). */
  created: boolean;
}

/** What an outbox listing shows of one message. */
export interface MailListEntry {
  row: MailRow;
  /** The decrypted text part, when the caller may read it (see list()); null otherwise. */
  text: string | null;
}

export class MailService {
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly deps: {
      db: Db;
      secretBox: SecretBox;
      clock: Clock;
      options: MailOptions;
    },
  ) {}

  get transport(): MailOptions["transport"] {
    return this.deps.options.transport;
  }

  /**
   * Renders the message and writes it with `db` — the caller's transaction, so the message exists
   * exactly when the change that causes it committed. Sends nothing.
   */
  async enqueue(db: Db, message: MailMessage): Promise<EnqueuedMail> {
    const { secretBox, clock, options } = this.deps;
    const problem = emailProblem(message.to);
    if (problem) throw new Error(`cannot send mail to an address that ${problem}`);
    if (!/^[\x21-\x7e]{1,200}$/.test(message.idempotencyKey))
      throw new Error("a mail idempotency key is 1-200 printable ASCII characters");
    const businessName = await new BusinessStore(db, clock).name();
    const rendered = renderMail(message.template, { businessName, to: message.to });
    const id = `mail_${randomHex(16)}`;
    const status = options.transport === "outbox" ? "outbox" : "pending";
    const result = await new MailStore(db).insert({
      id,
      idempotencyKey: message.idempotencyKey,
      kind: message.template.kind,
      to: message.to,
      subject: rendered.subject,
      bodySealed: secretBox.seal(
        JSON.stringify({ text: rendered.text, html: rendered.html }),
        mailBodyAad(id),
      ),
      status,
      now: clock.now(),
    });
    if (!result.created) return result;
    if (status === "outbox") {
      // The one trace of the message outside the database: no code, no link, no full address.
      options.logger?.info(
        {
          event: "mail_outbox",
          mailId: result.id,
          kind: message.template.kind,
          recipientDomain: domainOf(message.to),
        },
        "e-mail kept in the outbox, not sent (no SMTP_URL, or MAIL_TRANSPORT=outbox): read it in the dashboard, Settings › E-mail › Outbox",
      );
    } else {
      // A hint, not the guarantee: the row is invisible to the worker until the caller commits, and
      // the worker's poll finds it then anyway.
      setTimeout(() => this.wake(), 50).unref();
    }
    return result;
  }

  /** Asks the worker to look for due messages now (e.g. right after a commit that enqueued one). */
  wake(): void {
    for (const listener of this.listeners) listener();
  }

  /** The worker's subscription to wake(); returns the unsubscribe. */
  onWake(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Newest first. The text part (where the code or link is) is opened only with `revealBodies` —
   * an administrator in the dashboard, never a machine token: a machine that could read
   * password-reset codes could take over any account — and only for messages kept in the outbox
   * (a sent message's body is gone; a pending one is on its way to its owner).
   */
  async list(
    limit: number,
    after: { at: number; id: string } | undefined,
    revealBodies: boolean,
  ): Promise<MailListEntry[]> {
    const rows = await new MailStore(this.deps.db).page(limit, after);
    return rows.map((row) => ({
      row,
      text: revealBodies && row.status === "outbox" && row.body_sealed ? this.tryOpen(row) : null,
    }));
  }

  /** A body that does not open (altered; the start-up key check samples these too) lists without it. */
  private tryOpen(row: MailRow): string | null {
    try {
      return this.open(row).text;
    } catch {
      return null;
    }
  }

  /** The sealed body of a message. */
  open(row: Pick<MailRow, "id" | "body_sealed">): { text: string; html: string } {
    if (!row.body_sealed) throw new Error("the message has no body (delivered or given up)");
    return JSON.parse(this.deps.secretBox.open(row.body_sealed, mailBodyAad(row.id))) as {
      text: string;
      html: string;
    };
  }
}

/** The part of an address that is safe to log: where it goes, not whose it is. */
export function domainOf(address: string): string {
  const at = address.lastIndexOf("@");
  return at === -1 ? "" : address.slice(at + 1).toLowerCase();
}
