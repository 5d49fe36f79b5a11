// PostgreSQL restarted under load (security.md §3, issue 7): a real `latchkey start` child process
// serves a steady concurrent workload — client-credentials tokens for the Management API, idempotent
// `POST /api/v1/user`, `GET /api/v1/users` and `/health/ready` — while the PostgreSQL it uses is
// restarted (`pg_ctl restart -m fast`, then `-m immediate`, then stopped for a few seconds and
// started). Every response is recorded, and the test asserts:
//   - no 5xx but 503, and every 503 in its surface's vocabulary (OAuth `temporarily_unavailable`,
//     Kinde `SERVICE_UNAVAILABLE`, readiness `unavailable`) with Retry-After where the server sends it;
//   - no connection reset and no hang (every request answered within REQUEST_TIMEOUT_MS);
//   - the server process is the same PID throughout and still alive;
//   - once PostgreSQL accepts connections again, every request succeeds within RECOVERY_BOUND_MS;
//   - every acknowledged user exists afterwards, and retrying its Idempotency-Key replays the same
//     id; a create answered 503 (in doubt) retried makes exactly one user.
// The PostgreSQL cluster is a private one made with initdb in a temporary directory, on its own port:
// the shared server is never touched. Without initdb the test is skipped, unless REQUIRE_POSTGRES=1.
// Slow by design (35–65 s): run with `npm run test:reliability`.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import pg from "pg";
import { randomAlphanumeric } from "../../src/crypto/random.js";
import { type CliProcess, runCli } from "../helpers/process.js";
import { freePort } from "../helpers/server.js";
import { form, REQUEST_TIMEOUT_MS, type Reply, send, waitReady } from "./support.js";

const CONCURRENCY = 8;
/** Once PostgreSQL accepts connections again, every request must succeed within this. */
const RECOVERY_BOUND_MS = 10_000;
/** Load before the first fault, and the all-green stretch that counts as "recovered". */
const STEADY_MS = 2_000;
/** How long PostgreSQL stays down in the stop-then-start scenario. */
const STOPPED_MS = 3_000;

// ---- a private PostgreSQL cluster ---------------------------------------------------------------

const REQUIRE_POSTGRES = process.env.REQUIRE_POSTGRES === "1";
const runningAsRoot = process.getuid?.() === 0;

/** initdb and pg_ctl: on PATH, or else where `pg_config --bindir` says (Debian keeps them off PATH). */
function findBinaries(): string | undefined {
  if (spawnSync("initdb", ["--version"]).status === 0) return "";
  const bindir = spawnSync("pg_config", ["--bindir"], { encoding: "utf8" });
  const dir = bindir.status === 0 ? bindir.stdout.trim() : "";
  return dir && existsSync(path.join(dir, "initdb")) ? dir : undefined;
}
const binDir = findBinaries();
const bin = (name: string) => (binDir ? path.join(binDir, name) : name);

/** Why a private cluster cannot be made here, or false when it can. */
function clusterUnavailable(): string | false {
  if (binDir === undefined) return "initdb is neither on PATH nor in `pg_config --bindir`";
  if (spawnSync(bin("pg_ctl"), ["--version"]).status !== 0) return "pg_ctl is missing";
  // PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` OS user.
  if (runningAsRoot && spawnSync("id", ["-u", "postgres"]).status !== 0) return "no postgres OS user";
  return false;
}
const unavailable = clusterUnavailable();
if (unavailable && REQUIRE_POSTGRES) {
  throw new Error(`REQUIRE_POSTGRES=1 but a private PostgreSQL cluster cannot be made: ${unavailable}`);
}
const skip = unavailable
  ? `${unavailable}: cannot make a private PostgreSQL cluster (set REQUIRE_POSTGRES=1 to fail instead)`
  : false;
if (skip) process.stderr.write(`\n  NOTICE: PostgreSQL restart test SKIPPED: ${skip}\n\n`);

/** A command as the cluster's owner: `runuser -u postgres` when we are root. */
function asOwner(command: string, args: string[]): [string, string[]] {
  return runningAsRoot ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, args];
}

