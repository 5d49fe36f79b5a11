// Profiles one Latchkey hot path: starts the compiled server with --cpu-prof on a fresh SQLite
// database, drives one scenario with autocannon, stops the server and prints the functions with
// the most self time. The .cpuprofile (open it in Chrome DevTools or speedscope for a flame graph)
// stays in $TMPDIR/latchkey-profiles/. Run: npx tsx bench/profile.ts [cc|jwks|discovery|api]
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildLatchkey, prepareDeployment } from "./lib/latchkey.js";
import { load } from "./lib/load.js";
import { ROOT, spawnServer } from "./lib/proc.js";

const scenario = process.argv[2] ?? "cc";
const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const dir = path.join(tmpdir(), "latchkey-profiles");
rmSync(dir, { recursive: true, force: true });

const cli = process.env.BENCH_NO_BUILD
  ? path.join(ROOT, "node_modules/.cache/latchkey-bench/cli.js")
  : buildLatchkey();
const deployment = (await prepareDeployment("sqlite", { LOG_LEVEL: process.env.LOG_LEVEL ?? "info" }))!;
const proc = await spawnServer({
  name: "latchkey",
  script: cli,
  args: ["start"],
  env: deployment.env,
  port: deployment.port,
  readyPath: "/health/ready",
  nodeOptions: ["--cpu-prof", `--cpu-prof-dir=${dir}`],
});
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const cc = {
  method: "POST" as const,
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: form({
    grant_type: "client_credentials",
    client_id: deployment.management.clientId,
    client_secret: deployment.management.clientSecret,
    audience: `${deployment.issuer}/api`,
  }),
};
const specs: Record<
  string,
  { path: string; method?: "GET" | "POST"; headers?: Record<string, string>; body?: string }
> = {
  cc: { path: "/oauth2/token", ...cc },
  jwks: { path: "/.well-known/jwks" },
  discovery: { path: "/.well-known/openid-configuration" },
};
if (scenario === "api") {
  // One Management API read (the shared cost of every /api/v1 call, e.g. connected-app token).
  const response = await fetch(`${proc.url}/oauth2/token`, { ...cc, body: cc.body });
  const { access_token } = (await response.json()) as { access_token: string };
  specs.api = { path: "/api/v1/users?page_size=1", headers: { authorization: `Bearer ${access_token}` } };
}
const spec = specs[scenario];
if (!spec) throw new Error(`unknown scenario ${scenario}; one of ${Object.keys(specs).join(", ")}`);
try {
  const result = await load(proc.child.pid!, { ...spec, url: `${proc.url}${spec.path}`, seconds });
  console.log(
    `${scenario}: ${result.requestsPerSecond} req/s, cpu ${result.cpuMsPerRequest} ms/req`,
    result.statusCodes,
  );
} finally {
  await proc.stop();
  await deployment.database.drop();
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
if (!file) throw new Error("no profile written");
const profile = JSON.parse(readFileSync(path.join(dir, file), "utf8")) as { nodes: ProfileNode[] };
const self = new Map<string, number>();
let total = 0;
for (const node of profile.nodes) {
  const hits = node.hitCount ?? 0;
  total += hits;
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*latchkey-bench\//, "src/");
  const key = `${functionName || "(anonymous)"} ${where}:${lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + hits);
}
console.log(`\nself time, top 40 of ${total} samples (${path.join(dir, file)}):`);
for (const [key, hits] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 40))
  console.log(`${((hits / total) * 100).toFixed(1).padStart(5)}%  ${key}`);

// Inclusive time of Latchkey's own functions (what each costs with everything it calls).
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const inclusive = new Map<string, number>();
const visit = (node: ProfileNode, onStack: Set<string>): number => {
  let hits = node.hitCount ?? 0;
  for (const child of node.children ?? []) hits += visit(byId.get(child)!, onStack);
  const { functionName, url, lineNumber } = node.callFrame;
  if (url.includes("latchkey-bench/")) {
    const key = `${functionName || "(anonymous)"} ${url.replace(/^.*latchkey-bench\//, "src/")}:${lineNumber + 1}`;
    if (!onStack.has(key)) inclusive.set(key, (inclusive.get(key) ?? 0) + hits);
  }
  return hits;
};
visit(profile.nodes[0]!, new Set());
console.log("\ninclusive time of src/ functions, top 25:");
for (const [key, hits] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, 25))
  console.log(`${((hits / total) * 100).toFixed(1).padStart(5)}%  ${key}`);
