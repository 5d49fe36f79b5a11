// Opens the database named by DATABASE_URL behind one Kysely query code path. SQLite (embedded
// default) and PostgreSQL (production, several instances) differ only here and in the dialect
// helpers below.
import { mkdirSync } from "node:fs";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, PostgresDialect, sql } from "kysely";
import type pg from "pg";
import type { Logger } from "pino";
import type { DatabaseTarget } from "../config/config.js";
import { DatabaseUnavailableError } from "./errors.js";
import type { Schema } from "./schema.js";
import { DurableSqliteDialect, GroupCommit, type WalFlush, walFlush } from "./sqlite-driver.js";
import { statementName, unnameStatement } from "./statement-names.js";

export type Db = Kysely<Schema>;

export interface Storage {
  readonly db: Db;
  readonly dialect: DatabaseTarget["kind"];
  /** Resolves when the database answers a trivial query within `timeoutMs`. */
  ping(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
  /** PostgreSQL only: the connection pool's use now (for /metrics; SQLite has no pool). */
  poolStats?: () => PoolStats;
}

export interface PoolStats {
  /** Connections open (idle or checked out); at most `max`. */
  total: number;
  idle: number;
  /** Queries waiting for a connection: the pool is exhausted while this is above zero. */
  waiting: number;
  max: number;
}

export interface OpenOptions {
  poolSize?: number;
  /** PostgreSQL: send prepared.ts's statements as named statements (default true). */
  preparedStatements?: boolean;
  logger?: Logger;
  /** Tests only: wraps the SQLite -wal flush, to watch or hold it. */
  walFlush?: (flush: WalFlush) => WalFlush;
  /**
   * Tests and benchmarks only: told of every statement sent to PostgreSQL (each one a round trip)
   * and which connection sent it — how tests count round trips and commits per operation.
   */
  onStatement?: (sql: string, connection: number) => void;
}

export async function openStorage(target: DatabaseTarget, options: OpenOptions = {}): Promise<Storage> {
  if (target.kind === "sqlite") return openSqlite(target.path, options);
  // Loaded only when used: pg costs ~100 ms of every SQLite start-up.
  const { default: driver } = await import("pg");
  return openPostgres(driver, target.url, options);
}

function openSqlite(file: string, options: OpenOptions): Storage {
  if (file !== ":memory:") mkdirSync(path.dirname(file), { recursive: true });
  const database = new BetterSqlite3(file);
  const journal = database.pragma("journal_mode = WAL", { simple: true });
  // A writer waits for another writer instead of failing at once with SQLITE_BUSY.
  database.pragma("busy_timeout = 5000");
  database.pragma("foreign_keys = ON");
  // A transaction acknowledged to a client survives a power loss, not only a crash: in WAL mode by
  // the driver's group commit (sqlite-driver.ts), otherwise by SQLite's own fsync at each commit.
  let groupCommit: GroupCommit | undefined;
  let flush: ReturnType<typeof walFlush> | undefined;
  if (journal === "wal") {
    database.pragma("synchronous = NORMAL");
    flush = walFlush(file);
    groupCommit = new GroupCommit(options.walFlush?.(flush) ?? flush);
  } else {
    database.pragma("synchronous = FULL");
  }
  const db = new Kysely<Schema>({ dialect: new DurableSqliteDialect({ database, groupCommit }) });
  return {
    db,
    dialect: "sqlite",
    async ping() {
      if (groupCommit?.failure) throw groupCommit.failure;
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
      flush?.close();
    },
  };
}

let connections = 0;

/** Reports each query a client sends (its text only; values are never looked at). */
function watchStatements(client: pg.PoolClient, onStatement: NonNullable<OpenOptions["onStatement"]>): void {
  const connection = ++connections;
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (...args: unknown[]) => {
    const first = args[0];
    const text = typeof first === "string" ? first : ((first as { text?: string } | undefined)?.text ?? "");
    onStatement(text, connection);
    return query(...args);
  };
}

/**
 * Sends the statements statement-names.ts names as named statements: PostgreSQL parses each once
 * per connection (pg remembers which it has) and can keep its plan. Kysely calls `query(text, values)`.
 */
function namePreparedStatements(client: pg.PoolClient, logger: Logger | undefined): void {
  const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
  (client as { query: unknown }).query = (...args: unknown[]) => {
    const [text, values] = args;
    const name =
      args.length === 2 && typeof text === "string"
        ? statementName(text, Array.isArray(values) ? values.length : 0)
        : undefined;
    if (name === undefined) return query(...args);
    return query({ name, text, values }).catch((error: unknown) => {
      // Nothing ran in either case below, and this call is sent unnamed. In a transaction the error
      // has already aborted it, and the retry fails as the transaction would have.
      const code = (error as { code?: unknown }).code;
      if (code === "26000") {
        // The server no longer has a statement pg believes parsed — a pooler's DISCARD ALL or a
        // connection it swapped, a bind that failed after the parse: pg forgets it (the next call
        // parses it again).
        delete (client as unknown as PgConnectionInternals).connection.parsedStatements[name];
        logger?.warn(
          { statement: name },
          "PostgreSQL lost a prepared statement; behind a pooler in transaction mode set DATABASE_PREPARED_STATEMENTS=false",
        );
      } else if (code === "0A000" && /cached plan must not change result type/.test(String(error))) {
        // A migration (this instance's or a newer one's) changed a column the statement returns:
        // it stays unnamed in this process from now on.
        unnameStatement(text as string);
        logger?.warn(
          { statement: name },
          "a column this statement returns changed; it is sent unnamed from now on",
        );
      } else throw error;
      return query(text, values);
    });
  };
}

/** The part of pg's Client (8.x) that records which named statements the server has parsed. */
interface PgConnectionInternals {
  connection: { parsedStatements: Record<string, string> };
}

function openPostgres(driver: typeof pg, url: string, options: OpenOptions): Storage {
  // int8 (COUNT, bigint epoch columns) as JS numbers: every value we store fits in 2^53.
  const types = {
    getTypeParser(oid: number, format?: "text" | "binary") {
      if (oid === driver.types.builtins.INT8) return (value: string) => Number(value);
      return driver.types.getTypeParser(oid, format);
    },
  };
  const openPool = (settings: { max: number; application_name?: string }) => {
    const pool = new driver.Pool({
      connectionString: url,
      ...settings,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
      statement_timeout: 30_000,
      types,
    });
    // An idle client whose server went away emits 'error' on the pool; without a listener Node would
    // crash the process. The pool drops that client; the next query opens a new connection.
    pool.on("error", (error) => {
      options.logger?.warn({ err: error }, "PostgreSQL connection lost; it will be re-established on demand");
    });
    // The pool listens for 'error' only on idle clients: it removes its listener while a client is
    // checked out. A checked-out client (between the queries of a transaction, or even mid-query: pg
    // emits 'error' when the socket ends) that loses its server — PostgreSQL restarted (57P01
    // "terminating connection due to administrator command") or gone — emits 'error' with no
    // listener, and Node crashes the process.
    // Every client gets its own listener for its whole life: the client stays marked not queryable,
    // its next query fails (→ 503) and the pool discards it when it is released. (An idle client's
    // loss is already logged by the pool's 'error' event above.)
    const inUse = new WeakSet<pg.PoolClient>();
    pool.on("acquire", (client) => inUse.add(client));
    pool.on("release", (_error, client) => inUse.delete(client));
    pool.on("connect", (client) => {
      if (options.preparedStatements !== false) namePreparedStatements(client, options.logger);
      if (options.onStatement) watchStatements(client, options.onStatement);
      client.on("error", (error) => {
        if (inUse.has(client))
          options.logger?.warn({ err: error }, "PostgreSQL connection lost while in use");
      });
    });
    return { pool, db: new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) }) };
  };
  const poolSize = options.poolSize ?? 10;
  const { db, pool } = openPool({ max: poolSize });
  // One more connection, outside the pool, for the configuration-generation read every token
  // request waits for (config-cache.ts): behind a pool busy with sign-ins (a flood of them holds
  // every connection) that one-row read would queue for tens of milliseconds. Lost, it is opened
  // again by the next read, like a pooled one.
  const reader = openPool({ max: 1, application_name: GENERATION_READER_NAME }).db;
  dedicatedReaders.set(db, reader);
  return {
    db,
    dialect: "postgres",
    async ping(timeoutMs = 2_000) {
      await withTimeout(sql`select 1`.execute(db), timeoutMs, "database ping timed out");
    },
    async close() {
      await Promise.all([db.destroy(), reader.destroy()]);
    },
    poolStats: () => ({
      total: pool.totalCount,
      idle: pool.idleCount,
      waiting: pool.waitingCount,
      max: poolSize,
    }),
  };
}

