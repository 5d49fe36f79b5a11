// SQLite durability by group commit (src/storage/sqlite-driver.ts): a write resolves only after a
// flush of the -wal file that began after its COMMIT, a read only once what it could see is
// durable, commits made during a flush share the next one, the connection serves other queries
// while a flush runs, and a failed flush refuses everything after it without applying it. The
// flush is the real fdatasync, watched, held or failed by the test.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import Database from "better-sqlite3";
import { sql } from "kysely";
import { isDatabaseUnavailable, openStorage, type Storage } from "../../src/storage/database.js";
import { GroupCommit, type WalFlush } from "../../src/storage/sqlite-driver.js";

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Watched {
  storage: Storage;
  events: string[];
  /** While set, flushes wait until release() is called. */
  hold(): void;
  release(): void;
  failNext(error: Error): void;
  flushes(): number;
}

async function openWatched(file?: string): Promise<Watched & { file: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), "latchkey-group-commit-"));
  dirs.push(dir);
  const databaseFile = file ?? path.join(dir, "db.sqlite");
  const events: string[] = [];
  let held: (() => void)[] | undefined;
  let failure: Error | undefined;
  let count = 0;
  const storage = await openStorage(
    { kind: "sqlite", path: databaseFile },
    {
      walFlush:
        (real: WalFlush): WalFlush =>
        (done) => {
          count++;
          const run = () => {
            events.push("flush started");
            if (failure) {
              const error = failure;
              failure = undefined;
              events.push("flush failed");
              return done(error);
            }
            real((error) => {
              events.push("flush done");
              done(error);
            });
          };
          if (held) held.push(run);
          else run();
        },
    },
  );
  await sql`create table if not exists t (id integer primary key, v text)`.execute(storage.db);
  count = 0;
  events.length = 0;
  return {
    file: databaseFile,
    storage,
    events,
    hold: () => {
      held = [];
    },
    release: () => {
      const waiting = held ?? [];
      held = undefined;
      for (const run of waiting) run();
    },
    failNext: (error) => {
      failure = error;
    },
    flushes: () => count,
  };
}

const insert = (storage: Storage, v: string) =>
  storage.db
    .insertInto("t" as never)
    .values({ v } as never)
    .execute();

