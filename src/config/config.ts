// The one reader of process.env. Every setting Latchkey understands is parsed here with its
// default and validation (its documentation, the option table, is ./options.ts); an invalid
// configuration stops start-up with one message that names every bad key (see ConfigError).
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { emailProblem } from "../users/email.js";
import { type MailConfig, parseMail } from "./mail-config.js";
import { type MetricsConfig, parseMetrics } from "./metrics-config.js";
import { LOG_LEVELS, type LogLevel } from "./options.js";
import { parseSms, type SmsConfig } from "./sms-config.js";

export type DatabaseTarget = { kind: "sqlite"; path: string } | { kind: "postgres"; url: string };

export interface BootstrapConfig {
  adminEmail?: string;
  adminPassword?: string;
  m2mClientId?: string;
  m2mClientSecret?: string;
}

export interface Config {
  nodeEnv: string;
  production: boolean;
  port: number;
  host: string;
  /** Public base URL, no trailing slash: the `iss` of every token. */
  issuerUrl: string;
  database: DatabaseTarget;
  databasePoolSize: number;
  /** PostgreSQL: send the hot statements as named (server-side prepared) statements. */
  databasePreparedStatements: boolean;
  dataDir: string;
  tls?: { certFile: string; keyFile: string };
  logLevel: LogLevel;
  /** 32-byte key encrypting secrets at rest; undefined means "generate into dataDir". */
  masterKey?: Buffer;
  /** Keys that may still decrypt older ciphertexts during a master-key rotation. */
  previousMasterKeys: Buffer[];
  /** Fastify `trustProxy`: false, true or a list of addresses/CIDRs. */
  trustProxy: boolean | string[];
  shutdownTimeoutMs: number;
  /** Management API requests per minute per caller (0 = unlimited). */
  managementRateLimit: number;
  /** Domain attribute for the js-utils refresh cookies; undefined = host-only. */
  refreshCookieDomain?: string;
  /** JSON file adding to or overriding the connected-apps provider catalog. */
  connectedAppsCatalogFile?: string;
  /** JSON file overriding the endpoints of social sign-in providers (sign-in/upstream-catalog.ts). */
  connectionProvidersFile?: string;
  /** Let provider URLs point at loopback/private addresses (tests, on-premise providers). */
  connectedAppsAllowPrivateNetworks: boolean;
  /** Webhook endpoints may be on loopback/private addresses. */
  webhooksAllowPrivateNetworks: boolean;
  bootstrap: BootstrapConfig;
  /** Password hashes computed at once (argon2id, ~19 MiB and ~20 ms of a core each). */
  passwordHashConcurrency: number;
  /** Password hashes waiting for a slot; beyond them, sign-ins are answered 503 + Retry-After. */
  passwordHashQueue: number;
  /** Failed sign-ins per client address per day, across all accounts (0 = no daily limit). */
  signInDailyLimitPerAddress: number;
  /** Whether an account must prove its e-mail address (a code) before its sign-in finishes. */
  emailVerification: "required" | "optional";
  /** How long an e-mailed one-time code stays valid. */
  emailCodeLifetimeSeconds: number;
  mail: MailConfig;
  /** Text-message codes (the mfa:sms factor): an HTTP gateway, or the development outbox. */
  sms: SmsConfig;
  /** GET /metrics (Prometheus): off, or on behind a bearer token or for loopback clients only. */
  metrics: MetricsConfig;
  /** Days the audit log and the authentication log keep an entry before the purge deletes it. */
  auditLogRetentionDays: number;
}

export type { MailConfig, SmtpConfig } from "./mail-config.js";
export type { MetricsConfig } from "./metrics-config.js";
export { CONFIG_KEYS, LOG_LEVELS, type LogLevel } from "./options.js";

