// `npm run bench` (not part of `npm test`): Latchkey side by side with a reference ceiling server
// (bare Fastify + RS256 / argon2, bench/servers/ceiling.ts) and `oidc-provider` (certified peer,
// bench/servers/oidc-provider.ts), each in its own process, driven by autocannon from this one.
// Writes bench/results/latest.{md,json,svg}.
//
// Environment: BENCH_SECONDS (per scenario, default 10), BENCH_USERS (default 100000),
// BENCH_DATABASES (default "sqlite,postgres"; PostgreSQL is skipped when unreachable),
// BENCH_ONLY (comma-separated scenario ids, for working on one), BENCH_CONNECTIONS (default 50).
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type autocannon from "autocannon";
import { MANAGEMENT_API_SCOPES } from "../src/management/scopes.js";
import { hashPassword } from "../src/users/passwords.js";
import { type DatabaseKind, databaseKinds } from "../tests/helpers/databases.js";
import { CALLBACK, LOGOUT } from "../tests/helpers/fixtures.js";
import { startOidcProvider } from "../tests/helpers/oauth-provider.js";
import { freePort } from "../tests/helpers/server.js";
import { signedInUserAgent, type UserAgent } from "../tests/helpers/user-agent.js";
import { benchFeatures } from "./features.js";
import {
  buildLatchkey,
  connectedAppTokenSpec,
  type LatchkeyDeployment,
  loadUsers,
  managementToken,
  openServices,
  prepareDeployment,
  refreshRotationSpec,
  startLatchkey,
} from "./lib/latchkey.js";
import { type LoadResult, type LoadSpec, load } from "./lib/load.js";
import {
  machineDescription,
  ROOT,
  rssMb,
  type ServerProcess,
  spawnServer,
  sqliteCommitMs,
} from "./lib/proc.js";
import { type Row, renderMarkdown, renderSvg, type StartupRow, summarize } from "./lib/report.js";
import { benchLists } from "./lists.js";
import { benchRefusals } from "./refusals.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const WANTED_KINDS = (process.env.BENCH_DATABASES ?? "sqlite,postgres").split(",");
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(",")) : undefined;
const RESULTS = path.join(ROOT, "bench/results");
const SCOPES = MANAGEMENT_API_SCOPES.join(" ");
const PASSWORD = "bench-password-correct-horse";
/** Longest time spent minting authorization codes before their run (they live 60 s). */
const MINT_SECONDS = 20;
/** The ceiling's RS256 signatures per second, known once it has run. */
let signPerSecond = 1000;
const wanted = (id: string) => !ONLY || ONLY.has(id);

const rows: Row[] = [];
const startup: StartupRow[] = [];
const log = (line: string) => process.stdout.write(`${line}\n`);

async function measure(
  scenario: string,
  server: string,
  proc: ServerProcess,
  spec: Omit<LoadSpec, "seconds" | "url"> & { path: string; seconds?: number },
  extra: Partial<Row> = {},
): Promise<LoadResult> {
  const result = await load(proc.child.pid!, {
    ...spec,
    url: `${proc.url}${spec.path}`,
    seconds: spec.seconds ?? SECONDS,
    connections: spec.connections ?? CONNECTIONS,
  });
  const row: Row = {
    scenario,
    server,
    requestsPerSecond: result.requestsPerSecond,
    p50: result.p50,
    p99: result.p99,
    errors: result.errors,
    cpuMsPerRequest: result.cpuMsPerRequest,
    connections: spec.connections ?? CONNECTIONS,
    ...extra,
  };
  rows.push(row);
  const codes = Object.entries(result.statusCodes)
    .map(([status, n]) => `${status}×${n}`)
    .join(" ");
  log(
    `  ${scenario.padEnd(34)} ${server.padEnd(22)} ${String(row.requestsPerSecond).padStart(6)} req/s  p50 ${row.p50} ms  p99 ${row.p99} ms  cpu ${row.cpuMsPerRequest} ms/req  errors ${row.errors}  [${codes}]`,
  );
  return result;
}

