// Issue 21's "no regression from the new features": password sign-in, refresh and client
// credentials on a Latchkey with a webhook endpoint subscribed to every event type and the
// authentication log on, against the same Latchkey without either — two servers side by side on
// the same database kind (each its own fresh database), measured the way bench/interleaved.ts
// measures: each round runs every scenario on both servers back to back, order alternating, so a
// busy spell on this shared machine weighs on both sides of a round's ratio; the median of the
// per-round ratios (with features ÷ without, target ≥ 0.9×) is reported. SQLite first, then
// PostgreSQL (dropped after).
//
//   npx tsx bench/features.ts                       # 5 rounds of 3 s; BENCH_ROUNDS, BENCH_SECONDS
//   BENCH_ONLY=features npm run bench               # the same, from bench/run.ts
//
// Measure committed code only: run it from a `git archive HEAD` copy with node_modules linked,
// BENCH_BUILD_DIR (a build of its own) and BENCH_COMMIT set, as bench/targets.ts was run:
//
//   git archive HEAD | tar -x -C /tmp/lk && ln -s /work/main/node_modules /tmp/lk/node_modules
//   cd /tmp/lk && BENCH_COMMIT=$(git -C /work/main rev-parse --short HEAD) \
//     BENCH_BUILD_DIR=/work/main/node_modules/.cache/latchkey-bench-features npx tsx bench/features.ts
//
// "Without": the authentication log cannot be switched off by configuration (it is always on,
// src/audit/authentication-log.ts), so the plain server runs a copy of the same bundle whose
// AuthenticationLog.record returns at once — the one difference besides the webhook. Events rows
// are written by both (the outbox records every change whether or not an endpoint subscribes);
// only the features server has deliveries to make. Its endpoint is a sink in this process that
// answers 200 (WEBHOOKS_ALLOW_PRIVATE_NETWORKS=true lets it be on loopback). After each sign-in run
// on the features server the round waits until its webhook queue is empty, so the deliveries'
// cost is charged to sign-in and not to the next scenario; how long that took is reported.
//
// Runs of the same commit accumulate in bench/results/features.{md,json} (a different commit
// starts afresh), each with `uptime` at its start and end. Timed here only, never in tests.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sql } from "kysely";
import type { Storage } from "../src/storage/database.js";
import { type DatabaseKind, databaseKinds } from "../tests/helpers/databases.js";
import { type Spec, signedInWebApp, signInForms } from "./lib/flows.js";
import {
  buildLatchkey,
  type LatchkeyDeployment,
  managementToken,
  openServices,
  prepareDeployment,
  refreshSpec,
  startLatchkey,
} from "./lib/latchkey.js";
import { load } from "./lib/load.js";
import { machineDescription, ROOT, type ServerProcess, sourceVersion } from "./lib/proc.js";
import { CONNECTIONS, ROUNDS, SECONDS, SIGN_IN_CONNECTIONS } from "./lib/rounds.js";

const SCENARIOS = ["sign-in", "refresh", "cc"] as const;
type Scenario = (typeof SCENARIOS)[number];
const SCENARIO_NAMES: Record<Scenario, string> = {
  "sign-in": "password sign-in",
  refresh: "refresh",
  cc: "client credentials",
};
const TARGET = 0.9;
/** Longest wait for the features server's webhook queue to empty after a sign-in run. */
const DRAIN_LIMIT_MS = 60_000;
const PASSWORD = "bench-password-correct-horse";
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = { "content-type": "application/x-www-form-urlencoded" };
const log = (line: string) => process.stdout.write(`${line}\n`);

type Side = "plain" | "features";

interface Server {
  side: Side;
  proc: ServerProcess;
  deployment: LatchkeyDeployment;
  specs: Record<Scenario, Spec>;
  /** The benchmark's own connection to this server's database (counts only, between runs). */
  storage: Storage;
  stop(): Promise<void>;
}

interface Run {
  rps: number;
  cpu: number;
  p99: number;
  errors: number;
  /** Features server, sign-in: seconds after the run until its webhook queue was empty. */
  drainSeconds?: number;
}

interface KindResult {
  kind: DatabaseKind;
  /** runs[scenario][side], one per round */
  runs: Record<string, Record<Side, Run[]>>;
  ratios: Record<string, { median: number; min: number; max: number }>;
  /** What each side wrote beside its grants: proof that the features were on, and off. */
  written: Record<Side, { authenticationLog: number; events: number; deliveries: number; pending: number }>;
  sinkReceived: number;
}

interface RunRecord {
  date: string;
  commit: string;
  rounds: number;
  seconds: number;
  uptime: { start: string; end: string };
  loads: string[];
  minutes: number;
  kinds: KindResult[];
}

