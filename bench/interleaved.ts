// Ratios that survive a busy machine: the ceiling and Latchkey (and, optionally, Latchkey as built
// from an earlier commit) all run at once, and each round measures every server on every scenario
// back to back for a few seconds. Whatever else the machine is doing then weighs on both sides
// of a round's ratio alike; the median over the rounds is reported. `npm run bench` measures each
// server once, minutes apart, which on two shared cores moved ratios by ±30 %.
//
//   npx tsx bench/interleaved.ts                         # cc, jwks, discovery, refresh; 5 rounds of 3 s
//   BENCH_BASELINE=HEAD npx tsx bench/interleaved.ts     # also Latchkey as committed at HEAD
//   BENCH_ONLY=cc,jwks BENCH_ROUNDS=7 BENCH_SECONDS=4 npx tsx bench/interleaved.ts
//
// The baseline is taken with `git archive` (read-only) and compiled like the current tree. Each
// Latchkey runs on its own fresh SQLite database with LOG_LEVEL=warn (BENCH_LOG_LEVEL to change).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { MANAGEMENT_API_SCOPES } from "../src/management/scopes.js";
import { freePort } from "../tests/helpers/server.js";
import {
  BUILD_DIR,
  buildLatchkey,
  type LatchkeyDeployment,
  prepareDeployment,
  refreshSpec,
  startLatchkey,
} from "./lib/latchkey.js";
import { type LoadSpec, load } from "./lib/load.js";
import { ROOT, type ServerProcess, spawnServer } from "./lib/proc.js";
import { CONNECTIONS, ROUNDS, SECONDS } from "./lib/rounds.js";

const SCENARIOS = (process.env.BENCH_ONLY ?? "cc,jwks,discovery,refresh").split(",");
const BASELINE = process.env.BENCH_BASELINE;
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = { "content-type": "application/x-www-form-urlencoded" };
type Spec = Omit<LoadSpec, "url" | "seconds"> & { path: string };
/** Which ceiling scenario each Latchkey scenario is read against (as in bench/lib/report.ts). */
const CEILING_OF: Record<string, string> = { cc: "cc", refresh: "cc", jwks: "jwks", discovery: "discovery" };

interface Server {
  name: string;
  proc: ServerProcess;
  specs: Record<string, Spec>;
  stop(): Promise<void>;
}

/** Compiles `ref`'s src/ (from git archive, which changes nothing) next to the current build. */
function buildBaseline(ref: string): string {
  const tree = mkdtempSync(path.join(tmpdir(), "latchkey-baseline-"));
  const out = path.join(path.dirname(BUILD_DIR), "latchkey-baseline");
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, "package.json"), '{ "type": "module" }\n');
  const archive = execFileSync("git", ["archive", ref, "src", "tsconfig.json", "tsconfig.build.json"], {
    cwd: ROOT,
    maxBuffer: 256 * 1024 * 1024,
  });
  execFileSync("tar", ["-x", "-C", tree], { input: archive });
  writeFileSync(path.join(tree, "package.json"), '{ "type": "module" }\n');
  // Resolve packages from this checkout's node_modules.
  execFileSync("ln", ["-s", path.join(ROOT, "node_modules"), path.join(tree, "node_modules")]);
  try {
    execFileSync(
      process.execPath,
      [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json", "--outDir", out],
      { cwd: tree, stdio: "pipe" },
    );
  } catch (error) {
    const output = (error as { stdout?: Buffer }).stdout?.toString() ?? "";
    process.stderr.write(
      `  (baseline tsc reported problems; using what it emitted)\n${output.slice(0, 1000)}\n`,
    );
  }
  rmSync(tree, { recursive: true, force: true });
  return path.join(out, "cli.js");
}

async function startCeiling(): Promise<Server> {
  const port = await freePort();
  const proc = await spawnServer({
    name: "ceiling",
    script: path.join(ROOT, "bench/servers/ceiling.ts"),
    port,
    readyPath: "/health",
    env: { PORT: String(port), SCOPES: MANAGEMENT_API_SCOPES.join(" ") },
  });
  const specs: Record<string, Spec> = {
    cc: {
      path: "/token",
      method: "POST",
      headers: FORM,
      body: form({ grant_type: "client_credentials", client_id: "bench" }),
    },
    jwks: { path: "/.well-known/jwks" },
    discovery: { path: "/.well-known/openid-configuration" },
  };
  return { name: "ceiling", proc, specs, stop: () => proc.stop() };
}