/** A short run whose numbers are thrown away: JIT, connection pools and caches warm up. */
async function warmUp(proc: ServerProcess, spec: Omit<LoadSpec, "seconds" | "url"> & { path: string }) {
  await load(proc.child.pid!, { ...spec, url: `${proc.url}${spec.path}`, seconds: 1, connections: 10 });
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = { "content-type": "application/x-www-form-urlencoded" };

// ---------------------------------------------------------------------------------------------------
// The ceiling and the peer

async function benchCeiling(): Promise<{ argon2PerSecond: number }> {
  const port = await freePort();
  const ceiling = await spawnServer({
    name: "ceiling",
    script: path.join(ROOT, "bench/servers/ceiling.ts"),
    port,
    readyPath: "/health",
    env: { PORT: String(port), SCOPES, PASSWORD },
  });
  let argon2PerSecond = 60 * os.availableParallelism();
  try {
    log(`ceiling (bare Fastify) ready in ${Math.round(ceiling.readyMs)} ms`);
    if (wanted("json")) {
      await warmUp(ceiling, { path: "/json" });
      await measure("bare JSON route", "ceiling", ceiling, { path: "/json" });
    }
    if (wanted("jwks")) {
      await warmUp(ceiling, { path: "/.well-known/jwks" });
      await measure("JWKS", "ceiling", ceiling, { path: "/.well-known/jwks" });
    }
    if (wanted("discovery")) {
      await warmUp(ceiling, { path: "/.well-known/openid-configuration" });
      await measure("discovery", "ceiling", ceiling, { path: "/.well-known/openid-configuration" });
    }
    const sign = {
      path: "/token",
      method: "POST" as const,
      headers: FORM,
      body: form({ grant_type: "client_credentials", client_id: "bench" }),
    };
    if (wanted("cc") || wanted("code") || wanted("refresh")) {
      await warmUp(ceiling, sign);
      signPerSecond = (await measure("client credentials", "ceiling", ceiling, sign)).requestsPerSecond;
    }
    if (wanted("sign-in")) {
      const verify = {
        path: "/verify",
        method: "POST" as const,
        headers: FORM,
        body: form({ password: PASSWORD }),
        connections: 4,
      };
      argon2PerSecond = (await measure("sign-in (password check)", "ceiling", ceiling, verify))
        .requestsPerSecond;
    }
  } finally {
    await ceiling.stop();
  }
  return { argon2PerSecond };
}

async function benchOidcProvider(): Promise<void> {
  if (!wanted("cc") && !wanted("jwks") && !wanted("discovery")) return;
  const port = await freePort();
  const audience = `http://127.0.0.1:${port}/api`;
  const client = { id: "bench-client", secret: randomBytes(30).toString("hex") };
  const peer = await spawnServer({
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
  try {
    log(`oidc-provider ready in ${Math.round(peer.readyMs)} ms`);
    if (wanted("cc")) {
      const cc = {
        path: "/token",
        method: "POST" as const,
        headers: FORM,
        body: form({
          grant_type: "client_credentials",
          client_id: client.id,
          client_secret: client.secret,
          resource: audience,
          scope: SCOPES,
        }),
      };
      await warmUp(peer, cc);
      await measure("client credentials", "oidc-provider", peer, cc);
    }
    if (wanted("jwks")) {
      await warmUp(peer, { path: "/jwks" });
      await measure("JWKS", "oidc-provider", peer, { path: "/jwks" });
    }
    if (wanted("discovery")) {
      await warmUp(peer, { path: "/.well-known/openid-configuration" });
      await measure("discovery", "oidc-provider", peer, { path: "/.well-known/openid-configuration" });
    }
  } finally {
    await peer.stop();
  }
}

// ---------------------------------------------------------------------------------------------------
// Latchkey

interface Prepared {
  webApp: { clientId: string; clientSecret: string };
  user: { id: string; email: string; password: string };
  browser: UserAgent;
}

async function benchLatchkey(cli: string, kind: DatabaseKind, argon2PerSecond: number): Promise<void> {
  const deployment = await prepareDeployment(kind);
  if (!deployment) return;
  const label = `latchkey (${kind})`;
  try {
    // Start-up: a first start on an empty database (migrations, key generation, bootstrap), then a
    // restart, which is what a deploy or a crash looks like.
    const first = await startLatchkey(cli, deployment);
    await first.stop();
    const proc = await startLatchkey(cli, deployment);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const idleRss = rssMb(proc.child.pid!);
    log(
      `${label}: first start ${Math.round(first.readyMs)} ms, restart ${Math.round(proc.readyMs)} ms, idle RSS ${idleRss.toFixed(0)} MB`,
    );
    const { storage, services } = await openServices(deployment);
    let provider: Awaited<ReturnType<typeof startOidcProvider>> | undefined;
    try {
      const created = await services.applications.create({
        name: "Bench web app",
        type: "reg",
        callbackUrls: [CALLBACK],
        logoutUrls: [LOGOUT],
      });
      const webApp = { clientId: created.application.id, clientSecret: created.secret! };
      const user = { email: "bench-user@example.com", password: PASSWORD };
      const { id } = await services.users.create({ ...user, givenName: "Bench", emailVerified: true });
      const browser = await signedInUserAgent({ url: deployment.issuer }, webApp.clientId, CALLBACK, user);
      const prepared: Prepared = { webApp, user: { id, ...user }, browser };

      await scenariosOnOAuth(cli, proc, deployment, label, prepared);
      if (wanted("users")) await scenarioUsersPage(proc, deployment, label, storage);
      if (wanted("connected")) {
        provider = await startOidcProvider({
          redirectUri: `${deployment.issuer}/connected_apps/callback`,
          accessTokenTtlSeconds: 3600,
        });
        await scenarioConnectedApp(proc, deployment, label, prepared, provider);
      }
      if (wanted("sign-in")) await scenariosSignIn(proc, deployment, label, storage, argon2PerSecond);
      const loadedRss = rssMb(proc.child.pid!);
      startup.push({
        server: label,
        firstStartMs: Math.round(first.readyMs),
        readyMs: Math.round(proc.readyMs),
        idleRssMb: Math.round(idleRss),
        loadedRssMb: Math.round(loadedRss),
      });
    } finally {
      await provider?.close();
      await storage.close();
      await proc.stop();
    }
    if (kind === "sqlite" && wanted("workers")) await scenarioWorkers(cli, deployment);
  } finally {
    await deployment.database.drop();
  }
}

function clientCredentialsSpec(deployment: LatchkeyDeployment) {
  return {
    path: "/oauth2/token",
    method: "POST" as const,
    headers: FORM,
    body: form({
      grant_type: "client_credentials",
      client_id: deployment.management.clientId,
      client_secret: deployment.management.clientSecret,
      audience: `${deployment.issuer}/api`,
    }),
  };
}

async function scenariosOnOAuth(
  cli: string,
  proc: ServerProcess,
  deployment: LatchkeyDeployment,
  label: string,
  prepared: Prepared,
): Promise<void> {
  const { webApp, browser } = prepared;
  if (wanted("cc")) {
    const cc = clientCredentialsSpec(deployment);
    await warmUp(proc, cc);
    await measure("client credentials", label, proc, cc);
  }
  if (wanted("cc-logged")) {
    // The same with the default LOG_LEVEL=info: two access-log lines per request.
    await proc.stop();
    const logged = await startLatchkey(cli, deployment, { env: { LOG_LEVEL: "info" } });
    try {
      const cc = clientCredentialsSpec(deployment);
      await warmUp(logged, cc);
      await measure("client credentials (LOG_LEVEL=info)", label, logged, cc);
    } finally {
      await logged.stop();
    }
    Object.assign(proc, await startLatchkey(cli, deployment));
  }
  if (wanted("jwks")) {
    await warmUp(proc, { path: "/.well-known/jwks" });
    await measure("JWKS", label, proc, { path: "/.well-known/jwks" });
  }
  if (wanted("discovery")) {
    await warmUp(proc, { path: "/.well-known/openid-configuration" });
    await measure("discovery", label, proc, { path: "/.well-known/openid-configuration" });
  }

  // Codes minted through the real flow: the signed-in browser asks /oauth2/auth for each.
  const verifier = randomBytes(32).toString("base64url");
  const authorizeUrl = new URL("/oauth2/auth", deployment.issuer);
  authorizeUrl.search = form({
    response_type: "code",
    client_id: webApp.clientId,
    redirect_uri: CALLBACK,
    scope: "openid profile email offline",
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
    state: "bench",
  });
  const codes: string[] = [];
  const mint = async (count: number) => {
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (codes.length < count && performance.now() - started < MINT_SECONDS * 1000) {
          const landed = await browser.redirectFrom(authorizeUrl);
          const code = landed.searchParams.get("code");
          if (!code) throw new Error(`no code: ${landed.href}`);
          codes.push(code);
        }
      }),
    );
    log(`  (minted ${codes.length} codes in ${Math.round(performance.now() - started)} ms)`);
  };
  const needsCodes = wanted("code") || wanted("refresh") || wanted("introspect") || wanted("userinfo");
  // Codes live 60 s (RFC 6749 §4.1.2 says short): mint what one run can use, for at most
  // MINT_SECONDS, right before it; the run then sends exactly that many exchanges.
  if (needsCodes) await mint(Math.max(CONNECTIONS * 2, Math.ceil(signPerSecond * 0.6 * SECONDS)));
  const refreshTokens: string[] = [];
  let accessToken: string | undefined;
  let nextCode = 0;
  const exchange = {
    path: "/oauth2/token",
    method: "POST" as const,
    headers: FORM,
    setupRequest: (request: autocannon.Request) => ({
      ...request,
      body: form({
        grant_type: "authorization_code",
        // Oldest first: at PostgreSQL's pace the run outlasts the minting, and the newest-first
        // order left the first codes minted to expire (60 s) before their turn.
        code: codes[nextCode++] ?? "exhausted",
        redirect_uri: CALLBACK,
        code_verifier: verifier,
        client_id: webApp.clientId,
        client_secret: webApp.clientSecret,
      }),
    }),
    onResponse: (status: number, body: string) => {
      if (status !== 200) return;
      const tokens = JSON.parse(body) as { refresh_token?: string; access_token?: string };
      if (tokens.refresh_token) refreshTokens.push(tokens.refresh_token);
      accessToken ??= tokens.access_token;
    },
  };
  if (needsCodes) {
    await measure("authorization code exchange", label, proc, { ...exchange, amount: codes.length });
  }
  if (!accessToken) return;

  if (wanted("refresh")) {
    // Each response's rotated refresh token goes back into the pool for the next request.
    await measure("refresh token rotation", label, proc, refreshRotationSpec(webApp, refreshTokens));
  }
  if (wanted("introspect")) {
    const introspect = {
      path: "/oauth2/introspect",
      method: "POST" as const,
      headers: FORM,
      body: form({ token: accessToken, client_id: webApp.clientId, client_secret: webApp.clientSecret }),
    };
    await warmUp(proc, introspect);
    await measure("introspection", label, proc, introspect);
  }
  if (wanted("userinfo")) {
    const userinfo = { path: "/oauth2/v2/user_profile", headers: { authorization: `Bearer ${accessToken}` } };
    await warmUp(proc, userinfo);
    await measure("userinfo", label, proc, userinfo);
  }
}

