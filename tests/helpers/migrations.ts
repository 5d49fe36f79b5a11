// For the tests of one migration on data from before it: the database is brought to the migration
// before, rows are written the old way, then migrateToLatest runs the one under test.
import assert from "node:assert/strict";
import { Migrator } from "kysely";
import type { Db } from "../../src/storage/database.js";
import { MIGRATIONS } from "../../src/storage/migrate.js";

/** Migrates `db` up to migration `name` and no further, under Latchkey's own migration tables. */
export async function migrateUpTo(db: Db, name: string): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => MIGRATIONS },
    migrationTableName: "latchkey_migration",
    migrationLockTableName: "latchkey_migration_lock",
  });
  const { error } = await migrator.migrateTo(name);
  assert.equal(error, undefined);
}
