// The SCIM 2.0 endpoint of a directory as identity providers use it, with requests built from RFC
// 7644's examples: Okta's session (filter lookup → create → 409 on re-create → deactivate → the
// account is suspended and its sessions end → reactivate → delete), Entra ID's (string booleans,
// PATCH without a path, emails[type eq "work"].value, capitalised ops, member removal by value),
// groups named like a role key granting that role, discovery, a token of one directory refused on
// another, and hostile input answered 4xx in SCIM's error shape. Both databases.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import {
  assertScimError,
  createDirectory,
  type Directory,
  GROUP_SCHEMA,
  type Json,
  PATCH_SCHEMA,
  scim,
  USER_SCHEMA,
} from "./scim-helpers.js";

const oktaUser = (userName: string, active = true) => ({
  schemas: [USER_SCHEMA],
  userName,
  name: { givenName: "Ada", familyName: "Lovelace" },
  emails: [{ primary: true, value: userName, type: "work" }],
  displayName: "Ada Lovelace",
  locale: "en-US",
  externalId: "00ujl29u0le5T6Aj10h7",
  groups: [],
  password: "never-stored-1!",
  active,
});

for (const { kind, skip } of await databaseKinds()) {
  describe(`SCIM provisioning (${kind})`, { skip }, () => {
    let server: TestServer;
    let directory: Directory;
    before(async () => {
      server = await startTestServer(kind);
      directory = await createDirectory(server, "okta", "acme.example");
    });
    after(async () => server?.close());

    const account = (id: string) => server.services.users.store.findById(id);
    const members = async (orgCode: string) =>
      (
        await server.storage.db
          .selectFrom("organization_users")
          .select("user_id")
          .where("org_code", "=", orgCode)
          .execute()
      ).map((r) => r.user_id);

    it("serves Okta's provisioning session", async () => {
      const userName = "ada@acme.example";
      const lookup = await scim(
        directory,
        "GET",
        `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}&startIndex=1&count=100`,
      );
      assert.equal(lookup.status, 200);
      assert.match(lookup.headers.get("content-type") ?? "", /^application\/scim\+json/);
      assert.deepEqual(lookup.body.schemas, ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]);
      assert.equal(lookup.body.totalResults, 0);

      const created = await scim(directory, "POST", "/Users", { body: oktaUser(userName) });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const id = created.body.id as string;
      assert.equal(created.headers.get("location"), `${directory.baseUrl}/Users/${id}`);
      assert.equal(created.body.userName, userName);
      assert.equal(created.body.active, true);
      assert.equal(created.body.password, undefined, "a password is never stored or returned");
      assert.deepEqual(created.body.name, { givenName: "Ada", familyName: "Lovelace" });
      const user = (await account(id))!;
      assert.equal(user.email, userName);
      assert.equal(user.given_name, "Ada");
      assert.ok((await members(directory.orgCode)).includes(id), "a member of the directory's organization");

      assertScimError(
        await scim(directory, "POST", "/Users", { body: oktaUser("ADA@acme.example") }),
        409,
        "uniqueness",
      );
      const found = await scim(
        directory,
        "GET",
        `/Users?filter=${encodeURIComponent('userName eq "ADA@ACME.EXAMPLE"')}`,
      );
      assert.equal(found.body.totalResults, 1, "userName is caseExact false");
      assert.equal((found.body.Resources as Json[])[0]!.id, id);

      const session = await server.services.sessions.create(id, {});
      assert.ok(await server.services.sessions.find(session.token));
      const deactivated = await scim(directory, "PATCH", `/Users/${id}`, {
        body: { schemas: [PATCH_SCHEMA], Operations: [{ op: "replace", value: { active: false } }] },
      });
      assert.equal(deactivated.status, 200, JSON.stringify(deactivated.body));
      assert.equal(deactivated.body.active, false);
      assert.equal((await account(id))!.is_suspended, 1, "sign-in is blocked");
      assert.equal(await server.services.sessions.find(session.token), undefined, "sessions ended");

      const reactivated = await scim(directory, "PATCH", `/Users/${id}`, {
        body: { schemas: [PATCH_SCHEMA], Operations: [{ op: "replace", value: { active: true } }] },
      });
      assert.equal(reactivated.body.active, true);
      assert.equal((await account(id))!.is_suspended, 0);

      const replaced = await scim(directory, "PUT", `/Users/${id}`, {
        body: { ...oktaUser(userName), name: { givenName: "Augusta", familyName: "King" } },
      });
      assert.equal(replaced.status, 200);
      assert.equal((await account(id))!.given_name, "Augusta");

      const deleted = await scim(directory, "DELETE", `/Users/${id}`);
      assert.equal(deleted.status, 204);
      assertScimError(await scim(directory, "GET", `/Users/${id}`), 404);
      assert.equal(await account(id), undefined, "the account the directory made is gone");
      assertScimError(await scim(directory, "DELETE", `/Users/${id}`), 404);
      const status = await server.storage.db
        .selectFrom("scim_directories")
        .select("status")
        .where("id", "=", directory.id)
        .executeTakeFirstOrThrow();
      assert.equal(status.status, "Active");
    });

    it("serves Entra ID's quirks", async () => {
      const entra = await createDirectory(server, "entra_id_azure_ad", "contoso.example");
      const created = await scim(entra, "POST", "/Users", {
        body: {
          schemas: [USER_SCHEMA, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
          externalId: "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
          userName: "Test_User_ab6490ee@contoso.example",
          active: true,
          emails: [{ primary: true, type: "work", value: "Test_User_fd0ea19b@contoso.example" }],
          name: { formatted: "givenName familyName", familyName: "familyName", givenName: "givenName" },
          "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { department: "Sales" },
        },
        contentType: "application/json",
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const id = created.body.id as string;
      assert.equal((await account(id))!.email, "test_user_fd0ea19b@contoso.example");
      const byExternal = await scim(
        entra,
        "GET",
        `/Users?filter=${encodeURIComponent('externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"')}`,
      );
      assert.equal(byExternal.body.totalResults, 1);

      const patched = await scim(entra, "PATCH", `/Users/${id}`, {
        body: {
          schemas: [PATCH_SCHEMA],
          Operations: [
            { op: "Replace", path: 'emails[type eq "work"].value', value: "updated@contoso.example" },
            { op: "Replace", value: { "name.givenName": "Grace", active: "False" } },
            {
              op: "Add",
              path: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
              value: "42",
            },
          ],
        },
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.equal(patched.body.active, false);
      assert.equal((patched.body.name as Json).givenName, "Grace");
      const user = (await account(id))!;
      assert.equal(user.is_suspended, 1);
      assert.equal(user.given_name, "Grace");
      assert.equal(user.email, "updated@contoso.example");
      const enterprise = patched.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] as Json;
      assert.deepEqual(enterprise, { department: "Sales", employeeNumber: "42" });
      const back = await scim(entra, "PATCH", `/Users/${id}`, {
        body: { schemas: [PATCH_SCHEMA], Operations: [{ op: "Replace", path: "active", value: "True" }] },
      });
      assert.equal(back.body.active, true);
      assert.equal((await account(id))!.is_suspended, 0);
    });

    it("keeps groups; a group named like an allowed role key grants that role in the organization", async () => {
      const dir = await createDirectory(server);
      const role = await server.services.roles.createRole({
        key: "billing-admin",
        name: "Billing admin",
        description: null,
        isDefault: false,
        assignmentPermissionId: null,
      });
      const allowed = await callApi(server, "PATCH", `/api/v1/directories/${dir.id}`, {
        body: { assignable_role_keys: ["billing-admin"] },
      });
      assert.equal(allowed.status, 200, "groups grant only the roles allowed for the directory");
      const a = (await scim(dir, "POST", "/Users", { body: oktaUser(`a@${dir.domain}`) })).body.id as string;
      const b = (await scim(dir, "POST", "/Users", { body: oktaUser(`b@${dir.domain}`) })).body.id as string;
      const roleOf = async (userId: string) =>
        (
          await server.storage.db
            .selectFrom("organization_user_roles")
            .select("role_id")
            .where("org_code", "=", dir.orgCode)
            .where("user_id", "=", userId)
            .where("role_id", "=", role.id)
            .execute()
        ).length === 1;
      const group = await scim(dir, "POST", "/Groups", {
        body: { schemas: [GROUP_SCHEMA], displayName: "billing-admin", members: [{ value: a }] },
      });
      assert.equal(group.status, 201, JSON.stringify(group.body));
      const gid = group.body.id as string;
      assert.equal(await roleOf(a), true);
      assert.equal(await roleOf(b), false);
      assertScimError(
        await scim(dir, "POST", "/Groups", {
          body: { schemas: [GROUP_SCHEMA], displayName: "BILLING-ADMIN" },
        }),
        409,
        "uniqueness",
      );

      const add = await scim(dir, "PATCH", `/Groups/${gid}`, {
        body: {
          schemas: [PATCH_SCHEMA],
          Operations: [{ op: "add", path: "members", value: [{ value: b }] }],
        },
      });
      assert.equal(add.status, 200, JSON.stringify(add.body));
      assert.equal((add.body.members as Json[]).length, 2);
      assert.equal(await roleOf(b), true);
      const userView = await scim(dir, "GET", `/Users/${b}`);
      assert.deepEqual(
        (userView.body.groups as Json[]).map((g) => g.value),
        [gid],
      );

      // Entra ID removes by value; Okta by a value filter.
      await scim(dir, "PATCH", `/Groups/${gid}`, {
        body: {
          schemas: [PATCH_SCHEMA],
          Operations: [{ op: "Remove", path: "members", value: [{ value: a }] }],
        },
      });
      assert.equal(await roleOf(a), false);
      await scim(dir, "PATCH", `/Groups/${gid}`, {
        body: { schemas: [PATCH_SCHEMA], Operations: [{ op: "remove", path: `members[value eq "${b}"]` }] },
      });
      assert.equal(await roleOf(b), false);
      const listed = await scim(
        dir,
        "GET",
        `/Groups?filter=${encodeURIComponent('displayName eq "billing-admin"')}&excludedAttributes=members`,
      );
      assert.equal(listed.body.totalResults, 1);
      assert.equal((listed.body.Resources as Json[])[0]!.members, undefined);
      assertScimError(
        await scim(dir, "PATCH", `/Groups/${gid}`, {
          body: {
            schemas: [PATCH_SCHEMA],
            Operations: [{ op: "add", path: "members", value: [{ value: "kp_notinthisdirectory" }] }],
          },
        }),
        400,
        "invalidValue",
      );
      assert.equal((await scim(dir, "DELETE", `/Groups/${gid}`)).status, 204);
      assertScimError(await scim(dir, "GET", `/Groups/${gid}`), 404);
    });

    it("answers discovery", async () => {
      const config = await scim(directory, "GET", "/ServiceProviderConfig");
      assert.equal(config.status, 200);
      assert.equal((config.body.patch as Json).supported, true);
      assert.equal((config.body.filter as Json).supported, true);
      const types = await scim(directory, "GET", "/ResourceTypes");
      assert.deepEqual(
        (types.body.Resources as Json[]).map((t) => t.id),
        ["User", "Group"],
      );
      const schemas = await scim(directory, "GET", "/Schemas");
      assert.equal(schemas.body.totalResults, 2);
      assert.equal((await scim(directory, "GET", `/Schemas/${USER_SCHEMA}`)).status, 200);
    });

    it("refuses a token of another directory, and no token", async () => {
      const other = await createDirectory(server);
      const user = await scim(other, "POST", "/Users", { body: oktaUser(`other@${other.domain}`) });
      assertScimError(await scim(directory, "GET", "/Users", { token: other.token }), 401);
      assertScimError(await scim(directory, "GET", `/Users/${user.body.id}`, { token: other.token }), 401);
      assertScimError(await scim(directory, "GET", `/Users/${user.body.id}`), 404, undefined);
      const noToken = await scim(directory, "GET", "/Users", { token: null });
      assertScimError(noToken, 401);
      assert.match(noToken.headers.get("www-authenticate") ?? "", /^Bearer/);
      assertScimError(await scim(directory, "GET", "/Users", { token: `${directory.token}x` }), 401);
      assertScimError(
        await scim(
          { ...directory, baseUrl: `${server.url}/scim/v2/ksde_${"0".repeat(32)}` },
          "GET",
          "/Users",
        ),
        401,
      );
    });

    it("answers hostile input with a 4xx in SCIM's error shape", async () => {
      const filters = [
        'userName co "a"',
        'userName eq "a" or userName eq "b"',
        'name.givenName eq "x"',
        "userName eq",
        'emails[type eq "work"]',
        "x".repeat(2000),
      ];
      for (const filter of filters)
        assertScimError(
          await scim(directory, "GET", `/Users?filter=${encodeURIComponent(filter)}`),
          400,
          "invalidFilter",
        );
      assertScimError(await scim(directory, "GET", "/Users?count=abc"), 400, "invalidValue");
      assertScimError(await scim(directory, "POST", "/Users", { raw: "{not json" }), 400);
      assertScimError(
        await scim(directory, "POST", "/Users", {
          raw: "userName=x",
          contentType: "application/x-www-form-urlencoded",
        }),
        415,
      );
      assertScimError(
        await scim(directory, "POST", "/Users", {
          raw: JSON.stringify({ schemas: [USER_SCHEMA], userName: "x".repeat(70_000) }),
        }),
        413,
      );
      assertScimError(
        await scim(directory, "POST", "/Users", { body: { schemas: [USER_SCHEMA] } }),
        400,
        "invalidValue",
      );
      assertScimError(
        await scim(directory, "POST", "/Users", { body: { userName: "no-schemas@acme.example" } }),
        400,
        "invalidSyntax",
      );
      assertScimError(await scim(directory, "POST", "/Users", { body: [1, 2] }), 400);
      assertScimError(
        await scim(directory, "POST", "/Users", { body: { schemas: [USER_SCHEMA], userName: 5 } }),
        400,
        "invalidValue",
      );
      assertScimError(
        await scim(directory, "POST", "/Users", { body: { schemas: [USER_SCHEMA], userName: "a\u0000b" } }),
        400,
      );
      assertScimError(
        await scim(directory, "POST", "/Users", {
          body: { ...oktaUser("bad@acme.example"), emails: [{ value: "not an address" }] },
        }),
        400,
        "invalidValue",
      );
      assertScimError(
        await scim(directory, "POST", "/Users", {
          body: { ...oktaUser("bad@acme.example"), active: "maybe" },
        }),
        400,
        "invalidValue",
      );
      assertScimError(
        await scim(directory, "POST", "/Users", { raw: '{"__proto__": {"x": 1}, "schemas": []}' }),
        400,
      );
      const id = (await scim(directory, "POST", "/Users", { body: oktaUser("target@acme.example") })).body
        .id as string;
      const patches: unknown[] = [
        {},
        { schemas: [PATCH_SCHEMA] },
        { schemas: [PATCH_SCHEMA], Operations: [] },
        { schemas: [PATCH_SCHEMA], Operations: [{ op: "move", path: "userName", value: "x" }] },
        { schemas: [PATCH_SCHEMA], Operations: [{ op: "remove" }] },
        { schemas: [PATCH_SCHEMA], Operations: [{ op: "replace", path: "a[[b", value: 1 }] },
        { schemas: [PATCH_SCHEMA], Operations: [{ op: "replace", path: "userName", value: 7 }] },
        { schemas: [PATCH_SCHEMA], Operations: [{ op: "remove", path: "userName" }] },
        {
          schemas: [PATCH_SCHEMA],
          Operations: Array.from({ length: 101 }, () => ({ op: "replace", path: "displayName", value: "x" })),
        },
      ];
      for (const body of patches) {
        const response = await scim(directory, "PATCH", `/Users/${id}`, { body });
        assert.equal(
          response.status,
          400,
          `${JSON.stringify(body).slice(0, 100)} → ${JSON.stringify(response.body)}`,
        );
        assertScimError(response, 400);
      }
      // An address that belongs to an account the directory did not make is never linked.
      await server.services.users.create({ email: "someone@acme.example" });
      assertScimError(
        await scim(directory, "POST", "/Users", { body: oktaUser("someone@acme.example") }),
        409,
        "uniqueness",
      );
      assertScimError(await scim(directory, "GET", "/Nope"), 404);
      assert.equal(
        (await account(id))!.email,
        "target@acme.example",
        "nothing changed by the refused patches",
      );
    });
  });
}