async function scenarioUsersPage(
  proc: ServerProcess,
  deployment: LatchkeyDeployment,
  label: string,
  storage: Awaited<ReturnType<typeof openServices>>["storage"],
): Promise<void> {
  const started = performance.now();
  await loadUsers(storage, USERS);
  log(`  (loaded ${USERS.toLocaleString("en")} users in ${Math.round(performance.now() - started)} ms)`);
  const headers = { authorization: `Bearer ${await managementToken(deployment)}` };
  const deep = Buffer.from(JSON.stringify({ id: "kp_c" })).toString("base64url");
  for (const [scenario, pagePath] of [
    ["users page of 100 (first)", "/api/v1/users?page_size=100"],
    ["users page of 100 (deep, keyset)", `/api/v1/users?page_size=100&next_token=${deep}`],
  ] as const) {
    await warmUp(proc, { path: pagePath, headers });
    await measure(scenario, label, proc, { path: pagePath, headers, connections: 10 });
  }
}

async function scenarioConnectedApp(
  proc: ServerProcess,
  deployment: LatchkeyDeployment,
  label: string,
  prepared: Prepared,
  provider: Awaited<ReturnType<typeof startOidcProvider>>,
): Promise<void> {
  const spec = await connectedAppTokenSpec(deployment, provider, prepared.browser, prepared.user.id);
  await warmUp(proc, spec);
  await measure("connected-app token (fresh)", label, proc, spec);
}

