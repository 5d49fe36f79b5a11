// Process entry: config → logger → database → migrations → server → listen, and a graceful
// shutdown on SIGTERM/SIGINT: stop accepting, let in-flight requests finish, close the database.
import cluster from "node:cluster";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { bootstrap, managementCredentialsBanner } from "./bootstrap.js";
import { noAdministratorMessage, noUsableAdministrator } from "./cli/admin-first-run.js";
import { systemClock } from "./clock.js";
import type { Config } from "./config/config.js";
import { type LoadedMasterKey, loadMasterKey } from "./crypto/master-key.js";
import { verifyMasterKey } from "./crypto/verify-master-key.js";
import { createLogger } from "./logging.js";
import { openStorage, type Storage } from "./storage/database.js";
import { migrateToLatest } from "./storage/migrate.js";
import { purgeExpired } from "./storage/purge.js";
import { configurePasswordHashing } from "./users/passwords.js";

export interface Running {
  app: FastifyInstance;
  storage: Storage;
  logger: Logger;
  url: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Migrate and bootstrap first; false in cluster workers, whose primary did it once. */
  setup?: boolean;
  /** How many processes share this machine's limits (cluster workers): each takes 1/n. */
  processes?: number;
}

/** Migrations and bootstrap: what must happen once, before any process serves. */
async function prepareDatabase(config: Config, logger: Logger, storage: Storage, masterKey: LoadedMasterKey) {
  const { secretBox } = masterKey;
  await migrateToLatest(storage.db, logger);
  // Before bootstrap, which opens secrets and could seal new ones under a key foreign to the rest.
  await verifyMasterKey(storage.db, masterKey, systemClock.now());
  const { generatedManagementClient, adminNotCreated } = await bootstrap(storage, secretBox, config);
  if (adminNotCreated)
    logger.warn(
      { event: "bootstrap_admin_skipped", userId: adminNotCreated.userId },
      "BOOTSTRAP_ADMIN_EMAIL belongs to an existing account that is not an administrator: it was left unchanged " +
        "and no administrator was created. If that account is yours, promote it with " +
        "`latchkey admins grant --email <address>`; otherwise delete it or choose another BOOTSTRAP_ADMIN_EMAIL.",
    );
  if (await noUsableAdministrator(storage.db))
    logger.warn({ event: "no_administrator" }, noAdministratorMessage(config.issuerUrl));
  // Printed to the terminal, deliberately not through the logger: secrets never reach logs.
  if (generatedManagementClient)
    process.stdout.write(managementCredentialsBanner(config.issuerUrl, generatedManagementClient));
}

export async function start(
  config: Config,
  logger: Logger = createLogger(config.logLevel),
  options: StartOptions = {},
): Promise<Running> {
  // The HTTP layer's modules (Fastify, every route and schema: a third of start-up) load while
  // the database is opened, migrated and bootstrapped, whose waits on the disk leave the thread idle.
  const serverModule = import("./server.js");
  serverModule.catch(() => {}); // awaited below; a failure there is the one reported
  const processes = options.processes ?? 1;
  // The hashing limits protect the machine's cores, which the processes share.
  configurePasswordHashing({
    concurrency: Math.ceil(config.passwordHashConcurrency / processes),
    queue: Math.ceil(config.passwordHashQueue / processes),
  });
  const masterKey = loadMasterKey(config, logger);
  const { secretBox } = masterKey;
  const storage = await openStorage(config.database, {
    poolSize: config.databasePoolSize,
    preparedStatements: config.databasePreparedStatements,
    logger,
  });
  if (options.setup !== false) {
    try {
      await prepareDatabase(config, logger, storage, masterKey);
    } catch (error) {
      await storage.close();
      throw error;
    }
  }
  let buildServer: typeof import("./server.js").buildServer;
  try {
    ({ buildServer } = await serverModule);
  } catch (error) {
    await storage.close();
    throw error;
  }
  const app = await buildServer({ config, storage, logger, secretBox });
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await app.close();
    await storage.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const url = `${config.tls ? "https" : "http"}://localhost:${port}`;
  logger.info(
    { url, issuer: config.issuerUrl, database: config.database.kind },
    `Latchkey is listening on ${url} (issuer ${config.issuerUrl}, ${config.database.kind})`,
  );

  // Housekeeping every ten minutes; a failure (database briefly away) waits for the next round.
  const purge = () =>
    purgeExpired(storage.db, systemClock.now(), {
      auditLogRetentionSeconds: config.auditLogRetentionDays * 86_400,
    }).then(
      (deleted) => deleted > 0 && logger.debug({ deleted }, "purged expired rows"),
      (error: unknown) => logger.warn({ err: error }, "purging expired rows failed"),
    );
  void purge();
  const purgeTimer = setInterval(purge, 10 * 60 * 1000);
  purgeTimer.unref();

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      clearInterval(purgeTimer);
      await app.close(); // stops accepting; resolves once in-flight requests have been answered
      await storage.close();
    })();
    return stopping;
  };
  return { app, storage, logger, url, stop };
}

