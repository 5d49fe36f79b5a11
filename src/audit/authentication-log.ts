// The authentication log (issue 18): who signed in, failed to, signed out, and which tokens were
// issued by which grant — identifiers and outcomes only, never a password, code, token, e-mail
// address or message body. Administrators read it at GET /api/v1/audit_log/authentication
// (src/management/authentication-log.routes.ts); the purge keeps AUDIT_LOG_RETENTION_DAYS of it.
//
// Written behind the request, not in it: the token endpoint (client_credentials above all) must not
// gain a database round trip per request (issue 21). An entry is appended to this process's memory
// and written with others in one multi-row INSERT every FLUSH_INTERVAL_MS, as soon as BATCH_SIZE
// have gathered, and when the server closes. The price, accepted for a log rather than a record of
// state: a process that dies without closing (kill -9, power loss) loses the entries of its last
// second at most — more only while the database is unreachable, when entries wait here (up to
// MAX_BUFFERED, then new ones are dropped and counted). DESIGN.md's "a 2xx means committed" is
// about the state a response reports (sessions, codes, tokens), all of which is still written
// before the response; this log reports on it after the fact.
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type { Db } from "../storage/database.js";
import type { AuthenticationLogTable, AuthenticationLogType } from "../storage/schema.js";

export type { AuthenticationLogType } from "../storage/schema.js";

/** Every type the log holds today; the MFA work adds `mfa_*` ones here and in schema.ts. */
export const AUTHENTICATION_LOG_TYPES: readonly AuthenticationLogType[] = [
  "sign_in",
  "sign_in_failed",
  "sign_out",
  "token_issued",
];

export const FLUSH_INTERVAL_MS = 1_000;
export const BATCH_SIZE = 200;
/** Entries held while the database is away (~2.5 MB); past this, new entries are dropped and counted. */
export const MAX_BUFFERED = 10_000;
/** A failing database or dropped entries are reported at most this often. */
const REPORT_INTERVAL_MS = 60_000;

export interface AuthenticationEntry {
  type: AuthenticationLogType;
  userId?: string | null;
  clientId?: string | null;
  /** token_issued: the grant_type that issued the tokens. */
  grantType?: string | null;
  /** sign_in, sign_in_failed: how the person proved who they are (see signInMethod). */
  method?: string | null;
}

/** Where the entry's request came from; a Fastify request is one. */
export interface RequestOrigin {
  ip: string;
  id: string;
}

export interface AuthenticationLogOptions {
  clock: Clock;
  /** Told (at most once a minute) when writing fails or entries are dropped. */
  logger?: Pick<Logger, "warn" | "error">;
  flushIntervalMs?: number;
  batchSize?: number;
  maxBuffered?: number;
}

/**
 * This process's random tag, drawn once: ids need uniqueness across instances, not secrecy, and a
 * draw per id was a system call per token issued (8 µs of each client-credentials request).
 */
const processTag = randomBytes(6).toString("hex");
let lastMs = 0;
let sequence = 0;
/**
 * Ids sort by time: milliseconds, then a sequence within the millisecond, then the process's tag so
 * that instances writing at the same millisecond never collide (the audit log's ids have the same
 * form). Within a process they only grow, even if the clock steps back: no id repeats.
 */
export function timeSortableId(): string {
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    sequence = 0;
  } else if (++sequence > 0xffff) {
    lastMs += 1;
    sequence = 0;
  }
  return `${lastMs.toString(16).padStart(12, "0")}${sequence.toString(16).padStart(4, "0")}${processTag}`;
}

/**
 * RFC 8176 `amr` values (src/mfa/policy.ts) as the log names sign-in methods: ["pwd"] → "password",
 * ["pwd","otp","mfa"] → "password+authenticator_app". `mfa` only says there were two; it is not named.
 */
export function signInMethod(amr: readonly string[]): string | null {
  const names = amr.filter((value) => value !== "mfa").map((value) => AMR_METHODS[value] ?? value);
  return names.length > 0 ? [...new Set(names)].join("+").slice(0, 100) : null;
}
const AMR_METHODS: Record<string, string> = {
  pwd: "password",
  email: "email_code",
  otp: "authenticator_app",
  sms: "sms_code",
  hwk: "passkey",
  swk: "passkey",
};

