// Issue 21's ratios, measured the way bench/interleaved.ts measures: every server up at once — the
// ceiling (bench/servers/ceiling.ts), oidc-provider, Latchkey on SQLite and Latchkey on PostgreSQL
// — and each round runs every scenario on every server back to back, so a busy spell on this shared
// machine weighs on both sides of a ratio; the median of the per-round ratios is reported.
//
//   npx tsx bench/targets.ts                          # cc jwks code refresh sign-in; 5 rounds of 3 s
//   BENCH_ONLY=code,refresh BENCH_ROUNDS=7 npx tsx bench/targets.ts
//
// Ratios: refresh and code exchange on PostgreSQL ÷ SQLite (target ≥ 0.8×) and on SQLite ÷ the
// ceiling's one-signature token (≥ 0.42×, with CPU per grant beside it); sign-in ÷ the ceiling's
// argon2id check (PostgreSQL ≥ 0.85×); client credentials ÷ ceiling (≥ 0.9×) and ÷ oidc-provider
// (> 1×); JWKS ÷ the bare server (≥ 0.8×). On PostgreSQL it also reports the database's side per
// operation: CPU of the backends serving Latchkey, WAL bytes (bench/lib/pg-stats.ts). Written to
// bench/results/targets.{md,json}. Timed here only, never in tests.
//
// BENCH_BUILD_DIR (bench/lib/latchkey.ts) keeps this build apart from another run's.
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { MANAGEMENT_API_SCOPES } from "../src/management/scopes.js";
import { databaseKinds } from "../tests/helpers/databases.js";
import { freePort } from "../tests/helpers/server.js";
import { codeExchange, type Spec, signedInWebApp, signInForms } from "./lib/flows.js";
import {
  buildLatchkey,
  type LatchkeyDeployment,
  prepareDeployment,
  refreshSpec,
  startLatchkey,
} from "./lib/latchkey.js";
import { type LoadResult, load } from "./lib/load.js";
import { PgWatch } from "./lib/pg-stats.js";
import { machineDescription, ROOT, type ServerProcess, sourceVersion, spawnServer } from "./lib/proc.js";
import { CONNECTIONS, ROUNDS, SECONDS, SIGN_IN_CONNECTIONS } from "./lib/rounds.js";

const SCENARIOS = (process.env.BENCH_ONLY ?? "cc,jwks,code,refresh,sign-in").split(",");
const PASSWORD = "bench-password-correct-horse";
const SCOPES = MANAGEMENT_API_SCOPES.join(" ");
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = { "content-type": "application/x-www-form-urlencoded" };

interface Server {
  name: string;
  proc: ServerProcess;
  specs: Record<string, Spec>;
  /** Code exchange: mints a round's codes and returns the spec that sends exactly them. */
  code?: { mint(count: number): Promise<number>; spec(): Spec };
  watch?: PgWatch;
  stop(): Promise<void>;
}

interface Run {
  rps: number;
  cpu: number;
  p99: number;
  errors: number;
  /** PostgreSQL only: its backends' CPU ms and WAL bytes per operation. */
  dbCpu?: number;
  wal?: number;
}

async function startCeiling(): Promise<Server> {
  const port = await freePort();
  const proc = await spawnServer({
    name: "ceiling",
    script: path.join(ROOT, "bench/servers/ceiling.ts"),
    port,
    readyPath: "/health",
    env: { PORT: String(port), SCOPES, PASSWORD },
  });
  const specs: Record<string, Spec> = {
    cc: {
      path: "/token",
      method: "POST",
      headers: FORM,
      body: form({ grant_type: "client_credentials", client_id: "bench" }),
    },
    jwks: { path: "/.well-known/jwks" },
    "sign-in": {
      path: "/verify",
      method: "POST",
      headers: FORM,
      body: form({ password: PASSWORD }),
      connections: SIGN_IN_CONNECTIONS,
    },
  };
  return { name: "ceiling", proc, specs, stop: () => proc.stop() };
}

