// Issue 20, "lists that hold up at 100 000 users": with 100 000 users loaded, GET /api/v1/users
// answers the dashboard's first page (newest first), a deep page, prefix searches and the count
// correctly — right rows, right order, right count — on SQLite and PostgreSQL. How fast is the
// bench's business (bench/lists.ts, budget in docs/performance.md), never timed here.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { encodeCursor } from "../../src/management/schemas.js";
import { type BulkUser, bulkLoadUsers, bulkUser } from "../helpers/bulk-users.js";
import { databaseKinds } from "../helpers/databases.js";
import { callApi, managementToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const USERS = 100_000;

interface Page {
  users: { id: string; email: string | null; first_name: string | null; created_on: string | null }[];
  next_token?: string;
  total_count?: number;
  total_count_accuracy?: "exact" | "estimate" | "at_least";
}

const newestFirst = (a: BulkUser, b: BulkUser) =>
  b.created_at - a.created_at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/** The model of the prefix match (users.store.ts matchingPrefix), in JavaScript. */
function matches(user: BulkUser, prefix: string): boolean {
  const p = prefix.toLowerCase();
  const fields = [user.email, user.username, user.given_name?.toLowerCase(), user.family_name?.toLowerCase()];
  if (fields.some((f) => f?.startsWith(p))) return true;
  const space = p.indexOf(" ");
  if (space <= 0) return false;
  const family = p.slice(space + 1).trimStart();
  return (
    family !== "" &&
    (user.given_name?.toLowerCase().startsWith(p.slice(0, space)) ?? false) &&
    (user.family_name?.toLowerCase().startsWith(family) ?? false)
  );
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`users list at 100 000 users (${kind})`, { skip }, () => {
    let server: TestServer;
    let token: string;
    let model: BulkUser[];
    const list = async (query: Record<string, string>) => {
      const response = await callApi<Page>(server, "GET", `/api/v1/users?${new URLSearchParams(query)}`, {
        token,
      });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      return response.body;
    };
    const ids = (users: readonly { id: string }[]) => users.map((u) => u.id);

    before(async () => {
      server = await startTestServer(kind);
      token = await managementToken(server);
      const existing = await server.storage.db
        .selectFrom("users")
        .select(["id", "email", "username", "given_name", "family_name", "created_at"])
        .execute();
      const started = Date.now();
      await bulkLoadUsers(server.storage.db, USERS);
      process.stderr.write(`  loaded ${USERS} users into ${kind} in ${Date.now() - started} ms\n`);
      model = [
        ...existing.map((u) => ({ ...u, email: u.email ?? "" })),
        ...Array.from({ length: USERS }, (_, i) => bulkUser(i)),
      ];
      model.sort(newestFirst);
    });
    after(async () => server?.close());

    it("answers the first page newest first, the next pages by next_token, and a deep page", async () => {
      const first = await list({ sort: "created_on_desc", page_size: "50" });
      assert.deepEqual(ids(first.users), ids(model.slice(0, 50)));
      assert.ok(first.next_token);
      const second = await list({ sort: "created_on_desc", page_size: "50", next_token: first.next_token });
      assert.deepEqual(ids(second.users), ids(model.slice(50, 100)));
      // Three users share each second: the id breaks the tie, so a page boundary inside a second
      // neither repeats nor skips anyone.
      assert.equal(model[49]!.created_at, model[50]!.created_at);
      const deep = model[59_999]!;
      const far = await list({
        sort: "created_on_desc",
        page_size: "100",
        next_token: encodeCursor({ at: deep.created_at, id: deep.id }),
      });
      assert.deepEqual(ids(far.users), ids(model.slice(60_000, 60_100)));
      const oldest = await list({ sort: "created_on_asc", page_size: "20" });
      assert.deepEqual(ids(oldest.users), ids(model.slice(-20).reverse()));
      // Without the extension the order is Kinde's, by id.
      const kinde = await list({ page_size: "20" });
      assert.deepEqual(
        ids(kinde.users),
        model
          .map((u) => u.id)
          .sort()
          .slice(0, 20),
      );
    });

    it("finds users by the start of their e-mail, username, first or last name, newest first", async () => {
      const someone = bulkUser(77_777);
      for (const prefix of [
        "grace.hopper.12", // an e-mail address: grace.hopper.12, .120-.129, .1200-.1299 …
        someone.username!.slice(0, 7), // a username
        "LISKOV", // a last name, in another letter case
        "Zoë", // a first name that is not ASCII (lower() leaves ë alone on both databases)
        "radia perl", // first and last name
        "nobody-starts-like-this",
        "100%_\\", // LIKE's wildcards are plain characters in a range
      ]) {
        const expected = model.filter((u) => matches(u, prefix));
        const page = await list({
          sort: "created_on_desc",
          page_size: "25",
          starts_with: prefix,
          include_count: "true",
        });
        assert.deepEqual(ids(page.users), ids(expected.slice(0, 25)), prefix);
        if (expected.length > 1000) {
          assert.equal(page.total_count_accuracy, "at_least", prefix);
          assert.equal(page.total_count, 1000, prefix);
        } else {
          assert.deepEqual([page.total_count, page.total_count_accuracy], [expected.length, "exact"], prefix);
        }
        if (expected.length > 25) {
          const next = await list({
            sort: "created_on_desc",
            page_size: "25",
            starts_with: prefix,
            next_token: page.next_token!,
          });
          assert.deepEqual(ids(next.users), ids(expected.slice(25, 50)), prefix);
        } else {
          assert.ok(!("next_token" in page), prefix);
        }
      }
      assert.ok(model.some((u) => u.email.startsWith("grace.hopper.12")));
    });

    it("counts the users: exactly on SQLite, PostgreSQL's estimate past 10 000", async () => {
      const page = await list({ page_size: "1", include_count: "true" });
      if (kind === "sqlite") {
        assert.deepEqual([page.total_count, page.total_count_accuracy], [model.length, "exact"]);
      } else {
        assert.equal(page.total_count_accuracy, "estimate");
        const off = Math.abs(page.total_count! - model.length) / model.length;
        assert.ok(off < 0.02, `estimate ${page.total_count} for ${model.length}`);
      }
      // A Kinde client that does not ask gets no count.
      const plain = await list({ page_size: "1" });
      assert.equal("total_count" in plain, false);
    });
  });

  describe(`users list extensions refuse hostile input (${kind})`, { skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
      await bulkLoadUsers(server.storage.db, 30);
    });
    after(async () => server?.close());

    it("answers 400 in Kinde's vocabulary, never a 500", async () => {
      const token = await managementToken(server);
      const byId = await callApi<Page>(server, "GET", "/api/v1/users?page_size=5", { token });
      for (const query of [
        `starts_with=${"a".repeat(201)}`,
        "sort=created_on_sideways",
        "include_count=maybe",
        // An id-order token in creation order, and forged cursors whose bound a column refuses.
        `sort=created_on_desc&next_token=${byId.body.next_token}`,
        `sort=created_on_desc&next_token=${encodeCursor({ at: 1e300, id: "x" })}`,
        `sort=created_on_desc&next_token=${encodeCursor({ at: 1.5, id: "x" })}`,
        `sort=created_on_desc&next_token=${encodeCursor({ at: 1, id: "x".repeat(101) })}`,
        "sort=created_on_desc&next_token=%00%FF",
        "starts_with=%00", // no database stores a NUL in text: refused before any query
      ]) {
        const response = await callApi<{ errors: { code: string }[] }>(
          server,
          "GET",
          `/api/v1/users?${query}`,
          {
            token,
          },
        );
        assert.equal(response.status, 400, query);
        assert.ok(response.body.errors[0]?.code, query);
      }
      // Quotes and the last code points are just text.
      const encoded = ["'; drop table users; --", "\uffff", "\u{10ffff}"].map(encodeURIComponent);
      // A lone surrogate's bytes (invalid UTF-8) too.
      for (const prefix of [...encoded, "%ED%A0%80", "%FF"]) {
        const response = await callApi<Page>(
          server,
          "GET",
          `/api/v1/users?starts_with=${prefix}&include_count=true`,
          { token },
        );
        assert.equal(response.status, 200, `${JSON.stringify(prefix)} ${JSON.stringify(response.body)}`);
        assert.deepEqual(response.body.users, [], prefix);
        assert.equal(response.body.total_count, 0);
      }
    });
  });
}