export class ConfigError extends Error {
  constructor(readonly problems: ReadonlyArray<{ key: string; problem: string }>) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems
        .map((p) => `  - ${p.key}: ${p.problem}`)
        .join("\n")}`,
    );
    this.name = "ConfigError";
  }
}

type Env = Readonly<Record<string, string | undefined>>;

export function loadConfig(env: Env = process.env): Config {
  const problems: { key: string; problem: string }[] = [];
  const fail = (key: string, problem: string) => problems.push({ key, problem });
  const get = (key: string): string | undefined => {
    const value = env[key]?.trim();
    return value === undefined || value === "" ? undefined : value;
  };

  const nodeEnv = get("NODE_ENV") ?? "development";
  const production = nodeEnv === "production";

  const port = parseInteger(get("PORT"), 3000, 0, 65535, "PORT", fail);
  const host = get("HOST") ?? "localhost";
  const databasePoolSize = parseInteger(get("DATABASE_POOL_SIZE"), 10, 1, 1000, "DATABASE_POOL_SIZE", fail);
  const shutdownTimeoutMs = parseInteger(
    get("SHUTDOWN_TIMEOUT_MS"),
    10_000,
    0,
    600_000,
    "SHUTDOWN_TIMEOUT_MS",
    fail,
  );
  const managementRateLimit = parseInteger(
    get("MANAGEMENT_API_RATE_LIMIT"),
    600,
    0,
    1_000_000,
    "MANAGEMENT_API_RATE_LIMIT",
    fail,
  );
  const dataDir = path.resolve(get("DATA_DIR") ?? "./data");
  const refreshCookieDomain = get("REFRESH_COOKIE_DOMAIN") || undefined;
  if (
    refreshCookieDomain !== undefined &&
    !/^\.?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(refreshCookieDomain)
  ) {
    fail("REFRESH_COOKIE_DOMAIN", "must be a domain name such as example.com");
  }

  let tls: Config["tls"];
  const certFile = get("TLS_CERT_FILE");
  const keyFile = get("TLS_KEY_FILE");
  if (certFile || keyFile) {
    if (!certFile) fail("TLS_CERT_FILE", "must be set together with TLS_KEY_FILE");
    if (!keyFile) fail("TLS_KEY_FILE", "must be set together with TLS_CERT_FILE");
    if (certFile && !existsSync(certFile)) fail("TLS_CERT_FILE", `file not found: ${certFile}`);
    if (keyFile && !existsSync(keyFile)) fail("TLS_KEY_FILE", `file not found: ${keyFile}`);
    if (certFile && keyFile) tls = { certFile, keyFile };
  }

  const issuerUrl = parseIssuer(get("ISSUER_URL"), `${tls ? "https" : "http"}://localhost:${port}`, fail);
  const databaseUrl = get("DATABASE_URL");
  // The embedded default lives beside the generated master key, so one directory (one volume, one
  // backup) holds everything a database needs to be opened again.
  const database = parseDatabaseUrl(
    databaseUrl ?? `sqlite:${path.join(dataDir, DEFAULT_DATABASE_FILE)}`,
    fail,
  );
  if (databaseUrl === undefined) checkNoLegacyDatabase(path.join(dataDir, DEFAULT_DATABASE_FILE), fail);

  const logLevelRaw = get("LOG_LEVEL") ?? "info";
  const logLevel = (LOG_LEVELS as readonly string[]).includes(logLevelRaw)
    ? (logLevelRaw as LogLevel)
    : "info";
  if (logLevel !== logLevelRaw) fail("LOG_LEVEL", `must be one of ${LOG_LEVELS.join(", ")}`);

  const masterKeyRaw = get("LATCHKEY_MASTER_KEY");
  const masterKey = masterKeyRaw === undefined ? undefined : parseKey(masterKeyRaw);
  if (masterKeyRaw !== undefined && !masterKey) {
    fail(
      "LATCHKEY_MASTER_KEY",
      "must be 32 bytes, base64 or 64 hex characters (e.g. `openssl rand -base64 32`)",
    );
  }
  if (masterKeyRaw === undefined && production) {
    fail(
      "LATCHKEY_MASTER_KEY",
      "is required when NODE_ENV=production (generate one: `openssl rand -base64 32`)",
    );
  }
  const previousMasterKeys: Buffer[] = [];
  for (const [index, raw] of (get("LATCHKEY_PREVIOUS_MASTER_KEYS") ?? "").split(",").entries()) {
    if (raw.trim() === "") continue;
    const key = parseKey(raw.trim());
    if (key) previousMasterKeys.push(key);
    else fail("LATCHKEY_PREVIOUS_MASTER_KEYS", `entry ${index + 1} is not a 32-byte base64 or hex key`);
  }

  const trustProxy = parseTrustProxy(get("TRUST_PROXY"), fail);
  const connectedAppsCatalogFile = get("CONNECTED_APPS_CATALOG_FILE");
  if (connectedAppsCatalogFile && !existsSync(connectedAppsCatalogFile)) {
    fail("CONNECTED_APPS_CATALOG_FILE", `file not found: ${connectedAppsCatalogFile}`);
  }
  const connectionProvidersFile = get("CONNECTION_PROVIDERS_FILE");
  if (connectionProvidersFile && !existsSync(connectionProvidersFile)) {
    fail("CONNECTION_PROVIDERS_FILE", `file not found: ${connectionProvidersFile}`);
  }
  const preparedRaw = get("DATABASE_PREPARED_STATEMENTS") ?? "true";
  if (preparedRaw !== "true" && preparedRaw !== "false") {
    fail("DATABASE_PREPARED_STATEMENTS", "must be true or false");
  }
  const allowPrivateRaw = get("CONNECTED_APPS_ALLOW_PRIVATE_NETWORKS") ?? "false";
  if (allowPrivateRaw !== "true" && allowPrivateRaw !== "false") {
    fail("CONNECTED_APPS_ALLOW_PRIVATE_NETWORKS", "must be true or false");
  }
  const webhooksPrivateRaw = get("WEBHOOKS_ALLOW_PRIVATE_NETWORKS") ?? "false";
  if (webhooksPrivateRaw !== "true" && webhooksPrivateRaw !== "false") {
    fail("WEBHOOKS_ALLOW_PRIVATE_NETWORKS", "must be true or false");
  }

  const bootstrap: BootstrapConfig = {
    adminEmail: get("BOOTSTRAP_ADMIN_EMAIL"),
    adminPassword: env.BOOTSTRAP_ADMIN_PASSWORD || undefined,
    m2mClientId: get("BOOTSTRAP_M2M_CLIENT_ID"),
    m2mClientSecret: get("BOOTSTRAP_M2M_CLIENT_SECRET"),
  };
  if (Boolean(bootstrap.adminEmail) !== Boolean(bootstrap.adminPassword)) {
    fail("BOOTSTRAP_ADMIN_EMAIL", "BOOTSTRAP_ADMIN_EMAIL and BOOTSTRAP_ADMIN_PASSWORD must be set together");
  }
  const adminEmailProblem = bootstrap.adminEmail ? emailProblem(bootstrap.adminEmail) : undefined;
  if (adminEmailProblem)
    fail("BOOTSTRAP_ADMIN_EMAIL", `is not a usable email address: it ${adminEmailProblem}`);
  // BOOTSTRAP_ADMIN_PASSWORD is judged by bootstrap (src/bootstrap.ts), which alone knows whether
  // it will be used: once the administrator exists the variable is unused, and a stale value must
  // not stop a deployment from starting.
  if (Boolean(bootstrap.m2mClientId) !== Boolean(bootstrap.m2mClientSecret)) {
    fail(
      "BOOTSTRAP_M2M_CLIENT_ID",
      "BOOTSTRAP_M2M_CLIENT_ID and BOOTSTRAP_M2M_CLIENT_SECRET must be set together",
    );
  }
  if (bootstrap.m2mClientId && !/^[0-9a-f]{32}$/.test(bootstrap.m2mClientId)) {
    fail("BOOTSTRAP_M2M_CLIENT_ID", "must be 32 lowercase hex characters (Kinde's client id format)");
  }
  if (bootstrap.m2mClientSecret && !/^[a-zA-Z0-9]{40,60}$/.test(bootstrap.m2mClientSecret)) {
    fail(
      "BOOTSTRAP_M2M_CLIENT_SECRET",
      "must be 40-60 letters and digits (Kinde's SDKs refuse other shapes)",
    );
  }
  const passwordHashConcurrency = parseInteger(
    get("PASSWORD_HASH_CONCURRENCY"),
    // Every core: the hashing threads run at the lowest priority, so they only take CPU that token
    // traffic leaves idle (users/passwords.ts).
    availableParallelism(),
    1,
    1024,
    "PASSWORD_HASH_CONCURRENCY",
    fail,
  );
  const passwordHashQueue = parseInteger(
    get("PASSWORD_HASH_QUEUE"),
    Math.max(16, 4 * passwordHashConcurrency),
    0,
    100_000,
    "PASSWORD_HASH_QUEUE",
    fail,
  );
  const emailVerificationRaw = get("EMAIL_VERIFICATION") ?? "required";
  if (emailVerificationRaw !== "required" && emailVerificationRaw !== "optional")
    fail("EMAIL_VERIFICATION", "must be required or optional");
  const emailVerification = emailVerificationRaw === "optional" ? "optional" : "required";
  const emailCodeLifetimeSeconds = parseInteger(
    get("EMAIL_CODE_LIFETIME_SECONDS"),
    7200,
    300,
    86_400,
    "EMAIL_CODE_LIFETIME_SECONDS",
    fail,
  );
  const signInDailyLimitPerAddress = parseInteger(
    get("SIGN_IN_DAILY_LIMIT_PER_ADDRESS"),
    100,
    0,
    1_000_000,
    "SIGN_IN_DAILY_LIMIT_PER_ADDRESS",
    fail,
  );

  const auditLogRetentionDays = parseInteger(
    get("AUDIT_LOG_RETENTION_DAYS"),
    30,
    1,
    3650,
    "AUDIT_LOG_RETENTION_DAYS",
    fail,
  );

  const mail = parseMail(get, production, issuerUrl, fail);
  const sms = parseSms(get, production, fail);
  const metrics = parseMetrics(get, fail);

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    nodeEnv,
    production,
    port,
    host,
    issuerUrl,
    database,
    databasePoolSize,
    databasePreparedStatements: preparedRaw === "true",
    dataDir,
    tls,
    logLevel,
    masterKey,
    previousMasterKeys,
    trustProxy,
    shutdownTimeoutMs,
    managementRateLimit,
    refreshCookieDomain,
    connectedAppsCatalogFile,
    connectionProvidersFile,
    connectedAppsAllowPrivateNetworks: allowPrivateRaw === "true",
    webhooksAllowPrivateNetworks: webhooksPrivateRaw === "true",
    bootstrap,
    passwordHashConcurrency,
    passwordHashQueue,
    signInDailyLimitPerAddress,
    emailVerification,
    emailCodeLifetimeSeconds,
    mail,
    sms,
    metrics,
    auditLogRetentionDays,
  };
}

