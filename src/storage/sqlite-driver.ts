// Kysely's SQLite driver, with two changes that matter on a token endpoint: compiled statements are
// reused, and commits are made durable by a group commit off the event loop instead of one fsync per
// transaction on it.
//
// Durability. With journal_mode=WAL a commit only appends frames to the -wal file; synchronous=FULL
// then fsyncs that file before COMMIT returns — on the event loop, once per transaction (~0.4 ms
// here, a quarter of a token refresh's main-thread time). Here SQLite runs with synchronous=NORMAL
// (it still syncs around checkpoints and WAL restarts) and this driver fsyncs the -wal file itself,
// on libuv's pool: a write's promise resolves only once a flush that began after its COMMIT has
// finished. Every transaction committed while one flush runs shares the next one, and the single
// connection is released as soon as COMMIT returns, so other queries run during the flush. The
// guarantee a caller sees is FULL's: when a write resolves, it survives a power loss. Reads follow
// PostgreSQL's rule (a commit is seen once its log is flushed): a statement outside a transaction,
// or the end of a read-only transaction, resolves only once every commit before it is durable, so
// nothing answered can rest on data a power loss would take back.
import { close, fdatasync, fsync, open, realpath } from "node:fs";
import path from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import {
  CompiledQuery,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  type QueryResult,
  SqliteAdapter,
  type SqliteDatabase,
  SqliteDialect,
} from "kysely";
import { DatabaseUnavailableError } from "./errors.js";

/** Makes everything written so far to the -wal file durable; calls back once done. */
export type WalFlush = (done: (error: Error | null) => void) => void;

/**
 * Group commit (the scheme PostgreSQL and InnoDB use for their logs): commits are numbered, a flush
 * covers every commit numbered before it started, and at most one flush runs at a time.
 */
export class GroupCommit {
  #committed = 0;
  #flushed = 0;
  #flushing = false;
  #failed: Error | undefined;
  readonly #waiting: { upTo: number; resolve: () => void; reject: (error: Error) => void }[] = [];

  constructor(private readonly flush: WalFlush) {}

  /** A transaction's COMMIT (or an autocommit write) has returned. */
  noteCommit(): void {
    this.#committed++;
  }

  /** Set once a flush failed: nothing is acknowledged after that (see #finished). */
  get failure(): Error | undefined {
    return this.#failed;
  }

  /** Resolves once every commit noted so far is on stable storage. */
  durable(): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#flushed >= this.#committed) return Promise.resolve();
    const upTo = this.#committed;
    return new Promise((resolve, reject) => {
      this.#waiting.push({ upTo, resolve, reject });
      if (!this.#flushing) this.#start();
    });
  }

  #start(): void {
    this.#flushing = true;
    const upTo = this.#committed;
    this.flush((error) => this.#finished(upTo, error));
  }

  #finished(upTo: number, error: Error | null): void {
    this.#flushing = false;
    if (error) {
      // After a failed fsync the kernel may have dropped the dirty pages and a retry can report
      // success without writing them (PostgreSQL's "fsyncgate"): no later flush can vouch for these
      // commits, so every waiter and every later write is refused until the process restarts.
      this.#failed = new DatabaseUnavailableError("The database could not be flushed to disk", {
        cause: error,
      });
      for (const waiter of this.#waiting.splice(0)) waiter.reject(this.#failed);
      return;
    }
    this.#flushed = upTo;
    let kept = 0;
    for (const waiter of this.#waiting) {
      if (waiter.upTo <= upTo) waiter.resolve();
      else this.#waiting[kept++] = waiter;
    }
    this.#waiting.length = kept;
    if (kept > 0) this.#start();
  }
}

/**
 * fdatasync of `<database>-wal` (opened once: SQLite keeps it while our connection is open). SQLite
 * puts the -wal file next to the database file a symbolic link points to, so the path is resolved
 * first.
 */
export function walFlush(databaseFile: string): WalFlush & { close(): void } {
  let fd: number | undefined;
  let directorySynced = false;
  const flush = (done: (error: Error | null) => void) => {
    if (fd !== undefined) return fdatasync(fd, (error) => done(error));
    realpath(databaseFile, (resolveError, resolved) => {
      if (resolveError) return done(resolveError);
      openAndFlush(resolved, done);
    });
  };
  const openAndFlush = (file: string, done: (error: Error | null) => void) => {
    open(`${file}-wal`, "r", (error, opened) => {
      if (error) return done(error);
      fd = opened;
      fdatasync(opened, (syncError) => {
        if (syncError || directorySynced) return done(syncError);
        // The -wal file's directory entry must be durable too, once, after it was created.
        open(path.dirname(file), "r", (dirError, dir) => {
          if (dirError) return done(dirError);
          fsync(dir, (dirSyncError) => {
            close(dir, () => {
              directorySynced = !dirSyncError;
              done(dirSyncError);
            });
          });
        });
      });
    });
  };
  return Object.assign(flush, {
    close() {
      if (fd !== undefined) close(fd, () => {});
      fd = undefined;
    },
  });
}

/** Compiled statements kept per SQL text; the application sends a few hundred distinct texts. */
const STATEMENT_CACHE_SIZE = 1000;

export interface DurableSqliteOptions {
  database: BetterSqlite3.Database;
  /** Absent for databases that need no flush (in memory, or not in WAL mode). */
  groupCommit?: GroupCommit;
}

export class DurableSqliteDialect extends SqliteDialect {
  constructor(private readonly options: DurableSqliteOptions) {
    // Only the driver differs; SQLite's adapter, query compiler and introspector are the parent's.
    super({ database: options.database as unknown as SqliteDatabase });
  }