async function scenariosSignIn(
  proc: ServerProcess,
  deployment: LatchkeyDeployment,
  label: string,
  storage: Awaited<ReturnType<typeof openServices>>["storage"],
  argon2PerSecond: number,
): Promise<void> {
  // Enough waiting authorization requests for every successful sign-in of both runs; a request is
  // used up only by a successful sign-in, so refused attempts put theirs back.
  const needed = Math.ceil(argon2PerSecond * SECONDS * 3) + 200;
  const pending: string[] = [];
  const webApp = await storage.db
    .selectFrom("applications")
    .select("id")
    .where("type", "=", "reg")
    .executeTakeFirstOrThrow();
  const authorizeUrl = new URL("/oauth2/auth", deployment.issuer);
  authorizeUrl.search = form({
    response_type: "code",
    client_id: webApp.id,
    redirect_uri: CALLBACK,
    scope: "openid",
    code_challenge: createHash("sha256").update("bench").digest("base64url"),
    code_challenge_method: "S256",
  });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (pending.length < needed) {
        const response = await fetch(authorizeUrl, { redirect: "manual" });
        await response.arrayBuffer();
        const location = new URL(response.headers.get("location") ?? "", deployment.issuer);
        const id = location.searchParams.get("request");
        if (!id) throw new Error(`no pending request: ${location.href}`);
        pending.push(id);
      }
    }),
  );
  // Many accounts sharing one password hash, so the per-account throttle (ASVS 6.3.1) never
  // decides the figure; each attempt also comes from its own address (X-Forwarded-For).
  const accounts = Math.ceil(needed / 40) + 10;
  const passwordHash = await hashPassword(PASSWORD);
  const now = Math.floor(Date.now() / 1000);
  for (let start = 0; start < accounts; start += 500) {
    await storage.db
      .insertInto("users")
      .values(
        Array.from({ length: Math.min(500, accounts - start) }, (_, i) => ({
          id: `kp_${randomBytes(16).toString("hex")}`,
          email: `signin${start + i}@bench.example`,
          email_verified: 1,
          password_hash: passwordHash,
          created_at: now,
          updated_at: now,
        })),
      )
      .execute();
  }
  log(
    `  (prepared ${pending.length} sign-in pages, ${accounts} accounts in ${Math.round(performance.now() - started)} ms)`,
  );

  let attempt = 0;
  const csrf = randomBytes(32).toString("base64url").slice(0, 43);
  const signIn = (connections: number) => ({
    path: "/auth/sign-in",
    method: "POST" as const,
    connections,
    setupRequest: (request: autocannon.Request, context: Record<string, unknown>) => {
      attempt++;
      const id = pending.shift() ?? "exhausted";
      context.id = id;
      const ip = `10.${(attempt >> 16) & 255}.${(attempt >> 8) & 255}.${attempt & 255}`;
      return {
        ...request,
        headers: { ...FORM, cookie: `latchkey_csrf=${csrf}`, "x-forwarded-for": ip },
        body: form({
          request: id,
          csrf,
          email: `signin${attempt % accounts}@bench.example`,
          password: PASSWORD,
        }),
      };
    },
    // Only a successful sign-in uses its page up; a refused attempt (busy, throttled) leaves it.
    onResponse: (status: number, _body: string, context: Record<string, unknown>) => {
      if (status !== 303 && typeof context.id === "string" && context.id !== "exhausted")
        pending.push(context.id);
    },
    okStatuses: [303],
  });
  await measure("sign-in (password check)", label, proc, signIn(4));

  if (!wanted("flood")) return;
  // Sign-in flood: 64 connections posting sign-in forms at 4× what the machine can hash (the
  // argon2 ceiling), ignoring Retry-After, while client credentials runs as before.
  const floodRate = Math.max(50, 4 * argon2PerSecond);
  const cc = clientCredentialsSpec(deployment);
  const [ccResult, floodResult] = await Promise.all([
    load(proc.child.pid!, {
      ...cc,
      url: `${proc.url}${cc.path}`,
      seconds: SECONDS,
      connections: CONNECTIONS,
    }),
    load(proc.child.pid!, {
      ...signIn(64),
      overallRate: floodRate,
      url: `${proc.url}/auth/sign-in`,
      seconds: SECONDS,
      okStatuses: [303, 503],
    }),
  ]);
  const solo = rows.find((r) => r.scenario === "client credentials" && r.server === label);
  for (const [scenario, result] of [
    ["client credentials during sign-in flood", ccResult],
    [`sign-in flood (64 connections, ${floodRate}/s offered)`, floodResult],
  ] as const) {
    rows.push({
      scenario,
      server: label,
      requestsPerSecond: result.requestsPerSecond,
      p50: result.p50,
      p99: result.p99,
      errors: result.errors,
      cpuMsPerRequest: 0,
      connections: scenario.startsWith("client") ? CONNECTIONS : 64,
      note:
        scenario.startsWith("client") && solo
          ? `${(result.requestsPerSecond / solo.requestsPerSecond).toFixed(2)}× solo`
          : Object.entries(result.statusCodes)
              .map(([status, n]) => `${status}×${n}`)
              .join(" "),
    });
    log(
      `  ${scenario.padEnd(34)} ${label.padEnd(22)} ${String(result.requestsPerSecond).padStart(6)} req/s  p50 ${result.p50} ms  p99 ${result.p99} ms  errors ${result.errors}  [${JSON.stringify(result.statusCodes)}]`,
    );
  }
}

