// Several Latchkey instances on one PostgreSQL database (README "Running several instances"): the
// same total load spread over 1, 2 and 4 instances, for refresh, client credentials and password
// sign-in, and what PostgreSQL did meanwhile — where the first bottleneck lies: Latchkey's CPU,
// PostgreSQL's CPU, commits and their WAL flushes, or waits for a pool connection.
//
//   npx tsx bench/instances.ts
//   BENCH_INSTANCES=1,2,4 BENCH_ROUNDS=2 BENCH_SECONDS=10 BENCH_POOL_SIZE=10 npx tsx bench/instances.ts
//
// Every instance is `node cli.js start` of the benchmark's build (bench/lib/latchkey.ts) in its own
// process, on its own port, with the same ISSUER_URL, master key and database (a fresh one, dropped
// at the end), DATABASE_POOL_SIZE=BENCH_POOL_SIZE and METRICS=on. All of them stay up through the
// whole run and each measurement loads the first N, so the levels alternate inside every round as in
// bench/interleaved.ts (idle instances only poll their outboxes, once a second). The load generator
// (autocannon, this process) keeps the same total — BENCH_CONNECTIONS (48) for the token grants, 8
// for sign-in — split evenly over the N instances. On this 2-core machine the instances, PostgreSQL
// and the load generator share the same cores: more instances add no CPU, so what changes with N
// is the database's share (connections, backends, commits) — the figures a bigger machine scales.
//
// Per run it reads, over a window inside the steady load (PostgreSQL publishes counters once a
// second): pg_stat_database.xact_commit (every committed transaction, reads included), WAL bytes
// (pg_current_wal_lsn; cluster-wide, so other work on the server counts too) and WAL syncs, CPU of
// the backends serving the database and of the machine; pg_stat_activity sampled every 200 ms
// (busy backends and their wait events); each instance's pool (latchkey_db_pool_connections,
// latchkey_db_pool_waiting from /metrics every 250 ms). Written to bench/results/instances.{md,json}.
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "../tests/helpers/server.js";
import { type Spec, signedInWebApp, signInForms } from "./lib/flows.js";
import { buildLatchkey, type LatchkeyDeployment, prepareDeployment, refreshSpec } from "./lib/latchkey.js";
import { type LoadResult, load } from "./lib/load.js";
import { type PgDelta, type PgSnapshot, PgWatch } from "./lib/pg-stats.js";
import { machineDescription, ROOT, type ServerProcess, sourceVersion, spawnServer } from "./lib/proc.js";

const LEVELS = (process.env.BENCH_INSTANCES ?? "1,2,4").split(",").map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 48);
const SIGN_IN_CONNECTIONS = Number(process.env.BENCH_SIGN_IN_CONNECTIONS ?? 8);
const POOL_SIZE = Number(process.env.BENCH_POOL_SIZE ?? 10);
const SCENARIOS = (process.env.BENCH_ONLY ?? "refresh,cc,sign-in").split(",");
const PASSWORD = "bench-password-correct-horse";
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const log = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Measured {
  scenario: string;
  instances: number;
  round: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU ms per operation: all instances together, the load generator, this database's backends. */
  latchkeyCpu: number;
  loadCpu: number;
  dbCpu: number;
  /** Every PostgreSQL process (other databases' work included), ms per operation. */
  clusterCpu: number;
  machineBusy: number;
  commitsPerSecond: number;
  commitsPerOp: number;
  walBytesPerOp: number;
  walSyncsPerSecond: number;
  /** Mean busy backends, and of them the mean per wait event ("CPU": waiting on nothing). */
  active: number;
  waits: Record<string, number>;
  backends: number;
  /** Pool: most connections in use (all instances), mean and most queries waiting for one. */
  poolInUseMax: number;
  poolWaitingMean: number;
  poolWaitingMax: number;
}

async function startInstances(
  cli: string,
  deployment: LatchkeyDeployment,
  count: number,
): Promise<ServerProcess[]> {
  const env = { ...deployment.env, METRICS: "on", DATABASE_POOL_SIZE: String(POOL_SIZE) };
  const instances: ServerProcess[] = [];
  for (let i = 0; i < count; i++) {
    // The first applies the migrations and bootstrap; the others find them done.
    const port = i === 0 ? deployment.port : await freePort();
    instances.push(
      await spawnServer({
        name: `latchkey #${i + 1}`,
        script: cli,
        args: ["start"],
        env: { ...env, PORT: String(port) },
        port,
        readyPath: "/health/ready",
      }),
    );
  }
  return instances;
}