  override createDriver(): Driver {
    return new DurableSqliteDriver(this.options);
  }

  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

/**
 * SQLite's DDL is transactional, but Kysely's adapter says it is not, so its migrator ran each
 * migration statement by statement: a crash inside a migration left it half applied and unrecorded,
 * and every later start failed on "table already exists". Declared transactional, the pending
 * migrations and their records commit together or not at all, as on PostgreSQL.
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class DurableSqliteDriver implements Driver {
  readonly #database: BetterSqlite3.Database;
  readonly #groupCommit: GroupCommit | undefined;
  readonly #statements = new Map<string, BetterSqlite3.Statement>();
  /** The one connection's queue: SQLite has one connection, used by one lease at a time. */
  #tail: Promise<void> = Promise.resolve();
  /** A write ran since the last commit or rollback. */
  #writePending = false;

  constructor(options: DurableSqliteOptions) {
    this.#database = options.database;
    this.#groupCommit = options.groupCommit;
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new Lease(this, await this.lock());
  }

  /** Waits for the connection; resolves with the function that hands it to the next in line. */
  async lock(): Promise<() => void> {
    let unlock!: () => void;
    const previous = this.#tail;
    this.#tail = new Promise((resolve) => {
      unlock = resolve;
    });
    await previous;
    return unlock;
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin"));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("commit"));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    // Kysely also rolls back when COMMIT itself went through but its flush failed: the transaction
    // is over and the lease gave the connection up, so there is nothing to undo — and the flush's
    // DatabaseUnavailableError (503) must reach the caller, not "no transaction is active" (500).
    if (!(connection as Lease).holding || !this.#database.inTransaction) return;
    await connection.executeQuery(CompiledQuery.raw("rollback"));
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    (connection as Lease).release();
  }

  async destroy(): Promise<void> {
    this.#database.close();
  }

  /**
   * Kysely asks better-sqlite3 to prepare (compile) every query afresh, which was a sixth of a token
   * refresh's main-thread time; the same SQL texts repeat, so compiled statements are reused, least
   * recently used out first. SQLite recompiles a kept statement by itself after a schema change.
   */
  #prepare(text: string): BetterSqlite3.Statement {
    let statement = this.#statements.get(text);
    if (statement) this.#statements.delete(text);
    else statement = this.#database.prepare(text);
    this.#statements.set(text, statement);
    if (this.#statements.size > STATEMENT_CACHE_SIZE) {
      this.#statements.delete(this.#statements.keys().next().value!);
    }
    return statement;
  }

  /** Runs one statement, noting a commit that must be made durable. */
  run(query: CompiledQuery): QueryResult<unknown> {
    // After a failed flush nothing runs (a write must not be applied while being refused, a read
    // must not serve what may not be on disk) except ROLLBACK, which leaves the connection clean.
    const failure = this.#groupCommit?.failure;
    if (failure && query.sql !== "rollback") throw failure;
    const statement = this.#prepare(query.sql);
    const parameters = query.parameters as unknown[];
    let result: QueryResult<unknown>;
    if (statement.reader) {
      result = { rows: statement.all(parameters) };
    } else {
      const { changes, lastInsertRowid } = statement.run(parameters);
      result = {
        numAffectedRows: BigInt(changes),
        insertId: BigInt(lastInsertRowid),
        rows: [],
      };
    }
    // BEGIN/COMMIT/ROLLBACK count as read-only statements (sqlite3_stmt_readonly), so a commit is
    // recognised as the first statement after some write that leaves no transaction open.
    if (!statement.readonly) this.#writePending = true;
    if (this.#writePending && !this.#database.inTransaction) {
      this.#writePending = false;
      if (query.sql !== "rollback") this.#groupCommit?.noteCommit();
    }
    return result;
  }

  /** A transaction is open on the connection. */
  get inTransaction(): boolean {
    return this.#database.inTransaction;
  }

  durable(): Promise<void> {
    return this.#groupCommit ? this.#groupCommit.durable() : Promise.resolve();
  }
}

/** One holder's use of the connection, from acquireConnection to releaseConnection. */
class Lease implements DatabaseConnection {
  #unlock: (() => void) | undefined;

  constructor(
    private readonly driver: DurableSqliteDriver,
    unlock: () => void,
  ) {
    this.#unlock = unlock;
  }

  release(): void {
    const unlock = this.#unlock;
    this.#unlock = undefined;
    unlock?.();
  }

  /** This lease has the connection (it gives it up after each statement outside a transaction). */
  get holding(): boolean {
    return this.#unlock !== undefined;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    // A holder that goes on after its commit (Kysely's db.connection()) queues for the connection
    // again rather than run inside whatever the next holder has begun.
    if (!this.#unlock) this.#unlock = await this.driver.lock();
    let result: QueryResult<unknown>;
    try {
      result = this.driver.run(query);
    } catch (error) {
      if (!this.driver.inTransaction) this.release();
      throw error;
    }
    if (!this.driver.inTransaction) {
      // Outside a transaction (an autocommit statement, or just after COMMIT or ROLLBACK) the
      // connection goes to the next holder while this one waits until everything committed so far
      // — its own commit, or the commits its read saw — is durable. Kysely's releaseConnection then
      // has nothing left to release. Nothing pending: resolves at once.
      this.release();
      await this.driver.durable();
    }
    return result as QueryResult<R>;
  }

  // biome-ignore lint/correctness/useYield: Latchkey never streams; Kysely's interface requires it.
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error("Streaming queries are not supported on SQLite here");
  }
}
