// What a refresh's storage work costs on each database, apart from HTTP and signatures — the part
// the "refresh, PostgreSQL ÷ SQLite ≥ 0.8×" target of issue 21 is about. Per database it makes
// refresh tokens through a real deployment (sign-in, code exchange), stops the server, and then
// replays, from this process, exactly the storage calls of a refresh (token-redeem.store.ts: the
// read of the token with its grant, user and claims, then the one write that consumes it and
// stores the rotated token and the access token record), 50 callers at once (over a pool of 10 on
// PostgreSQL) as the server does. Beside it, on PostgreSQL, the floor: the same two round trips and
// one commit with trivial statements (a read of one row by key, one insert into a table with a second
// index); and the least a refresh must do whatever the design ("necessary"): the token read with its
// grant by key, then one prepared statement that consumes it and inserts its successor and the
// access token's record, in tables with Latchkey's keys and indexes (the foreign keys to users and
// clients left out) — no claims, no configuration generation, no grant lock.
//
// Per operation: this process's CPU (the driver's share, and SQLite's whole work, which in
// Latchkey lands on the main thread) and the CPU of the database's backends (/proc, PgWatch).
// Interleaved rounds, medians. Run: npx tsx bench/storage-costs.ts
// (BENCH_ROUNDS=3 BENCH_SECONDS=5 BENCH_ONLY=sqlite,postgres,floor,necessary; BENCH_NO_BUILD=1
// reuses the last build of the server).
import { randomBytes, randomUUID } from "node:crypto";
import os from "node:os";
import { sha256 } from "../src/crypto/random.js";
import { readPublicProperties } from "../src/oauth/token-claims.store.js";
import { consumeAndIssue } from "../src/oauth/token-issue.store.js";
import { readRefreshTokenForUse } from "../src/oauth/token-redeem.store.js";
import { type Db, openStorage, type Storage } from "../src/storage/database.js";
import { type DatabaseKind, postgresDatabase } from "../tests/helpers/databases.js";
import {
  BUILD_DIR,
  buildLatchkey,
  type LatchkeyDeployment,
  prepareDeployment,
  refreshTokens,
  startLatchkey,
} from "./lib/latchkey.js";
import { PgWatch } from "./lib/pg-stats.js";
import { machineDescription } from "./lib/proc.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CALLERS = 50;
const POOL_SIZE = 10;
const TOKENS = 200;
const ONLY = (process.env.BENCH_ONLY ?? "sqlite,postgres,floor,necessary").split(",");

interface Run {
  perSecond: number;
  clientMs: number;
  backendMs?: number;
}

/** Runs `operation` from CALLERS callers at once for SECONDS; CPU per operation. */
async function measure(operation: () => Promise<void>, watch?: PgWatch): Promise<Run> {
  const before = await watch?.snapshot();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (performance.now() < deadline) {
        await operation();
        done++;
      }
    }),
  );
  const cpu = process.cpuUsage(cpuBefore);
  const seconds = (performance.now() - started) / 1000;
  const after = await watch?.snapshot();
  const run: Run = { perSecond: Math.round(done / seconds), clientMs: (cpu.user + cpu.system) / 1000 / done };
  if (before && after) run.backendMs = (PgWatch.delta(before, after).backendCpu * 1000) / done;
  return run;
}

/**
 * A refresh's storage calls, on rotating tokens: the read (and the claims made of it, with the
 * public property definitions the configuration cache holds), then the consume-and-rotate write.
 */
