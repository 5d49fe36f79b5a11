// How fast Latchkey says no: requests it must refuse before doing their expensive part, timed one at
// a time against a production build on SQLite and PostgreSQL. These speed claims were assertions in
// tests (tests/oauth/spraying.test.ts, tests/http/form-limits.test.ts, tests/oauth/busy-pool.test.ts,
// tests/security/canonical-email.test.ts), where a loaded machine made them flaky; the tests keep
// the behaviour (status, page, no write, which code ran) and the budgets live here.
//   - a sign-in whose e-mail field is a megabyte of combining marks: 401, the field cut to 320
//     characters before it is normalised (NFC of one long run of marks is quadratic);
//   - a token request of 10 000 form parameters: 400, counted before anything is parsed;
//   - a sign-in while password hashing is saturated (PASSWORD_HASH_CONCURRENCY=1, no queue): 503
//     with Retry-After, refused before any database work;
//   - in-process, no database: emailProblem and canonicalEmail (what the Management API and the CLI
//     call on every address) on a megabyte of those marks: refused, left unnormalised (text past
//     1024 characters is never normalised).
//
// Run alone: `npx tsx bench/refusals.ts` (BENCH_DATABASES as in run.ts), or in `npm run bench`
// (BENCH_ONLY=refusals for this one). Writes bench/results/refusals.json.
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { canonicalEmail, emailProblem } from "../src/users/email.js";
import { databaseKinds } from "../tests/helpers/databases.js";
import { CALLBACK } from "../tests/helpers/fixtures.js";
import { authorizationUrl } from "../tests/helpers/user-agent.js";
import { buildLatchkey, openServices, prepareDeployment, startLatchkey } from "./lib/latchkey.js";
import { ROOT } from "./lib/proc.js";

/** The budgets the tests used to assert, per request (per pair of calls in-process), in milliseconds. */
export const REFUSAL_BUDGET_MS = {
  "megabyte e-mail": 1500,
  "10 000 form parameters": 2000,
  "hashing busy": 1500,
  // The test had a 5 s hang guard, on marks of one class (NFC is linear on those). Marks of two
  // classes are quadratic: 0.66 s for 40 000 of them here, minutes for a megabyte; refused, ~3 ms.
  "megabyte address, in-process": 100,
};
type Refusal = keyof typeof REFUSAL_BUDGET_MS;
const ROUNDS = Number(process.env.BENCH_REFUSAL_ROUNDS ?? 20);

export interface RefusalRow {
  /** "none" for the in-process refusal. */
  database: string;
  refusal: Refusal;
  /** The HTTP status; null in-process. */
  status: number | null;
  samples: number;
  p50: number;
  max: number;
  within: boolean;
}

const log = (line: string) => process.stdout.write(`${line}\n`);
const FORM = { "content-type": "application/x-www-form-urlencoded" };

async function timed(url: string, init: RequestInit): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const response = await fetch(url, { redirect: "manual", ...init });
  await response.arrayBuffer();
  return { status: response.status, ms: performance.now() - started };
}

function row(database: string, refusal: Refusal, status: number | null, times: number[]): RefusalRow {
  const sorted = times.toSorted((a, b) => a - b);
  const p50 = Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0);
  const max = Math.round(sorted.at(-1) ?? 0);
  return {
    database,
    refusal,
    status,
    samples: times.length,
    p50,
    max,
    within: max <= REFUSAL_BUDGET_MS[refusal],
  };
}

/** emailProblem then canonicalEmail on a megabyte of marks NFC would reorder, per pair of calls. */
function megabyteAddress(): RefusalRow {
  const address = `a${"\u0301\u0316".repeat(500_000)}@example.com`;
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const started = performance.now();
    const problem = emailProblem(address);
    const canonical = canonicalEmail(address);
    times.push(performance.now() - started);
    if (problem === undefined || canonical.length !== address.length)
      throw new Error("megabyte address: accepted, or changed by normalisation");
  }
  return row("none", "megabyte address, in-process", null, times);
}