/**
 * `latchkey start --workers N`, the cluster primary: migrates and bootstraps once, then forks N
 * workers (node:cluster) that share the listening port — the kernel's accept queue, handed out
 * round-robin by the primary — and the database, each a full Latchkey instance (all state is in
 * the database, DESIGN.md "Scale"). A worker that dies is replaced; SIGTERM/SIGINT drains every
 * worker and exits 0 once all have finished, 1 if one failed or overran the grace period.
 */
export async function startCluster(
  config: Config,
  workers: number,
  logger: Logger = createLogger(config.logLevel),
): Promise<void> {
  const masterKey = loadMasterKey(config, logger);
  const storage = await openStorage(config.database, { poolSize: 1, logger });
  try {
    await prepareDatabase(config, logger, storage, masterKey);
  } finally {
    await storage.close();
  }

  let stopping = false;
  let failed = false;
  const restarts: number[] = [];
  cluster.on("exit", (worker, code, signal) => {
    if (stopping) {
      if (code !== 0) failed = true;
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        logger.info("all workers stopped; shutdown complete");
        process.exit(failed ? 1 : 0);
      }
      return;
    }
    // A crash loop (bad configuration, database gone for good) must not fork forever.
    const now = Date.now();
    restarts.push(now);
    while (restarts.length > 0 && restarts[0]! < now - 60_000) restarts.shift();
    if (restarts.length > 5 * workers) {
      logger.fatal({ pid: worker.process.pid, code, signal }, "workers keep exiting; giving up");
      process.exit(1);
    }
    logger.error({ pid: worker.process.pid, code, signal }, "worker exited unexpectedly; starting another");
    cluster.fork();
  });
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info(
      { signal, workers: Object.keys(cluster.workers ?? {}).length },
      "shutting down: draining workers",
    );
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
    // Each worker has its own grace period; this one only catches a worker that hangs past it.
    setTimeout(() => {
      logger.error("workers did not stop in time; exiting");
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGKILL");
      process.exit(1);
    }, config.shutdownTimeoutMs + 5_000).unref();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  for (let i = 0; i < workers; i++) cluster.fork();
  logger.info({ workers, pid: process.pid }, `Latchkey primary started ${workers} workers`);
}

/** Installs SIGTERM/SIGINT handlers that drain and exit 0, or exit 1 past the grace period. */
export function exitOnSignals(running: Running, timeoutMs: number): void {
  let draining = false;
  const onSignal = (signal: NodeJS.Signals) => {
    // A repeated signal while draining: a cluster worker gets SIGTERM from its primary and often
    // from its process group too, so a second SIGTERM is ignored; a second Ctrl-C means "now".
    if (draining) {
      if (signal === "SIGINT") process.exit(1);
      return;
    }
    draining = true;
    running.logger.info({ signal, pid: process.pid }, "shutting down: finishing in-flight requests");
    const force = setTimeout(() => {
      running.logger.error({ timeoutMs }, "in-flight requests did not finish in time; exiting");
      process.exit(1);
    }, timeoutMs);
    force.unref();
    running.stop().then(
      () => {
        running.logger.info({ pid: process.pid }, "shutdown complete");
        process.exit(0);
      },
      (error: unknown) => {
        running.logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}
