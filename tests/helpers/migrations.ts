// For the tests of one migration on data from before it: the database is brought to the migration
// before, rows are written the old way, then migrateToLatest runs the one under test.
import assert from "node:assert/strict";
import { Migrator } from "kysely";
import type { Db } from "../../src/storage/database.js";
import { MIGRATIONS } from "../../src/storage/migrate.js";
import type { ApplicationType } from "../../src/storage/schema.js";

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

/** What every installation has, written the old way: the business row and the Management API at `issuer`. */
export async function insertInstallation(db: Db, issuer: string): Promise<void> {
  await db
    .insertInto("business")
    .values({ id: "bus_1", name: "Latchkey", created_at: 1, updated_at: 1 })
    .execute();
  await db
    .insertInto("apis")
    .values({
      id: "api_1",
      name: "Management",
      audience: `${issuer}/api`,
      is_management_api: 1,
      created_at: 1,
    })
    .execute();
}

/** An application row written the old way (the columns every migration since 0001 leaves it). */
export async function insertApplication(
  db: Db,
  application: { id: string; name: string; type: ApplicationType; createdAt: number },
): Promise<void> {
  await db
    .insertInto("applications")
    .values({
      id: application.id,
      name: application.name,
      type: application.type,
      client_secret_sealed: null,
      access_token_lifetime: 86_400,
      refresh_token_lifetime: 1_296_000,
      id_token_lifetime: 3_600,
      created_at: application.createdAt,
      updated_at: application.createdAt,
      org_code: null,
    })
    .execute();
}
