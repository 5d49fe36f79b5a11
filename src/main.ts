// Process entry: config → logger → database → migrations → server → listen, and a graceful
// shutdown on SIGTERM/SIGINT: stop accepting, let in-flight requests finish, close the database.
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { bootstrap, managementCredentialsBanner } from "./bootstrap.js";
import { systemClock } from "./clock.js";
import type { Config } from "./config/config.js";
import { loadSecretBox } from "./crypto/master-key.js";
import { createLogger } from "./logging.js";
import { buildServer } from "./server.js";
import { openStorage, type Storage } from "./storage/database.js";
import { migrateToLatest } from "./storage/migrate.js";
import { purgeExpired } from "./storage/purge.js";

export interface Running {
  app: FastifyInstance;
  storage: Storage;
  logger: Logger;
  url: string;
  stop(): Promise<void>;
}

export async function start(
  config: Config,
  logger: Logger = createLogger(config.logLevel),
): Promise<Running> {
  const secretBox = loadSecretBox(config, logger);
  const storage = await openStorage(config.database, { poolSize: config.databasePoolSize, logger });
  try {
    await migrateToLatest(storage.db, logger);
    const { generatedManagementClient } = await bootstrap(storage, secretBox, config);
    // Printed to the terminal, deliberately not through the logger: secrets never reach logs.
    if (generatedManagementClient)
      process.stdout.write(managementCredentialsBanner(config.issuerUrl, generatedManagementClient));
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
    purgeExpired(storage.db, systemClock.now()).then(
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

/** Installs SIGTERM/SIGINT handlers that drain and exit 0, or exit 1 past the grace period. */
export function exitOnSignals(running: Running, timeoutMs: number): void {
  const onSignal = (signal: NodeJS.Signals) => {
    running.logger.info({ signal }, "shutting down: finishing in-flight requests");
    const force = setTimeout(() => {
      running.logger.error({ timeoutMs }, "in-flight requests did not finish in time; exiting");
      process.exit(1);
    }, timeoutMs);
    force.unref();
    running.stop().then(
      () => {
        running.logger.info("shutdown complete");
        process.exit(0);
      },
      (error: unknown) => {
        running.logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
}