/** Runs a PostgreSQL tool without blocking the event loop (the load keeps running meanwhile). */
function pgTool(command: string, args: string[]): Promise<string> {
  const [file, argv] = asOwner(bin(command), args);
  return new Promise((resolve, reject) => {
    // stdout is not piped: a postmaster started by pg_ctl would inherit the pipe and hold it open.
    const child = spawn(file, argv, { cwd: tmpdir(), stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve(stderr) : reject(new Error(`${command} ${args.join(" ")} → ${code}: ${stderr}`)),
    );
  });
}

interface Cluster {
  root: string;
  data: string;
  port: number;
  url: string;
  ctl(...args: string[]): Promise<string>;
  log(): string;
}

async function makeCluster(): Promise<Cluster> {
  const root = mkdtempSync(path.join(tmpdir(), "latchkey-pg-restart-"));
  const data = path.join(root, "data");
  const sockets = path.join(root, "sockets");
  mkdirSync(sockets);
  if (runningAsRoot) {
    const uid = Number(spawnSync("id", ["-u", "postgres"], { encoding: "utf8" }).stdout.trim());
    const gid = Number(spawnSync("id", ["-g", "postgres"], { encoding: "utf8" }).stdout.trim());
    chownSync(root, uid, gid);
    chownSync(sockets, uid, gid);
  }
  // Known to `after` from here on: it stops the cluster and removes the directory, even on failure.
  clusterDirs = { root, data };
  await pgTool("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]);
  const port = await freePort();
  // Only on loopback, on our own port and socket directory; small, it is a test cluster.
  appendFileSync(
    path.join(data, "postgresql.conf"),
    [
      "",
      "# latchkey postgres-restart test",
      "listen_addresses = '127.0.0.1'",
      `port = ${port}`,
      `unix_socket_directories = '${sockets}'`,
      "max_connections = 40",
      "shared_buffers = 16MB",
      "",
    ].join("\n"),
  );
  const logFile = path.join(root, "postgres.log");
  const ctl = (...args: string[]) => pgTool("pg_ctl", ["-D", data, "-l", logFile, "-w", "-t", "60", ...args]);
  await ctl("start");
  const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
  await admin.connect();
  try {
    await admin.query("create database latchkey");
  } finally {
    await admin.end();
  }
  return {
    root,
    data,
    port,
    url: `postgres://postgres@127.0.0.1:${port}/latchkey`,
    ctl,
    log: () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : ""),
  };
}

let clusterDirs: { root: string; data: string } | undefined;
let server: CliProcess | undefined;
after(() => {
  server?.kill("SIGKILL");
  if (!clusterDirs) return;
  const { root, data } = clusterDirs;
  if (existsSync(path.join(data, "postmaster.pid"))) {
    const [file, argv] = asOwner(bin("pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]);
    const stopped = spawnSync(file, argv, { stdio: "ignore", timeout: 30_000 });
    // pg_ctl failed: the postmaster's PID is the first line of postmaster.pid.
    if (stopped.status !== 0 && existsSync(path.join(data, "postmaster.pid"))) {
      const pid = Number(readFileSync(path.join(data, "postmaster.pid"), "utf8").split("\n")[0]);
      if (pid > 0) {
        try {
          process.kill(pid, "SIGQUIT");
        } catch {}
      }
    }
  }
  rmSync(root, { recursive: true, force: true });
});

// ---- the load -----------------------------------------------------------------------------------

type Operation = "token" | "create" | "list" | "ready";
const OPERATIONS: readonly Operation[] = ["token", "create", "list", "ready"];

interface Sample {
  op: Operation;
  start: number;
  end: number;
  /** 0: no answer (a reset, a refused connection or a hang). */
  status: number;
  /** What was wrong with the answer, if anything (a 503 in the wrong shape, a 500, …). */
  problem?: string;
}

interface Fault {
  name: string;
  /** When the fault was set off. */
  issued: number;
  /** When PostgreSQL accepted connections again (pg_ctl -w returned). */
  back: number;
}

interface Created {
  key: string;
  email: string;
  body: unknown;
  /** The id the server acknowledged (2xx); undefined when the create was answered 503 (in doubt). */
  id?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A 503 in the surface's own vocabulary, with Retry-After where the surface sends it. */
function unavailableProblem(op: Operation, reply: Reply): string | undefined {
  if (op === "ready") {
    const body = reply.json as { status?: string; database?: string } | undefined;
    return body?.status === "unavailable" && body.database === "unreachable"
      ? undefined
      : "readiness 503 without {status: unavailable}";
  }
  // The error handler (src/http/errors.ts) answers a database outage with Retry-After: 1.
  const retryAfter = Number(reply.headers.get("retry-after"));
  if (!(retryAfter >= 1)) return "503 without Retry-After";
  if (!/^application\/json/.test(reply.headers.get("content-type") ?? "")) return "503 not JSON";
  if (op === "token") {
    const body = reply.json as { error?: string; error_description?: string } | undefined;
    return body?.error === "temporarily_unavailable" && typeof body.error_description === "string"
      ? undefined
      : "OAuth 503 without error=temporarily_unavailable";
  }
  const body = reply.json as { errors?: { code?: string; message?: string }[] } | undefined;
  const first = Array.isArray(body?.errors) ? body.errors[0] : undefined;
  return first?.code === "SERVICE_UNAVAILABLE" && typeof first.message === "string"
    ? undefined
    : "Management API 503 without errors[].code=SERVICE_UNAVAILABLE";
}

describe("PostgreSQL restarted under load", { skip }, () => {
  it("answers only 503 during the gap, stays up, recovers within seconds and loses nothing acknowledged", async (t) => {
    const pgCluster = await makeCluster();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const m2m = { clientId: randomBytes(16).toString("hex"), clientSecret: randomAlphanumeric(52) };
    server = runCli(["start"], {
      env: {
        PORT: String(port),
        HOST: "127.0.0.1",
        ISSUER_URL: url,
        DATABASE_URL: pgCluster.url,
        DATA_DIR: path.join(pgCluster.root, "latchkey"),
        LATCHKEY_MASTER_KEY: randomBytes(32).toString("base64"),
        BOOTSTRAP_M2M_CLIENT_ID: m2m.clientId,
        BOOTSTRAP_M2M_CLIENT_SECRET: m2m.clientSecret,
        MANAGEMENT_API_RATE_LIMIT: "0",
        LOG_LEVEL: "warn",
      },
    });
    const child = server;
    const pid = child.child.pid;
    assert.ok(pid, "the server started");
    const alive = () => child.child.exitCode === null && child.child.signalCode === null;
    // A hang guard, not a time bound (waitReady gives up after 60 s): a server that never becomes
    // ready fails here, saying what it was waiting for, instead of holding the suite.
    await waitReady(child, `${url}/health/ready`).catch((error: Error) => {
      throw new Error(`latchkey start never answered GET /health/ready with 200: ${error.message}`);
    });

    const tokenRequest = () =>
      form({
        grant_type: "client_credentials",
        client_id: m2m.clientId,
        client_secret: m2m.clientSecret,
        audience: `${url}/api`,
      });
    const first = await send(`${url}/oauth2/token`, tokenRequest());
    assert.equal(first.status, 200, first.text);
    const apiToken = (first.json as { access_token: string }).access_token;
    const api = (method: string, target: string, body?: unknown, headers: Record<string, string> = {}) =>
      send(`${url}${target}`, {
        method,
        headers: {
          authorization: `Bearer ${apiToken}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });

    // ---- record every response -------------------------------------------------------------------
    const samples: Sample[] = [];
    const creates: Created[] = [];
    let lastFailure = 0;
    const lastSuccess: Record<Operation, number> = { token: 0, create: 0, list: 0, ready: 0 };

    async function once(op: Operation): Promise<void> {
      const start = Date.now();
      let created: Created | undefined;
      let reply: Reply;
      try {
        if (op === "token") reply = await send(`${url}/oauth2/token`, tokenRequest());
        else if (op === "list") reply = await api("GET", "/api/v1/users?page_size=5");
        else if (op === "ready") reply = await send(`${url}/health/ready`);
        else {
          const key = randomBytes(12).toString("hex");
          const email = `pg-restart-${key}@example.com`;
          const body = {
            profile: { given_name: "Restart", family_name: "Test" },
            identities: [{ type: "email", details: { email } }],
          };
          created = { key, email, body };
          reply = await api("POST", "/api/v1/user", body, { "idempotency-key": key });
        }
      } catch (error) {
        // A reset, a refused connection or a hang (send's timeout): never acceptable, and a create
        // without an answer is in doubt like a 503.
        if (created) creates.push(created);
        const end = Date.now();
        lastFailure = end;
        samples.push({ op, start, end, status: 0, problem: String(error).slice(0, 300) });
        return;
      }
      const end = Date.now();
      const sample: Sample = { op, start, end, status: reply.status };
      if (reply.status === 200) {
        const body = reply.json as Record<string, unknown> | undefined;
        const fine =
          op === "token"
            ? typeof body?.access_token === "string"
            : op === "list"
              ? Array.isArray(body?.users)
              : op === "ready"
                ? body?.status === "ready"
                : typeof body?.id === "string" && body.created === true;
        if (!fine) sample.problem = `200 with an unexpected body: ${reply.text.slice(0, 200)}`;
        if (created && typeof body?.id === "string") created.id = body.id;
      } else if (reply.status === 503) {
        sample.problem = unavailableProblem(op, reply);
        if (sample.problem) sample.problem += `: ${reply.text.slice(0, 200)}`;
      } else {
        sample.problem = `${reply.status}: ${reply.text.slice(0, 200)}`;
      }
      if (created) creates.push(created);
      if (reply.status === 200 && !sample.problem) lastSuccess[op] = end;
      else lastFailure = end;
      samples.push(sample);
    }

    let running = true;
    const workers = Array.from({ length: CONCURRENCY }, async (_, index) => {
      // Each operation has CONCURRENCY / 4 workers of its own: readiness is polled all along.
      const op = OPERATIONS[index % OPERATIONS.length]!;
      while (running) await once(op);
    });

    /**
     * Waits until every request for STEADY_MS after `since` succeeded and every operation succeeded
     * again (at most `limit` ms: a server that does not recover fails the assertions below).
     */
    async function steady(since: number, limit = 30_000): Promise<void> {
      while (Date.now() - since < limit) {
        const calm = Math.max(since, lastFailure);
        if (Date.now() - calm >= STEADY_MS && OPERATIONS.every((op) => lastSuccess[op] > calm)) return;
        if (!alive()) return;
        await sleep(100);
      }
    }

    // ---- the faults ------------------------------------------------------------------------------
    const faults: Fault[] = [];
    let workload: Error | undefined;
    try {
      await sleep(STEADY_MS);
      const scenarios: [string, () => Promise<unknown>][] = [
        ["restart -m fast", () => pgCluster.ctl("-m", "fast", "restart")],
        ["restart -m immediate", () => pgCluster.ctl("-m", "immediate", "restart")],
        [
          `stop -m fast, ${STOPPED_MS / 1000} s down, start`,
          async () => {
            await pgCluster.ctl("-m", "fast", "stop");
            await sleep(STOPPED_MS);
            await pgCluster.ctl("start");
          },
        ],
      ];
      for (const [name, fault] of scenarios) {
        const issued = Date.now();
        await fault();
        const back = Date.now();
        faults.push({ name, issued, back });
        t.diagnostic(`${name}: PostgreSQL back after ${back - issued} ms`);
        await steady(back);
      }
    } catch (error) {
      workload = error as Error;
    } finally {
      running = false;
      await Promise.all(workers);
    }
    if (workload)
      throw new Error(`${workload.message}\n--- PostgreSQL log:\n${pgCluster.log().slice(-4000)}`);

    // ---- what happened ---------------------------------------------------------------------------
    const failures = samples.filter((s) => s.problem !== undefined && s.status !== 503);
    const badUnavailable = samples.filter((s) => s.status === 503 && s.problem !== undefined);
    const unavailableCount = samples.filter((s) => s.status === 503).length;
    const perFault = faults.map((fault, index) => {
      // Each answer belongs to the fault in force when it arrived.
      const until = faults[index + 1]?.issued ?? Number.POSITIVE_INFINITY;
      const window = samples.filter((s) => s.end >= fault.issued && s.end < until);
      const failed = window.filter((s) => s.status !== 200 || s.problem !== undefined);
      const lastFailed = Math.max(fault.back, ...failed.map((s) => s.end));
      const successesAfter = window.filter((s) => s.start >= lastFailed && s.status === 200 && !s.problem);
      return {
        fault: fault.name,
        // From the fault to PostgreSQL accepting connections again (pg_ctl -w returned).
        downMs: fault.back - fault.issued,
        requests: window.length,
        unavailable: failed.filter((s) => s.status === 503).length,
        readinessUnavailable: failed.filter((s) => s.op === "ready" && s.status === 503).length,
        // What clients saw: from the fault to the last failed answer.
        outageMs: Math.max(0, ...failed.map((s) => s.end - fault.issued)),
        // From PostgreSQL accepting connections to the last failed answer (0: none after it).
        recoveryMs: lastFailed - fault.back,
        successesAfter: successesAfter.length,
        opsRecovered: new Set(successesAfter.map((s) => s.op)).size,
      };
    });
    const figures = {
      requests: samples.length,
      byStatus: Object.fromEntries(
        [...new Set(samples.map((s) => s.status))]
          .sort()
          .map((status) => [status, samples.filter((s) => s.status === status).length]),
      ),
      unavailable: unavailableCount,
      longestRecoveryMs: Math.max(...perFault.map((f) => f.recoveryMs)),
      faults: perFault,
      creates: creates.length,
      acknowledged: creates.filter((c) => c.id).length,
      inDoubt: creates.filter((c) => !c.id).length,
      failures: failures.length + badUnavailable.length,
      // Each of these would have crashed the process before the 'error' listener in database.ts.
      connectionsLostInUse: child.output().split("PostgreSQL connection lost while in use").length - 1,
      // Each of these was a 500 before idempotency.ts stopped rethrowing a failed rollback.
      rollbacksFailed:
        child.output().split("could not roll back the Idempotency-Key transaction of an error answer")
          .length - 1,
    };
    t.diagnostic(JSON.stringify(figures));
    const describeSamples = (list: Sample[]) =>
      list
        .slice(0, 10)
        .map((s) => `${s.op} ${s.status} ${s.problem ?? ""}`)
        .join("\n");

    assert.equal(child.child.pid, pid, "the same server process");
    assert.ok(alive(), `the server process died:\n${child.output().slice(-4000)}`);
    process.kill(pid, 0); // throws if the PID is gone
    assert.deepEqual(
      describeSamples(failures),
      "",
      `no 5xx but 503, no reset, no hang (timeout ${REQUEST_TIMEOUT_MS} ms):\n${child.output().slice(-3000)}`,
    );
    assert.equal(describeSamples(badUnavailable), "", "every 503 in its surface's vocabulary");
    for (const fault of perFault) {
      assert.ok(
        fault.recoveryMs <= RECOVERY_BOUND_MS,
        `${fault.fault}: recovered ${fault.recoveryMs} ms after PostgreSQL was back`,
      );
      assert.equal(fault.opsRecovered, OPERATIONS.length, `${fault.fault}: every operation succeeds again`);
    }
    // PostgreSQL down for seconds must show: readiness reports not ready, requests answer 503.
    const stopped = perFault.at(-1)!;
    assert.ok(stopped.readinessUnavailable > 0, "readiness answered 503 while PostgreSQL was stopped");
    assert.ok(
      stopped.unavailable > stopped.readinessUnavailable,
      "requests answered 503 while it was stopped",
    );

    // ---- nothing acknowledged lost ---------------------------------------------------------------
    const acknowledged = creates.filter((c) => c.id);
    assert.ok(acknowledged.length > 0, "creates were acknowledged");
    for (const entry of acknowledged) {
      const found = await api("GET", `/api/v1/user?id=${encodeURIComponent(entry.id!)}`);
      assert.equal(found.status, 200, `acknowledged user ${entry.id} lost: ${found.text}`);
      assert.equal((found.json as { preferred_email?: string }).preferred_email, entry.email);
      const retry = await api("POST", "/api/v1/user", entry.body, { "idempotency-key": entry.key });
      assert.equal(retry.status, 200, retry.text);
      assert.equal((retry.json as { id: string }).id, entry.id, "the retry replays the acknowledged user");
      assert.equal(retry.headers.get("idempotent-replayed"), "true");
    }
    // A create in doubt (503): its retry makes the user or replays it — exactly one user either way.
    const inDoubt = creates.filter((c) => !c.id);
    for (const entry of inDoubt) {
      const retry = await api("POST", "/api/v1/user", entry.body, { "idempotency-key": entry.key });
      assert.equal(retry.status, 200, `retry of a create in doubt: ${retry.text}`);
      const id = (retry.json as { id: string }).id;
      const again = await api("POST", "/api/v1/user", entry.body, { "idempotency-key": entry.key });
      assert.equal((again.json as { id?: string }).id, id, "a second retry replays the same user");
      const list = await api("GET", `/api/v1/users?email=${encodeURIComponent(entry.email)}`);
      assert.deepEqual(
        (list.json as { users: { id: string }[] }).users.map((u) => u.id),
        [id],
        "exactly one user for a create in doubt",
      );
    }
    assert.equal((await send(`${url}/health/ready`)).status, 200, "ready at the end");

    child.kill("SIGTERM");
    const exit = await child.exited;
    assert.equal(exit.code, 0, `clean shutdown:\n${child.output().slice(-2000)}`);
    process.stdout.write(`# postgres restart: ${JSON.stringify(figures)}\n`);
  });
});
