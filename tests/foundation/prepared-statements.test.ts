// src/storage/prepared.ts: a statement compiled once per dialect, its values put in at each
// execution, and sent to PostgreSQL as a named statement that each connection parses once.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, describe, it } from "node:test";
import { sql } from "kysely";
import { startsWith } from "../../src/management/listing.js";
import { openStorage, type Storage } from "../../src/storage/database.js";
import { migrateToLatest } from "../../src/storage/migrate.js";
import { prepared } from "../../src/storage/prepared.js";
import { databaseKinds, freshDatabase, type TestDatabase } from "../helpers/databases.js";

const cleanup: (() => Promise<void>)[] = [];
after(async () => {
  for (const step of cleanup.reverse()) await step();
});

async function storageOf(kind: "sqlite" | "postgres", poolSize = 1): Promise<Storage> {
  const database = (await freshDatabase(kind)) as TestDatabase;
  const storage = await openStorage(database.target, { poolSize });
  cleanup.push(
    () => database.drop(),
    () => storage.close(),
  );
  await migrateToLatest(storage.db);
  return storage;
}

const FEATURE_FLAG = prepared("test_feature_flag", (db, values: { key: string; name: string }) =>
  db
    .insertInto("feature_flags")
    .values({
      id: sql<string>`${values.key} || '_id'`,
      key: values.key,
      name: values.name,
      description: null,
      type: "bool",
      allow_override_level: "env",
      default_value: "false",
      environment_value: null,
      created_at: 1,
      updated_at: 1,
    })
    .returning(["id", "key", "name"]),
);

for (const { kind, skip } of await databaseKinds()) {
  describe(`prepared statements (${kind})`, { skip }, () => {
    it("puts each execution's values in place of the placeholders, constants stay", async () => {
      const { db } = await storageOf(kind);
      const first = await FEATURE_FLAG.first(db, { key: "alpha", name: "Alpha" });
      const second = await FEATURE_FLAG.first(db, { key: "beta", name: 'It\'s "Beta"' });
      assert.deepEqual(first, { id: "alpha_id", key: "alpha", name: "Alpha" });
      assert.deepEqual(second, { id: "beta_id", key: "beta", name: 'It\'s "Beta"' });
      const stored = await db.selectFrom("feature_flags").select(["key", "type"]).orderBy("key").execute();
      assert.deepEqual(stored, [
        { key: "alpha", type: "bool" },
        { key: "beta", type: "bool" },
      ]);
    });

    it("refuses a builder that used a value without making it a parameter", async () => {
      const { db } = await storageOf(kind);
      // The value is turned into a constant of the statement: every later execution would use the
      // first one's.
      const dropping = prepared("test_dropping", (db, values: { id: string }) =>
        db.selectFrom("users").select("id").where("id", "=", `kp_${values.id}`),
      );
      await assert.rejects(dropping.rows(db, { id: "kp_x" }), /test_dropping: id did not become parameters/);
    });
  });
}

describe("prepared statements on PostgreSQL", { skip: (await databaseKinds())[1]?.skip }, () => {
  it("are parsed once per connection, under their name", async () => {
    const { db } = await storageOf("postgres", 1);
    for (let i = 0; i < 3; i++) await FEATURE_FLAG.first(db, { key: `flag_${i}`, name: `Flag ${i}` });
    // The pool has one connection: this read runs on the connection that ran the inserts.
    const { rows } = await sql<{ name: string; generic_plans: number; custom_plans: number }>`
      select name, generic_plans, custom_plans from pg_prepared_statements where name like '%test_feature_flag'
    `.execute(db);
    assert.equal(rows.length, 1, "one named statement, prepared once");
    assert.equal(Number(rows[0]!.generic_plans) + Number(rows[0]!.custom_plans), 3, "run three times");
  });

  it("names any other statement with parameters once its text has run five times", async () => {
    const { db } = await storageOf("postgres", 1);
    /** Statements of this test only: the names are the process's, shared by every test in it. */
    const named = async (marker: string) =>
      (
        await sql<{ name: string; statement: string }>`
          select name, statement from pg_prepared_statements where statement like ${`%${marker}%`}
        `.execute(db)
      ).rows;
    const counted = () =>
      db.selectFrom("users").select(["id", "email"]).where("email", "=", "auto-named@example.com");
    for (let i = 0; i < 4; i++) await counted().execute();
    assert.deepEqual(await named('"email" = $1'), [], "not before the fifth time");
    for (let i = 0; i < 2; i++) await counted().execute();
    const [statement] = await named('"email" = $1');
    // Named by its text: the same statement has the same name in every instance.
    const digest = createHash("sha256")
      .update(statement?.statement ?? "")
      .digest("hex")
      .slice(0, 20);
    assert.equal(statement?.name, `latchkey_${digest}_auto`);

    const sixTimes = async (run: () => Promise<unknown>) => {
      for (let i = 0; i < 6; i++) await run();
    };
    // Its result would change with a newer instance's migration: never named.
    await sixTimes(() => db.selectFrom("feature_flags").selectAll().where("key", "=", "star").execute());
    await sixTimes(() =>
      db.selectFrom("feature_flags").select("name").selectAll().where("id", "=", "star").execute(),
    );
    assert.deepEqual(await named('"key" = $1'), []);
    assert.deepEqual(await named('"id" = $1'), []);
    // Without parameters (BEGIN, COMMIT, DDL): never named.
    await sixTimes(() => sql`select 'no-parameters-auto' as marker`.execute(db));
    assert.deepEqual(await named("no-parameters-auto"), []);
    // A prefix range is planned for each prefix (one matches a row, another half the table).
    await sixTimes(() =>
      db
        .selectFrom("users")
        .select("id")
        .where((eb) => startsWith(true, eb.ref("users.username"), "prefix-auto"))
        .execute(),
    );
    assert.deepEqual(await named('"username"'), []);
  });

  it("sends a statement unnamed once a migration changed a column it returns", async () => {
    const { db } = await storageOf("postgres", 1);
    await sql`create table changing_auto (id text primary key, v varchar(10))`.execute(db);
    await sql`insert into changing_auto values ('a', 'before')`.execute(db);
    const read = () => sql<{ v: string }>`select v from changing_auto where id = ${"a"}`.execute(db);
    for (let i = 0; i < 6; i++) assert.equal((await read()).rows[0]?.v, "before");
    const [{ count }] = (
      await sql<{ count: number }>`
        select count(*)::int as count from pg_prepared_statements where statement like '%changing_auto%'
      `.execute(db)
    ).rows as [{ count: number }];
    assert.equal(count, 1, "named by now");
    // Its result type changes: the named statement would fail with 0A000 on every execution.
    await sql`alter table changing_auto alter column v type varchar(20)`.execute(db);
    await sql`update changing_auto set v = 'after'`.execute(db);
    for (let i = 0; i < 3; i++) assert.equal((await read()).rows[0]?.v, "after");
  });
});

