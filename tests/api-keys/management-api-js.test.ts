// Kinde's Management API client (@kinde/management-api-js, unchanged) drives organization
// invitations (create with e-mail, list, get, revoke) and API keys (create, list, get, verify,
// rotate, delete). Answers are checked against the client's own schemas, refusals are Kinde's
// error shape, and what was stored is read back. Both databases.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { createApi } from "../helpers/fixtures.js";
import { runKindeScript } from "../helpers/kinde-script.js";
import { messagesTo } from "../helpers/mail.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { selfSignedCertificate } from "../helpers/tls.js";

type Json = Record<string, unknown>;

for (const { kind, skip } of await databaseKinds()) {
  describe(`@kinde/management-api-js drives invitations and API keys (${kind})`, { skip }, () => {
    const certificate = selfSignedCertificate();
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind, { tls: certificate });
    });
    after(async () => {
      await server?.close();
      certificate.remove();
    });

    it("invites into an organization and makes, verifies, rotates and deletes an API key", async () => {
      const org = await server.services.organizations.create({ name: "SDK team" });
      const roleKey = `sdk-${randomBytes(3).toString("hex")}`;
      await server.services.roles.createRole({
        key: roleKey,
        name: "SDK role",
        description: null,
        isDefault: false,
        assignmentPermissionId: null,
      });
      const api = await createApi(server, { audience: "https://sdk-api.example", scopes: ["read:things"] });
      const [scope] = await server.services.apis.store.scopes(api.id);

      const { ok, refused } = await runKindeScript(
        server,
        certificate,
        "tests/api-keys/kinde-management-keys.ts",
        [org.code, roleKey, api.id, scope!.id],
      );

      const created = ok("createOrganizationInvite", "create_organization_invite_response");
      const invite = created.invite as Json;
      assert.equal(created.code, "INVITATION_CREATED");
      assert.deepEqual(invite.roles, [{ key: roleKey, name: "SDK role" }]);
      assert.equal(invite.is_sent, true);
      const [mail] = await messagesTo(server, "sdk-invitee@example.com");
      assert.ok(mail?.text.includes(invite.invite_link as string));
      refused("createOrganizationInvite:unknown-role", 404, "ROLE_NOT_FOUND");
      const listed = ok("getOrganizationInvites", "get_organization_invites_response");
      assert.deepEqual(
        (listed.invites as Json[]).map((i) => i.id),
        [invite.id],
      );
      const read = ok("getOrganizationInvite", "get_organization_invite_response");
      assert.equal(read.email, "sdk-invitee@example.com");
      assert.equal(read.first_name, "Sdk");
      refused("getOrganizationInvite:unknown", 404, "INVITATION_NOT_FOUND");
      ok("deleteOrganizationInvite", "success_response");
      const revoked = ok("getOrganizationInvites:revoked", "get_organization_invites_response");
      assert.equal((revoked.invites as Json[])[0]?.is_revoked, true);

      const key = ok("createApiKey", "create_api_key_response");
      assert.equal(key.code, "API_KEY_CREATED");
      refused("createApiKey:bad-owner", 400, "INVALID_REQUEST");
      const verified = ok("verifyApiKey", "verify_api_key_response");
      assert.equal(verified.is_valid, true);
      assert.deepEqual(verified.scopes, ["read:things"]);
      assert.equal(verified.org_code, org.code);
      const keys = ok("getApiKeys", "get_api_keys_response");
      assert.deepEqual(
        (keys.api_keys as Json[]).map((k) => k.id),
        [(key.api_key as Json).id],
      );
      const one = ok("getApiKey", "get_api_key_response");
      assert.equal((one.api_key as Json).organization_id, org.code);
      assert.equal((one.api_key as Json).verification_count, 1);
      const rotated = ok("rotateApiKey", "rotate_api_key_response");
      assert.notEqual((rotated.api_key as Json).key, (key.api_key as Json).key);
      refused("verifyApiKey:old", 401, "API_KEY_INVALID");
      ok("verifyApiKey:rotated", "verify_api_key_response");
      ok("deleteApiKey", "success_response");
      refused("getApiKey:deleted", 404, "API_KEY_NOT_FOUND");
      assert.equal(await server.storage.db.selectFrom("api_keys").select("id").executeTakeFirst(), undefined);
    });
  });
}
