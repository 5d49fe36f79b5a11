import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { Migrator, sql } from "kysely";
import { type Db, openStorage } from "../../src/storage/database.js";
import { MIGRATIONS, migrateToLatest } from "../../src/storage/migrate.js";
import { databaseKinds, postgresDatabase, sqliteDatabase, type TestDatabase } from "../helpers/databases.js";

const kinds = await databaseKinds();
const postgresSkip = kinds.find((k) => k.kind === "postgres")!.skip;
const cleanup: TestDatabase[] = [];
after(async () => {
  for (const database of cleanup) await database.drop();
});

interface SchemaShape {
  tables: Record<string, Record<string, { type: string; nullable: boolean; hasDefault: boolean }>>;
  indexes: Record<string, { table: string; unique: boolean; columns: string[] }>;
}

// Dialect spellings of the same logical type.
const TYPE_ALIASES: Record<string, string> = {
  int8: "bigint",
  int4: "integer",
  int: "integer",
  varchar: "text",
  // Binary data (logos, migration 0034): PostgreSQL's bytea is SQLite's blob.
  bytea: "blob",
};

function normalizeType(dataType: string): string {
  const base = dataType.toLowerCase().replace(/\(.*\)$/, "");
  return TYPE_ALIASES[base] ?? base;
}

async function describeSchema(db: Db, dialect: "sqlite" | "postgres"): Promise<SchemaShape> {
  const shape: SchemaShape = { tables: {}, indexes: {} };
  for (const table of await db.introspection.getTables({ withInternalKyselyTables: true })) {
    shape.tables[table.name] = Object.fromEntries(
      table.columns.map((c) => [
        c.name,
        {
          type: normalizeType(c.dataType),
          nullable: c.isNullable,
          hasDefault: c.hasDefaultValue,
        },
      ]),
    );
  }
  if (dialect === "sqlite") {
    const { rows } = await sql<{ name: string; tbl_name: string }>`
      select name, tbl_name from sqlite_master where type = 'index' and sql is not null`.execute(db);
    for (const row of rows) {
      const info = await sql<{
        name: string | null;
      }>`select name from pragma_index_info(${row.name}) order by seqno`.execute(db);
      const list = await sql<{
        name: string;
        unique: number;
      }>`select name, "unique" from pragma_index_list(${row.tbl_name})`.execute(db);
      shape.indexes[row.name] = {
        table: row.tbl_name,
        unique: list.rows.find((i) => i.name === row.name)?.unique === 1,
        // An expression (lower(name)) has no column name.
        columns: info.rows.map((c) => c.name ?? EXPRESSION),
      };
    }
  } else {
    const { rows } = await sql<{
      index: string;
      table: string;
      unique: boolean;
      columns: string[];
      primary: boolean;
    }>`
      select i.relname as index, t.relname as table, ix.indisunique as unique,
             ix.indisprimary or exists (select 1 from pg_constraint c where c.conindid = ix.indexrelid) as primary,
             array(select coalesce(a.attname::text, ${EXPRESSION}) from unnest(ix.indkey) with ordinality k(attnum, n)
                   left join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum order by k.n) as columns
      from pg_index ix join pg_class i on i.oid = ix.indexrelid join pg_class t on t.oid = ix.indrelid
      join pg_namespace ns on ns.oid = t.relnamespace where ns.nspname = 'public'`.execute(db);
    // Primary keys and UNIQUE constraints (named or not) are implicit indexes in SQLite (sql is
    // null): compare only explicitly created indexes.
    for (const row of rows.filter(
      (r) =>
        !r.primary &&
        !r.index.endsWith("_key") &&
        !r.index.endsWith("_pkey") &&
        !(r.index in POSTGRES_ONLY_INDEXES),
    )) {
      shape.indexes[row.index] = { table: row.table, unique: row.unique, columns: row.columns };
    }
  }
  return shape;
}

