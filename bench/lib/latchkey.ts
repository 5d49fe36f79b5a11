// Latchkey as operators run it: compiled JavaScript (`node dist/cli.js start`), in its own process,
// on a real database. The benchmark prepares data through the same services the CLI uses, over its
// own connection to that database — never inside the server process.
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { randomAlphanumeric } from "../../src/crypto/random.js";
import { SecretBox } from "../../src/crypto/secret-box.js";
import { connectedAppsOptions, createServices, type Services } from "../../src/services.js";
import { openStorage, type Storage } from "../../src/storage/database.js";
import { type DatabaseKind, freshDatabase, type TestDatabase } from "../../tests/helpers/databases.js";
import { CALLBACK, LOGOUT } from "../../tests/helpers/fixtures.js";
import type { OidcProviderHandle } from "../../tests/helpers/oauth-provider.js";
import { freePort } from "../../tests/helpers/server.js";
import { signedInUserAgent, type UserAgent } from "../../tests/helpers/user-agent.js";
import type { LoadSpec } from "./load.js";
import { ROOT, type ServerProcess, spawnServer } from "./proc.js";

/**
 * Where the compiled server goes: under node_modules so its imports resolve, outside git.
 * BENCH_BUILD_DIR (also under node_modules) keeps one run's build apart from another's.
 */
export const BUILD_DIR = process.env.BENCH_BUILD_DIR ?? path.join(ROOT, "node_modules/.cache/latchkey-bench");

/** Builds src/ the way `npm run build` does, into BUILD_DIR (dist/ is left alone). */
export function buildLatchkey(): string {
  mkdirSync(BUILD_DIR, { recursive: true });
  // Files under node_modules are outside the repository's package scope: declare ESM again.
  writeFileSync(path.join(BUILD_DIR, "package.json"), '{ "type": "module" }\n');
  try {
    execFileSync(
      process.execPath,
      [
        path.join(ROOT, "node_modules/typescript/bin/tsc"),
        "-p",
        "tsconfig.build.json",
        "--outDir",
        BUILD_DIR,
        "--tsBuildInfoFile",
        path.join(BUILD_DIR, ".tsbuildinfo"),
        "--sourceMap",
        "false",
      ],
      { cwd: ROOT, stdio: "pipe" },
    );
  } catch (error) {
    // tsc still emits on type errors (someone else's work in progress); only a missing entry fails.
    const output = (error as { stdout?: Buffer }).stdout?.toString() ?? "";
    process.stderr.write(`  (tsc reported problems; using what it emitted)\n${output.slice(0, 2000)}\n`);
  }
  // …and bundles the server over tsc's cli.js, as `npm run build` does (scripts/bundle.mjs).
  execFileSync(process.execPath, [path.join(ROOT, "scripts/bundle.mjs"), BUILD_DIR], {
    cwd: ROOT,
    stdio: "inherit",
  });
  return path.join(BUILD_DIR, "cli.js");
}

export interface LatchkeyDeployment {
  kind: DatabaseKind;
  database: TestDatabase;
  port: number;
  issuer: string;
  env: Record<string, string>;
  management: { clientId: string; clientSecret: string };
}

/** A fresh database and the configuration a Latchkey process will run with on it. */
export async function prepareDeployment(
  kind: DatabaseKind,
  extraEnv: Record<string, string> = {},
): Promise<LatchkeyDeployment | undefined> {
  const database = await freshDatabase(kind);
  if (!database) return undefined;
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const management = { clientId: randomBytes(16).toString("hex"), clientSecret: randomAlphanumeric(52) };
  const env: Record<string, string> = {
    NODE_ENV: "production",
    PORT: String(port),
    HOST: "127.0.0.1",
    ISSUER_URL: issuer,
    DATABASE_URL: database.target.kind === "sqlite" ? `sqlite:${database.target.path}` : database.target.url,
    LATCHKEY_MASTER_KEY: randomBytes(32).toString("base64"),
    BOOTSTRAP_M2M_CLIENT_ID: management.clientId,
    BOOTSTRAP_M2M_CLIENT_SECRET: management.clientSecret,
    // The benchmark calls the Management API far faster than the default per-caller limit.
    MANAGEMENT_API_RATE_LIMIT: "0",
    // Sign-in scenarios come from many simulated addresses (X-Forwarded-For from loopback).
    TRUST_PROXY: "127.0.0.1",
    // The connected-app scenario's provider runs on loopback.
    CONNECTED_APPS_ALLOW_PRIVATE_NETWORKS: "true",
    // No scenario sends mail; production refuses to start without SMTP_URL unless told so.
    MAIL_TRANSPORT: "outbox",
    // Access logs off, like the ceiling and oidc-provider; run.ts measures their cost separately.
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warn",
    // Password hashes at once per instance (default: the machine's cores, each instance's own).
    ...(process.env.BENCH_HASH_CONCURRENCY
      ? { PASSWORD_HASH_CONCURRENCY: process.env.BENCH_HASH_CONCURRENCY }
      : {}),
    ...extraEnv,
  };
  return { kind, database, port, issuer, env, management };
}

