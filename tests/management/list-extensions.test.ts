// Latchkey's list extensions on organizations and applications (issue 20): sort=created_on_desc
// (keyset on created_at and the key), starts_with (a prefix of the name, any letter case) and
// include_count — beside Kinde's own sorts, which keep working with starts_with.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { encodeCursor } from "../../src/management/schemas.js";
import { databaseKinds } from "../helpers/databases.js";
import { callApi, managementToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

interface Listed {
  next_token?: string;
  total_count?: number;
  total_count_accuracy?: string;
}

const NAMES = ["Acme", "acorn", "Zebra", "ACME West", "Ångström", "Beta", "100%_off"];

for (const { kind, skip } of await databaseKinds()) {
  describe(`organization and application list extensions (${kind})`, { skip }, () => {
    let server: TestServer;
    let token: string;
    before(async () => {
      server = await startTestServer(kind);
      token = await managementToken(server);
    });
    after(async () => server?.close());

    const get = async <T extends Listed>(path: string) => {
      const response = await callApi<T>(server, "GET", path, { token });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      return response.body;
    };

    it("pages organizations newest first, finds them by name prefix and counts them", async () => {
      const tag = randomBytes(3).toString("hex");
      const codes: string[] = [];
      for (const [i, name] of NAMES.entries()) {
        const created = await callApi<{ organization: { code: string } }>(
          server,
          "POST",
          "/api/v1/organization",
          {
            token,
            body: { name: `${name} ${tag}` },
          },
        );
        assert.equal(created.status, 200);
        codes.push(created.body.organization.code);
        // Distinct creation times, some shared (the code breaks the tie).
        await server.storage.db
          .updateTable("organizations")
          .set({ created_at: 2_000_000_000 + Math.floor(i / 2) })
          .where("code", "=", created.body.organization.code)
          .execute();
      }
      const rows = await server.storage.db
        .selectFrom("organizations")
        .select(["code", "name", "created_at"])
        .execute();
      const newest = rows.sort((a, b) => b.created_at - a.created_at || (a.code < b.code ? 1 : -1));
      type Orgs = Listed & { organizations: { code: string; name: string }[] };
      const first = await get<Orgs>(
        "/api/v1/organizations?sort=created_on_desc&page_size=3&include_count=true",
      );
      assert.deepEqual(
        first.organizations.map((o) => o.code),
        newest.slice(0, 3).map((o) => o.code),
      );
      assert.deepEqual([first.total_count, first.total_count_accuracy], [rows.length, "exact"]);
      const second = await get<Orgs>(
        `/api/v1/organizations?sort=created_on_desc&page_size=3&next_token=${first.next_token}`,
      );
      assert.deepEqual(
        second.organizations.map((o) => o.code),
        newest.slice(3, 6).map((o) => o.code),
      );
      const acme = await get<Orgs>(
        "/api/v1/organizations?sort=created_on_desc&starts_with=aCmE&include_count=true",
      );
      assert.deepEqual(
        acme.organizations.map((o) => o.name),
        [`ACME West ${tag}`, `Acme ${tag}`],
      );
      assert.equal(acme.total_count, 2);
      // With Kinde's sort by name too, and a non-ASCII first letter matched as written.
      const byName = await get<Orgs>("/api/v1/organizations?sort=name_desc&starts_with=ac");
      assert.deepEqual(
        byName.organizations.map((o) => o.name),
        [`acorn ${tag}`, `ACME West ${tag}`, `Acme ${tag}`],
      );
      const accented = await get<Orgs>(`/api/v1/organizations?starts_with=${encodeURIComponent("Ång")}`);
      assert.equal(accented.organizations.length, 1);
      const literal = await get<Orgs>(`/api/v1/organizations?starts_with=${encodeURIComponent("100%_")}`);
      assert.deepEqual(
        literal.organizations.map((o) => o.name),
        [`100%_off ${tag}`],
      );
      const forged = await callApi(
        server,
        "GET",
        `/api/v1/organizations?sort=created_on_desc&next_token=${encodeCursor({ at: "x", id: 1 })}`,
        { token },
      );
      assert.equal(forged.status, 400);
      assert.equal(codes.length, NAMES.length);
    });

    it("pages applications newest first, finds them by name prefix and counts them", async () => {
      const tag = randomBytes(3).toString("hex");
      for (const [i, name] of NAMES.entries()) {
        const created = await callApi<{ application: { id: string } }>(
          server,
          "POST",
          "/api/v1/applications",
          {
            token,
            body: { name: `${name} ${tag}`, type: "reg" },
          },
        );
        assert.ok(created.status === 200 || created.status === 201, JSON.stringify(created.body));
        await server.storage.db
          .updateTable("applications")
          .set({ created_at: 2_000_000_000 + Math.floor(i / 2) })
          .where("id", "=", created.body.application.id)
          .execute();
      }
      const rows = await server.storage.db
        .selectFrom("applications")
        .select(["id", "name", "created_at"])
        .execute();
      const newest = rows.sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? 1 : -1));
      type Apps = Listed & { applications: { id: string; name: string }[] };
      const first = await get<Apps>(
        "/api/v1/applications?sort=created_on_desc&page_size=4&include_count=true",
      );
      assert.deepEqual(
        first.applications.map((a) => a.id),
        newest.slice(0, 4).map((a) => a.id),
      );
      assert.deepEqual([first.total_count, first.total_count_accuracy], [rows.length, "exact"]);
      const second = await get<Apps>(
        `/api/v1/applications?sort=created_on_desc&page_size=4&next_token=${first.next_token}`,
      );
      assert.deepEqual(
        second.applications.map((a) => a.id),
        newest.slice(4, 8).map((a) => a.id),
      );
      const acme = await get<Apps>(
        "/api/v1/applications?sort=created_on_desc&starts_with=ACME&include_count=true",
      );
      assert.deepEqual(
        acme.applications.map((a) => a.name),
        [`ACME West ${tag}`, `Acme ${tag}`],
      );
      assert.deepEqual([acme.total_count, acme.total_count_accuracy], [2, "exact"]);
      // A name-order token is refused in creation order (its key is a name, not a time).
      const named = await get<Apps>("/api/v1/applications?sort=name_asc&page_size=1");
      const refused = await callApi(
        server,
        "GET",
        `/api/v1/applications?sort=created_on_desc&next_token=${named.next_token}`,
        { token },
      );
      assert.equal(refused.status, 400);
      const tooLong = await callApi(server, "GET", `/api/v1/applications?starts_with=${"x".repeat(201)}`, {
        token,
      });
      assert.equal(tooLong.status, 400);
    });
  });
}