/** A webhook receiver that accepts everything (Kinde's receivers answer 200 once verified). */
async function startSink(): Promise<{ server: HttpServer; url: string; received(): number }> {
  let received = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      received += 1;
      response.writeHead(200, { "content-type": "text/plain" }).end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/webhook`, received: () => received };
}

/**
 * The same bundle with AuthenticationLog.record returning at once: the server "without the
 * authentication log" (there is no setting for it). Fails loudly if the method is not found once.
 */
function withoutAuthenticationLog(cli: string): string {
  const source = readFileSync(cli, "utf8");
  // The bundle's whitespace is minified (scripts/bundle.mjs): `record(origin,entry){`.
  const pattern = /\brecord\(origin,\s*entry\)\s*\{/g;
  const matches = source.match(pattern) ?? [];
  if (matches.length !== 1)
    throw new Error(`expected one AuthenticationLog.record in ${cli}, found ${matches.length}`);
  const patched = source.replace(pattern, (opening) => `${opening}return;`);
  const out = path.join(path.dirname(cli), "cli-without-authentication-log.js");
  writeFileSync(out, patched);
  return out;
}

/** Subscribes an endpoint at `url` to every event type, through the Management API. */
async function subscribeEverything(deployment: LatchkeyDeployment, url: string): Promise<number> {
  const token = await managementToken(deployment);
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const types = await fetch(`${deployment.issuer}/api/v1/event_types`, { headers });
  const { event_types } = (await types.json()) as { event_types: { code: string }[] };
  const created = await fetch(`${deployment.issuer}/api/v1/webhooks`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      endpoint: url,
      event_types: event_types.map((t) => t.code),
      name: "Bench sink",
    }),
  });
  if (!created.ok) throw new Error(`webhook not created: ${created.status} ${await created.text()}`);
  return event_types.length;
}

async function startServer(kind: DatabaseKind, side: Side, cli: string, sinkUrl: string): Promise<Server> {
  const deployment = (await prepareDeployment(
    kind,
    side === "features" ? { WEBHOOKS_ALLOW_PRIVATE_NETWORKS: "true" } : {},
  )) as LatchkeyDeployment;
  const proc = await startLatchkey(cli, deployment, { name: `latchkey ${side} (${kind})` });
  try {
    if (side === "features") {
      const types = await subscribeEverything(deployment, sinkUrl);
      log(`  ${kind} features server: webhook subscribed to all ${types} event types`);
    }
    const { webApp } = await signedInWebApp(deployment);
    // Each run can strand up to one token per connection (rotated, answer cut off at the end).
    const refresh = await refreshSpec(deployment, CONNECTIONS * (ROUNDS + 3));
    // Enough for ~150 sign-ins a second (above this machine's argon2id rate) through every round.
    const forms = await signInForms(deployment, webApp.clientId, 150 * SECONDS * (ROUNDS + 2), PASSWORD);
    const specs: Record<Scenario, Spec> = {
      "sign-in": forms.spec(SIGN_IN_CONNECTIONS),
      refresh,
      cc: {
        path: "/oauth2/token",
        method: "POST",
        headers: FORM,
        body: form({
          grant_type: "client_credentials",
          client_id: deployment.management.clientId,
          client_secret: deployment.management.clientSecret,
          audience: `${deployment.issuer}/api`,
        }),
      },
    };
    const { storage } = await openServices(deployment);
    return {
      side,
      proc,
      deployment,
      specs,
      storage,
      async stop() {
        await storage.close();
        await proc.stop();
        await deployment.database.drop();
      },
    };
  } catch (error) {
    await proc.stop();
    await deployment.database.drop();
    throw error;
  }
}

async function count(storage: Storage, table: "authentication_log" | "events" | "webhook_deliveries") {
  const row = await storage.db
    .selectFrom(table)
    .select(sql<number>`count(*)`.as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function pendingDeliveries(storage: Storage): Promise<number> {
  const row = await storage.db
    .selectFrom("webhook_deliveries")
    .where("status", "=", "pending")
    .select(sql<number>`count(*)`.as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Seconds until the server's webhook queue is empty (DRAIN_LIMIT_MS at most). */
async function drain(storage: Storage): Promise<number> {
  const started = performance.now();
  while ((await pendingDeliveries(storage)) > 0 && performance.now() - started < DRAIN_LIMIT_MS)
    await new Promise((resolve) => setTimeout(resolve, 100));
  return Number(((performance.now() - started) / 1000).toFixed(1));
}

async function runOnce(server: Server, scenario: Scenario, seconds: number): Promise<Run> {
  const spec = server.specs[scenario];
  const result = await load(server.proc.child.pid!, {
    ...spec,
    url: `${server.proc.url}${spec.path}`,
    seconds,
    connections: spec.connections ?? CONNECTIONS,
  });
  if (result.errors > 0)
    log(`  ${server.side} ${scenario}: ${JSON.stringify(result.statusCodes)} (${result.errors} errors)`);
  const run: Run = {
    rps: result.requestsPerSecond,
    cpu: result.cpuMsPerRequest,
    p99: result.p99,
    errors: result.errors,
  };
  if (scenario === "sign-in" && server.side === "features") run.drainSeconds = await drain(server.storage);
  return run;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const loadAverage = () =>
  os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(" ");
const uptime = () => {
  try {
    return execFileSync("uptime", { stdio: "pipe" }).toString().trim();
  } catch {
    return `load average: ${loadAverage()}`;
  }
};

async function measureKind(
  kind: DatabaseKind,
  builds: Record<Side, string>,
  sink: Awaited<ReturnType<typeof startSink>>,
  loads: string[],
): Promise<KindResult> {
  const servers: Server[] = [];
  try {
    for (const side of ["plain", "features"] as const)
      servers.push(await startServer(kind, side, builds[side], sink.url));
    // Warm-up (JIT, pools, caches): a short run of every scenario, numbers thrown away.
    for (const server of servers) for (const scenario of SCENARIOS) await runOnce(server, scenario, 1);
    const sinkBefore = sink.received();
    const runs: KindResult["runs"] = {};
    for (let round = 1; round <= ROUNDS; round++) {
      for (const scenario of SCENARIOS) {
        // Alternate the order each round, so neither side always runs first.
        const order = round % 2 ? servers : [...servers].reverse();
        for (const server of order) {
          runs[scenario] ??= { plain: [], features: [] };
          runs[scenario][server.side].push(await runOnce(server, scenario, SECONDS));
        }
      }
      loads.push(loadAverage());
      log(`  ${kind} round ${round}/${ROUNDS} done (load average ${loadAverage()})`);
    }
    // Entries of the last second are still in the features server's buffer until it flushes.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const written = {} as KindResult["written"];
    for (const server of servers)
      written[server.side] = {
        authenticationLog: await count(server.storage, "authentication_log"),
        events: await count(server.storage, "events"),
        deliveries: await count(server.storage, "webhook_deliveries"),
        pending: await pendingDeliveries(server.storage),
      };
    const ratios: KindResult["ratios"] = {};
    for (const scenario of SCENARIOS) {
      const { plain, features } = runs[scenario]!;
      const perRound = features.map((r, i) => r.rps / plain[i]!.rps);
      ratios[scenario] = {
        median: median(perRound),
        min: Math.min(...perRound),
        max: Math.max(...perRound),
      };
    }
    return { kind, runs, ratios, written, sinkReceived: sink.received() - sinkBefore };
  } finally {
    for (const server of servers) await server.stop();
  }
}

function renderRun(run: RunRecord, index: number): string[] {
  const fixed = (n: number | undefined, digits: number) => (n === undefined ? "–" : n.toFixed(digits));
  const lines = [
    `## Run ${index + 1}: ${run.date}`,
    "",
    `${run.rounds} rounds of ${run.seconds} s per server and scenario, ${CONNECTIONS} connections (sign-in ${SIGN_IN_CONNECTIONS}); ${run.minutes} min.`,
    "",
    `- uptime at the start: \`${run.uptime.start}\``,
    `- uptime at the end: \`${run.uptime.end}\``,
    `- load average (1/5/15 min) after each round: ${run.loads.join(" → ")}`,
    "",
    "| database | scenario | without req/s | with req/s | without CPU ms/op | with CPU ms/op | with ÷ without (median) | rounds' range | target | met |",
    "|---|---|--:|--:|--:|--:|--:|--:|--:|:-:|",
  ];
  for (const k of run.kinds)
    for (const scenario of SCENARIOS) {
      const sides = k.runs[scenario];
      const ratio = k.ratios[scenario];
      if (!sides || !ratio) continue;
      const m = (side: Side, pick: (r: Run) => number) => median(sides[side].map(pick));
      lines.push(
        `| ${k.kind} | ${SCENARIO_NAMES[scenario]} | ${Math.round(m("plain", (r) => r.rps))} | ${Math.round(m("features", (r) => r.rps))} | ${fixed(
          m("plain", (r) => r.cpu),
          3,
        )} | ${fixed(
          m("features", (r) => r.cpu),
          3,
        )} | ${ratio.median.toFixed(3)}× | ${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)} | ≥ ${TARGET}× | ${ratio.median >= TARGET ? "yes" : "**no**"} |`,
      );
    }
  lines.push(
    "",
    "| database | side | authentication log rows | events rows | webhook deliveries (pending at the end) | received by the sink | queue emptied after each sign-in run, s |",
    "|---|---|--:|--:|--:|--:|---|",
  );
  for (const k of run.kinds)
    for (const side of ["plain", "features"] as const) {
      const w = k.written[side];
      const drains = k.runs["sign-in"]?.[side].map((r) => r.drainSeconds).filter((s) => s !== undefined);
      lines.push(
        `| ${k.kind} | ${side === "plain" ? "without" : "with"} | ${w.authenticationLog} | ${w.events} | ${w.deliveries} (${w.pending}) | ${side === "features" ? k.sinkReceived : "–"} | ${drains?.length ? drains.join(", ") : "–"} |`,
      );
    }
  return lines;
}