/** application_name of the generation reader's connection (visible in pg_stat_activity). */
export const GENERATION_READER_NAME = "latchkey-config-generation";

const dedicatedReaders = new WeakMap<Db, Db>();

/**
 * Where to run a short read that must not wait behind other work: on PostgreSQL a connection of
 * its own, outside `db`'s pool; otherwise (SQLite, a transaction, a handle not opened here) `db`.
 */
export function dedicatedReader(db: Db): Db {
  return dedicatedReaders.get(db) ?? db;
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseUnavailableError(message)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export { DatabaseUnavailableError };

const UNAVAILABLE_NODE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
]);
const UNAVAILABLE_SQLITE_CODES = [
  "SQLITE_BUSY",
  "SQLITE_LOCKED",
  "SQLITE_READONLY",
  "SQLITE_IOERR",
  "SQLITE_FULL",
];

/**
 * True for errors that mean "the database cannot serve us right now" rather than "this request is
 * wrong": callers answer 503 / temporarily_unavailable for these, never 500.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof DatabaseUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") {
    if (UNAVAILABLE_NODE_CODES.has(code)) return true;
    if (UNAVAILABLE_SQLITE_CODES.some((prefix) => code.startsWith(prefix))) return true;
    // PostgreSQL SQLSTATE classes 08 (connection exception), 53 (insufficient resources),
    // 57P0x (admin/crash shutdown, cannot connect now), and 40001/40P01 (a serialization failure,
    // or a deadlock PostgreSQL broke by refusing this side — e.g. two transactions moving the same
    // users' claims versions, migration 0045, in opposite orders): all worth a retry.
    // 08P01 (protocol violation) is a malformed request, not an outage.
    if ((/^(08|53)/.test(code) && code !== "08P01") || /^57P0[1-4]$/.test(code)) return true;
    if (code === "40001" || code === "40P01") return true;
  }
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended/i.test(
    error.message,
  );
}

/**
 * True when a query failed because its connection, once open, was lost (PostgreSQL ended it or
 * went away): an idempotent read may be retried on a new connection. Not a database that cannot
 * be reached at all (that retry would only double the wait).
 */
export function isConnectionLost(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && /^57P0[1-3]$/.test(code)) return true;
  return /Connection terminated unexpectedly|not queryable/i.test(error.message);
}

/** Runs `work` in a transaction, joining the caller's transaction when `db` already is one. */
export function inTransaction<T>(db: Db, work: (trx: Db) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db) : db.transaction().execute(work);
}
