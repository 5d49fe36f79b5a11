// A PostgreSQL pool held by other work (a sign-in flood holds every connection) must not stall
// token requests nor the refusal of sign-ins: the configuration-generation read every token request
// waits for runs on a connection of its own (src/storage/database.ts, src/oauth/config-cache.ts),
// and a sign-in form refused for saturated hashing is refused before any database work
// (src/sign-in/sign-in.routes.ts, withPasswordCheckReserved in src/users/passwords.ts).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { sql } from "kysely";
import pg from "pg";
import { configCacheFor } from "../../src/oauth/config-cache.js";
import { GENERATION_READER_NAME, openStorage } from "../../src/storage/database.js";
import {
  configurePasswordHashing,
  DEFAULT_PASSWORD_HASHING_LIMITS,
  withPasswordCheckReserved,
} from "../../src/users/passwords.js";
import { databaseKinds, POSTGRES_ADMIN_URL } from "../helpers/databases.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const { skip } = (await databaseKinds()).find((k) => k.kind === "postgres")!;

/** startTestServer's pool size. */
const POOL_SIZE = 5;
/** The advisory lock the test holds to keep every pooled connection waiting until it lets go. */
const POOL_LOCK = 7_004_242;

async function until(condition: () => Promise<boolean>, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("a PostgreSQL pool held by other work (postgres)", { skip }, () => {
  let server: TestServer;
  let admin: pg.Client;
  /** On the server's own database: advisory locks are per database. */
  let locker: pg.Client;
  let database: string;

  before(async () => {
    // Signing keys cached as in production: a token request then reads only the generation.
    server = await startTestServer("postgres", { keyCacheSeconds: 300 });
    admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    const url = (server.database.target as { url: string }).url;
    database = new URL(url).pathname.slice(1);
    locker = new pg.Client({ connectionString: url });
    await locker.connect();
  });
  after(async () => {
    configurePasswordHashing(DEFAULT_PASSWORD_HASHING_LIMITS);
    await admin?.end();
    await locker?.end();
    await server?.close();
  });

  const readers = async () =>
    (
      await admin.query<{ pid: number; query: string }>(
        "select pid, query from pg_stat_activity where datname = $1 and application_name = $2",
        [database, GENERATION_READER_NAME],
      )
    ).rows;

  const token = async () => {
    const response = await fetch(`${server.url}/oauth2/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: server.management.clientId,
        client_secret: server.management.clientSecret,
        audience: `${server.url}/api`,
      }),
    });
    const body = (await response.json()) as Record<string, unknown>;
    return { status: response.status, body };
  };

  /**
   * Holds every connection of the server's pool (each waits on an advisory lock the test holds)
   * until the returned function lets go: an answer that comes before that did not wait for the
   * pool, however slow the machine.
   */
  const holdPool = async () => {
    await locker.query("select pg_advisory_lock($1)", [POOL_LOCK]);
    // A transaction-level lock: each pooled statement lets go of it as it ends.
    const held = Promise.all(
      Array.from({ length: POOL_SIZE }, () =>
        sql`select pg_advisory_xact_lock(${POOL_LOCK})`.execute(server.storage.db),
      ),
    );
    await until(
      async () =>
        (
          await admin.query<{ n: number }>(
            "select count(*)::int as n from pg_stat_activity where datname = $1 and wait_event_type = 'Lock' and query like 'select pg_advisory_xact_lock%'",
            [database],
          )
        ).rows[0]!.n === POOL_SIZE,
      "the pool to be held",
    );
    // The pool really is exhausted: one more query waits (until the release, or the pool's
    // connection timeout: an answer that comes while it still waits did not wait for the pool).
    let probeSettled = false;
    const probe = sql`select 1`.execute(server.storage.db).then(
      () => {
        probeSettled = true;
        return "answered";
      },
      (error: unknown) => {
        probeSettled = true;
        throw error;
      },
    );
    const waited = await Promise.race([
      probe,
      new Promise((resolve) => setTimeout(() => resolve("waiting"), 300)),
    ]);
    assert.equal(waited, "waiting", "a query on the pool waits while it is held");
    return {
      stillHeld: () => !probeSettled,
      release: async () => {
        await locker.query("select pg_advisory_unlock($1)", [POOL_LOCK]);
        await Promise.all([held, probe]);
      },
    };
  };

  it("answers client credentials without waiting for the pool", async () => {
    const warm = await token();
    assert.equal(warm.status, 200, JSON.stringify(warm.body));
    const pool = await holdPool();
    const during = await token();
    assert.equal(during.status, 200, JSON.stringify(during.body));
    assert.ok(pool.stillHeld(), "answered while every pooled connection still waited");
    await pool.release();
    // The read ran on the reader's own connection.
    const [reader, ...more] = await readers();
    assert.equal(more.length, 0, "one reader connection");
    assert.match(reader!.query, /select generation from config_generation/);
  });

  it("still honours a configuration change made while the pool is held", async () => {
    const before = await token();
    assert.equal(before.status, 200);
    // Plain SQL moves the generation (triggers, migration 0009); the next token sees the change.
    await sql`update applications set access_token_lifetime = 321 where id = ${server.management.clientId}`.execute(
      server.storage.db,
    );
    const pool = await holdPool();
    // The reader sees the new generation at once; reloading the configuration then needs the pool.
    const asked = token();
    await pool.release();
    const after = await asked;
    assert.equal(after.status, 200, JSON.stringify(after.body));
    assert.equal(after.body.expires_in, 321, "the change is honoured by the very next request");
  });

  it("refuses a sign-in for saturated hashing without waiting for the pool or writing", async () => {
    const csrf = randomBytes(32).toString("base64url").slice(0, 43);
    const signIn = () =>
      fetch(`${server.url}/auth/sign-in`, {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded", cookie: `latchkey_csrf=${csrf}` },
        body: new URLSearchParams({
          request: "any-request",
          csrf,
          email: "flooded@example.com",
          password: "a-password",
        }),
      });
    // The sign-in page's configuration is read once, as any earlier visit would have.
    await (await signIn()).arrayBuffer();
    configurePasswordHashing({ concurrency: 1, queue: 0 });
    const pool = await holdPool();
    // Another sign-in holds the only admitted place (reserved before its own database work) until
    // the test lets it go, so the form below arrives while hashing is saturated.
    let letGo!: () => void;
    const gate = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    const holder = withPasswordCheckReserved(async () => {
      await gate;
      return "checked";
    });
    const response = await signIn();
    await response.arrayBuffer();
    assert.equal(response.status, 503);
    assert.match(response.headers.get("retry-after") ?? "", /^[1-9]\d*$/);
    assert.ok(pool.stillHeld(), "refused while every pooled connection still waited: no database work first");
    letGo();
    assert.equal(await holder, "checked");
    await pool.release();
    configurePasswordHashing(DEFAULT_PASSWORD_HASHING_LIMITS);
    const throttled = await server.storage.db
      .selectFrom("rate_limits")
      .select("key")
      .where("key", "like", "%flooded@example.com%")
      .execute();
    assert.deepEqual(throttled, [], "a refused attempt writes no throttle row");
  });

  it("re-opens the reader's connection after PostgreSQL ends it", async () => {
    assert.equal((await token()).status, 200);
    const [reader] = await readers();
    assert.ok(reader, "the reader is connected");
    await admin.query("select pg_terminate_backend($1)", [reader.pid]);
    await until(async () => (await readers()).length === 0, "the reader's backend to exit");
    const next = await token();
    assert.equal(next.status, 200, JSON.stringify(next.body));
    const [again] = await readers();
    assert.ok(again && again.pid !== reader.pid, "a new connection");
  });

  it("closes the reader's connection with the storage", async () => {
    const existing = new Set((await readers()).map((r) => r.pid));
    const storage = await openStorage(server.database.target);
    const generation = await configCacheFor(storage.db).currentGeneration();
    const { rows } = await sql<{ generation: number }>`select generation from config_generation`.execute(
      server.storage.db,
    );
    assert.equal(generation, Number(rows[0]!.generation));
    const mine = (await readers()).filter((r) => !existing.has(r.pid));
    assert.equal(mine.length, 1, "the new storage read on a reader connection of its own");
    await storage.close();
    await until(
      async () => !(await readers()).some((r) => r.pid === mine[0]!.pid),
      "the reader's backend to exit after close()",
    );
  });
});
