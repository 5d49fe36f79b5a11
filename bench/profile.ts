// Profiles one Latchkey hot path: starts the compiled server with --cpu-prof on a fresh SQLite
// database, drives one scenario with autocannon, stops the server and prints, for the samples taken
// while the load ran, the functions with the most self time and the inclusive time of our own
// code and of Fastify, pino and Kysely, as a share and in main-thread µs per request. The
// .cpuprofile (open it in Chrome DevTools or speedscope for a flame graph) stays in
// $TMPDIR/latchkey-profiles/. Run: npx tsx bench/profile.ts [cc|jwks|discovery|api|refresh]
// `npx tsx bench/profile.ts cc ceiling` profiles the reference ceiling (bench/servers/ceiling.ts)
// on the same scenario instead, to see which costs are Latchkey's own. LOG_LEVEL defaults to warn,
// as in bench/run.ts; LOG_LEVEL=info profiles the access log too.
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { MANAGEMENT_API_SCOPES } from "../src/management/scopes.js";
import { freePort } from "../tests/helpers/server.js";
import { buildLatchkey, prepareDeployment, refreshSpec } from "./lib/latchkey.js";
import { type LoadSpec, load } from "./lib/load.js";
import { ROOT, spawnServer } from "./lib/proc.js";

const scenario = process.argv[2] ?? "cc";
const target = process.argv[3] ?? "latchkey";
const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const dir = path.join(tmpdir(), "latchkey-profiles");
rmSync(dir, { recursive: true, force: true });
const profileFlags = ["--cpu-prof", `--cpu-prof-dir=${dir}`, "--cpu-prof-interval=500"];
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = { "content-type": "application/x-www-form-urlencoded" };
type Spec = Omit<LoadSpec, "url" | "seconds"> & { path: string };

let proc: Awaited<ReturnType<typeof spawnServer>>;
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
  const cli = process.env.BENCH_NO_BUILD
    ? path.join(ROOT, "node_modules/.cache/latchkey-bench/cli.js")
    : buildLatchkey();
  const deployment = (await prepareDeployment("sqlite", { LOG_LEVEL: process.env.LOG_LEVEL ?? "warn" }))!;
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
  const result = await load(proc.child.pid!, { ...spec, url: `${proc.url}${spec.path}`, seconds });
  window = { from, to: Number(process.hrtime.bigint() / 1000n) };
  requests = result.total;
  console.log(
    `${target} ${scenario}: ${result.requestsPerSecond} req/s, cpu ${result.cpuMsPerRequest} ms/req`,
    result.statusCodes,
  );
} finally {
  await proc.stop();
  await cleanup();
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
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
const label = (node: ProfileNode) => {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url
    .replace(/^file:\/\/.*latchkey-bench\//, "src/")
    .replace(/^.*node_modules\//, "")
    .replace(/^file:\/\/.*\/bench\//, "bench/");
  return `${functionName || "(anonymous)"} ${where}:${lineNumber + 1}`;
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
