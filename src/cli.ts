#!/usr/bin/env node
// The `latchkey` command for operators.
import cluster from "node:cluster";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { ADMIN_HELP, runAdminCommand, UsageError } from "./cli/admin-commands.js";
import { CONFIG_KEYS, ConfigError, loadConfig } from "./config/config.js";
import { MasterKeyMismatchError } from "./crypto/verify-master-key.js";
import { createLogger } from "./logging.js";
import { MAIL_HELP, runMailCommand } from "./mail/mail.command.js";
import { exitOnSignals, start, startCluster } from "./main.js";
import { PACKAGE_JSON } from "./paths.js";
import { openStorage } from "./storage/database.js";
import { migrateToLatest } from "./storage/migrate.js";

const HELP = `Usage: latchkey <command> [options]

Commands:
  start            Apply pending migrations and serve Latchkey (default)
    --workers N    N processes sharing the port and the database (node:cluster); "auto" = one per core
  migrate          Apply pending database migrations and exit
${ADMIN_HELP}
${MAIL_HELP}
  help             Show this help
  version          Print the version

Configuration is read from environment variables:
${CONFIG_KEYS.map((k) => `  ${k.key.padEnd(30)} ${k.description}${k.default ? ` [${k.default}]` : ""}`).join("\n")}
`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: false,
    options: {
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
      workers: { type: "string" },
    },
  });
  const command = values.help ? "help" : values.version ? "version" : (positionals[0] ?? "start");

  switch (command) {
    case "help":
      process.stdout.write(HELP);
      return 0;
    case "version": {
      const pkg = JSON.parse(readFileSync(PACKAGE_JSON, "utf8")) as {
        version: string;
      };
      process.stdout.write(`latchkey ${pkg.version}\n`);
      return 0;
    }
    case "start": {
      const workers = parseWorkers(values.workers);
      if (workers === undefined) {
        process.stderr.write('latchkey: --workers takes a number from 1 to 256, or "auto" (one per core)\n');
        return 2;
      }
      const config = loadConfig();
      if (workers > 1 && cluster.isPrimary) {
        await startCluster(config, workers);
        return -1; // the workers serve; the primary supervises
      }
      // A cluster worker (the primary migrated and bootstrapped) or a single process.
      const running = await start(config, undefined, {
        setup: cluster.isPrimary,
        processes: workers,
      });
      exitOnSignals(running, config.shutdownTimeoutMs);
      return -1; // keep running
    }
    case "migrate": {
      const config = loadConfig();
      const logger = createLogger(config.logLevel);
      const storage = await openStorage(config.database, { logger });
      try {
        const applied = await migrateToLatest(storage.db, logger);
        logger.info(applied.length ? `applied ${applied.length} migration(s)` : "database is up to date");
      } finally {
        await storage.close();
      }
      return 0;
    }
    case "apps":
    case "apis":
    case "users":
    case "admins":
    case "keys":
      try {
        await runAdminCommand(argv);
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        process.stderr.write(`latchkey: ${error.message}\n`);
        return 2;
      }
      return 0;
    case "mail":
      try {
        return await runMailCommand(argv);
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        process.stderr.write(`latchkey: ${error.message}\n`);
        return 2;
      }
    default:
      process.stderr.write(`latchkey: unknown command "${command}"\n\n${HELP}`);
      return 2;
  }
}

/** `--workers N` or `auto` (one per core); 1 without the option; undefined when invalid. */
function parseWorkers(raw: string | boolean | undefined): number | undefined {
  if (raw === undefined) return 1;
  if (raw === "auto") return availableParallelism();
  if (typeof raw !== "string" || !/^\d+$/.test(raw)) return undefined;
  const n = Number(raw);
  return n >= 1 && n <= 256 ? n : undefined;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    // A configuration the operator must correct: the message says how; a stack would bury it.
    if (error instanceof ConfigError || error instanceof MasterKeyMismatchError) {
      process.stderr.write(`latchkey: ${error.message}\n`);
      process.exitCode = 78; // EX_CONFIG
    } else {
      process.stderr.write(
        `latchkey: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = 1;
    }
  },
);