export async function benchRefusals(): Promise<RefusalRow[]> {
  const rows: RefusalRow[] = [megabyteAddress()];
  const wantedKinds = (process.env.BENCH_DATABASES ?? "sqlite,postgres").split(",");
  const kinds = (await databaseKinds()).filter(({ kind, skip }) => wantedKinds.includes(kind) && !skip);
  const cli = kinds.length > 0 ? buildLatchkey() : "";
  for (const { kind } of kinds) {
    const deployment = await prepareDeployment(kind, {
      PASSWORD_HASH_CONCURRENCY: "1",
      PASSWORD_HASH_QUEUE: "0",
    });
    if (!deployment) continue;
    const server = await startLatchkey(cli, deployment);
    const { storage, services } = await openServices(deployment);
    try {
      const { application } = await services.applications.create({
        name: "Refusals",
        type: "reg",
        callbackUrls: [CALLBACK],
        logoutUrls: [],
      });
      const password = "refusals-password-123";
      const email = "refused@bench.example";
      await services.users.create({ email, password, emailVerified: true });
      const authorize = authorizationUrl({ url: deployment.issuer }, application.id, CALLBACK);
      const pendingRequest = async () => {
        const response = await fetch(authorize, { redirect: "manual" });
        return new URL(response.headers.get("location")!, deployment.issuer).searchParams.get("request")!;
      };
      const csrf = randomBytes(32).toString("base64url").slice(0, 43);
      let address = 0;
      const signIn = (request: string, fields: { email: string; password: string }) =>
        timed(`${deployment.issuer}/auth/sign-in`, {
          method: "POST",
          // Each attempt from its own address: the sign-in throttles stay out of the figures.
          headers: {
            ...FORM,
            cookie: `latchkey_csrf=${csrf}`,
            "x-forwarded-for": `10.8.${++address >> 8}.${address & 255}`,
          },
          body: new URLSearchParams({ request, csrf, ...fields }),
        });

      const huge = { email: `a${"\u0301\u0316".repeat(85_000)}@example.com`, password: "Spring2024!" };
      const hugeTimes: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        const answer = await signIn(await pendingRequest(), huge);
        if (answer.status !== 401) throw new Error(`megabyte e-mail: ${answer.status}, not 401`);
        hugeTimes.push(answer.ms);
      }
      rows.push(row(kind, "megabyte e-mail", 401, hugeTimes));

      const fields = new URLSearchParams({
        grant_type: "client_credentials",
        client_id: "x",
        client_secret: "y",
      });
      for (let i = 0; fields.size < 10_000; i++) fields.append(`pad${i}`, "1");
      const paramTimes: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        const answer = await timed(`${deployment.issuer}/oauth2/token`, {
          method: "POST",
          headers: FORM,
          body: fields,
        });
        if (answer.status !== 400) throw new Error(`10 000 parameters: ${answer.status}, not 400`);
        paramTimes.push(answer.ms);
      }
      rows.push(row(kind, "10 000 form parameters", 400, paramTimes));

      // Each round: one real sign-in takes the only hashing place, eight more arrive meanwhile;
      // those refused 503 are timed (whichever arrived while the place was held).
      const busyTimes: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        const holder = signIn(await pendingRequest(), { email, password });
        const others = await Promise.all(
          Array.from({ length: 8 }, () => signIn("any-request", { email, password })),
        );
        await holder;
        for (const answer of others) if (answer.status === 503) busyTimes.push(answer.ms);
      }
      rows.push(row(kind, "hashing busy", 503, busyTimes));
    } finally {
      await storage.close();
      await server.stop();
      await deployment.database.drop();
    }
  }
  const results = path.join(ROOT, "bench/results");
  mkdirSync(results, { recursive: true });
  writeFileSync(
    path.join(results, "refusals.json"),
    `${JSON.stringify({ date: new Date().toISOString(), rounds: ROUNDS, budgetMs: REFUSAL_BUDGET_MS, rows }, null, 2)}\n`,
  );
  for (const r of rows)
    log(
      `  refusal ${r.refusal.padEnd(28)} ${r.database.padEnd(9)} ${r.status ?? "-"} ×${r.samples}  p50 ${r.p50} ms  max ${r.max} ms  budget ${REFUSAL_BUDGET_MS[r.refusal]} ms${r.within ? "" : "  OVER"}`,
    );
  return rows;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const rows = await benchRefusals();
  if (rows.some((r) => !r.within || r.samples === 0)) {
    log("refusals: over budget, or no refusal observed");
    process.exitCode = 1;
  }
}
