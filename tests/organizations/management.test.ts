// Organizations, roles, permissions and feature flags through the Management API (Kinde's paths and
// shapes; every response is checked against the OpenAPI document by callApi), on both databases.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { createUser } from "../helpers/fixtures.js";
import { callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

type Json = Record<string, unknown>;

for (const { kind, skip } of await databaseKinds()) {
  describe(`Organizations, roles, permissions and flags in the Management API (${kind})`, { skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(async () => server?.close());

    const api = <T = Json>(method: string, path: string, body?: unknown) =>
      callApi<T>(server, method, path, body === undefined ? {} : { body });

    async function createOrg(name: string, extra: Json = {}): Promise<string> {
      const created = await api<{ organization: { code: string } }>("POST", "/api/v1/organization", {
        name,
        ...extra,
      });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      return created.body.organization.code;
    }

    async function createPermission(key: string): Promise<string> {
      const created = await api("POST", "/api/v1/permissions", { key, name: `Can ${key}` });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.deepEqual(Object.keys(created.body).sort(), ["code", "message"], "Kinde returns no id");
      const listed = await api<{ permissions: { id: string; key: string }[] }>(
        "GET",
        "/api/v1/permissions?page_size=500",
      );
      return listed.body.permissions.find((p) => p.key === key)!.id;
    }

    async function createRole(key: string, extra: Json = {}): Promise<string> {
      const created = await api<{ role: { id: string } }>("POST", "/api/v1/roles", {
        key,
        name: `Role ${key}`,
        ...extra,
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      return created.body.role.id;
    }

    it("has one default organization, which new users join", async () => {
      const listed = await api<{ organizations: Json[]; next_token: string | null }>(
        "GET",
        "/api/v1/organizations",
      );
      assert.equal(listed.status, 200);
      const defaults = listed.body.organizations.filter((o) => o.is_default === true);
      assert.equal(defaults.length, 1);
      const code = defaults[0]!.code as string;
      assert.match(code, /^org_[0-9a-f]{11}$/);

      const user = await createUser(server);
      const members = await api<{ organization_users: { id: string }[] }>(
        "GET",
        `/api/v1/organizations/${code}/users?page_size=500`,
      );
      assert.ok(members.body.organization_users.some((m) => m.id === user.id));

      // The default organization cannot be deleted or suspended.
      const deleted = await api("DELETE", `/api/v1/organization/${code}`);
      assert.equal(deleted.status, 400);
      assert.equal((deleted.body.errors as Json[])[0]!.code, "DEFAULT_ORGANIZATION_PROTECTED");
      const suspended = await api("PATCH", `/api/v1/organization/${code}`, { is_suspended: true });
      assert.equal(suspended.status, 400);
    });

    it("creates, reads, lists, updates and deletes organizations", async () => {
      const code = await createOrg("Acme", {
        external_id: `ext-${Date.now()}`,
        handle: `acme-${Date.now()}`,
        button_color: "#0055ff",
        theme_code: "dark",
        is_allow_registrations: true,
      });
      assert.match(code, /^org_[0-9a-f]{11}$/);
      const read = await api<Json>("GET", `/api/v1/organization?code=${code}`);
      assert.equal(read.status, 200);
      assert.equal(read.body.code, code);
      assert.equal(read.body.name, "Acme");
      assert.equal(read.body.is_default, false);
      assert.equal(read.body.theme_code, "dark");
      assert.equal(read.body.is_allow_registrations, true);
      assert.deepEqual(read.body.button_color, {
        raw: "#0055ff",
        hex: "#0055ff",
        hsl: "hsl(220, 100%, 50%)",
      });
      assert.equal(read.body.link_color, null);

      const patched = await api("PATCH", `/api/v1/organization/${code}`, {
        name: "Acme Corp",
        allowed_domains: ["acme.example.com"],
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      const reread = await api<Json>("GET", `/api/v1/organization?code=${code}`);
      assert.equal(reread.body.name, "Acme Corp");
      assert.deepEqual(reread.body.allowed_domains, ["acme.example.com"]);

      // A duplicate handle is a conflict; bad input is a 400; unknown organizations are 404s.
      const handle = `dup-${Date.now()}`;
      await createOrg("First", { handle });
      const duplicate = await api("POST", "/api/v1/organization", { name: "Second", handle });
      assert.equal(duplicate.status, 409);
      assert.equal((await api("POST", "/api/v1/organization", { name: "  " })).status, 400);
      assert.equal(
        (await api("POST", "/api/v1/organization", { name: "X", link_color: "red;" })).status,
        400,
      );
      assert.equal((await api("POST", "/api/v1/organization", { name: "X", surprise: 1 })).status, 400);
      assert.equal((await api("PATCH", `/api/v1/organization/${code}`, {})).status, 400);
      assert.equal((await api("GET", "/api/v1/organization?code=org_00000000000")).status, 404);

      // Paging: every organization once, in name order.
      const names: string[] = [];
      let token: string | undefined;
      do {
        const page: { body: { organizations: { name: string }[]; next_token?: string } } = await api(
          "GET",
          `/api/v1/organizations?page_size=2&sort=name_asc${token ? `&next_token=${token}` : ""}`,
        );
        assert.ok(page.body.organizations.length <= 2);
        names.push(...page.body.organizations.map((o) => o.name));
        token = page.body.next_token;
      } while (token);
      const all = await api<{ organizations: { name: string }[] }>(
        "GET",
        "/api/v1/organizations?page_size=500",
      );
      assert.deepEqual(
        names,
        all.body.organizations.map((o) => o.name),
      );
      assert.deepEqual(
        names,
        [...names].sort((a, b) => a.localeCompare(b, "en", { sensitivity: "base" })),
      );

      assert.equal((await api("DELETE", `/api/v1/organization/${code}`)).status, 200);
      assert.equal((await api("GET", `/api/v1/organization?code=${code}`)).status, 404);
      assert.equal((await api("DELETE", `/api/v1/organization/${code}`)).status, 404);
    });

    it("manages roles and permissions", async () => {
      const read = await createPermission("read:reports");
      const write = await createPermission("write:reports");
      assert.match(read, /^perm_[0-9a-f]{32}$/);
      assert.equal((await api("POST", "/api/v1/permissions", { key: "read:reports" })).status, 409);
      assert.equal((await api("POST", "/api/v1/permissions", { key: "has space" })).status, 400);

      const role = await createRole("analyst", { description: "Reads reports" });
      const got = await api<{ role: Json }>("GET", `/api/v1/roles/${role}`);
      assert.deepEqual(got.body.role, {
        id: role,
        key: "analyst",
        name: "Role analyst",
        description: "Reads reports",
        is_default_role: false,
      });
      assert.equal((await api("POST", "/api/v1/roles", { key: "analyst", name: "Again" })).status, 409);

      const changed = await api<Json>("PATCH", `/api/v1/roles/${role}/permissions`, {
        permissions: [{ id: read }, { id: write }],
      });
      assert.equal(changed.status, 200);
      assert.deepEqual(changed.body.permissions_added, [read, write]);
      const removed = await api<Json>("PATCH", `/api/v1/roles/${role}/permissions`, {
        permissions: [{ id: write, operation: "delete" }],
      });
      assert.deepEqual(removed.body.permissions_removed, [write]);
      const rolePermissions = await api<{ permissions: { key: string }[] }>(
        "GET",
        `/api/v1/roles/${role}/permissions`,
      );
      assert.deepEqual(
        rolePermissions.body.permissions.map((p) => p.key),
        ["read:reports"],
      );
      // Unknown permission: nothing changes.
      const unknown = await api("PATCH", `/api/v1/roles/${role}/permissions`, {
        permissions: [{ id: write }, { id: "perm_unknown" }],
      });
      assert.equal(unknown.status, 404);
      assert.equal(
        (await api<{ permissions: unknown[] }>("GET", `/api/v1/roles/${role}/permissions`)).body.permissions
          .length,
        1,
      );

      const renamed = await api("PATCH", `/api/v1/roles/${role}`, { key: "analyst", name: "Analyst" });
      assert.equal(renamed.status, 201, "Kinde answers 201 to a role update");
      assert.equal((await api<{ role: Json }>("GET", `/api/v1/roles/${role}`)).body.role.name, "Analyst");

      // An update changes only what it names; NO_PERMISSION_REQUIRED lifts the assignment permission.
      const guarded = await createRole("guarded", {
        description: "Needs a permission to assign",
        is_default_role: true,
        assignment_permission_id: write,
      });
      assert.equal(
        (await api("PATCH", `/api/v1/roles/${guarded}`, { key: "guarded", name: "Guarded" })).status,
        201,
      );
      let stored = (await server.services.roles.store.findRole(guarded))!;
      assert.equal(stored.name, "Guarded");
      assert.equal(stored.description, "Needs a permission to assign");
      assert.equal(stored.is_default_role, 1);
      assert.equal(stored.assignment_permission_id, write);
      const lifted = await api("PATCH", `/api/v1/roles/${guarded}`, {
        key: "guarded",
        name: "Guarded",
        is_default_role: false,
        assignment_permission_id: "NO_PERMISSION_REQUIRED",
      });
      assert.equal(lifted.status, 201);
      stored = (await server.services.roles.store.findRole(guarded))!;
      assert.equal(stored.is_default_role, 0);
      assert.equal(stored.assignment_permission_id, null);
      assert.equal(
        (
          await api("PATCH", `/api/v1/roles/${guarded}`, {
            key: "guarded",
            name: "G",
            assignment_permission_id: "perm_nope",
          })
        ).status,
        404,
      );

      const permission = await api("PATCH", `/api/v1/permissions/${write}`, { name: "Writes reports" });
      assert.equal(permission.status, 200);

      const extra = await createRole("temporary");
      assert.equal((await api("DELETE", `/api/v1/roles/${extra}`)).status, 200);
      assert.equal((await api("GET", `/api/v1/roles/${extra}`)).status, 404);
      const extraPermission = await createPermission("temporary:thing");
      assert.equal((await api("DELETE", `/api/v1/permissions/${extraPermission}`)).status, 200);
      assert.equal((await api("DELETE", `/api/v1/permissions/${extraPermission}`)).status, 404);
    });

    it("gives members roles and permissions per organization, and refuses the wrong organization", async () => {
      const view = await createPermission("view:invoices");
      const pay = await createPermission("pay:invoices");
      const clerk = await createRole("clerk");
      await api("PATCH", `/api/v1/roles/${clerk}/permissions`, { permissions: [{ id: view }] });
      const member = await createRole("member", { is_default_role: true });

      const orgA = await createOrg("Org A");
      const orgB = await createOrg("Org B");
      const alice = await createUser(server);
      const bob = await createUser(server);

      const added = await api<Json>("POST", `/api/v1/organizations/${orgA}/users`, {
        users: [{ id: alice.id, roles: ["clerk"], permissions: ["pay:invoices"] }, { id: bob.id }],
      });
      assert.equal(added.status, 200, JSON.stringify(added.body));
      assert.deepEqual(added.body.users_added, [alice.id, bob.id]);
      await api("POST", `/api/v1/organizations/${orgB}/users`, { users: [{ id: bob.id, roles: ["clerk"] }] });

      const listed = await api<{ organization_users: { id: string; roles: string[] }[] }>(
        "GET",
        `/api/v1/organizations/${orgA}/users?roles=clerk`,
      );
      assert.deepEqual(
        listed.body.organization_users.map((u) => [u.id, u.roles]),
        [[alice.id, ["clerk", "member"]]],
        "default role given on joining; filter by role",
      );
      const payers = await api<{ organization_users: { id: string }[] }>(
        "GET",
        `/api/v1/organizations/${orgA}/users?permissions=pay:invoices`,
      );
      assert.deepEqual(
        payers.body.organization_users.map((u) => u.id),
        [alice.id],
      );

      const permissions = await api<{ permissions: { key: string; roles?: { key: string }[] }[] }>(
        "GET",
        `/api/v1/organizations/${orgA}/users/${alice.id}/permissions?expand=roles`,
      );
      assert.deepEqual(
        permissions.body.permissions.map((p) => [p.key, (p.roles ?? []).map((r) => r.key)]),
        [
          ["pay:invoices", []],
          ["view:invoices", ["clerk"]],
        ],
      );
      const roles = await api<{ roles: { key: string }[] }>(
        "GET",
        `/api/v1/organizations/${orgA}/users/${alice.id}/roles`,
      );
      assert.deepEqual(
        roles.body.roles.map((r) => r.key),
        ["clerk", "member"],
      );

      // Alice is not in Org B: every member route of Org B refuses her.
      for (const [method, path, body] of [
        ["GET", `/api/v1/organizations/${orgB}/users/${alice.id}/roles`],
        ["GET", `/api/v1/organizations/${orgB}/users/${alice.id}/permissions`],
        ["POST", `/api/v1/organizations/${orgB}/users/${alice.id}/roles`, { role_id: clerk }],
        ["POST", `/api/v1/organizations/${orgB}/users/${alice.id}/permissions`, { permission_id: pay }],
        ["DELETE", `/api/v1/organizations/${orgB}/users/${alice.id}/roles/${clerk}`],
        ["DELETE", `/api/v1/organizations/${orgB}/users/${alice.id}/permissions/${pay}`],
        ["DELETE", `/api/v1/organizations/${orgB}/users/${alice.id}`],
      ] as [string, string, unknown?][]) {
        const response = await api(method, path, body);
        assert.equal(response.status, 404, `${method} ${path}`);
        assert.equal((response.body.errors as Json[])[0]!.code, "ORGANIZATION_USER_NOT_FOUND");
      }
      // Bob's clerk role in Org B gives him nothing in Org A.
      const bobInA = await api<{ permissions: unknown[] }>(
        "GET",
        `/api/v1/organizations/${orgA}/users/${bob.id}/permissions`,
      );
      assert.deepEqual(bobInA.body.permissions, []);

      // Unknown keys or users change nothing.
      const carol = await createUser(server);
      const bad = await api("POST", `/api/v1/organizations/${orgA}/users`, {
        users: [{ id: carol.id }, { id: bob.id, roles: ["no-such-role"] }],
      });
      assert.equal(bad.status, 404);
      assert.equal(await server.services.organizations.store.isMember(orgA, carol.id), false);

      // Give and take single roles and permissions.
      assert.equal(
        (
          await api("POST", `/api/v1/organizations/${orgA}/users/${bob.id}/permissions`, {
            permission_id: pay,
          })
        ).status,
        200,
      );
      assert.equal(
        (await api("DELETE", `/api/v1/organizations/${orgA}/users/${alice.id}/roles/${clerk}`)).status,
        200,
      );
      const after = await api<{ permissions: { key: string }[] }>(
        "GET",
        `/api/v1/organizations/${orgA}/users/${alice.id}/permissions`,
      );
      assert.deepEqual(
        after.body.permissions.map((p) => p.key),
        ["pay:invoices"],
      );

      // PATCH: remove one, update another.
      const patched = await api<Json>("PATCH", `/api/v1/organizations/${orgA}/users`, {
        users: [{ id: alice.id, operation: "delete" }, { id: bob.id, roles: ["clerk"] }, { id: carol.id }],
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.deepEqual(patched.body.users_removed, [alice.id]);
      assert.deepEqual(patched.body.users_updated, [bob.id]);
      assert.deepEqual(patched.body.users_added, [carol.id]);
      assert.equal(await server.services.organizations.store.isMember(orgA, alice.id), false);
      const roleUsers = await api<{ users: { id: string; org_codes: string[] }[] }>(
        "GET",
        `/api/v1/roles/${member}/users?page_size=500`,
      );
      assert.ok(roleUsers.body.users.some((u) => u.id === carol.id && u.org_codes.includes(orgA)));
    });

    it("defines feature flags and overrides them where allowed", async () => {
      const create = (body: Json) => api("POST", "/api/v1/feature_flags", body);
      assert.equal(
        (
          await create({
            key: "theme",
            name: "Theme",
            type: "str",
            default_value: "light",
            allow_override_level: "usr",
          })
        ).status,
        201,
      );
      assert.equal(
        (
          await create({
            key: "seats",
            name: "Seats",
            type: "int",
            default_value: "5",
            allow_override_level: "org",
          })
        ).status,
        201,
      );
      assert.equal(
        (
          await create({
            key: "beta",
            name: "Beta",
            type: "bool",
            default_value: "false",
            allow_override_level: "env",
          })
        ).status,
        201,
      );
      assert.equal(
        (await create({ key: "theme", name: "Again", type: "str", default_value: "x" })).status,
        409,
      );
      assert.equal(
        (await create({ key: "bad", name: "Bad", type: "int", default_value: "many" })).status,
        400,
      );
      assert.equal(
        (await create({ key: "bad", name: "Bad", type: "bool", default_value: "yes" })).status,
        400,
      );

      assert.equal(
        (await api("PATCH", "/api/v1/environment/feature_flags/beta", { value: "true" })).status,
        200,
      );
      const env = await api<{ feature_flags: Record<string, Json> }>(
        "GET",
        "/api/v1/environment/feature_flags",
      );
      assert.deepEqual(env.body.feature_flags.beta, { type: "bool", value: "true" });
      assert.deepEqual(env.body.feature_flags.seats, { type: "int", value: "5" });

      const org = await createOrg("Flagged", { feature_flags: { seats: "50" } });
      const orgFlags = await api<{ feature_flags: Record<string, Json> }>(
        "GET",
        `/api/v1/organizations/${org}/feature_flags`,
      );
      assert.deepEqual(orgFlags.body.feature_flags.seats, { type: "int", value: "50" });
      // beta may only be overridden for the environment; seats needs a whole number.
      const refused = await api("PATCH", `/api/v1/organizations/${org}/feature_flags/beta?value=false`);
      assert.equal(refused.status, 400);
      assert.equal((refused.body.errors as Json[])[0]!.code, "FEATURE_FLAG_OVERRIDE_NOT_ALLOWED");
      assert.equal(
        (await api("PATCH", `/api/v1/organizations/${org}/feature_flags/seats?value=1.5`)).status,
        400,
      );
      assert.equal(
        (await api("PATCH", `/api/v1/organizations/${org}/feature_flags/seats?value=7`)).status,
        200,
      );
      const user = await createUser(server);
      assert.equal(
        (await api("PATCH", `/api/v1/users/${user.id}/feature_flags/theme?value=dark`)).status,
        200,
      );
      assert.equal((await api("PATCH", `/api/v1/users/${user.id}/feature_flags/seats?value=9`)).status, 400);
      assert.equal((await api("PATCH", `/api/v1/users/${user.id}/feature_flags/nope?value=1`)).status, 404);
      await server.services.organizations.join(org, user.id);
      const resolved = await server.services.featureFlags.resolve(user.id, org);
      assert.deepEqual(Object.fromEntries(resolved.map((r) => [r.flag.key, r.value])), {
        beta: true,
        seats: 7,
        theme: "dark",
      });

      // Replace: a type change drops overrides that no longer fit.
      const replaced = await api(
        "PUT",
        "/api/v1/feature_flags/seats?name=Seats&description=&type=str&allow_override_level=org&default_value=few",
      );
      assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
      const afterReplace = await server.services.featureFlags.resolve(user.id, org);
      assert.equal(afterReplace.find((r) => r.flag.key === "seats")?.value, "few");

      assert.equal((await api("DELETE", `/api/v1/organizations/${org}/feature_flags`)).status, 200);
      assert.equal((await api("DELETE", "/api/v1/environment/feature_flags/beta")).status, 200);
      assert.equal((await api("DELETE", "/api/v1/feature_flags/theme")).status, 200);
      assert.equal((await api("DELETE", "/api/v1/feature_flags/theme")).status, 404);
      const final = await server.services.featureFlags.resolve(user.id, org);
      assert.deepEqual(Object.fromEntries(final.map((r) => [r.flag.key, r.value])), {
        beta: false,
        seats: "few",
      });
    });
  });
}
