// The one reader of process.env. Every setting Latchkey understands is declared here with its
// default and validation; an invalid configuration stops start-up with one message that names
// every bad key (see ConfigError).
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { emailProblem } from "../users/email.js";
import { type MailConfig, parseMail } from "./mail-config.js";
import { type MetricsConfig, parseMetrics } from "./metrics-config.js";
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

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Documentation of every key, rendered into `latchkey --help` and kept in step with README. */
export const CONFIG_KEYS: ReadonlyArray<{ key: string; default: string; description: string }> = [
  { key: "PORT", default: "3000", description: "TCP port to listen on" },
  { key: "HOST", default: "localhost", description: "interface to bind; 0.0.0.0 in containers" },
  {
    key: "ISSUER_URL",
    default: "http(s)://localhost:$PORT",
    description: "public base URL of this server, the `iss` of every token",
  },
  {
    key: "DATABASE_URL",
    default: "sqlite:$DATA_DIR/latchkey.db",
    description: "sqlite:<path> or postgres://user:pass@host:port/db; when set, it always wins over DATA_DIR",
  },
  {
    key: "DATABASE_POOL_SIZE",
    default: "10",
    description: "PostgreSQL connections per instance (plus one for the configuration-generation read)",
  },
  {
    key: "DATA_DIR",
    default: "./data",
    description:
      "where the generated master key (master.key) and, unless DATABASE_URL is set, the SQLite database (latchkey.db) live",
  },
  {
    key: "TLS_CERT_FILE",
    default: "",
    description: "PEM certificate: serve HTTPS directly (with TLS_KEY_FILE)",
  },
  { key: "TLS_KEY_FILE", default: "", description: "PEM private key for TLS_CERT_FILE" },
  { key: "LOG_LEVEL", default: "info", description: LOG_LEVELS.join("|") },
  {
    key: "LATCHKEY_MASTER_KEY",
    default: "(generated into DATA_DIR)",
    description: "32 bytes, base64 or hex: encrypts secrets at rest; required when NODE_ENV=production",
  },
  {
    key: "LATCHKEY_PREVIOUS_MASTER_KEYS",
    default: "",
    description: "comma-separated older master keys, still accepted for decryption during rotation",
  },
  {
    key: "TRUST_PROXY",
    default: "false",
    description: "trust X-Forwarded-* from: true, loopback, or comma-separated addresses/CIDRs",
  },
  { key: "SHUTDOWN_TIMEOUT_MS", default: "10000", description: "grace period for in-flight requests" },
  {
    key: "MANAGEMENT_API_RATE_LIMIT",
    default: "600",
    description: "Management API requests per minute per caller, shared by all instances (0 = off)",
  },
  {
    key: "REFRESH_COOKIE_DOMAIN",
    default: "",
    description:
      "Domain attribute of the refresh-token cookies for Kinde's browser SDKs (e.g. example.com when Latchkey is auth.example.com)",
  },
  {
    key: "NODE_ENV",
    default: "development",
    description: "production makes a master key mandatory, and SMTP_URL unless MAIL_TRANSPORT=outbox",
  },
  {
    key: "CONNECTED_APPS_CATALOG_FILE",
    default: "",
    description: "JSON array adding or overriding connected-app providers (by id)",
  },
  {
    key: "CONNECTION_PROVIDERS_FILE",
    default: "",
    description:
      "JSON object overriding social sign-in providers' endpoints by strategy (GitHub Enterprise, Microsoft national clouds, tests)",
  },
  {
    key: "CONNECTED_APPS_ALLOW_PRIVATE_NETWORKS",
    default: "false",
    description: "allow provider URLs on loopback/private addresses (SSRF guard off; tests only)",
  },
  {
    key: "WEBHOOKS_ALLOW_PRIVATE_NETWORKS",
    default: "false",
    description:
      "allow webhook endpoints on loopback/private addresses (SSRF guard off; on-premise receivers, tests)",
  },
  {
    key: "BOOTSTRAP_ADMIN_EMAIL",
    default: "",
    description: "administrator ensured at start (with password)",
  },
  { key: "BOOTSTRAP_ADMIN_PASSWORD", default: "", description: "password of BOOTSTRAP_ADMIN_EMAIL" },
  {
    key: "BOOTSTRAP_M2M_CLIENT_ID",
    default: "(generated)",
    description: "client id of the Management API M2M app ensured at start (32 lowercase hex)",
  },
  {
    key: "BOOTSTRAP_M2M_CLIENT_SECRET",
    default: "(generated)",
    description: "its secret (40-60 alphanumerics)",
  },
  {
    key: "PASSWORD_HASH_CONCURRENCY",
    default: "(cores)",
    description: "password hashes computed at once per instance (in low-priority worker threads)",
  },
  {
    key: "PASSWORD_HASH_QUEUE",
    default: "(4 × concurrency, at least 16)",
    description: "password hashes waiting; more are answered 503 with Retry-After",
  },
  {
    key: "EMAIL_VERIFICATION",
    default: "required",
    description:
      "required: an account whose e-mail address was never proved gets a 6-digit code by e-mail at sign-up and sign-in, and signs in only with it; optional: it signs in without",
  },
  {
    key: "EMAIL_CODE_LIFETIME_SECONDS",
    default: "7200",
    description:
      "how long an e-mailed one-time code (verification, sign-in, password reset) stays valid, 300-86400",
  },
  {
    key: "SIGN_IN_DAILY_LIMIT_PER_ADDRESS",
    default: "100",
    description:
      "failed sign-ins per client address per day, across all accounts (password spraying), answered 429 with Retry-After beyond it; successful sign-ins do not count (0 = off)",
  },
  {
    key: "SMTP_URL",
    default: "",
    description:
      "smtp://user:pass@host:587 (STARTTLS required) or smtps://user:pass@host:465 (implicit TLS): the relay that sends e-mail; required when NODE_ENV=production unless MAIL_TRANSPORT=outbox",
  },
  {
    key: "SMTP_ALLOW_INSECURE",
    default: "false",
    description: "true sends plain SMTP without TLS, only to a loopback host (a local relay)",
  },
  {
    key: "SMTP_TLS_CA_FILE",
    default: "",
    description:
      "PEM certificate(s) trusted for the SMTP relay besides the public roots (a self-signed relay)",
  },
  {
    key: "MAIL_FROM",
    default: "no-reply@<ISSUER_URL host>",
    description: "sender address of every e-mail; the business name is shown as its display name",
  },
  {
    key: "MAIL_TRANSPORT",
    default: "smtp with SMTP_URL, else outbox",
    description:
      "smtp|outbox: outbox keeps messages in the database (shown in the dashboard), sending nothing",
  },
  {
    key: "SMS_TRANSPORT",
    default: "http with SMS_HTTP_URL, else outbox",
    description:
      "http|outbox: how text-message codes (the mfa:sms factor) leave; outbox keeps them in the database, sending nothing",
  },
  {
    key: "SMS_HTTP_URL",
    default: "",
    description:
      'an SMS gateway of your choosing: each message is POSTed as JSON {"to": "+E.164", "body": "…", "id": "…"} and must be answered 2xx',
  },
  {
    key: "SMS_HTTP_AUTHORIZATION",
    default: "",
    description: "the Authorization header sent to SMS_HTTP_URL (e.g. Bearer …); never logged",
  },
  {
    key: "AUDIT_LOG_RETENTION_DAYS",
    default: "30",
    description:
      "days the audit log (Management API writes) and the authentication log (sign-ins, sign-outs, token grants) keep an entry, 1-3650",
  },
  {
    key: "METRICS",
    default: "off",
    description:
      "on|off: GET /metrics in Prometheus format; without METRICS_TOKEN it answers loopback clients only",
  },
  {
    key: "METRICS_TOKEN",
    default: "",
    description: "bearer token /metrics requires (at least 32 characters: `openssl rand -hex 32`)",
  },
];

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