/** Polls each instance's /metrics for its pool until stopped. */
function samplePools(
  instances: ServerProcess[],
): () => Promise<{ inUseMax: number; waitingMean: number; waitingMax: number }> {
  let stopped = false;
  let samples = 0;
  let inUseMax = 0;
  let waitingSum = 0;
  let waitingMax = 0;
  const value = (text: string, pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0);
  const loop = (async () => {
    while (!stopped) {
      const texts = await Promise.all(
        instances.map((instance) =>
          fetch(`${instance.url}/metrics`)
            .then((response) => response.text())
            .catch(() => ""),
        ),
      );
      const inUse = texts.reduce(
        (sum, t) => sum + value(t, /^latchkey_db_pool_connections\{state="in_use"\} (\d+)/m),
        0,
      );
      const waiting = texts.reduce((sum, t) => sum + value(t, /^latchkey_db_pool_waiting (\d+)/m), 0);
      samples++;
      inUseMax = Math.max(inUseMax, inUse);
      waitingMax = Math.max(waitingMax, waiting);
      waitingSum += waiting;
      await sleep(250);
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    return { inUseMax, waitingMean: Number((waitingSum / Math.max(samples, 1)).toFixed(1)), waitingMax };
  };
}

async function measure(
  scenario: string,
  spec: Spec,
  instances: ServerProcess[],
  watch: PgWatch,
  round: number,
): Promise<Measured> {
  const total = spec.connections ?? CONNECTIONS;
  const each = Math.max(1, Math.floor(total / instances.length));
  const stopActivity = watch.sampleActivity();
  const stopPools = samplePools(instances);
  const cpuBefore = process.cpuUsage();
  // The database's counters over a window well inside the load (see the header).
  const window = (async () => {
    await sleep(1500);
    const before: PgSnapshot = await watch.snapshot();
    await sleep(Math.max(1000, SECONDS * 1000 - 3000));
    return PgWatch.delta(before, await watch.snapshot());
  })();
  const results: LoadResult[] = await Promise.all(
    instances.map((instance) =>
      load(instance.child.pid!, {
        ...spec,
        url: `${instance.url}${spec.path}`,
        seconds: SECONDS,
        connections: each,
      }),
    ),
  );
  const cpu = process.cpuUsage(cpuBefore);
  const delta: PgDelta = await window;
  const activity = await stopActivity();
  const pools = await stopPools();
  const ops = results.reduce((sum, r) => sum + r.total, 0);
  const rps = results.reduce((sum, r) => sum + r.requestsPerSecond, 0);
  const errors = results.reduce((sum, r) => sum + r.errors, 0);
  if (errors > 0)
    log(`  ${scenario} ×${instances.length}: ${results.map((r) => JSON.stringify(r.statusCodes)).join(" ")}`);
  const perOp = (seconds: number) => Number(((seconds * 1000) / (rps * delta.seconds)).toFixed(3));
  return {
    scenario,
    instances: instances.length,
    round,
    rps,
    p50: Math.max(...results.map((r) => r.p50)),
    p99: Math.max(...results.map((r) => r.p99)),
    errors,
    latchkeyCpu: Number((results.reduce((sum, r) => sum + r.cpuMsPerRequest * r.total, 0) / ops).toFixed(3)),
    loadCpu: Number(((cpu.user + cpu.system) / 1000 / ops).toFixed(3)),
    dbCpu: perOp(delta.backendCpu),
    clusterCpu: perOp(delta.clusterCpu),
    machineBusy: Number(delta.machineBusy.toFixed(2)),
    commitsPerSecond: Math.round(delta.commitsPerSecond),
    commitsPerOp: Number((delta.commitsPerSecond / rps).toFixed(2)),
    walBytesPerOp: Math.round(delta.walBytes / (rps * delta.seconds)),
    walSyncsPerSecond: Math.round(delta.walSyncs / delta.seconds),
    active: activity.active,
    waits: activity.waits,
    backends: activity.connections,
    poolInUseMax: pools.inUseMax,
    poolWaitingMean: pools.waitingMean,
    poolWaitingMax: pools.waitingMax,
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const began = performance.now();
const version = sourceVersion();
log(
  `building Latchkey (tsc) at ${version}… load average ${os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(" ")}`,
);
const cli = buildLatchkey();
const deployment = await prepareDeployment("postgres");
if (!deployment) throw new Error("PostgreSQL is not reachable (TEST_POSTGRES_URL)");
const loads: string[] = [];
let instances: ServerProcess[] = [];
let watch: PgWatch | undefined;
try {
  instances = await startInstances(cli, deployment, Math.max(...LEVELS));
  watch = await PgWatch.open(deployment.env.DATABASE_URL!);
  const maxConnections = await watch.setting("max_connections");
  const commitMs = await watch.commitMs();
  log(
    `${instances.length} instances up; max_connections ${maxConnections}; one committed INSERT ${commitMs} ms`,
  );

  const specs: Record<string, Spec> = {};
  if (SCENARIOS.includes("cc"))
    specs.cc = {
      path: "/oauth2/token",
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form({
        grant_type: "client_credentials",
        client_id: deployment.management.clientId,
        client_secret: deployment.management.clientSecret,
        audience: `${deployment.issuer}/api`,
      }),
    };
  // One pool of refresh tokens for every instance: a token rotated by one is redeemed at another.
  if (SCENARIOS.includes("refresh"))
    specs.refresh = await refreshSpec(deployment, CONNECTIONS * (ROUNDS * LEVELS.length + 2));
  if (SCENARIOS.includes("sign-in")) {
    const { webApp } = await signedInWebApp(deployment);
    const forms = await signInForms(
      deployment,
      webApp.clientId,
      130 * SECONDS * ROUNDS * LEVELS.length + 1000,
      PASSWORD,
    );
    specs["sign-in"] = forms.spec(SIGN_IN_CONNECTIONS);
  }
  // Warm-up: every instance, every scenario, 2 s, numbers thrown away.
  for (const scenario of SCENARIOS) {
    const spec = specs[scenario]!;
    await Promise.all(
      instances.map((instance) =>
        load(instance.child.pid!, {
          ...spec,
          url: `${instance.url}${spec.path}`,
          seconds: 2,
          connections: 4,
        }),
      ),
    );
  }
  const rows: Measured[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    loads.push(
      os
        .loadavg()
        .map((n) => n.toFixed(2))
        .join(" "),
    );
    for (const scenario of SCENARIOS) {
      const order = round % 2 ? LEVELS : [...LEVELS].reverse();
      for (const n of order) {
        const row = await measure(scenario, specs[scenario]!, instances.slice(0, n), watch, round);
        rows.push(row);
        log(
          `  ${scenario.padEnd(8)} ×${n}: ${row.rps} op/s, p99 ${row.p99} ms, CPU ms/op Latchkey ${row.latchkeyCpu} PG ${row.dbCpu} load ${row.loadCpu}, machine ${Math.round(row.machineBusy * 100)} %, ${row.commitsPerSecond} xact/s (${row.commitsPerOp}/op), ${row.walBytesPerOp} WAL B/op, ${row.walSyncsPerSecond} WAL syncs/s, active ${row.active} ${JSON.stringify(row.waits)}, backends ${row.backends}, pool in use ≤ ${row.poolInUseMax}, waiting ${row.poolWaitingMean} (≤ ${row.poolWaitingMax})`,
        );
      }
    }
    log(`  round ${round}/${ROUNDS} done`);
  }
  loads.push(
    os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(" "),
  );

  const lines = [
    `Run ${new Date().toISOString()} at ${version} on ${machineDescription()}, ${os.availableParallelism()} cores, Node ${process.version}; PostgreSQL max_connections ${maxConnections}, one committed single-row INSERT ${commitMs} ms. ${ROUNDS} rounds of ${SECONDS} s per level; DATABASE_POOL_SIZE=${POOL_SIZE} per instance (+1 for the configuration read); ${CONNECTIONS} connections in total for refresh and client credentials, ${SIGN_IN_CONNECTIONS} for sign-in, split over the instances. Load average at each round's start and the end: ${loads.join(" → ")}. Medians over the rounds.`,
    "",
    "| scenario | instances | op/s | × 1 instance | p99 ms | Latchkey CPU ms/op | PostgreSQL backends CPU ms/op | load generator CPU ms/op | machine busy | transactions/s (per op) | WAL B/op | WAL syncs/s | busy backends (waits) | pool in use max / waiting mean (max) |",
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|",
  ];
  for (const scenario of SCENARIOS) {
    const one = median(
      rows.filter((r) => r.scenario === scenario && r.instances === LEVELS[0]).map((r) => r.rps),
    );
    for (const n of LEVELS) {
      const runs = rows.filter((r) => r.scenario === scenario && r.instances === n);
      const m = (pick: (r: Measured) => number) => median(runs.map(pick));
      const last = runs.at(-1)!;
      const waits = Object.entries(last.waits)
        .slice(0, 3)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ");
      lines.push(
        `| ${scenario} | ${n} | ${Math.round(m((r) => r.rps))} | ${(m((r) => r.rps) / one).toFixed(2)}× | ${m((r) => r.p99)} | ${m((r) => r.latchkeyCpu).toFixed(2)} | ${m((r) => r.dbCpu).toFixed(2)} | ${m((r) => r.loadCpu).toFixed(2)} | ${Math.round(m((r) => r.machineBusy) * 100)} % | ${Math.round(m((r) => r.commitsPerSecond))} (${m((r) => r.commitsPerOp).toFixed(1)}) | ${Math.round(m((r) => r.walBytesPerOp))} | ${Math.round(m((r) => r.walSyncsPerSecond))} | ${m((r) => r.active).toFixed(1)} (${waits}) | ${m((r) => r.poolInUseMax)} / ${m((r) => r.poolWaitingMean).toFixed(1)} (${m((r) => r.poolWaitingMax)}) |`,
      );
    }
  }
  const markdown = lines.join("\n");
  const dir = path.join(ROOT, "bench/results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "instances.md"), `${markdown}\n`);
  writeFileSync(
    path.join(dir, "instances.json"),
    `${JSON.stringify({ date: new Date().toISOString(), version, poolSize: POOL_SIZE, maxConnections, commitMs, loads, rows }, null, 2)}\n`,
  );
  log(
    `\n${markdown}\n\n(${((performance.now() - began) / 60_000).toFixed(1)} min; bench/results/instances.{md,json})`,
  );
} finally {
  await watch?.close();
  for (const instance of instances) await instance.stop();
  await deployment.database.drop();
}
