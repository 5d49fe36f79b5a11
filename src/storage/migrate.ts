// Numbered, forward-only migrations, applied at start and by `latchkey migrate`. On PostgreSQL,
// Kysely's migrator holds an advisory lock while it runs, so instances starting together migrate
// once; the others wait and then find nothing left to do.
import { type Migration, Migrator } from "kysely";
import type { Logger } from "pino";
import type { Db } from "./database.js";
import * as m0001 from "./migrations/0001_foundation.js";
import * as m0002 from "./migrations/0002_oauth.js";
import * as m0003 from "./migrations/0003_management.js";
import * as m0004 from "./migrations/0004_business.js";
import * as m0005 from "./migrations/0005_audit_log.js";
import * as m0006 from "./migrations/0006_connected_apps.js";
import * as m0007 from "./migrations/0007_idempotency_sealed.js";
import * as m0008 from "./migrations/0008_connected_app_lock_owner.js";
import * as m0009 from "./migrations/0009_config_generation.js";
import * as m0010 from "./migrations/0010_organizations.js";
import * as m0011 from "./migrations/0011_organization_connections.js";
import * as m0012 from "./migrations/0012_application_org_code.js";

/** Append only: a released migration is never edited, renamed or removed. */
export const MIGRATIONS: Record<string, Migration> = {
  "0001_foundation": m0001,
  "0002_oauth": m0002,
  "0003_management": m0003,
  "0004_business": m0004,
  "0005_audit_log": m0005,
  "0006_connected_apps": m0006,
  "0007_idempotency_sealed": m0007,
  "0008_connected_app_lock_owner": m0008,
  "0009_config_generation": m0009,
  "0010_organizations": m0010,
  "0011_organization_connections": m0011,
  "0012_application_org_code": m0012,
};

export async function migrateToLatest(db: Db, logger?: Logger): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => MIGRATIONS },
    migrationTableName: "latchkey_migration",
    migrationLockTableName: "latchkey_migration_lock",
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  const applied: string[] = [];
  for (const result of results) {
    if (result.status === "Success") {
      applied.push(result.migrationName);
      logger?.info({ migration: result.migrationName }, "applied migration");
    } else if (result.status === "Error") {
      logger?.error({ migration: result.migrationName }, "migration failed; its changes were rolled back");
    }
  }
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return applied;
}