describe("prepared statements name their columns", () => {
  it("refuses * (a column added by a newer instance's migration would break the named statement)", async () => {
    const { db } = await storageOf("sqlite");
    const everything = prepared("test_star", (db, values: { id: string }) =>
      db.selectFrom("users").selectAll().where("id", "=", values.id),
    );
    await assert.rejects(everything.rows(db, { id: "kp_x" }), /test_star: name the columns instead of \*/);
    const returningEverything = prepared("test_returning_star", (db, values: { id: string }) =>
      db.updateTable("users").set({ updated_at: 2 }).where("id", "=", values.id).returningAll(),
    );
    await assert.rejects(
      returningEverything.rows(db, { id: "kp_x" }),
      /test_returning_star: name the columns/,
    );
    const template = prepared(
      "test_template_star",
      (_db, values: { id: string }) => sql`select distinct * from users where id = ${values.id}`,
    );
    await assert.rejects(template.rows(db, { id: "kp_x" }), /test_template_star: name the columns/);
    // A subquery's * does not fix the statement's result type.
    const exists = prepared("test_exists_star", (db, values: { id: string }) =>
      db
        .selectFrom("users as u")
        .select("u.id")
        .where(({ exists, selectFrom }) =>
          exists(selectFrom("users").selectAll().where("id", "=", values.id)),
        ),
    );
    assert.deepEqual(await exists.rows(db, { id: "kp_x" }), []);
  });
});

describe("a prepared statement the server lost", { skip: (await databaseKinds())[1]?.skip }, () => {
  it("is sent again (a pooler's DISCARD ALL, a swapped server connection)", async () => {
    const { db } = await storageOf("postgres", 1);
    await FEATURE_FLAG.first(db, { key: "before", name: "Before" });
    // pg still believes the statement is parsed on this connection; the server has forgotten it.
    await sql`deallocate all`.execute(db);
    const after = await FEATURE_FLAG.first(db, { key: "after", name: "After" });
    assert.equal(after?.key, "after");
    const again = await FEATURE_FLAG.first(db, { key: "again", name: "Again" });
    assert.equal(again?.key, "again");
    const { rows } = await sql<{ name: string }>`
      select name from pg_prepared_statements where name like '%test_feature_flag'
    `.execute(db);
    assert.equal(rows.length, 1, "prepared again under its name");
  });
});

describe("DATABASE_PREPARED_STATEMENTS=false (a pooler that cannot keep them)", {
  skip: (await databaseKinds())[1]?.skip,
}, () => {
  it("sends the same statements unnamed", async () => {
    const database = (await freshDatabase("postgres")) as TestDatabase;
    const storage = await openStorage(database.target, { poolSize: 1, preparedStatements: false });
    cleanup.push(
      () => database.drop(),
      () => storage.close(),
    );
    await migrateToLatest(storage.db);
    const flag = await FEATURE_FLAG.first(storage.db, { key: "unnamed", name: "Unnamed" });
    assert.equal(flag?.key, "unnamed");
    const { rows } = await sql<{ name: string }>`select name from pg_prepared_statements`.execute(storage.db);
    assert.deepEqual(rows, []);
  });
});