async function refreshStorage(db: Db, tokens: string[], clientId: string) {
  const hashes = tokens.map(sha256);
  const properties = await readPublicProperties(db);
  return async () => {
    const tokenHash = hashes.shift()!;
    const now = Math.floor(Date.now() / 1000);
    const read = await readRefreshTokenForUse(db, tokenHash);
    const grant = read.found?.grant;
    if (!grant || read.found?.token.consumedAt !== null || !read.found.read)
      throw new Error("the refresh token was not found unconsumed with its grant and claims");
    read.found.read(properties);
    const rotated = sha256(randomBytes(32).toString("base64url"));
    const written = await consumeAndIssue(db, { refreshTokenHash: tokenHash }, now, {
      accessToken: { jti: randomUUID(), clientId, grantId: grant.id, expiresAt: now + 3600 },
      refreshToken: {
        tokenHash: rotated,
        grantId: grant.id,
        createdAt: now,
        expiresAt: now + 86_400,
        consumedAt: null,
      },
      ...(read.found.claimsCache ? { claimsCache: read.found.claimsCache } : {}),
    });
    if (!written) throw new Error("the consume was lost: callers must never share a token");
    hashes.push(rotated);
  };
}

/** The floor: a prepared read of one row by key, then one autocommitted insert (two indexes). */
async function floorOperation(storage: Storage): Promise<() => Promise<void>> {
  const { sql } = await import("kysely");
  await sql`create table floor_reads (id int primary key, v text not null)`.execute(storage.db);
  await sql`insert into floor_reads values (1, ${"x".repeat(200)})`.execute(storage.db);
  await sql`create table floor_writes (k text primary key, grant_id text not null, created_at bigint not null)`.execute(
    storage.db,
  );
  await sql`create index floor_writes_grant on floor_writes (grant_id)`.execute(storage.db);
  return async () => {
    await sql`select id, v from floor_reads where id = ${1}`.execute(storage.db);
    const key = randomBytes(16).toString("base64url");
    await sql`insert into floor_writes values (${key}, ${key.slice(0, 11)}, ${Date.now()})`.execute(
      storage.db,
    );
  };
}

/** The necessary part of a refresh's storage work (above), over TOKENS grants rotating their token. */
async function necessaryOperation(storage: Storage): Promise<() => Promise<void>> {
  const { sql } = await import("kysely");
  const { prepared } = await import("../src/storage/prepared.js");
  await sql`create table n_grants (id text primary key, revoked_at bigint)`.execute(storage.db);
  await sql`create table n_refresh (token_hash text primary key, grant_id text not null references n_grants (id),
    created_at bigint not null, expires_at bigint not null, consumed_at bigint)`.execute(storage.db);
  await sql`create index n_refresh_grant on n_refresh (grant_id)`.execute(storage.db);
  await sql`create table n_access (jti text primary key, client_id text not null, grant_id text references n_grants (id),
    expires_at bigint not null, revoked_at bigint)`.execute(storage.db);
  await sql`create index n_access_grant on n_access (grant_id)`.execute(storage.db);
  const hashes: string[] = [];
  for (let i = 0; i < TOKENS; i++) {
    const grant = randomUUID();
    const hash = sha256(randomBytes(32).toString("base64url"));
    await sql`insert into n_grants values (${grant}, null)`.execute(storage.db);
    await sql`insert into n_refresh values (${hash}, ${grant}, 0, 0, null)`.execute(storage.db);
    hashes.push(hash);
  }
  const read = prepared(
    "necessary_read",
    (_db, v: { hash: string }) =>
      sql<{
        grant_id: string;
      }>`select t.token_hash, t.consumed_at, t.expires_at, g.id as grant_id, g.revoked_at
      from n_refresh t join n_grants g on g.id = t.grant_id where t.token_hash = ${v.hash}`,
  );
  const write = prepared(
    "necessary_write",
    (_db, v: { hash: string; now: number; next: string; jti: string; client: string }) =>
      sql<{ grant_id: string }>`with consumed as (update n_refresh set consumed_at = ${v.now}
          where token_hash = ${v.hash} and consumed_at is null returning grant_id),
        r as (insert into n_refresh select ${v.next}, grant_id, ${v.now}, ${v.now}, null from consumed),
        a as (insert into n_access select ${v.jti}, ${v.client}, grant_id, ${v.now}, null from consumed)
        select grant_id from consumed`,
  );
  return async () => {
    const hash = hashes.shift()!;
    if (!(await read.first(storage.db, { hash }))) throw new Error("the token was not found");
    const next = sha256(randomBytes(32).toString("base64url"));
    const now = Math.floor(Date.now() / 1000);
    const values = { hash, now, next, jti: randomUUID(), client: "client" };
    if (!(await write.first(storage.db, values))) throw new Error("the consume was lost");
    hashes.push(next);
  };
}

