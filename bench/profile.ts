// Profiles one Latchkey hot path: starts the compiled server with --cpu-prof on a fresh SQLite
// database, drives one scenario with autocannon, stops the server and prints, for the samples taken
// while the load ran, the functions with the most self time and the inclusive time of our own
// code and of Fastify, pino and Kysely, as a share and in main-thread µs per request. The
// .cpuprofile (open it in Chrome DevTools or speedscope for a flame graph) stays in
// $TMPDIR/latchkey-profiles/<run>/. Run: npx tsx bench/profile.ts [cc|jwks|discovery|api|users|connected|refresh]
// (`users`: pages of 100 with BENCH_USERS users loaded, 10 connections as in bench/run.ts;
// `connected`: the connected-app token of a connection made through the real flow against
// oidc-provider). PROFILE_DATABASE=postgres profiles on PostgreSQL instead of SQLite.
// `npx tsx bench/profile.ts cc ceiling` profiles the reference ceiling (bench/servers/ceiling.ts)
// on the same scenario instead, to see which costs are Latchkey's own. LOG_LEVEL defaults to warn,
// as in bench/run.ts; LOG_LEVEL=info profiles the access log too. PROFILE=0 runs the same load
// without the profiler (figures without its overhead; writes nothing, unlike bench/run.ts).
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { MANAGEMENT_API_SCOPES } from "../src/management/scopes.js";
import type { DatabaseKind } from "../tests/helpers/databases.js";
import { CALLBACK, LOGOUT } from "../tests/helpers/fixtures.js";
import { startOidcProvider } from "../tests/helpers/oauth-provider.js";
import { freePort } from "../tests/helpers/server.js";
import { signedInUserAgent } from "../tests/helpers/user-agent.js";
import {
  BUILD_DIR,
  buildLatchkey,
  connectedAppTokenSpec,
  type LatchkeyDeployment,
  loadUsers,
  managementToken,
  openServices,
  prepareDeployment,
  refreshSpec,
} from "./lib/latchkey.js";
import { type LoadSpec, load } from "./lib/load.js";
import { ROOT, spawnServer } from "./lib/proc.js";

const scenario = process.argv[2] ?? "cc";
const target = process.argv[3] ?? "latchkey";
const seconds = Number(process.env.BENCH_SECONDS ?? 8);
// A directory per run: profiles run at the same time (several people on one machine) must not
// read or delete each other's files.
mkdirSync(path.join(tmpdir(), "latchkey-profiles"), { recursive: true });
const dir = mkdtempSync(path.join(tmpdir(), "latchkey-profiles", `${scenario}-`));
const profiling = process.env.PROFILE !== "0";
const profileFlags = profiling ? ["--cpu-prof", `--cpu-prof-dir=${dir}`, "--cpu-prof-interval=500"] : [];
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = { "content-type": "application/x-www-form-urlencoded" };
type Spec = Omit<LoadSpec, "url" | "seconds"> & { path: string };

