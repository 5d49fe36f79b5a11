// Which roles a directory's groups may grant (security review M1): only the role keys an
// administrator allowed for the directory (Latchkey's `assignable_role_keys` on PATCH
// /api/v1/directories/{id}), none by default — a group named like any other role key, an
// application access role included, is kept with its members and grants nothing. Both databases.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { createDirectory, GROUP_SCHEMA, type Json, PATCH_SCHEMA, scim, USER_SCHEMA } from "./scim-helpers.js";

type DirectoryBody = { directory: Json; errors?: { code: string; message: string }[] };

for (const { kind, skip } of await databaseKinds()) {
  describe(`SCIM groups grant only allowed roles (${kind})`, { skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(async () => server?.close());

    const role = (key: string) =>
      server.services.roles.createRole({
        key,
        name: key,
        description: null,
        isDefault: false,
        assignmentPermissionId: null,
      });
    const hasRole = async (orgCode: string, userId: string, roleId: string) =>
      (await server.storage.db
        .selectFrom("organization_user_roles")
        .select("role_id")
        .where("org_code", "=", orgCode)
        .where("user_id", "=", userId)
        .where("role_id", "=", roleId)
        .executeTakeFirst()) !== undefined;
    const patchDirectory = (id: string, body: Json) =>
      callApi<DirectoryBody>(server, "PATCH", `/api/v1/directories/${id}`, { body });

    it("grants nothing by default, and only the allowed keys once set", async () => {
      const dir = await createDirectory(server);
      const support = await role(`support-${kind}`);
      const appAccess = await role(`app-access-${kind}`);
      const user = await scim(dir, "POST", "/Users", {
        body: { schemas: [USER_SCHEMA], userName: `ada@${dir.domain}` },
      });
      const id = user.body.id as string;
      const read = await callApi<DirectoryBody>(server, "GET", `/api/v1/directories/${dir.id}`);
      assert.deepEqual(read.body.directory.assignable_role_keys, []);

      const first = await scim(dir, "POST", "/Groups", {
        body: { schemas: [GROUP_SCHEMA], displayName: support.key, members: [{ value: id }] },
      });
      assert.equal(first.status, 201);
      assert.equal(await hasRole(dir.orgCode, id, support.id), false, "no role is allowed by default");

      const allowed = await patchDirectory(dir.id, { assignable_role_keys: [support.key] });
      assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
      assert.deepEqual(allowed.body.directory.assignable_role_keys, [support.key]);
      assert.equal(allowed.body.directory.directory_name, "Production Directory", "the name is unchanged");
      const again = await scim(dir, "PATCH", `/Groups/${first.body.id}`, {
        body: {
          schemas: [PATCH_SCHEMA],
          Operations: [{ op: "add", path: "members", value: [{ value: id }] }],
        },
      });
      assert.equal(again.status, 200);
      const second = await scim(dir, "POST", "/Groups", {
        body: { schemas: [GROUP_SCHEMA], displayName: appAccess.key, members: [{ value: id }] },
      });
      assert.equal(second.status, 201);
      const third = await scim(dir, "POST", "/Groups", {
        body: { schemas: [GROUP_SCHEMA], displayName: `${support.key}-team`, members: [{ value: id }] },
      });
      assert.equal(third.status, 201);
      // Renaming an ungranted group to the allowed key grants it.
      await scim(dir, "DELETE", `/Groups/${first.body.id}`);
      const renamed = await scim(dir, "PATCH", `/Groups/${third.body.id}`, {
        body: {
          schemas: [PATCH_SCHEMA],
          Operations: [{ op: "replace", path: "displayName", value: support.key }],
        },
      });
      assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
      assert.equal(await hasRole(dir.orgCode, id, support.id), true, "an allowed key grants its role");
      assert.equal(await hasRole(dir.orgCode, id, appAccess.id), false, "a key not allowed grants nothing");
    });

    it("refuses unknown role keys and malformed lists with Kinde's errors", async () => {
      const dir = await createDirectory(server);
      const unknown = await patchDirectory(dir.id, { assignable_role_keys: ["no-such-role"] });
      assert.equal(unknown.status, 400, JSON.stringify(unknown.body));
      assert.match(unknown.body.errors![0]!.message, /no-such-role/);
      for (const body of [
        { assignable_role_keys: "support" },
        { assignable_role_keys: [5] },
        { assignable_role_keys: Array.from({ length: 101 }, (_, i) => `k${i}`) },
      ]) {
        const response = await patchDirectory(dir.id, body);
        assert.equal(response.status, 400, JSON.stringify(body));
        assert.ok(response.body.errors?.[0]?.code);
      }
      const read = await callApi<DirectoryBody>(server, "GET", `/api/v1/directories/${dir.id}`);
      assert.deepEqual(read.body.directory.assignable_role_keys, []);
    });
  });
}