interface Subject {
  label: string;
  operation: () => Promise<void>;
  watch?: PgWatch;
  close(): Promise<void>;
}

async function refreshSubject(kind: DatabaseKind, cli: string): Promise<Subject | undefined> {
  const deployment = (await prepareDeployment(kind)) as LatchkeyDeployment | undefined;
  if (!deployment) return undefined;
  const server = await startLatchkey(cli, deployment);
  let made: Awaited<ReturnType<typeof refreshTokens>>;
  try {
    made = await refreshTokens(deployment, TOKENS);
  } finally {
    await server.stop();
  }
  const target = deployment.database.target;
  const storage = await openStorage(target, { poolSize: POOL_SIZE });
  const watch = target.kind === "postgres" ? await PgWatch.open(target.url) : undefined;
  return {
    label: `a refresh's storage calls, ${kind}`,
    operation: await refreshStorage(storage.db, made.refreshTokens, made.webApp.clientId),
    watch,
    async close() {
      await watch?.close();
      await storage.close();
      await deployment.database.drop();
    },
  };
}

/** A subject on a fresh PostgreSQL database of its own: `operation` made over it, then dropped. */
async function postgresSubject(
  label: string,
  make: (storage: Storage) => Promise<() => Promise<void>>,
): Promise<Subject | undefined> {
  const database = await postgresDatabase();
  if (database?.target.kind !== "postgres") return undefined;
  const storage = await openStorage(database.target, { poolSize: POOL_SIZE });
  const watch = await PgWatch.open(database.target.url);
  return {
    label,
    operation: await make(storage),
    watch,
    async close() {
      await watch.close();
      await storage.close();
      await database.drop();
    },
  };
}

const cli = process.env.BENCH_NO_BUILD ? `${BUILD_DIR}/cli.js` : buildLatchkey();
const subjects: Subject[] = [];
try {
  const makers = {
    sqlite: () => refreshSubject("sqlite", cli),
    postgres: () => refreshSubject("postgres", cli),
    floor: () => postgresSubject("floor: read one row + committed insert, postgres", floorOperation),
    necessary: () =>
      postgresSubject(
        "necessary: token read with its grant + consume and two inserts, postgres",
        necessaryOperation,
      ),
  };
  for (const [name, make] of Object.entries(makers)) {
    if (!ONLY.includes(name)) continue;
    const subject = await make();
    if (subject) subjects.push(subject);
  }
  for (const subject of subjects) await measure(subject.operation, subject.watch); // warm-up
  const runs = new Map<Subject, Run[]>(subjects.map((subject) => [subject, []]));
  for (let round = 0; round < ROUNDS; round++)
    for (const subject of round % 2 ? [...subjects].reverse() : subjects)
      runs.get(subject)!.push(await measure(subject.operation, subject.watch));
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const ms = (value: number | undefined) => (value === undefined ? "–" : value.toFixed(3));
  console.log(
    `${machineDescription()}, ${os.availableParallelism()} cores, Node ${process.version}: ${CALLERS} callers, pool ${POOL_SIZE}, ${ROUNDS} rounds of ${SECONDS} s, medians\n`,
  );
  console.log("| operation | per second | this process CPU ms/op | backends CPU ms/op |\n|---|--:|--:|--:|");
  for (const [subject, list] of runs) {
    const backend = list.every((run) => run.backendMs !== undefined)
      ? median(list.map((run) => run.backendMs!))
      : undefined;
    console.log(
      `| ${subject.label} | ${median(list.map((run) => run.perSecond))} | ${ms(median(list.map((run) => run.clientMs)))} | ${ms(backend)} |`,
    );
  }
} finally {
  for (const subject of subjects) await subject.close();
}