export type Fail = (key: string, problem: string) => void;

const DEFAULT_DATABASE_FILE = "latchkey.db";

/**
 * Earlier versions kept the default database in ./data whatever DATA_DIR said. Starting a new,
 * empty database in DATA_DIR beside that one would look like a fresh installation (a new
 * administrator, new signing keys, every client gone): the operator chooses instead.
 */
function checkNoLegacyDatabase(file: string, fail: Fail): void {
  const legacy = path.resolve("data", DEFAULT_DATABASE_FILE);
  if (legacy === path.resolve(file) || existsSync(file) || !existsSync(legacy)) return;
  fail(
    "DATABASE_URL",
    `is not set, so the database is ${file} (in DATA_DIR), which does not exist yet, while ${legacy} ` +
      "does (earlier versions kept the database there when DATA_DIR was set): move it into DATA_DIR " +
      `(with any -wal and -shm file beside it), or set DATABASE_URL=sqlite:${legacy} to keep it where it is`,
  );
}

function parseInteger(
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
  key: string,
  fail: Fail,
) {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    fail(key, `must be an integer from ${min} to ${max}, got "${raw}"`);
    return fallback;
  }
  return Number(raw);
}

function parseIssuer(raw: string | undefined, fallback: string, fail: Fail): string {
  if (raw === undefined) return fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    fail("ISSUER_URL", `is not an absolute URL: "${raw}"`);
    return fallback;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") fail("ISSUER_URL", "must use https (or http)");
  // OIDC Discovery §3 / RFC 8414 §2: the issuer has no query or fragment.
  if (url.search || url.hash) fail("ISSUER_URL", "must not contain a query or fragment");
  if (url.username || url.password) fail("ISSUER_URL", "must not contain credentials");
  // Kinde's SDKs compare `iss` to the configured domain without a trailing slash (COMPAT.md §0.3).
  return url.href.replace(/\/+$/, "");
}

