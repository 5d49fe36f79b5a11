import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { purgeExpired } from "../src/storage/purge.js";
import { databaseKinds } from "./helpers/databases.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`purging expired rows (${kind})`, { skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(async () => server?.close());

    it("removes expired single-use values and counters, keeps live ones", async () => {
      const { db } = server.storage;
      const now = 1_900_000_000;
      await db
        .insertInto("rate_limits")
        .values([
          { key: "old", window_start: now - 90_000, count: 3 },
          { key: "fresh", window_start: now - 60, count: 1 },
        ])
        .execute();
      await db
        .insertInto("access_tokens")
        .values([
          {
            jti: "expired",
            client_id: "c",
            grant_id: null,
            expires_at: now - 3_601,
            revoked_at: now - 3_700,
          },
          // Expired a moment ago, but still inside verifiers' clock tolerance: its revocation must stay.
          { jti: "skew", client_id: "c", grant_id: null, expires_at: now - 1, revoked_at: now - 100 },
          { jti: "live", client_id: "c", grant_id: null, expires_at: now + 100, revoked_at: now - 100 },
        ])
        .execute();
      const code = (id: string, expires_at: number) => ({
        id,
        purpose: "verify_email" as const,
        email: "a@example.com",
        user_id: null,
        request_id: null,
        code_mac: "mac",
        created_at: now - 7_200,
        expires_at,
        consumed_at: null,
      });
      await db
        .insertInto("one_time_codes")
        .values([code("otc_old", now - 1), code("otc_live", now + 60)])
        .execute();
      assert.ok((await purgeExpired(db, now)) >= 2);
      const codes = await db.selectFrom("one_time_codes").select("id").execute();
      assert.deepEqual(
        codes.map((c) => c.id),
        ["otc_live"],
      );
      assert.deepEqual(
        (await db.selectFrom("rate_limits").select("key").execute()).map((r) => r.key),
        ["fresh"],
      );
      assert.deepEqual(
        (await db.selectFrom("access_tokens").select("jti").execute()).map((r) => r.jti).sort(),
        ["live", "skew"],
      );
    });
  });
}