let proc: Awaited<ReturnType<typeof spawnServer>>;
/** The bundle the server runs (its frames are mapped back to modules), when it is Latchkey. */
let bundle = path.join(BUILD_DIR, "cli.js");
let cleanup = async () => {};
const specs: Record<string, Spec> = {};
if (target === "ceiling") {
  const port = await freePort();
  proc = await spawnServer({
    name: "ceiling",
    script: path.join(ROOT, "bench/servers/ceiling.ts"),
    port,
    readyPath: "/health",
    // The same scopes as Latchkey's management token, so both sign the same claims.
    env: { PORT: String(port), SCOPES: MANAGEMENT_API_SCOPES.join(" ") },
    nodeOptions: profileFlags,
  });
  specs.cc = {
    path: "/token",
    method: "POST",
    headers: FORM,
    body: form({ grant_type: "client_credentials", client_id: "bench" }),
  };
  specs.jwks = { path: "/.well-known/jwks" };
  specs.discovery = { path: "/.well-known/openid-configuration" };
  specs.json = { path: "/json" };
} else {
  // BENCH_CLI: a server compiled elsewhere (e.g. a copy of an earlier build, to compare).
  const cli = process.env.BENCH_CLI ?? (process.env.BENCH_NO_BUILD ? bundle : buildLatchkey());
  bundle = cli;
  const kind = (process.env.PROFILE_DATABASE ?? "sqlite") as DatabaseKind;
  const deployment = await prepareDeployment(kind, { LOG_LEVEL: process.env.LOG_LEVEL ?? "warn" });
  if (!deployment) throw new Error(`no ${kind} database reachable`);
  proc = await spawnServer({
    name: "latchkey",
    script: cli,
    args: ["start"],
    env: deployment.env,
    port: deployment.port,
    readyPath: "/health/ready",
    nodeOptions: profileFlags,
  });
  cleanup = () => deployment.database.drop();
  const cc = {
    method: "POST" as const,
    headers: FORM,
    body: form({
      grant_type: "client_credentials",
      client_id: deployment.management.clientId,
      client_secret: deployment.management.clientSecret,
      audience: `${deployment.issuer}/api`,
    }),
  };
  specs.cc = { path: "/oauth2/token", ...cc };
  specs.jwks = { path: "/.well-known/jwks" };
  specs.discovery = { path: "/.well-known/openid-configuration" };
  if (scenario === "api") {
    // One Management API read (the shared cost of every /api/v1 call, e.g. connected-app token).
    const response = await fetch(`${proc.url}/oauth2/token`, { ...cc, body: cc.body });
    const { access_token } = (await response.json()) as { access_token: string };
    specs.api = { path: "/api/v1/users?page_size=1", headers: { authorization: `Bearer ${access_token}` } };
  }
  if (scenario === "refresh") specs.refresh = await refreshSpec(deployment, 200);
  if (scenario === "users") specs.users = await usersSpec(deployment);
  if (scenario === "connected") {
    const provider = await startOidcProvider({
      redirectUri: `${deployment.issuer}/connected_apps/callback`,
      accessTokenTtlSeconds: 3600,
    });
    const dropDatabase = cleanup;
    cleanup = async () => {
      await provider.close();
      await dropDatabase();
    };
    specs.connected = await connectedSpec(deployment, provider);
  }
}
/** Pages of 100 over BENCH_USERS users inserted straight into the table, as bench/run.ts does. */
async function usersSpec(deployment: LatchkeyDeployment): Promise<Spec> {
  const count = Number(process.env.BENCH_USERS ?? 100_000);
  const { storage } = await openServices(deployment);
  try {
    await loadUsers(storage, count);
  } finally {
    await storage.close();
  }
  const deep = process.env.PROFILE_DEEP
    ? `&next_token=${Buffer.from(JSON.stringify({ id: "kp_c" })).toString("base64url")}`
    : "";
  return {
    path: `/api/v1/users?page_size=100${deep}`,
    headers: { authorization: `Bearer ${await managementToken(deployment)}` },
    connections: 10,
  };
}

/** The connected-app token of one connection made through the real flow (as bench/run.ts). */
async function connectedSpec(
  deployment: LatchkeyDeployment,
  provider: Awaited<ReturnType<typeof startOidcProvider>>,
): Promise<Spec> {
  const { storage, services } = await openServices(deployment);
  let user: { id: string; email: string; password: string };
  let webApp: string;
  try {
    webApp = (
      await services.applications.create({
        name: "Profile web app",
        type: "reg",
        callbackUrls: [CALLBACK],
        logoutUrls: [LOGOUT],
      })
    ).application.id;
    const credentials = {
      email: "profile-user@example.com",
      password: randomBytes(18).toString("base64url"),
    };
    const { id } = await services.users.create({ ...credentials, givenName: "Profile", emailVerified: true });
    user = { id, ...credentials };
  } finally {
    await storage.close();
  }
  const browser = await signedInUserAgent({ url: deployment.issuer }, webApp, CALLBACK, user);
  return connectedAppTokenSpec(deployment, provider, browser, user.id);
}

/**
 * CPU seconds of a process's main thread alone (/proc/<pid>/task/<pid>/stat utime + stime, in
 * ticks of 1/100 s): the event loop's work, without the signatures on libuv's pool, the SQLite
 * commit worker or GC helper threads. Less sensitive than the profiler's wall-clock samples to
 * the machine being shared (a descheduled main thread spends no CPU).
 */
function mainThreadCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const spec = specs[scenario];
// Only samples taken while the load runs are counted (start-up is not the hot path). V8's profile
// clock and process.hrtime are both CLOCK_MONOTONIC, so the two processes' times compare.
let window = { from: 0, to: Number.POSITIVE_INFINITY };
let requests = 0;
try {
  if (!spec) throw new Error(`unknown scenario ${scenario}; one of ${Object.keys(specs).join(", ")}`);
  // A short warm-up first (JIT, caches), outside the window.
  await load(proc.child.pid!, { ...spec, url: `${proc.url}${spec.path}`, seconds: 1, connections: 10 });
  const from = Number(process.hrtime.bigint() / 1000n);
  const mainBefore = mainThreadCpuSeconds(proc.child.pid!);
  const result = await load(proc.child.pid!, { ...spec, url: `${proc.url}${spec.path}`, seconds });
  const mainMs = ((mainThreadCpuSeconds(proc.child.pid!) - mainBefore) * 1000) / Math.max(1, result.total);
  window = { from, to: Number(process.hrtime.bigint() / 1000n) };
  requests = result.total;
  console.log(
    `${target} ${scenario}: ${result.requestsPerSecond} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, cpu ${result.cpuMsPerRequest} ms/req (main thread ${mainMs.toFixed(3)})`,
    result.statusCodes,
  );
} finally {
  await proc.stop();
  await cleanup();
}
if (!profiling) process.exit(0);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
// CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread (the SQLite
// commit worker, if any, writes its own).
const file = readdirSync(dir)
  .filter((f) => f.endsWith(".cpuprofile"))
  .sort((a, b) => Number(a.split(".")[4]) - Number(b.split(".")[4]))[0];