/** How much the same ratio moved: between rounds of a run and between the runs' medians. */
function renderNoise(runs: RunRecord[]): string[] {
  const lines = [
    "## Noise",
    "",
    "The machine has 2 cores shared with other engineers' test suites. How far each ratio moved:",
    "",
    "| database | scenario | runs' medians | widest rounds' range in a run |",
    "|---|---|---|--:|",
  ];
  const kinds = [...new Set(runs.flatMap((r) => r.kinds.map((k) => k.kind)))];
  for (const kind of kinds)
    for (const scenario of SCENARIOS) {
      const ratios = runs
        .map((r) => r.kinds.find((k) => k.kind === kind)?.ratios[scenario])
        .filter((r) => r !== undefined);
      if (ratios.length === 0) continue;
      const widest = Math.max(...ratios.map((r) => r.max - r.min));
      lines.push(
        `| ${kind} | ${SCENARIO_NAMES[scenario]} | ${ratios.map((r) => `${r.median.toFixed(2)}×`).join(", ")} | ${widest.toFixed(2)} |`,
      );
    }
  const oneMinute = runs.flatMap((r) => r.loads.map((l) => Number(l.split(" ")[0])));
  lines.push(
    "",
    `One-minute load average across all rounds: ${Math.min(...oneMinute).toFixed(1)}–${Math.max(...oneMinute).toFixed(1)} on ${os.availableParallelism()} cores (above 2 the cores were oversubscribed: absolute req/s are a fraction of a quiet machine's; the same-round ratios are what to read).`,
  );
  return lines;
}

