// The query plans of the dashboard's user list at 100 000 users (docs/performance.md): loads them
// into a fresh SQLite and PostgreSQL database and prints EXPLAIN for the first page, a deep page, a
// prefix search and the counts. Run: npx tsx bench/explain-lists.ts
import { sql } from "kysely";
import { openStorage } from "../src/storage/database.js";
import { migrateToLatest } from "../src/storage/migrate.js";
import { UsersStore } from "../src/users/users.store.js";
import { bulkLoadUsers } from "../tests/helpers/bulk-users.js";
import { postgresDatabase, sqliteDatabase } from "../tests/helpers/databases.js";

for (const make of [sqliteDatabase, postgresDatabase]) {
  const database = (await make())!;
  const storage = await openStorage(database.target);
  await migrateToLatest(storage.db);
  await bulkLoadUsers(storage.db, 100_000);
  const store = new UsersStore(storage.db);
  const db = storage.db;
  const pg = database.target.kind === "postgres";
  const explain = async (label: string, built: { sql: string; parameters: readonly unknown[] }) => {
    const text = (pg ? "explain " : "explain query plan ") + built.sql;
    const { rows } = await db.executeQuery({
      sql: text,
      parameters: built.parameters,
      query: { kind: "RawNode" } as never,
    } as never);
    console.log(`\n### ${database.target.kind}: ${label}\n\n${built.sql}\n`);
    for (const row of rows as Record<string, unknown>[])
      console.log(pg ? row["QUERY PLAN"] : `${row.id} ${row.parent} ${row.detail}`);
  };
  const first = db
    .selectFrom("users")
    .select(["id", "created_at"])
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .limit(26)
    .compile();
  await explain("first page, newest first", first);
  const deep = db
    .selectFrom("users")
    .select(["id"])
    .where((eb) => eb(eb.refTuple("created_at", "id"), "<", eb.tuple(1_600_020_000, "kp_8")))
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .limit(26)
    .compile();
  await explain("a deep page (keyset)", deep);
  const search = store["filtered"](db.selectFrom("users").select(["id"]), { startsWith: "grace.h" })
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .limit(26)
    .compile();
  await explain("prefix search 'grace.h', newest first", search);
  const count = store["filtered"](db.selectFrom("users").select("id"), { startsWith: "grace.h" })
    .limit(1001)
    .compile();
  await explain("prefix search count (capped)", count);
  if (!pg) {
    // What SQLite runs first for a prefix search in creation order (UsersStore.probe).
    const window = db
      .selectFrom("users")
      .select(["id", "email", "username", "given_name", "family_name", "created_at"])
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(5000)
      .as("users");
    const probe = store["filtered"](db.selectFrom(window).selectAll(), { startsWith: "ada" })
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(26)
      .compile();
    await explain("prefix search 'ada': the probe of the newest 5 000", probe);
  }
  if (!pg) await explain("count", sql`select count(*) as n from users`.compile(db));
  await storage.close();
  await database.drop();
}