function parseDatabaseUrl(raw: string, fail: Fail): DatabaseTarget {
  if (raw.startsWith("sqlite:")) {
    const file = raw.slice("sqlite:".length).replace(/^\/\/(?=\/)/, "");
    if (file === "") {
      fail("DATABASE_URL", "sqlite: needs a file path, e.g. sqlite:./data/latchkey.db (or sqlite::memory:)");
      return { kind: "sqlite", path: ":memory:" };
    }
    return { kind: "sqlite", path: file === ":memory:" ? file : path.resolve(file) };
  }
  if (raw.startsWith("postgres://") || raw.startsWith("postgresql://")) {
    try {
      new URL(raw);
    } catch {
      fail("DATABASE_URL", "is not a valid postgres:// URL");
    }
    return { kind: "postgres", url: raw };
  }
  fail("DATABASE_URL", "must start with sqlite: or postgres://");
  return { kind: "sqlite", path: ":memory:" };
}

/** Accepts 32 bytes as 64 hex characters or as base64/base64url. */
export function parseKey(raw: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(raw)) return Buffer.from(raw, "hex");
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(raw)) {
    const key = Buffer.from(raw.replace(/-/g, "+").replace(/_/g, "/"), "base64");
    if (key.length === 32) return key;
  }
  return undefined;
}

function parseTrustProxy(raw: string | undefined, fail: Fail): Config["trustProxy"] {
  if (raw === undefined || raw === "false") return false;
  if (raw === "true") return true;
  // Fastify 5 ignores a hop count (it cannot tell whether the immediate peer is the proxy), so a
  // count would silently read every client as the proxy's address: refuse it rather than mislead.
  if (/^\d+$/.test(raw)) {
    fail("TRUST_PROXY", "a hop count is not supported; give the proxy's addresses/CIDRs (or loopback)");
    return false;
  }
  const entries = raw
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean);
  if (entries.some((e) => !/^[0-9a-fA-F.:/]+$/.test(e) && e !== "loopback")) {
    fail("TRUST_PROXY", "must be true, false, loopback or comma-separated IP addresses/CIDRs");
    return false;
  }
  return entries;
}
