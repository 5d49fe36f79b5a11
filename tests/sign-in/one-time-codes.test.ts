// One-time e-mail codes on SQLite and PostgreSQL: six digits stored only as a keyed hash, single
// use, five guesses each (counted before comparing, so parallel guesses cannot exceed them), two
// hours of life, the newest code per address and purpose the only live one, a cool-down and an
// hourly limit per address, and still valid across a master-key rotation.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { SecretBox } from "../../src/crypto/secret-box.js";
import { MAX_ATTEMPTS, MAX_CODES_PER_HOUR, OneTimeCodes } from "../../src/sign-in/one-time-codes.js";
import { openStorage, type Storage } from "../../src/storage/database.js";
import { migrateToLatest } from "../../src/storage/migrate.js";
import { databaseKinds, freshDatabase, type TestDatabase } from "../helpers/databases.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`one-time codes (${kind})`, { skip }, () => {
    let database: TestDatabase;
    let storage: Storage;
    let time = 1_900_000_000;
    const clock = { now: () => time };
    const key = randomBytes(32);
    let box: SecretBox;
    let codes: OneTimeCodes;
    let n = 0;
    /** A fresh address per test: the cool-down and hourly limit are per address. */
    const address = () => `person-${++n}-${randomBytes(3).toString("hex")}@example.com`;
    const issue = async (email: string, purpose: "verify_email" | "sign_in" = "verify_email") => {
      const issued = await codes.issue({ purpose, email });
      assert.ok("code" in issued, JSON.stringify(issued));
      return issued;
    };

    before(async () => {
      database = (await freshDatabase(kind))!;
      storage = await openStorage(database.target);
      await migrateToLatest(storage.db);
      box = new SecretBox(key);
      codes = new OneTimeCodes(storage.db, clock, box);
    });
    after(async () => {
      await storage?.close();
      await database?.drop();
    });

    it("is six digits, stored only as a keyed hash, and works once", async () => {
      const { id, code } = await issue(address());
      assert.match(code, /^\d{6}$/);
      const row = await storage.db
        .selectFrom("one_time_codes")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirstOrThrow();
      assert.ok(!JSON.stringify(row).includes(code), "the code itself is not stored");
      const first = await codes.verify(id, "verify_email", ` ${code.slice(0, 3)}-${code.slice(3)} `);
      assert.equal(first.ok, true);
      assert.deepEqual(await codes.verify(id, "verify_email", code), { ok: false, reason: "dead" });
    });

    it("takes five guesses, then refuses even the right code", async () => {
      const email = address();
      const { id, code } = await issue(email);
      const wrong = code === "000000" ? "111111" : "000000";
      for (let left = MAX_ATTEMPTS - 1; left > 0; left--)
        assert.deepEqual(await codes.verify(id, "verify_email", wrong), {
          ok: false,
          reason: "wrong",
          attemptsLeft: left,
          email,
          // The account the code was for (the authentication log names it); none for a sign-up.
          userId: null,
        });
      assert.deepEqual(await codes.verify(id, "verify_email", wrong), { ok: false, reason: "dead" });
      assert.deepEqual(await codes.verify(id, "verify_email", code), { ok: false, reason: "dead" });
    });

    it("counts parallel guesses: twenty at once evaluate at most five", async () => {
      const { id, code } = await issue(address());
      const guesses = Array.from({ length: 20 }, (_, i) =>
        String((Number(code) + 1 + i) % 1_000_000).padStart(6, "0"),
      );
      const results = await Promise.all(guesses.map((g) => codes.verify(id, "verify_email", g)));
      assert.equal(results.filter((r) => !r.ok && r.reason === "wrong").length, MAX_ATTEMPTS - 1);
      assert.deepEqual(await codes.verify(id, "verify_email", code), { ok: false, reason: "dead" });
    });

    it("lets exactly one of two parallel right answers win", async () => {
      const { id, code } = await issue(address());
      const results = await Promise.all([
        codes.verify(id, "verify_email", code),
        codes.verify(id, "verify_email", code),
      ]);
      assert.equal(results.filter((r) => r.ok).length, 1);
    });

    it("expires after two hours and answers only for its own purpose", async () => {
      const { id, code } = await issue(address(), "sign_in");
      assert.deepEqual(await codes.verify(id, "verify_email", code), { ok: false, reason: "dead" });
      time += 2 * 60 * 60;
      assert.deepEqual(await codes.verify(id, "sign_in", code), { ok: false, reason: "dead" });
    });

    it("keeps only the newest code alive, with a cool-down and an hourly limit per address", async () => {
      const email = address();
      const first = await issue(email);
      const again = await codes.issue({ purpose: "verify_email", email });
      assert.ok(
        "refused" in again && again.refused === "cool_down" && again.retryAfter > 0,
        JSON.stringify(again),
      );
      time += 61;
      const second = await issue(email);
      assert.deepEqual(await codes.verify(first.id, "verify_email", first.code), {
        ok: false,
        reason: "dead",
      });
      for (let i = 2; i < MAX_CODES_PER_HOUR; i++) {
        time += 61;
        await issue(email);
      }
      time += 61;
      const capped = await codes.issue({ purpose: "verify_email", email });
      assert.ok("refused" in capped && capped.refused === "hourly_limit", JSON.stringify(capped));
      assert.equal((await codes.verify(second.id, "verify_email", second.code)).ok, false, "replaced since");
      time += 60 * 60;
      await issue(email);
    });

    it("stays valid while the master key rotates (the old key kept as previous)", async () => {
      const { id, code } = await issue(address());
      const rotated = new OneTimeCodes(storage.db, clock, new SecretBox(randomBytes(32), [key]));
      assert.equal((await rotated.verify(id, "verify_email", code)).ok, true);
    });

    it("counts malformed input as guesses and never accepts it", async () => {
      const { id, code } = await issue(address());
      assert.deepEqual(await codes.verify(`${id}x`.repeat(20), "verify_email", code), {
        ok: false,
        reason: "dead",
      });
      for (const typed of ["", "12345", "1234567", "abcdef", "x".repeat(10_000)])
        assert.equal((await codes.verify(id, "verify_email", typed)).ok, false);
      assert.deepEqual(await codes.verify(id, "verify_email", code), { ok: false, reason: "dead" });
    });
  });
}
