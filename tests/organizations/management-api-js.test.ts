// @kinde/management-api-js (unchanged) manages organizations, members, roles, permissions and
// feature flags against Latchkey over HTTPS (the client forces https://), on both databases.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { createUser } from "../helpers/fixtures.js";
import { runKindeScript } from "../helpers/kinde-script.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { selfSignedCertificate } from "../helpers/tls.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`@kinde/management-api-js manages organizations, roles, permissions, flags (${kind})`, {
    skip,
  }, () => {
    const certificate = selfSignedCertificate();
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind, { tls: certificate });
    });
    after(async () => {
      await server?.close();
      certificate.remove();
    });

    it("runs every step unchanged", async () => {
      const user = await createUser(server);
      const { ok, steps } = await runKindeScript(
        server,
        certificate,
        "tests/organizations/kinde-management-orgs.ts",
        [user.id],
      );

      const orgCode = (ok("createOrganization").organization as { code: string }).code;
      assert.match(orgCode, /^org_[0-9a-f]{11}$/);
      assert.equal(ok("getOrganization").handle, "mapi");
      ok("updateOrganization");
      const listed = ok("getOrganizations").organizations as { code: string; name: string }[];
      assert.ok(listed.some((o) => o.code === orgCode && o.name === "Renamed by management-api-js"));

      ok("createPermission");
      const roleId = (ok("createRole").role as { id: string }).id;
      assert.equal((ok("updateRolePermissions").permissions_added as string[]).length, 1);
      assert.deepEqual(
        (ok("getRolePermissions").permissions as { key: string }[]).map((p) => p.key),
        ["read:things"],
      );
      assert.ok((ok("getRoles").roles as { id: string }[]).some((r) => r.id === roleId));

      assert.deepEqual(ok("addOrganizationUsers").users_added, [user.id]);
      const members = ok("getOrganizationUsers").organization_users as { id: string; roles: string[] }[];
      assert.deepEqual(
        members.map((m) => [m.id, m.roles]),
        [[user.id, ["thing-reader"]]],
      );
      assert.deepEqual(
        (ok("getOrganizationUserRoles").roles as { id: string }[]).map((r) => r.id),
        [roleId],
      );
      const permissions = ok("getOrganizationUserPermissions").permissions as {
        key: string;
        roles: { id: string }[];
      }[];
      assert.deepEqual(
        permissions.map((p) => [p.key, p.roles.map((r) => r.id)]),
        [["read:things", [roleId]]],
      );

      ok("createFeatureFlag");
      ok("updateOrganizationFeatureFlagOverride");
      assert.deepEqual((ok("getOrganizationFeatureFlags").feature_flags as Record<string, unknown>).beta, {
        type: "bool",
        value: "true",
      });
      ok("updateUserFeatureFlagOverride");
      ok("updateFeatureFlag");
      // (The script deletes the flag afterwards; deleteFeatureFlag succeeding shows it still existed.)

      ok("removeOrganizationUser");
      assert.equal(steps.get("getRemovedUserRoles")?.error?.status, 404);
      ok("deleteFeatureFlag");
      ok("deleteRole");
      ok("deletePermission");
      ok("deleteOrganization");
      const gone = steps.get("getDeletedOrganization")!;
      assert.equal(gone.ok, false);
      assert.equal(gone.error?.status, 404);
    });
  });
}