async function startPeer(): Promise<Server> {
  const port = await freePort();
  const audience = `http://127.0.0.1:${port}/api`;
  const client = { id: "bench-client", secret: randomBytes(30).toString("hex") };
  const proc = await spawnServer({
    name: "oidc-provider",
    script: path.join(ROOT, "bench/servers/oidc-provider.ts"),
    port,
    readyPath: "/.well-known/openid-configuration",
    env: {
      PORT: String(port),
      AUDIENCE: audience,
      SCOPES,
      CLIENT_ID: client.id,
      CLIENT_SECRET: client.secret,
    },
  });
  const cc: Spec = {
    path: "/token",
    method: "POST",
    headers: FORM,
    body: form({
      grant_type: "client_credentials",
      client_id: client.id,
      client_secret: client.secret,
      resource: audience,
      scope: SCOPES,
    }),
  };
  return { name: "oidc-provider", proc, specs: { cc }, stop: () => proc.stop() };
}

async function startLatchkeyOn(cli: string, deployment: LatchkeyDeployment): Promise<Server> {
  const name = `latchkey (${deployment.kind})`;
  const proc = await startLatchkey(cli, deployment, { name });
  const specs: Record<string, Spec> = {
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
    jwks: { path: "/.well-known/jwks" },
  };
  const { webApp, browser } = await signedInWebApp(deployment);
  const code = SCENARIOS.includes("code") ? codeExchange(deployment, webApp, browser) : undefined;
  // Each run can strand up to one token per connection (rotated, answer cut off at the end).
  if (SCENARIOS.includes("refresh"))
    specs.refresh = await refreshSpec(deployment, CONNECTIONS * (ROUNDS + 3));
  if (SCENARIOS.includes("sign-in")) {
    // Enough for ~300 sign-ins a second (far above this machine's argon2 rate) through every round.
    const forms = await signInForms(deployment, webApp.clientId, 300 * SECONDS * (ROUNDS + 1), PASSWORD);
    specs["sign-in"] = forms.spec(SIGN_IN_CONNECTIONS);
  }
  const watch = deployment.kind === "postgres" ? await PgWatch.open(deployment.env.DATABASE_URL!) : undefined;
  return {
    name,
    proc,
    specs,
    code,
    watch,
    async stop() {
      await watch?.close();
      await proc.stop();
      await deployment.database.drop();
    },
  };
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

/** One measured run of `scenario` on `server`; codes are minted first, sized from the last run. */
async function runOnce(server: Server, scenario: string, codesWanted: number): Promise<Run | undefined> {
  let spec = server.specs[scenario];
  let amount: number | undefined;
  if (scenario === "code" && server.code) {
    amount = await server.code.mint(codesWanted);
    spec = server.code.spec();
  }
  if (!spec) return undefined;
  const before = await server.watch?.snapshot();
  const result: LoadResult = await load(server.proc.child.pid!, {
    ...spec,
    url: `${server.proc.url}${spec.path}`,
    seconds: SECONDS,
    connections: spec.connections ?? CONNECTIONS,
    amount,
  });
  const after = await server.watch?.snapshot();
  if (result.errors > 0)
    process.stdout.write(`  ${server.name} ${scenario}: ${JSON.stringify(result.statusCodes)}\n`);
  const run: Run = {
    rps: result.requestsPerSecond,
    cpu: result.cpuMsPerRequest,
    p99: result.p99,
    errors: result.errors,
  };
  if (before && after && result.total > 0) {
    const delta = PgWatch.delta(before, after);
    run.dbCpu = (delta.backendCpu * 1000) / result.total;
    run.wal = delta.walBytes / result.total;
  }
  return run;
}

/** A ratio the issue sets a target for: `server`'s `scenario` over `reference`'s `of`, per round. */
interface Comparison {
  label: string;
  scenario: string;
  server: string;
  of: string;
  reference: string;
  target?: number;
  /** Reported only (no target: the figure is for reading, or the target is "ahead of"). */
  ahead?: boolean;
}

const SQLITE = "latchkey (sqlite)";
const POSTGRES = "latchkey (postgres)";
const COMPARISONS: Comparison[] = [
  {
    label: "refresh, PostgreSQL ÷ SQLite",
    scenario: "refresh",
    server: POSTGRES,
    of: "refresh",
    reference: SQLITE,
    target: 0.8,
  },
  {
    label: "code exchange, PostgreSQL ÷ SQLite",
    scenario: "code",
    server: POSTGRES,
    of: "code",
    reference: SQLITE,
    target: 0.8,
  },
  {
    label: "sign-in (PostgreSQL) ÷ argon2 ceiling",
    scenario: "sign-in",
    server: POSTGRES,
    of: "sign-in",
    reference: "ceiling",
    target: 0.85,
  },
  {
    label: "sign-in (SQLite) ÷ argon2 ceiling",
    scenario: "sign-in",
    server: SQLITE,
    of: "sign-in",
    reference: "ceiling",
  },
  {
    label: "refresh (SQLite) ÷ one-signature ceiling",
    scenario: "refresh",
    server: SQLITE,
    of: "cc",
    reference: "ceiling",
    target: 0.42,
  },
  {
    label: "code exchange (SQLite) ÷ one-signature ceiling",
    scenario: "code",
    server: SQLITE,
    of: "cc",
    reference: "ceiling",
    target: 0.42,
  },
  {
    label: "refresh (PostgreSQL) ÷ one-signature ceiling",
    scenario: "refresh",
    server: POSTGRES,
    of: "cc",
    reference: "ceiling",
  },
  {
    label: "code exchange (PostgreSQL) ÷ one-signature ceiling",
    scenario: "code",
    server: POSTGRES,
    of: "cc",
    reference: "ceiling",
  },
  {
    label: "client credentials (SQLite) ÷ ceiling",
    scenario: "cc",
    server: SQLITE,
    of: "cc",
    reference: "ceiling",
    target: 0.9,
  },
  {
    label: "client credentials (PostgreSQL) ÷ ceiling",
    scenario: "cc",
    server: POSTGRES,
    of: "cc",
    reference: "ceiling",
    target: 0.9,
  },
  {
    label: "client credentials (SQLite) ÷ oidc-provider",
    scenario: "cc",
    server: SQLITE,
    of: "cc",
    reference: "oidc-provider",
    target: 1,
    ahead: true,
  },
  {
    label: "client credentials (PostgreSQL) ÷ oidc-provider",
    scenario: "cc",
    server: POSTGRES,
    of: "cc",
    reference: "oidc-provider",
    target: 1,
    ahead: true,
  },
  {
    label: "JWKS (SQLite) ÷ bare server",
    scenario: "jwks",
    server: SQLITE,
    of: "jwks",
    reference: "ceiling",
    target: 0.8,
  },
  {
    label: "JWKS (PostgreSQL) ÷ bare server",
    scenario: "jwks",
    server: POSTGRES,
    of: "jwks",
    reference: "ceiling",
    target: 0.8,
  },
];

const began = performance.now();
const commit = sourceVersion();
const log = (line: string) => process.stdout.write(`${line}\n`);
log(`building Latchkey (tsc) at ${commit}… load average ${loadAverage()}`);
const servers: Server[] = [];
try {
  const cli = buildLatchkey();
  servers.push(await startCeiling());
  if (SCENARIOS.includes("cc")) servers.push(await startPeer());
  for (const { kind, skip } of await databaseKinds()) {
    if (skip) {
      log(`skipping ${kind}: ${skip}`);
      continue;
    }
    servers.push(await startLatchkeyOn(cli, (await prepareDeployment(kind)) as LatchkeyDeployment));
  }
  const commitMs = await servers.find((s) => s.watch)?.watch?.commitMs();
  const maxConnections = await servers.find((s) => s.watch)?.watch?.setting("max_connections");

  // Warm-up (JIT, pools, caches): a short run of every spec, codes included, numbers thrown away.
  for (const server of servers)
    for (const scenario of SCENARIOS) await runOnce(server, scenario, 200).catch(() => undefined);
  const loads = [loadAverage()];
  const codesWanted: Record<string, number> = {};
  // results[scenario][server] = one run per round
  const results: Record<string, Record<string, Run[]>> = {};
  for (let round = 1; round <= ROUNDS; round++) {
    for (const scenario of SCENARIOS) {
      // Alternate the order each round, so neither side always runs first.
      const order = round % 2 ? servers : [...servers].reverse();
      for (const server of order) {
        const run = await runOnce(server, scenario, codesWanted[server.name] ?? CONNECTIONS * 20);
        if (!run) continue;
        if (scenario === "code")
          // Twice a round's worth, at least 20 per connection: a short run is mostly its ramp and tail.
          codesWanted[server.name] = Math.min(
            6000,
            Math.max(CONNECTIONS * 20, Math.round(2 * run.rps * SECONDS)),
          );
        results[scenario] ??= {};
        const runs = results[scenario][server.name] ?? [];
        results[scenario][server.name] = runs;
        runs.push(run);
      }
    }
    loads.push(loadAverage());
    log(`  round ${round}/${ROUNDS} done (load average ${loadAverage()})`);
  }

  const fixed = (n: number | undefined, digits = 2) => (n === undefined ? "–" : n.toFixed(digits));
  const lines = [
    `Run ${new Date().toISOString()} at ${commit} on ${machineDescription()}, ${os.availableParallelism()} cores, Node ${process.version}. ${ROUNDS} rounds of ${SECONDS} s per server and scenario (code exchange: the codes minted just before, sent once each), ${CONNECTIONS} connections (sign-in ${SIGN_IN_CONNECTIONS}); medians over the rounds. Load average (1/5/15 min) at the start of each round and at the end: ${loads.join(" → ")}. PostgreSQL: one committed single-row INSERT ${commitMs ?? "–"} ms, max_connections ${maxConnections ?? "–"}, Latchkey's pool 10 (+1).`,
    "",
    "| scenario | server | req/s | p99 ms | server CPU ms/op | PostgreSQL backends CPU ms/op | WAL bytes/op |",
    "|---|---|--:|--:|--:|--:|--:|",
  ];
  for (const scenario of SCENARIOS)
    for (const server of servers) {
      const runs = results[scenario]?.[server.name];
      if (!runs) continue;
      const m = (pick: (r: Run) => number | undefined) => {
        const values = runs.map(pick).filter((v): v is number => v !== undefined);
        return values.length ? median(values) : undefined;
      };
      lines.push(
        `| ${scenario} | ${server.name} | ${Math.round(m((r) => r.rps)!)} | ${m((r) => r.p99)} | ${fixed(
          m((r) => r.cpu),
          3,
        )} | ${fixed(
          m((r) => r.dbCpu),
          3,
        )} | ${fixed(
          m((r) => r.wal),
          0,
        )} |`,
      );
    }
  lines.push("", "| ratio (same round) | median | rounds' range | target | met |", "|---|--:|--:|--:|:-:|");
  const measured: Record<string, number> = {};
  for (const c of COMPARISONS) {
    const runs = results[c.scenario]?.[c.server];
    const refs = results[c.of]?.[c.reference];
    if (!runs || !refs || runs.length !== refs.length) continue;
    const ratios = runs.map((r, i) => r.rps / refs[i]!.rps);
    const value = median(ratios);
    measured[c.label] = value;
    const target = c.target === undefined ? "–" : c.ahead ? "> 1×" : `≥ ${c.target}×`;
    const met =
      c.target === undefined ? "–" : (c.ahead ? value > c.target : value >= c.target) ? "yes" : "**no**";
    lines.push(
      `| ${c.label} | ${value.toFixed(3)}× | ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)} | ${target} | ${met} |`,
    );
  }
  const markdown = lines.join("\n");
  const resultsDir = path.join(ROOT, "bench/results");
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(path.join(resultsDir, "targets.md"), `${markdown}\n`);
  writeFileSync(
    path.join(resultsDir, "targets.json"),
    `${JSON.stringify({ date: new Date().toISOString(), commit, rounds: ROUNDS, seconds: SECONDS, loads, commitMs, results, ratios: measured }, null, 2)}\n`,
  );
  log(
    `\n${markdown}\n\n(${((performance.now() - began) / 60_000).toFixed(1)} min; bench/results/targets.{md,json})`,
  );
} finally {
  for (const server of servers) await server.stop();
}