export async function benchFeatures(): Promise<RunRecord> {
  const began = performance.now();
  const commit = sourceVersion();
  const start = uptime();
  log(`features (issue 21): building Latchkey (tsc) at ${commit}… ${start}`);
  const cli = buildLatchkey();
  const builds: Record<Side, string> = { plain: withoutAuthenticationLog(cli), features: cli };
  const sink = await startSink();
  const loads = [loadAverage()];
  const kinds: KindResult[] = [];
  try {
    for (const { kind, skip } of await databaseKinds()) {
      if (skip) {
        log(`  skipping ${kind}: ${skip}`);
        continue;
      }
      kinds.push(await measureKind(kind, builds, sink, loads));
    }
  } finally {
    sink.server.close();
  }
  const run: RunRecord = {
    date: new Date().toISOString(),
    commit,
    rounds: ROUNDS,
    seconds: SECONDS,
    uptime: { start, end: uptime() },
    loads,
    minutes: Number(((performance.now() - began) / 60_000).toFixed(1)),
    kinds,
  };

  const resultsDir = path.join(ROOT, "bench/results");
  mkdirSync(resultsDir, { recursive: true });
  const jsonPath = path.join(resultsDir, "features.json");
  const previous = existsSync(jsonPath)
    ? (JSON.parse(readFileSync(jsonPath, "utf8")) as { commit?: string; runs?: RunRecord[] })
    : {};
  const runs = [...(previous.commit === commit ? (previous.runs ?? []) : []), run];
  const markdown = [
    `# Webhooks and the authentication log: with ÷ without (issue 21)`,
    "",
    `\`bench/features.ts\` at ${commit} on ${machineDescription()}, ${os.availableParallelism()} cores, Node ${process.version}. Two Latchkey servers per database, each on its own fresh database: **with** = a webhook endpoint subscribed to every event type (a sink in the benchmark process answering 200) and the authentication log on; **without** = no endpoint and AuthenticationLog.record returning at once. Medians over the rounds; the ratio is the median of the same-round ratios. Target: with ÷ without ≥ ${TARGET}×.`,
    "",
    ...runs.flatMap((r, i) => [...renderRun(r, i), ""]),
    ...renderNoise(runs),
  ].join("\n");
  writeFileSync(path.join(resultsDir, "features.md"), `${markdown}\n`);
  writeFileSync(jsonPath, `${JSON.stringify({ commit, runs }, null, 2)}\n`);
  log(`\n${markdown}\n\n(${run.minutes} min; bench/results/features.{md,json}, ${runs.length} run(s))`);
  return run;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await benchFeatures();
}