async function scenarioWorkers(cli: string, deployment: LatchkeyDeployment): Promise<void> {
  const workers = os.availableParallelism();
  for (const n of [1, workers]) {
    const proc = await startLatchkey(cli, deployment, {
      args: ["--workers", String(n)],
      name: `latchkey ×${n}`,
    });
    try {
      const label = `latchkey ×${n} workers (sqlite)`;
      const cc = clientCredentialsSpec(deployment);
      await warmUp(proc, cc);
      await measure("client credentials", label, proc, cc);
      startup.push({
        server: label,
        firstStartMs: -1,
        readyMs: Math.round(proc.readyMs),
        idleRssMb: -1,
        loadedRssMb: Math.round(rssMb(proc.child.pid!)),
      });
    } finally {
      await proc.stop();
    }
  }
}

// ---------------------------------------------------------------------------------------------------

const began = performance.now();
log(
  `Latchkey benchmark: ${SECONDS} s per scenario, ${CONNECTIONS} connections, ${USERS.toLocaleString("en")} users`,
);
log("building Latchkey (tsc)…");
const cli = buildLatchkey();
const commit = await sqliteCommitMs();
log(`SQLite commit (WAL): synchronous=FULL ${commit.full} ms, NORMAL ${commit.normal} ms`);
const { argon2PerSecond } = await benchCeiling();
await benchOidcProvider();
for (const { kind, skip } of await databaseKinds()) {
  if (!WANTED_KINDS.includes(kind)) continue;
  if (skip) {
    log(`skipping ${kind}: ${skip}`);
    continue;
  }
  await benchLatchkey(cli, kind, argon2PerSecond);
}