export function startLatchkey(
  cli: string,
  deployment: LatchkeyDeployment,
  options: { args?: string[]; name?: string; env?: Record<string, string> } = {},
): Promise<ServerProcess> {
  return spawnServer({
    name: options.name ?? `latchkey-${deployment.kind}`,
    script: cli,
    args: ["start", ...(options.args ?? [])],
    env: { ...deployment.env, ...options.env },
    port: deployment.port,
    readyPath: "/health/ready",
  });
}

/** The benchmark's own connection to the deployment's database, with the same master key. */
export async function openServices(
  deployment: LatchkeyDeployment,
): Promise<{ storage: Storage; services: Services }> {
  const storage = await openStorage(
    deployment.database.target.kind === "sqlite"
      ? deployment.database.target
      : { kind: "postgres", url: deployment.database.target.url },
    { poolSize: 4 },
  );
  const services = createServices({
    db: storage.db,
    secretBox: new SecretBox(Buffer.from(deployment.env.LATCHKEY_MASTER_KEY!, "base64")),
    issuer: deployment.issuer,
    connectedApps: connectedAppsOptions({ connectedAppsAllowPrivateNetworks: true }),
  });
  return { storage, services };
}

/**
 * Refresh token rotation against a running deployment: `count` refresh tokens obtained through the
 * real flow (a web app, a signed-in browser, code exchanges), each answer's rotated token feeding
 * the next request.
 */
export async function refreshSpec(
  deployment: LatchkeyDeployment,
  count: number,
): Promise<Omit<LoadSpec, "url" | "seconds"> & { path: string }> {
  const { webApp, refreshTokens: pool } = await refreshTokens(deployment, count);
  return refreshRotationSpec(webApp, pool);
}