export class AuthenticationLog {
  private buffer: AuthenticationLogTable[] = [];
  /** Rows taken out of the buffer by the INSERT under way (they count against MAX_BUFFERED). */
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  /** Set while the database refuses writes: only the timer retries, not every new entry. */
  private failing = false;
  private closed = false;
  private dropped = 0;
  private lastDropReport = 0;
  private lastFailureReport = 0;
  private readonly flushIntervalMs: number;
  private readonly batchSize: number;
  private readonly maxBuffered: number;

  /** `db` must be the process-wide database, never a transaction (entries outlive requests). */
  constructor(
    private readonly db: Db,
    private readonly options: AuthenticationLogOptions,
  ) {
    this.flushIntervalMs = options.flushIntervalMs ?? FLUSH_INTERVAL_MS;
    this.batchSize = options.batchSize ?? BATCH_SIZE;
    this.maxBuffered = options.maxBuffered ?? MAX_BUFFERED;
  }

  /** Entries waiting to be written (for tests and diagnostics). */
  get pending(): number {
    return this.buffer.length + this.inFlight;
  }

  /**
   * Appends an entry; it reaches the database within about a second. Never throws and never
   * waits: a log entry must not fail or slow the sign-in or token request it describes.
   */
  record(origin: RequestOrigin | undefined, entry: AuthenticationEntry): void {
    if (this.closed || this.pending >= this.maxBuffered) {
      this.dropped += 1;
      this.report();
      return;
    }
    this.buffer.push({
      id: timeSortableId(),
      created_at: this.options.clock.now(),
      type: entry.type,
      user_id: entry.userId ?? null,
      client_id: entry.clientId ?? null,
      grant_type: entry.grantType ?? null,
      method: entry.method ?? null,
      ip_address: origin?.ip.slice(0, 100) ?? null,
      request_id: origin?.id.slice(0, 100) ?? null,
    });
    if (this.buffer.length >= this.batchSize && !this.failing) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushIntervalMs).unref();
  }

  /**
   * Writes everything waiting, BATCH_SIZE rows per INSERT. One drain runs at a time; a call during
   * one shares it, and it keeps going until the buffer is empty, so entries recorded before the
   * call are written (or, with the database away, still waiting) when it resolves. Never rejects.
   */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
      // Left over after a failure: the timer tries again (not a tight loop against a dead database).
      if (this.buffer.length > 0 && !this.closed)
        this.timer ??= setTimeout(() => void this.flush(), this.flushIntervalMs).unref();
    });
    return this.draining;
  }

  /** Writes what is waiting and takes no more entries (the server's onClose). */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    if (this.buffer.length > 0) {
      this.dropped += this.buffer.length;
      this.buffer = [];
      this.lastDropReport = 0;
      this.report();
    }
  }

  private async drain(): Promise<void> {
    while (this.buffer.length > 0) {
      const rows = this.buffer.splice(0, this.batchSize);
      this.inFlight = rows.length;
      try {
        await this.db.insertInto("authentication_log").values(rows).execute();
        this.failing = false;
      } catch (error) {
        // Back at the front, in order, for the next attempt.
        this.buffer.unshift(...rows);
        this.failing = true;
        if (Date.now() - this.lastFailureReport >= REPORT_INTERVAL_MS) {
          this.lastFailureReport = Date.now();
          this.options.logger?.warn(
            { err: error, pending: this.buffer.length },
            "could not write the authentication log; entries wait in memory and are retried",
          );
        }
        return;
      } finally {
        this.inFlight = 0;
      }
    }
  }

  private report(): void {
    if (this.dropped === 0 || Date.now() - this.lastDropReport < REPORT_INTERVAL_MS) return;
    this.lastDropReport = Date.now();
    this.options.logger?.error(
      { dropped: this.dropped },
      `${this.dropped} authentication log entr${this.dropped === 1 ? "y was" : "ies were"} dropped: the database was unreachable and the buffer full, or the server had closed`,
    );
    this.dropped = 0;
  }
}
