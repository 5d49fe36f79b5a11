// Starts a real Latchkey server (real database, real HTTP on a loopback port) for a test.
import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { bootstrap } from "../../src/bootstrap.js";
import type { Clock } from "../../src/clock.js";
import { type Config, loadConfig } from "../../src/config/config.js";
import { randomAlphanumeric } from "../../src/crypto/random.js";
import { SecretBox } from "../../src/crypto/secret-box.js";
import { createLogger } from "../../src/logging.js";
import { metricsFor } from "../../src/metrics/metrics.js";
import { buildServer } from "../../src/server.js";
import { connectedAppsOptions, createServices, mailOptions, type Services } from "../../src/services.js";
import { openStorage, type Storage } from "../../src/storage/database.js";
import { migrateToLatest } from "../../src/storage/migrate.js";
import { type DatabaseKind, freshDatabase, type TestDatabase } from "./databases.js";

/** Collects log lines in memory so a test can assert on them (e.g. redaction). */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    done();
  }
  get text(): string {
    return this.lines.join("\n");
  }
}

export interface TestServer {
  app: FastifyInstance;
  storage: Storage;
  config: Config;
  database: TestDatabase;
  logs: LogCapture;
  logger: Logger;
  secretBox: SecretBox;
  services: Services;
  /** The bootstrap M2M application, authorised for the Management API with every scope. */
  management: { clientId: string; clientSecret: string };
  /** Base URL on loopback, e.g. http://127.0.0.1:41234 — also the issuer. */
  url: string;
  close(): Promise<void>;
}

export interface TestServerOptions {
  env?: Record<string, string>;
  clock?: Clock;
  /** Reuse a database (e.g. to restart a server on the same data); otherwise a fresh one. */
  database?: TestDatabase;
  /** Listen on this port (0 = any free one). */
  port?: number;
  /** Serve HTTPS with this certificate; the issuer becomes https://localhost:PORT. */
  tls?: { certFile: string; keyFile: string };
  /** Seconds the signing-key list is cached, as in production (default 0: rotations show at once). */
  keyCacheSeconds?: number;
  /** PostgreSQL only: told of every statement (src/storage/database.ts onStatement). */
  onStatement?: (sql: string, connection: number) => void;
}

/**
 * A second instance behind the same public URL: the same database (not dropped when it closes),
 * issuer and master key as `first`, unless `options.env` says otherwise.
 */
export function startSecondInstance(first: TestServer, options: TestServerOptions = {}): Promise<TestServer> {
  return startTestServer(first.database.target.kind, {
    ...options,
    database: { target: first.database.target, drop: async () => {} },
    env: {
      ISSUER_URL: first.url,
      LATCHKEY_MASTER_KEY: first.config.masterKey!.toString("base64"),
      ...options.env,
    },
  });
}

export async function startTestServer(
  kind: DatabaseKind,
  options: TestServerOptions = {},
): Promise<TestServer> {
  const database = options.database ?? (await freshDatabase(kind));
  if (!database) throw new Error(`no ${kind} database available`);
  // Reserve the port first so the issuer URL (which tokens carry) matches the listening address.
  const port = options.port ?? (await freePort());
  const url = options.tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`;
  const databaseUrl =
    database.target.kind === "sqlite" ? `sqlite:${database.target.path}` : database.target.url;
  const management = { clientId: randomBytes(16).toString("hex"), clientSecret: randomAlphanumeric(52) };
  const config = loadConfig({
    BOOTSTRAP_M2M_CLIENT_ID: management.clientId,
    BOOTSTRAP_M2M_CLIENT_SECRET: management.clientSecret,
    PORT: String(port),
    HOST: "127.0.0.1",
    ISSUER_URL: url,
    DATABASE_URL: databaseUrl,
    LATCHKEY_MASTER_KEY: randomBytes(32).toString("base64"),
    LOG_LEVEL: "info",
    // Suites call the Management API far faster than any customer; the limit has its own test.
    MANAGEMENT_API_RATE_LIMIT: "0",
    // Suites sign people up to test everything else; verifying addresses by e-mail code (the
    // default, EMAIL_VERIFICATION=required) has its own tests, which ask for it.
    EMAIL_VERIFICATION: "optional",
    ...(options.tls ? { TLS_CERT_FILE: options.tls.certFile, TLS_KEY_FILE: options.tls.keyFile } : {}),
    ...options.env,
  });
  const logs = new LogCapture();
  const logger = createLogger(config.logLevel, logs);
  const storage = await openStorage(config.database, {
    logger,
    poolSize: 5,
    onStatement: options.onStatement,
  });
  await migrateToLatest(storage.db, logger);
  const secretBox = new SecretBox(config.masterKey!);
  await bootstrap(storage, secretBox, config, options.clock);
  // Tests read keys straight from the database (no cache) unless asked, so rotations show at once.
  const services = createServices({
    db: storage.db,
    secretBox,
    issuer: config.issuerUrl,
    clock: options.clock,
    keyCacheSeconds: options.keyCacheSeconds ?? 0,
    connectedApps: connectedAppsOptions(config, logger),
    mail: mailOptions(config, logger),
    sms: config.sms,
    metrics: metricsFor(config, { poolStats: storage.poolStats, logger }),
    webhooks: { allowPrivateNetworks: config.webhooksAllowPrivateNetworks },
  });
  const app = await buildServer({ config, storage, logger, secretBox, services });
  // Fastify binds every address "localhost" resolves to (127.0.0.1 and ::1).
  await app.listen({ port, host: options.tls ? "localhost" : "127.0.0.1" });
  return {
    app,
    storage,
    config,
    database,
    logs,
    logger,
    secretBox,
    services,
    management,
    url,
    async close() {
      await app.close();
      await storage.close();
      if (!options.database) await database.drop();
    },
  };
}

export async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
