// Issue 19, Kinde's system permissions on the Management API, on SQLite and PostgreSQL: the
// catalogue (Kinde's keys, ids derived from the key so installations agree), a role's system
// permissions read and changed (added, removed, both at once refused, unknown ids writing nothing),
// Kinde's scopes exactly, paging and sorting, and hostile input answered 4xx in Kinde's vocabulary.
// Every response is checked against the served OpenAPI document (callApi).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { SYSTEM_PERMISSIONS, systemPermissionId } from "../../src/system-permissions/catalogue.js";
import { databaseKinds } from "../helpers/databases.js";
import { callApi, narrowMachineToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

interface SystemPermissionBody {
  id: string;
  key: string;
  name: string;
  description: string;
}
interface ListBody {
  code: string;
  system_permissions: SystemPermissionBody[];
  next_token: string | null;
}

const idOf = (key: string) => systemPermissionId(key);

for (const { kind, skip } of await databaseKinds()) {
  describe(`system permissions API (${kind})`, { skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(async () => server?.close());

    async function newRole(): Promise<string> {
      const key = `role_${randomBytes(4).toString("hex")}`;
      const created = await callApi<{ role: { id: string } }>(server, "POST", "/api/v1/roles", {
        body: { key, name: `Role ${key}` },
      });
      assert.equal(created.status, 201);
      return created.body.role.id;
    }

    it("lists Kinde's system permissions with stable ids, sorted and paged", async () => {
      const all = await callApi<ListBody>(server, "GET", "/api/v1/system_permissions?page_size=50");
      assert.equal(all.status, 200);
      const keys = all.body.system_permissions.map((p) => p.key).sort();
      assert.deepEqual(keys, [
        "org:read:billing",
        "org:read:members",
        "org:write:billing",
        "org:write:details",
        "org:write:members",
      ]);
      for (const p of all.body.system_permissions) {
        assert.match(p.id, /^perm_[0-9a-f]{32}$/);
        assert.equal(p.id, idOf(p.key), "the id is derived from the key, the same everywhere");
      }
      assert.equal(all.body.next_token, null);
      // Default order: by name, ascending.
      const names = all.body.system_permissions.map((p) => p.name);
      assert.deepEqual(
        names,
        [...names].sort((a, b) => a.localeCompare(b)),
      );

      // id_desc is id_asc reversed (ids compared as the other Kinde lists compare them, paging.ts).
      const order = async (sort: string) =>
        (
          await callApi<ListBody>(server, "GET", `/api/v1/system_permissions?sort=${sort}&page_size=50`)
        ).body.system_permissions.map((p) => p.id);
      assert.deepEqual(await order("id_desc"), (await order("id_asc")).reverse());
      assert.deepEqual(await order("name_desc"), (await order("name_asc")).reverse());

      const seen: string[] = [];
      let next: string | null = null;
      let pages = 0;
      do {
        const query: string = next ? `&next_token=${encodeURIComponent(next)}` : "";
        const page: { status: number; body: ListBody } = await callApi<ListBody>(
          server,
          "GET",
          `/api/v1/system_permissions?page_size=2&sort=name_desc${query}`,
        );
        assert.equal(page.status, 200);
        assert.ok(page.body.system_permissions.length <= 2);
        seen.push(...page.body.system_permissions.map((p) => p.id));
        next = page.body.next_token;
        pages++;
      } while (next && pages < 10);
      assert.equal(pages, 3);
      assert.equal(new Set(seen).size, SYSTEM_PERMISSIONS.length);

      for (const bad of [
        "page_size=0",
        "page_size=abc",
        "sort=key_asc",
        "next_token=not-a-token",
        "page_size=501",
      ]) {
        const refused = await callApi<{ errors: { code: string }[] }>(
          server,
          "GET",
          `/api/v1/system_permissions?${bad}`,
        );
        assert.equal(refused.status, 400, bad);
        assert.ok(refused.body.errors[0]?.code, bad);
      }
    });

    it("adds and removes a role's system permissions", async () => {
      const roleId = await newRole();
      const empty = await callApi<ListBody>(server, "GET", `/api/v1/roles/${roleId}/system_permissions`);
      assert.equal(empty.status, 200);
      assert.deepEqual(empty.body.system_permissions, []);

      const members = idOf("org:write:members");
      const details = idOf("org:write:details");
      const added = await callApi<Record<string, unknown>>(
        server,
        "PATCH",
        `/api/v1/roles/${roleId}/system_permissions`,
        {
          body: { system_permissions: [{ id: members }, { id: details }, { id: members }] },
        },
      );
      assert.equal(added.status, 200);
      assert.deepEqual(added.body.system_permissions_added, [members, details]);
      assert.deepEqual(added.body.system_permissions_removed, []);
      const held = await callApi<ListBody>(
        server,
        "GET",
        `/api/v1/roles/${roleId}/system_permissions?sort=id_asc`,
      );
      assert.deepEqual(held.body.system_permissions.map((p) => p.id).sort(), [members, details].sort());
      assert.equal(held.body.system_permissions.find((p) => p.id === members)?.key, "org:write:members");

      const removed = await callApi<Record<string, unknown>>(
        server,
        "PATCH",
        `/api/v1/roles/${roleId}/system_permissions`,
        {
          body: { system_permissions: [{ id: details, operation: "delete" }] },
        },
      );
      assert.equal(removed.status, 200);
      assert.deepEqual(removed.body.system_permissions_removed, [details]);
      const after = await callApi<ListBody>(server, "GET", `/api/v1/roles/${roleId}/system_permissions`);
      assert.deepEqual(
        after.body.system_permissions.map((p) => p.key),
        ["org:write:members"],
      );

      // An unknown id among known ones: 400 and nothing written.
      const unknown = await callApi<{ errors: { code: string; message: string }[] }>(
        server,
        "PATCH",
        `/api/v1/roles/${roleId}/system_permissions`,
        { body: { system_permissions: [{ id: details }, { id: `perm_${"0".repeat(32)}` }] } },
      );
      assert.equal(unknown.status, 400);
      assert.match(unknown.body.errors[0]!.message, /does not exist/);
      const unchanged = await callApi<ListBody>(server, "GET", `/api/v1/roles/${roleId}/system_permissions`);
      assert.deepEqual(
        unchanged.body.system_permissions.map((p) => p.key),
        ["org:write:members"],
      );

      // A role deleted takes its system permissions with it.
      assert.equal((await callApi(server, "DELETE", `/api/v1/roles/${roleId}`)).status, 200);
      const gone = await callApi(server, "GET", `/api/v1/roles/${roleId}/system_permissions`);
      assert.equal(gone.status, 404);
    });

    it("refuses malformed, contradictory and oversized bodies with 4xx", async () => {
      const roleId = await newRole();
      const members = idOf("org:write:members");
      const path = `/api/v1/roles/${roleId}/system_permissions`;
      const bodies: unknown[] = [
        {},
        { system_permissions: [] },
        { system_permissions: "all" },
        { system_permissions: [{}] },
        { system_permissions: [{ id: members, operation: "add" }] },
        { system_permissions: [{ id: members }, { id: members, operation: "delete" }] },
        { system_permissions: [{ id: "x".repeat(5000) }] },
        { system_permissions: Array.from({ length: 101 }, () => ({ id: members })) },
        [1, 2, 3],
      ];
      for (const body of bodies) {
        const refused = await callApi<{ errors: { code: string; message: string }[] }>(
          server,
          "PATCH",
          path,
          { body },
        );
        assert.equal(refused.status, 400, JSON.stringify(body).slice(0, 80));
        assert.ok(Array.isArray(refused.body.errors));
      }
      const notJson = await fetch(`${server.url}${path}`, {
        method: "PATCH",
        headers: {
          authorization: `Bearer ${(await narrowMachineToken(server, ["update:role_system_permissions"])).token}`,
          "content-type": "application/json",
        },
        body: "{not json",
      });
      assert.equal(notJson.status, 400);
      const noRole = await callApi(server, "PATCH", "/api/v1/roles/nope/system_permissions", {
        body: { system_permissions: [{ id: members }] },
      });
      assert.equal(noRole.status, 404);
      const held = await callApi<ListBody>(server, "GET", path);
      assert.deepEqual(held.body.system_permissions, [], "nothing refused was written");
    });

    it("asks for Kinde's scopes, each exactly", async () => {
      const roleId = await newRole();
      const members = idOf("org:write:members");
      const wrong = await narrowMachineToken(server, [
        "read:roles",
        "update:role_permissions",
        "read:role_permissions",
      ]);
      const reader = await narrowMachineToken(server, ["read:system_permissions"]);
      const roleReader = await narrowMachineToken(server, ["read:role_system_permissions"]);
      const writer = await narrowMachineToken(server, ["update:role_system_permissions"]);
      const body = { system_permissions: [{ id: members }] };
      const patch = `/api/v1/roles/${roleId}/system_permissions`;

      assert.equal(
        (await callApi(server, "GET", "/api/v1/system_permissions", { token: wrong.token })).status,
        403,
      );
      assert.equal(
        (await callApi(server, "GET", "/api/v1/system_permissions", { token: roleReader.token })).status,
        403,
      );
      assert.equal(
        (await callApi(server, "GET", "/api/v1/system_permissions", { token: reader.token })).status,
        200,
      );
      assert.equal((await callApi(server, "GET", patch, { token: reader.token })).status, 403);
      assert.equal((await callApi(server, "GET", patch, { token: roleReader.token })).status, 200);
      assert.equal((await callApi(server, "PATCH", patch, { token: wrong.token, body })).status, 403);
      assert.equal((await callApi(server, "PATCH", patch, { token: roleReader.token, body })).status, 403);
      assert.equal((await callApi(server, "PATCH", patch, { token: writer.token, body })).status, 200);
      const anonymous = await fetch(`${server.url}/api/v1/system_permissions`);
      assert.equal(anonymous.status, 401);
    });
  });
}