async function startOne(name: string, cli: string): Promise<Server> {
  const deployment = (await prepareDeployment("sqlite")) as LatchkeyDeployment;
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
    discovery: { path: "/.well-known/openid-configuration" },
  };
  if (SCENARIOS.includes("refresh"))
    // Each run can strand up to one token per connection (rotated, answer cut off at the end).
    specs.refresh = await refreshSpec(deployment, CONNECTIONS * (ROUNDS + 3));
  return {
    name,
    proc,
    specs,
    async stop() {
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

const began = performance.now();
process.stdout.write("building Latchkey (tsc)…\n");
const servers: Server[] = [];
try {
  const current = buildLatchkey();
  const baseline = BASELINE ? buildBaseline(BASELINE) : undefined;
  servers.push(await startCeiling());
  servers.push(await startOne("latchkey", current));
  if (baseline) servers.push(await startOne(`latchkey@${BASELINE}`, baseline));

  // results[scenario][server] = one { rps, cpu } per round
  const results: Record<string, Record<string, { rps: number; cpu: number }[]>> = {};
  for (const server of servers)
    for (const scenario of SCENARIOS) {
      const spec = server.specs[scenario];
      if (spec)
        await load(server.proc.child.pid!, { ...spec, url: `${server.proc.url}${spec.path}`, seconds: 1 });
    }
  for (let round = 1; round <= ROUNDS; round++) {
    for (const scenario of SCENARIOS) {
      // Alternate the order each round, so neither side always runs first.
      const order = round % 2 ? servers : [...servers].reverse();
      for (const server of order) {
        const spec = server.specs[scenario];
        if (!spec) continue;
        const result = await load(server.proc.child.pid!, {
          ...spec,
          url: `${server.proc.url}${spec.path}`,
          seconds: SECONDS,
          connections: CONNECTIONS,
        });
        if (result.errors > 0)
          process.stdout.write(`  ${server.name} ${scenario}: ${JSON.stringify(result.statusCodes)}\n`);
        results[scenario] ??= {};
        const runs = results[scenario][server.name] ?? [];
        results[scenario][server.name] = runs;
        runs.push({
          rps: result.requestsPerSecond,
          cpu: result.cpuMsPerRequest,
        });
      }
    }
    process.stdout.write(`  round ${round}/${ROUNDS} done\n`);
  }

  const lines = [
    `${ROUNDS} rounds of ${SECONDS} s per server and scenario, ${CONNECTIONS} connections; medians, and the median of the per-round ratios to the ceiling.`,
    "",
    "| scenario | server | req/s | CPU ms/req | × ceiling req/s | × ceiling CPU |",
    "|---|---|--:|--:|--:|--:|",
  ];
  for (const scenario of SCENARIOS) {
    const ceiling = results[CEILING_OF[scenario] ?? scenario]?.ceiling ?? [];
    for (const server of servers) {
      const runs = results[scenario]?.[server.name];
      if (!runs) continue;
      const ratio = (pick: (r: { rps: number; cpu: number }) => number) =>
        server.name === "ceiling" || ceiling.length !== runs.length
          ? "–"
          : `${median(runs.map((r, i) => pick(r) / pick(ceiling[i]!))).toFixed(2)}×`;
      lines.push(
        `| ${scenario} | ${server.name} | ${Math.round(median(runs.map((r) => r.rps)))} | ${median(runs.map((r) => r.cpu)).toFixed(3)} | ${ratio((r) => r.rps)} | ${ratio((r) => r.cpu)} |`,
      );
    }
  }
  process.stdout.write(
    `\n${lines.join("\n")}\n\n(${((performance.now() - began) / 60_000).toFixed(1)} min)\n`,
  );
} finally {
  for (const server of servers) await server.stop();
}