/** Refresh requests that take their tokens from `pool` and put each answer's rotated one back. */
export function refreshRotationSpec(
  webApp: { clientId: string; clientSecret: string },
  pool: string[],
): Omit<LoadSpec, "url" | "seconds"> & { path: string } {
  return {
    path: "/oauth2/token",
    method: "POST",
    headers: FORM,
    setupRequest: (request) => ({
      ...request,
      body: form({
        grant_type: "refresh_token",
        refresh_token: pool.shift() ?? "exhausted",
        client_id: webApp.clientId,
        client_secret: webApp.clientSecret,
      }),
    }),
    onResponse: (status, body) => {
      if (status === 200) pool.push((JSON.parse(body) as { refresh_token: string }).refresh_token);
    },
  };
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = { "content-type": "application/x-www-form-urlencoded" };

/**
 * `count` refresh tokens of one user of a new web app, each from its own code exchange (so each
 * its own grant), made through the running deployment's real sign-in and token endpoint.
 */
export async function refreshTokens(
  deployment: LatchkeyDeployment,
  count: number,
): Promise<{ webApp: { clientId: string; clientSecret: string }; refreshTokens: string[] }> {
  const { storage, services } = await openServices(deployment);
  const created = await services.applications.create({
    name: `Refresh web app ${randomBytes(4).toString("hex")}`,
    type: "reg",
    callbackUrls: [CALLBACK],
    logoutUrls: [LOGOUT],
  });
  const webApp = { clientId: created.application.id, clientSecret: created.secret! };
  const user = {
    email: `refresh-${randomBytes(6).toString("hex")}@example.com`,
    password: randomAlphanumeric(24),
  };
  await services.users.create({ ...user, givenName: "Refresh", emailVerified: true });
  await storage.close();
  const browser = await signedInUserAgent({ url: deployment.issuer }, webApp.clientId, CALLBACK, user);
  const verifier = randomBytes(32).toString("base64url");
  const authorizeUrl = new URL("/oauth2/auth", deployment.issuer);
  authorizeUrl.search = form({
    response_type: "code",
    client_id: webApp.clientId,
    redirect_uri: CALLBACK,
    scope: "openid profile email offline",
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
  });
  const pool: string[] = [];
  for (let i = 0; i < count; i++) {
    const code = (await browser.redirectFrom(authorizeUrl)).searchParams.get("code");
    if (!code) throw new Error("no authorization code");
    const response = await fetch(`${deployment.issuer}/oauth2/token`, {
      method: "POST",
      headers: FORM,
      body: form({
        grant_type: "authorization_code",
        code,
        redirect_uri: CALLBACK,
        code_verifier: verifier,
        client_id: webApp.clientId,
        client_secret: webApp.clientSecret,
      }),
    });
    const tokens = (await response.json()) as { refresh_token?: string };
    if (!tokens.refresh_token) throw new Error(`no refresh token: ${JSON.stringify(tokens)}`);
    pool.push(tokens.refresh_token);
  }
  return { webApp, refreshTokens: pool };
}

/** A Management API token for the deployment's bootstrap M2M application (client credentials). */
export async function managementToken(deployment: LatchkeyDeployment): Promise<string> {
  const response = await fetch(`${deployment.issuer}/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: deployment.management.clientId,
      client_secret: deployment.management.clientSecret,
      audience: `${deployment.issuer}/api`,
    }).toString(),
  });
  const body = (await response.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`no management token: ${JSON.stringify(body)}`);
  return body.access_token;
}

/**
 * The connected-app `token` call for one connection made through the real flow: a "drive"
 * connected app at `provider` (oidc-provider), the auth URL asked for `userId`, and the signed-in
 * `browser`'s consent at the provider and return to Latchkey.
 */
export async function connectedAppTokenSpec(
  deployment: LatchkeyDeployment,
  provider: OidcProviderHandle,
  browser: UserAgent,
  userId: string,
): Promise<{ path: string; headers: Record<string, string> }> {
  const token = await managementToken(deployment);
  const api = async <T>(method: string, apiPath: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${deployment.issuer}${apiPath}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await response.json()) as T;
    if (!response.ok) throw new Error(`${method} ${apiPath}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  };
  await api("POST", "/api/v1/connected_apps", {
    key_code_ref: "drive",
    provider: "oauth2",
    name: "Stand-in Drive",
    client_id: provider.clientId,
    client_secret: provider.clientSecret,
    callback_url: "https://app.example.com/connected",
    scopes: ["openid", "offline_access", "read"],
    settings: {
      authorization_url: provider.authorizationEndpoint,
      token_url: provider.tokenEndpoint,
      revocation_url: provider.revocationEndpoint,
      client_auth: "basic",
    },
  });
  const { url, session_id } = await api<{ url: string; session_id: string }>(
    "GET",
    `/api/v1/connected_apps/auth_url?key_code_ref=drive&user_id=${userId}`,
  );
  await browser.redirectFrom(await provider.authorize(await browser.redirectFrom(url)));
  return {
    path: `/api/v1/connected_apps/token?session_id=${encodeURIComponent(session_id)}`,
    headers: { authorization: `Bearer ${token}` },
  };
}

/**
 * `count` users inserted straight into the table, in one transaction: creating 100 000 users
 * through the API would hash nothing (no passwords) but still take minutes.
 */
export async function loadUsers(storage: Storage, count: number): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  await storage.db.transaction().execute(async (trx) => {
    for (let start = 0; start < count; start += 1000) {
      await trx
        .insertInto("users")
        .values(
          Array.from({ length: Math.min(1000, count - start) }, (_, i) => ({
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
}