/** How an index column that is an expression (lower(name)) is named on both databases. */
const EXPRESSION = "(expression)";

/**
 * Indexes only PostgreSQL needs, with the reason: SQLite's own indexes already answer the query
 * there (migration 0035: on SQLite, text order is byte order, so the unique e-mail and username
 * indexes serve a prefix range; PostgreSQL's collation is not byte order, hence COLLATE "C" ones).
 */
const POSTGRES_ONLY_INDEXES: Record<string, string> = {
  users_email_prefix: 'prefix search over e-mail in byte order (COLLATE "C")',
  users_username_prefix: 'prefix search over usernames in byte order (COLLATE "C")',
};

describe("migrations", () => {
  it("apply on SQLite, and a second run applies nothing", async () => {
    const database = sqliteDatabase();
    cleanup.push(database);
    const storage = await openStorage(database.target);
    try {
      assert.deepEqual(await migrateToLatest(storage.db), Object.keys(MIGRATIONS));
      assert.deepEqual(await migrateToLatest(storage.db), []);
    } finally {
      await storage.close();
    }
  });

  it("a migration that fails part-way leaves nothing behind on SQLite, so the next start can retry it", async () => {
    const database = sqliteDatabase();
    cleanup.push(database);
    const storage = await openStorage(database.target);
    try {
      const failing = new Migrator({
        db: storage.db,
        provider: {
          getMigrations: async () => ({
            ...MIGRATIONS,
            "9999_fails_half_way": {
              async up(db) {
                await db.schema.createTable("half_done").addColumn("id", "text").execute();
                throw new Error("crashed half-way");
              },
            },
          }),
        },
        migrationTableName: "latchkey_migration",
        migrationLockTableName: "latchkey_migration_lock",
      });
      const { error } = await failing.migrateToLatest();
      assert.match(String(error), /crashed half-way/);
      const tables = (await storage.db.introspection.getTables()).map((t) => t.name);
      assert.ok(!tables.includes("half_done"), "the failed migration's table was rolled back");
      // The batch is one transaction: the migrations before it are retried whole too.
      assert.deepEqual(await migrateToLatest(storage.db), Object.keys(MIGRATIONS));
    } finally {
      await storage.close();
    }
  });

  it("build the same schema on SQLite and PostgreSQL", { skip: postgresSkip }, async () => {
    const sqliteDb = sqliteDatabase();
    const postgresDb = (await postgresDatabase())!;
    cleanup.push(sqliteDb, postgresDb);
    const sqliteStorage = await openStorage(sqliteDb.target);
    const postgresStorage = await openStorage(postgresDb.target);
    try {
      await migrateToLatest(sqliteStorage.db);
      await migrateToLatest(postgresStorage.db);
      const fromSqlite = await describeSchema(sqliteStorage.db, "sqlite");
      const fromPostgres = await describeSchema(postgresStorage.db, "postgres");
      assert.ok(Object.keys(fromSqlite.tables).includes("business"));
      assert.deepEqual(fromPostgres, fromSqlite);
    } finally {
      await sqliteStorage.close();
      await postgresStorage.close();
    }
  });

  it("run once when several PostgreSQL instances start together", { skip: postgresSkip }, async () => {
    const database = (await postgresDatabase())!;
    cleanup.push(database);
    const instances = await Promise.all(Array.from({ length: 4 }, () => openStorage(database.target)));
    try {
      const applied = await Promise.all(instances.map((s) => migrateToLatest(s.db)));
      // Exactly one instance applied each migration; the others found the work done.
      assert.deepEqual(applied.flat().sort(), Object.keys(MIGRATIONS).sort());
      const { rows } = await sql<{ name: string }>`select name from latchkey_migration`.execute(
        instances[0]!.db,
      );
      assert.deepEqual(rows.map((r) => r.name).sort(), Object.keys(MIGRATIONS).sort());
    } finally {
      await Promise.all(instances.map((s) => s.close()));
    }
  });
});