if (!file) throw new Error("no profile written");
const profile = JSON.parse(readFileSync(path.join(dir, file), "utf8")) as {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
};
// Hits per node inside the load window.
const hitsOf = new Map<number, number>();
let total = 0;
let at = profile.startTime;
for (const [i, id] of profile.samples.entries()) {
  at += profile.timeDeltas[i] ?? 0;
  if (at < window.from || at > window.to) continue;
  hitsOf.set(id, (hitsOf.get(id) ?? 0) + 1);
  total++;
}
const loadSeconds = (window.to - window.from) / 1e6;
/** Main-thread microseconds per request spent in `hits` samples. */
const perRequest = (hits: number) => ((hits / total) * loadSeconds * 1e6) / Math.max(1, requests);
// Latchkey runs bundled (scripts/bundle.mjs): every frame is in cli.js, whose source map gives each
// frame back its module and line.
const bundleMap =
  target === "ceiling" ? undefined : new SourceMap(JSON.parse(readFileSync(`${bundle}.map`, "utf8")));
/** `src/oauth/token.ts:120` (or `fastify/lib/reply.js:40`) for a zero-based position in cli.js. */
const bundleSource = (line: number, column: number): string => {
  const entry = bundleMap?.findEntry(line, column);
  if (!entry || !("originalSource" in entry)) return `cli.js:${line + 1}`;
  const source = entry.originalSource.replace(/^(\.\.\/)+/, "").replace(/^node_modules\//, "");
  return `${source}:${entry.originalLine + 1}`;
};
const label = (node: ProfileNode) => {
  const { functionName, url, lineNumber, columnNumber } = node.callFrame;
  const where = url.endsWith(bundle)
    ? bundleSource(lineNumber, columnNumber)
    : `${url
        .replace(/^file:\/\/.*latchkey-bench\//, "src/")
        .replace(/^.*node_modules\//, "")
        .replace(/^file:\/\/.*\/bench\//, "bench/")}:${lineNumber + 1}`;
  return `${functionName || "(anonymous)"} ${where}`;
};
const show = (title: string, counts: Map<string, number>, top: number) => {
  console.log(`\n${title}`);
  console.log("    %   µs/req  function");
  for (const [key, hits] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(
      `${((hits / total) * 100).toFixed(1).padStart(5)}%  ${perRequest(hits).toFixed(1).padStart(6)}  ${key}`,
    );
};
const self = new Map<string, number>();
for (const node of profile.nodes) {
  const hits = hitsOf.get(node.id) ?? 0;
  if (hits) self.set(label(node), (self.get(label(node)) ?? 0) + hits);
}
console.log(
  `\n${total} samples over ${loadSeconds.toFixed(1)} s of load, ${requests} requests (${path.join(dir, file)})`,
);
show("self time, top 40 (main thread; signatures run on libuv's pool and show as idle):", self, 40);

// Inclusive time: each function with everything it calls, counted once per stack.
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const inclusive = new Map<string, number>();
const visit = (node: ProfileNode, onStack: Set<string>): number => {
  const key = label(node);
  const counted = onStack.has(key);
  if (!counted) onStack.add(key);
  let hits = hitsOf.get(node.id) ?? 0;
  for (const child of node.children ?? []) hits += visit(byId.get(child)!, onStack);
  if (!counted) {
    onStack.delete(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + hits);
  }
  return hits;
};
visit(profile.nodes[0]!, new Set());
const ours = new Map([...inclusive].filter(([key]) => / (src|bench)\//.test(key)));
show("inclusive time of src/ (or bench/) functions, top 25:", ours, 25);
const theirs = new Map(
  [...inclusive].filter(([key]) => /^(\S+) (fastify|pino|@pinojs|@fastify|kysely|better-sqlite3)/.test(key)),
);
show("inclusive time in Fastify, pino, Kysely, top 25:", theirs, 25);
