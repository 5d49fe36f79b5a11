// Benchmark (not a test): latency of one Management API page of users with 100 000 users loaded,
// first page and deep pages (keyset), on SQLite and — when reachable — PostgreSQL. Writes
// bench/results/users-page.{json,md}. Run: npm run bench
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import autocannon from "autocannon";
import { databaseKinds } from "../tests/helpers/databases.js";
import { managementToken } from "../tests/helpers/management.js";
import { startTestServer } from "../tests/helpers/server.js";

const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

interface Row {
  database: string;
  scenario: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
}

const rows: Row[] = [];
for (const { kind, skip } of await databaseKinds()) {
  if (skip) {
    console.log(`skipping ${kind}: ${skip}`);
    continue;
  }
  const server = await startTestServer(kind);
  try {
    process.stdout.write(`${kind}: loading ${USERS.toLocaleString("en")} users… `);
    const now = Math.floor(Date.now() / 1000);
    await server.storage.db.transaction().execute(async (trx) => {
      for (let start = 0; start < USERS; start += 1000) {
        await trx
          .insertInto("users")
          .values(
            Array.from({ length: Math.min(1000, USERS - start) }, (_, i) => ({
              id: `kp_${randomBytes(16).toString("hex")}`,
              email: `bench${start + i}@example.com`,
              given_name: "Bench",
              created_at: now,
              updated_at: now,
            })),
          )
          .execute();
      }
    });
    console.log("done");
    const token = await managementToken(server);
    const deep = Buffer.from(JSON.stringify({ id: "kp_c" })).toString("base64url");
    for (const [scenario, path] of [
      ["first page of 100", "/api/v1/users?page_size=100"],
      ["deep page of 100 (keyset)", `/api/v1/users?page_size=100&next_token=${deep}`],
    ] as const) {
      const result = await autocannon({
        url: `${server.url}${path}`,
        headers: { authorization: `Bearer ${token}` },
        connections: 10,
        duration: SECONDS,
      });
      const row = {
        database: kind,
        scenario,
        requestsPerSecond: Math.round(result.requests.average),
        p50: result.latency.p50,
        p99: result.latency.p99,
        errors: result.errors + result.non2xx,
      };
      rows.push(row);
      console.log(
        `${kind} · ${scenario}: ${row.requestsPerSecond} req/s, p50 ${row.p50} ms, p99 ${row.p99} ms, errors ${row.errors}`,
      );
    }
  } finally {
    await server.close();
  }
}

const table = [
  `Management API GET /api/v1/users with ${USERS.toLocaleString("en")} users, ${SECONDS} s per scenario, 10 connections`,
  "",
  "| database | scenario | req/s | p50 ms | p99 ms | errors |",
  "|---|---|---|---|---|---|",
  ...rows.map(
    (r) => `| ${r.database} | ${r.scenario} | ${r.requestsPerSecond} | ${r.p50} | ${r.p99} | ${r.errors} |`,
  ),
  "",
].join("\n");
writeFileSync("bench/results/users-page.md", table);
writeFileSync(
  "bench/results/users-page.json",
  `${JSON.stringify({ users: USERS, seconds: SECONDS, rows }, null, 2)}\n`,
);
console.log(`\n${table}`);
