// The users page's hand-rolled parts: ISO timestamps worked out without a Date, and the listing's
// JSON (built without spreads, serialized from `nullable: true` schemas) against what the plain
// objects would give.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it, test } from "node:test";
import fc from "fast-check";
import { iso } from "../../src/users/users.http.js";
import { databaseKinds } from "../helpers/databases.js";
import { callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

test("iso() writes what Date#toISOString writes, for every second from 1970 to 9999 and beyond", () => {
  const second = (n: number) => new Date(n * 1000).toISOString();
  for (const n of [0, 59, 60, 3599, 3600, 86_399, 86_400, 951_782_400, 951_868_799, 1_709_164_800]) {
    assert.equal(iso(n), second(n), String(n));
  }
  // Leap days, century and 400-year rules, the last four-digit second and the first after it.
  for (const date of [
    "2000-02-29T23:59:59Z",
    "2100-02-28T12:00:00Z",
    "2100-03-01T00:00:00Z",
    "1972-12-31T23:59:59Z",
  ]) {
    const n = Date.parse(date) / 1000;
    assert.equal(iso(n), second(n), date);
  }
  assert.equal(iso(253_402_300_799), "9999-12-31T23:59:59.000Z");
  assert.equal(iso(253_402_300_800), second(253_402_300_800));
  fc.assert(
    fc.property(fc.integer({ min: -62_135_596_800, max: 8_640_000_000_000 }), (n) => iso(n) === second(n)),
    { numRuns: 20_000 },
  );
  assert.equal(iso(1.5), second(1.5));
  assert.equal(iso(null), null);
  assert.equal(iso(undefined), null);
});

for (const { kind, skip } of await databaseKinds()) {
  describe(`users page (${kind})`, { skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(async () => server?.close());

    it("lists every field, null or not, and both expansions, as the plain objects would serialize", async () => {
      const tag = randomBytes(4).toString("hex");
      const { users, db } = server.services;
      // Values that need escaping in JSON, and every nullable field filled in on one user.
      const full = await users.create({
        email: `full.${tag}@example.com`,
        username: `full_${tag}`,
        givenName: 'Quote " and \\ backslash',
        familyName: "Ünïcødé \u2028 line",
        picture: "https://example.com/p.png",
        providedId: `ext-${tag}`,
      });
      await users.store.update(full.id, {
        last_signed_in_at: 1_709_164_799,
        total_sign_ins: 3,
        is_suspended: 1,
      });
      const bare = await users.create({});
      const ids = [full.id, bare.id];
      const memberships = await db
        .selectFrom("organization_users")
        .select(["user_id", "org_code"])
        .where("user_id", "in", ids)
        .orderBy("org_code")
        .execute();
      const stored = await db.selectFrom("users").selectAll().where("id", "in", ids).orderBy("id").execute();
      const expected = (expand: boolean) =>
        stored.map((user) => ({
          id: user.id,
          provided_id: user.provided_id,
          phone: null,
          username: user.username,
          last_name: user.family_name,
          first_name: user.given_name,
          is_suspended: user.is_suspended === 1,
          picture: user.picture,
          total_sign_ins: user.total_sign_ins,
          failed_sign_ins: user.failed_sign_ins,
          last_signed_in:
            user.last_signed_in_at === null ? null : new Date(user.last_signed_in_at * 1000).toISOString(),
          created_on: new Date(user.created_at * 1000).toISOString(),
          ...(expand
            ? { organizations: memberships.filter((m) => m.user_id === user.id).map((m) => m.org_code) }
            : {}),
          email: user.email,
          ...(expand
            ? {
                identities: [
                  ...(user.email ? [{ type: "email", identity: user.email, connection_id: null }] : []),
                  ...(user.username
                    ? [{ type: "username", identity: user.username, connection_id: null }]
                    : []),
                ],
              }
            : {}),
        }));
      assert.equal(stored.find((user) => user.id === full.id)?.is_suspended, 1);

      const plain = await callApi(server, "GET", `/api/v1/users?user_id=${ids.join(",")}`);
      assert.equal(plain.status, 200, JSON.stringify(plain.body));
      assert.deepEqual(plain.body, {
        code: "OK",
        message: "Success",
        users: expected(false),
      });
      const expanded = await callApi(
        server,
        "GET",
        `/api/v1/users?user_id=${ids.join(",")}&expand=organizations,identities`,
      );
      assert.deepEqual(expanded.body, {
        code: "OK",
        message: "Success",
        users: expected(true),
      });
      assert.ok(memberships.length >= 2, "both joined the default organization");

      // Paging: the cursor is the last listed user's id, and the last page has none.
      const first = await callApi<{ users: { id: string }[]; next_token?: string }>(
        server,
        "GET",
        `/api/v1/users?user_id=${ids.join(",")}&page_size=1`,
      );
      assert.deepEqual(
        first.body.users.map((u) => u.id),
        [stored[0]!.id],
      );
      assert.ok(first.body.next_token);
      const second = await callApi<{ users: { id: string }[]; next_token?: string }>(
        server,
        "GET",
        `/api/v1/users?user_id=${ids.join(",")}&page_size=1&next_token=${first.body.next_token}`,
      );
      assert.deepEqual(
        second.body.users.map((u) => u.id),
        [stored[1]!.id],
      );
      assert.ok(!("next_token" in second.body), "the last page has no next_token (Kinde: a string)");
    });
  });
}