const summary = summarize(rows, startup);
const meta = {
  date: new Date().toISOString(),
  machine: `${machineDescription()}, ${os.availableParallelism()} cores, ${Math.round(os.totalmem() / 2 ** 30)} GB, ${os.type()} ${os.release()}, Node ${process.version}`,
  sqliteCommitMs: commit,
  seconds: SECONDS,
  connections: CONNECTIONS,
  users: USERS,
  minutes: Number(((performance.now() - began) / 60_000).toFixed(1)),
};
mkdirSync(RESULTS, { recursive: true });
const markdown = renderMarkdown(meta, rows, startup, summary);
writeFileSync(path.join(RESULTS, "latest.md"), markdown);
writeFileSync(
  path.join(RESULTS, "latest.json"),
  `${JSON.stringify({ ...meta, rows, startup, targets: summary }, null, 2)}\n`,
);
writeFileSync(path.join(RESULTS, "latest.svg"), renderSvg(rows));
log(`\n${markdown}`);
log(`written: bench/results/latest.{md,json,svg} (${meta.minutes} min)`);

// The dashboard's lists at BENCH_USERS users (bench/lists.ts; its own bench/results/lists.{md,json}).
if (wanted("lists")) await benchLists();
// How fast requests that must be refused are answered (bench/refusals.ts; bench/results/refusals.json).
if (wanted("refusals")) await benchRefusals();
// Webhooks and the authentication log, with ÷ without (bench/features.ts; bench/results/features.{md,json}).
if (wanted("features")) await benchFeatures();
