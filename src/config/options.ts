// Every setting Latchkey reads from the environment as operators see it documented: key, default
// and description (CONFIG_KEYS), and the log levels LOG_LEVEL accepts. Kept apart from config.ts so
// that file is the parsing and validation; a new setting is added to both.

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
    key: "DATABASE_PREPARED_STATEMENTS",
    default: "true",
    description:
      "PostgreSQL: parse statements that repeat once per connection; false behind a pooler that cannot keep them (PgBouncer before 1.21, or without max_prepared_statements, in transaction mode)",
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