describe("SQLite group commit", () => {
  test("the database runs WAL with synchronous=NORMAL: durability comes from the driver's flush", async () => {
    const { storage } = await openWatched();
    const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(storage.db);
    const sync = await sql<{ synchronous: number }>`pragma synchronous`.execute(storage.db);
    assert.equal(mode.rows[0]?.journal_mode, "wal");
    assert.equal(sync.rows[0]?.synchronous, 1);
    await storage.close();
  });

  test("a write resolves only after a flush that started after its commit has finished", async () => {
    const { storage, events } = await openWatched();
    const written = insert(storage, "a").then(() => events.push("write resolved"));
    await written;
    assert.deepEqual(events, ["flush started", "flush done", "write resolved"]);
    await storage.close();
  });

  test("reads need no flush", async () => {
    const watched = await openWatched();
    await watched.storage.db
      .selectFrom("t" as never)
      .selectAll()
      .execute();
    await watched.storage.db.transaction().execute(async (trx) => {
      await trx
        .selectFrom("t" as never)
        .selectAll()
        .execute();
    });
    assert.equal(watched.flushes(), 0);
    await watched.storage.close();
  });

  test("a transaction resolves after its flush; a rolled-back one needs none", async () => {
    const watched = await openWatched();
    const { storage, events } = watched;
    await storage.db
      .transaction()
      .execute(async (trx) => {
        await trx
          .insertInto("t" as never)
          .values({ v: "in transaction" } as never)
          .execute();
      })
      .then(() => events.push("transaction resolved"));
    assert.deepEqual(events, ["flush started", "flush done", "transaction resolved"]);
    const before = watched.flushes();
    await assert.rejects(
      storage.db.transaction().execute(async (trx) => {
        await trx
          .insertInto("t" as never)
          .values({ v: "rolled back" } as never)
          .execute();
        throw new Error("abandon");
      }),
      /abandon/,
    );
    assert.equal(watched.flushes(), before);
    const rows = await sql<{ v: string }>`select v from t`.execute(storage.db);
    assert.deepEqual(
      rows.rows.map((row) => row.v),
      ["in transaction"],
    );
    await storage.close();
  });

  test("while a flush is held the connection serves others, and later commits share one flush", async () => {
    const watched = await openWatched();
    const { storage } = watched;
    watched.hold();
    let firstResolved = false;
    const first = insert(storage, "first").then(() => {
      firstResolved = true;
    });
    // The held flush has the first commit; the connection is already free for reads and writes.
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(firstResolved, false, "a write must not resolve before its flush");
    let laterResolved = 0;
    const later = Array.from({ length: 5 }, (_, i) =>
      insert(storage, `later ${i}`).then(() => {
        laterResolved++;
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(watched.flushes(), 1, "one flush at a time");
    assert.equal(laterResolved, 0);
    watched.release();
    await first;
    // The commits made during the first flush were not covered by it: one more flush, for all five.
    await new Promise((resolve) => setTimeout(resolve, 20));
    watched.release();
    await Promise.all(later);
    assert.equal(watched.flushes(), 2);
    await storage.close();
  });

  test("a read resolves only once the commits it could see are durable", async () => {
    const watched = await openWatched();
    const { storage } = watched;
    watched.hold();
    const written = insert(storage, "not yet durable");
    await new Promise((resolve) => setTimeout(resolve, 20));
    let seen: string[] | undefined;
    const read = sql<{ v: string }>`select v from t`.execute(storage.db).then((result) => {
      seen = result.rows.map((row) => row.v);
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(seen, undefined, "nothing answered may rest on a commit a power loss could take back");
    watched.release();
    await Promise.all([written, read]);
    assert.deepEqual(seen, ["not yet durable"]);
    await storage.close();
  });

  test("a failed flush refuses its waiters and everything after it, applies nothing more, and fails readiness", async () => {
    const watched = await openWatched();
    const { storage, file } = watched;
    await insert(storage, "durable");
    watched.failNext(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }));
    await assert.rejects(insert(storage, "lost?"), { name: "DatabaseUnavailableError" });
    await assert.rejects(insert(storage, "refused"), { name: "DatabaseUnavailableError" });
    await assert.rejects(sql`select v from t`.execute(storage.db), { name: "DatabaseUnavailableError" });
    await assert.rejects(
      storage.db.transaction().execute(async (trx) => {
        await trx
          .insertInto("t" as never)
          .values({ v: "refused in a transaction" } as never)
          .execute();
      }),
      { name: "DatabaseUnavailableError" },
    );
    await assert.rejects(storage.ping(), { name: "DatabaseUnavailableError" });
    await storage.close();
    // What a refused write would have left, seen through a connection of its own.
    const direct = new Database(file, { readonly: true });
    const rows = direct.prepare("select v from t order by id").pluck().all();
    direct.close();
    assert.deepEqual(rows, ["durable", "lost?"]);
  });

  test("a transaction whose own flush fails is refused as unavailable (503), not as a SQLite error", async () => {
    const watched = await openWatched();
    const { storage } = watched;
    watched.failNext(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }));
    let caught: unknown;
    await storage.db
      .transaction()
      .execute(async (trx) => {
        await trx
          .insertInto("t" as never)
          .values({ v: "in transaction" } as never)
          .execute();
      })
      .catch((error: unknown) => {
        caught = error;
      });
    assert.equal(isDatabaseUnavailable(caught), true, `refused with ${String(caught)}`);
    await storage.close();
  });

  test("a database file reached through a symbolic link: the -wal file beside the real file is flushed", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "latchkey-group-commit-link-"));
    dirs.push(dir);
    mkdirSync(path.join(dir, "real"));
    mkdirSync(path.join(dir, "link"));
    const real = path.join(dir, "real", "db.sqlite");
    new Database(real).close();
    symlinkSync(real, path.join(dir, "link", "db.sqlite"));
    const watched = await openWatched(path.join(dir, "link", "db.sqlite"));
    await insert(watched.storage, "through the link");
    assert.equal(watched.flushes(), 1);
    await watched.storage.close();
  });
});

describe("GroupCommit", () => {
  test("waiters are released only by a flush that began after their commit", async () => {
    const pending: ((error: Error | null) => void)[] = [];
    const group = new GroupCommit((done) => pending.push(done));
    await group.durable(); // nothing committed: no flush
    assert.equal(pending.length, 0);
    group.noteCommit();
    let a = false;
    let b = false;
    const first = group.durable().then(() => {
      a = true;
    });
    group.noteCommit(); // after the first flush began
    const second = group.durable().then(() => {
      b = true;
    });
    assert.equal(pending.length, 1);
    pending.shift()!(null);
    await first;
    await Promise.resolve();
    assert.equal(a, true);
    assert.equal(b, false);
    assert.equal(pending.length, 1, "a second flush for the commit made during the first");
    pending.shift()!(null);
    await second;
    assert.equal(b, true);
  });
});
