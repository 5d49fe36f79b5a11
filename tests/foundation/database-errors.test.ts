// What the database's refusals mean to a caller (isDatabaseUnavailable: answered 503, worth a
// retry, never a 500). A real deadlock on PostgreSQL: two transactions moving the same two users'
// claims versions (migration 0045) in opposite orders, as two concurrent multi-statement writes
// can; PostgreSQL breaks it by refusing one side with 40P01.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sql } from "kysely";
import { createLogger } from "../../src/logging.js";
import { isDatabaseUnavailable, openStorage } from "../../src/storage/database.js";
import { migrateToLatest } from "../../src/storage/migrate.js";
import { databaseKinds, postgresDatabase } from "../helpers/databases.js";

describe("database refusals worth a retry", () => {
  it("a deadlock or a serialization failure is 'unavailable', a constraint violation is not", () => {
    const failure = (code: string) => Object.assign(new Error(code), { code });
    assert.equal(isDatabaseUnavailable(failure("40P01")), true);
    assert.equal(isDatabaseUnavailable(failure("40001")), true);
    assert.equal(isDatabaseUnavailable(failure("23505")), false);
  });
});

for (const { kind, skip } of await databaseKinds()) {
  if (kind !== "postgres") continue;
  describe("a deadlock on PostgreSQL", { skip }, () => {
    it("two transactions bumping the same users in opposite orders", async () => {
      const database = await postgresDatabase();
      assert.equal(database?.target.kind, "postgres");
      if (database?.target.kind !== "postgres") return;
      const storage = await openStorage(database.target, { poolSize: 3 });
      try {
        await migrateToLatest(storage.db, createLogger("warn"));
        const bump = (userId: string) =>
          sql`insert into user_claims_versions (user_id, version) values (${userId}, 1)
          on conflict (user_id) do update set version = user_claims_versions.version + 1`;
        await bump("a").execute(storage.db);
        await bump("b").execute(storage.db);
        let firstLocked!: () => void;
        const locked = [new Promise<void>((resolve) => (firstLocked = resolve))];
        let secondLocked!: () => void;
        locked.push(new Promise<void>((resolve) => (secondLocked = resolve)));
        const both = locked[0]!.then(() => locked[1]);
        const outcomes = await Promise.allSettled(
          [
            ["a", "b", firstLocked],
            ["b", "a", secondLocked],
          ].map(([first, second, done]) =>
            storage.db.transaction().execute(async (trx) => {
              await bump(first as string).execute(trx);
              (done as () => void)();
              await both;
              await bump(second as string).execute(trx);
            }),
          ),
        );
        const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
        assert.equal(refused.length, 1, JSON.stringify(outcomes));
        assert.equal((refused[0]!.reason as { code?: string }).code, "40P01");
        assert.equal(isDatabaseUnavailable(refused[0]!.reason), true);
      } finally {
        await storage.close();
        await database.drop();
      }
    });
  });
}
