// The dashboard's long lists at 100 000 users (issue 20), through the HTTP API of a real Latchkey
// process (built as for production) on SQLite and PostgreSQL: the first page newest first, a deep
// page, prefix searches (rare and common) and the count. Users are bulk-loaded straight into the
// table (tests/helpers/bulk-users.ts), then each request is sent one at a time (the latency one
// administrator sees, not throughput) and its p50/p95/p99 compared with the budget below.
//
// Run alone: `npx tsx bench/lists.ts` (BENCH_USERS, BENCH_DATABASES as in run.ts), or as part of
// `npm run bench` (BENCH_ONLY=lists for this one). Writes bench/results/lists.{md,json}; the
// figures and the query plans are discussed in docs/performance.md.
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { bulkLoadUsers } from "../tests/helpers/bulk-users.js";
import { databaseKinds } from "../tests/helpers/databases.js";
import {
  buildLatchkey,
  managementToken,
  openServices,
  prepareDeployment,
  startLatchkey,
} from "./lib/latchkey.js";
import { ROOT } from "./lib/proc.js";

/** p95 budget per request, in milliseconds, on one core of an ordinary machine. */
export const LIST_BUDGET_MS = 50;
const REQUESTS = Number(process.env.BENCH_LIST_REQUESTS ?? 200);

interface ListRow {
  database: string;
  request: string;
  query: string;
  p50: number;
  p95: number;
  p99: number;
  rows: number;
  within: boolean;
}

const log = (line: string) => process.stdout.write(`${line}\n`);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function timeRequests(
  url: string,
  token: string,
): Promise<{ times: number[]; rows: number; body: unknown }> {
  const times: number[] = [];
  let rows = 0;
  let body: unknown;
  for (let i = 0; i < REQUESTS + 20; i++) {
    const started = performance.now();
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    body = await response.json();
    const elapsed = performance.now() - started;
    if (response.status !== 200) throw new Error(`${url}: ${response.status} ${JSON.stringify(body)}`);
    // The first 20 warm the caches and the JIT.
    if (i >= 20) times.push(elapsed);
    rows = ((body as { users?: unknown[] }).users ?? []).length;
  }
  return { times: times.sort((a, b) => a - b), rows, body };
}

export async function benchLists(): Promise<ListRow[]> {
  const users = Number(process.env.BENCH_USERS ?? 100_000);
  const kinds = (process.env.BENCH_DATABASES ?? "sqlite,postgres").split(",");
  const cli = buildLatchkey();
  const results: ListRow[] = [];
  for (const { kind, skip } of await databaseKinds()) {
    if (!kinds.includes(kind)) continue;
    if (skip) {
      log(`lists: skipping ${kind}: ${skip}`);
      continue;
    }
    const deployment = (await prepareDeployment(kind))!;
    const server = await startLatchkey(cli, deployment, { name: `latchkey-lists-${kind}` });
    const { storage } = await openServices(deployment);
    try {
      const started = performance.now();
      let shown = 0;
      await bulkLoadUsers(storage.db, users, {
        progress: (done) => {
          if (done - shown >= users / 10 || done === users) {
            shown = done;
            log(
              `lists (${kind}): loaded ${done} of ${users} users (${((performance.now() - started) / 1000).toFixed(1)} s)`,
            );
          }
        },
      });
      const token = await managementToken(deployment);
      const base = `${deployment.issuer}/api/v1/users`;
      const first = (await await fetch(`${base}?sort=created_on_desc&page_size=25`, {
        headers: { authorization: `Bearer ${token}` },
      }).then((r) => r.json())) as { next_token: string };
      // A page far down: follow next_token 400 pages (10 000 users) in, once, untimed.
      let deepToken = first.next_token;
      for (let i = 0; i < 400; i++) {
        const page = (await fetch(`${base}?sort=created_on_desc&page_size=25&next_token=${deepToken}`, {
          headers: { authorization: `Bearer ${token}` },
        }).then((r) => r.json())) as { next_token: string };
        deepToken = page.next_token;
      }
      const requests: [string, string][] = [
        [
          "first page, newest first (the dashboard's request: 25 and the count)",
          "sort=created_on_desc&page_size=25&include_count=true",
        ],
        ["first page, newest first, no count", "sort=created_on_desc&page_size=25"],
        ["page 402 (keyset, next_token)", `sort=created_on_desc&page_size=25&next_token=${deepToken}`],
        [
          "prefix search, rare (e-mail 'grace.hopper.12')",
          "sort=created_on_desc&page_size=25&starts_with=grace.hopper.12&include_count=true",
        ],
        [
          "prefix search, common (first name 'Ada', ~10 %)",
          "sort=created_on_desc&page_size=25&starts_with=ada&include_count=true",
        ],
        [
          "prefix search, first and last name ('radia perl')",
          "sort=created_on_desc&page_size=25&starts_with=radia%20perl&include_count=true",
        ],
        ["count alone", "page_size=1&include_count=true"],
      ];
      for (const [request, query] of requests) {
        const { times, rows, body } = await timeRequests(`${base}?${query}`, token);
        const row: ListRow = {
          database: kind,
          request,
          query,
          p50: Number(percentile(times, 50).toFixed(2)),
          p95: Number(percentile(times, 95).toFixed(2)),
          p99: Number(percentile(times, 99).toFixed(2)),
          rows,
          within: percentile(times, 95) <= LIST_BUDGET_MS,
        };
        const count = body as { total_count?: number; total_count_accuracy?: string };
        log(
          `lists (${kind}): ${request}: p50 ${row.p50} ms, p95 ${row.p95} ms, p99 ${row.p99} ms, ${rows} rows` +
            (count.total_count !== undefined
              ? `, count ${count.total_count} (${count.total_count_accuracy})`
              : ""),
        );
        results.push(row);
      }
    } finally {
      await storage.close();
      await server.stop();
      await deployment.database.drop();
    }
  }
  const meta = {
    date: new Date().toISOString(),
    machine: `${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.availableParallelism()} cores, Node ${process.version}`,
    users,
    requests: REQUESTS,
    budgetMs: LIST_BUDGET_MS,
  };
  const results_dir = path.join(ROOT, "bench/results");
  mkdirSync(results_dir, { recursive: true });
  writeFileSync(
    path.join(results_dir, "lists.json"),
    `${JSON.stringify({ ...meta, rows: results }, null, 2)}\n`,
  );
  const lines = [
    `# Lists at ${users.toLocaleString("en")} users`,
    "",
    `${meta.date}, ${meta.machine}. ${REQUESTS} requests each, one at a time, through GET /api/v1/users on a`,
    `production build (bench/lists.ts). Budget: p95 ≤ ${LIST_BUDGET_MS} ms per request.`,
    "",
    "| database | request | p50 ms | p95 ms | p99 ms | rows | within budget |",
    "|---|---|---:|---:|---:|---:|---|",
    ...results.map(
      (r) =>
        `| ${r.database} | ${r.request} | ${r.p50} | ${r.p95} | ${r.p99} | ${r.rows} | ${r.within ? "yes" : "**no**"} |`,
    ),
    "",
  ];
  writeFileSync(path.join(results_dir, "lists.md"), lines.join("\n"));
  log(lines.join("\n"));
  return results;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const rows = await benchLists();
  if (rows.some((r) => !r.within)) {
    log(`lists: over the ${LIST_BUDGET_MS} ms budget`);
    process.exitCode = 1;
  }
}
