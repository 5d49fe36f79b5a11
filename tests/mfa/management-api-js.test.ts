// Kinde's Management API client (@kinde/management-api-js, unchanged) reads a user's MFA (directly
// and as an organization's member), resets one factor and then all, replaces the environment's and
// an organization's MFA configuration, enforces MFA on the organization and sets passkey policies.
// Answers are checked against the client's own schemas, refusals are Kinde's error shape, and the
// stored state is read back after the script. Both databases.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { createUser } from "../helpers/fixtures.js";
import { runKindeScript } from "../helpers/kinde-script.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { selfSignedCertificate } from "../helpers/tls.js";

type Json = Record<string, unknown>;

for (const { kind, skip } of await databaseKinds()) {
  describe(`@kinde/management-api-js drives MFA and passkey settings (${kind})`, { skip }, () => {
    const certificate = selfSignedCertificate();
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind, { tls: certificate });
    });
    after(async () => {
      await server?.close();
      certificate.remove();
    });

    it("reads and resets a user's MFA and sets the environment's and an organization's policies", async () => {
      const user = await createUser(server);
      const org = await server.services.organizations.create({ name: "SDK MFA" });
      await server.services.organizations.join(org.code, user.id);
      const { store } = server.services.mfa;
      await store.recordUse(user.id, "mfa:email", user.email);
      const app = await store.saveFactor({
        userId: user.id,
        type: "mfa:authenticator_app",
        name: "Authenticator app",
        secretSealed: server.services.mfa.newSealedSecret(user.id).sealed,
        lastUsedStep: null,
      });

      const { ok, refused } = await runKindeScript(server, certificate, "tests/mfa/kinde-management-mfa.ts", [
        user.id,
        app.id,
        org.code,
      ]);

      const read = ok("getUsersMfa", "get_user_mfa_response");
      const mfa = read.mfa as Json;
      assert.equal(mfa.id, app.id);
      assert.equal(mfa.type, "authenticator_app");
      assert.equal(mfa.is_verified, true);
      assert.equal((read.factors as Json[]).length, 2);
      assert.deepEqual(ok("getOrgUserMfa", "get_user_mfa_response").mfa, mfa);
      refused("getUsersMfa:unknown-user", 404, "USER_NOT_FOUND");
      refused("resetUsersMfa:unknown-factor", 404, "MFA_FACTOR_NOT_FOUND");

      ok("resetUsersMfa", "success_response");
      const afterOne = ok("getUsersMfa:after-one", "get_user_mfa_response");
      assert.equal((afterOne.mfa as Json).type, "email", "the e-mail factor is what is left");
      ok("resetUsersMfaAll", "success_response");
      const afterAll = ok("getUsersMfa:after-all", "get_user_mfa_response");
      assert.equal(afterAll.mfa, undefined);
      assert.deepEqual(await store.factors(user.id), []);

      ok("replaceMfa", "success_response");
      refused("replaceMfa:bad-policy", 400, "INVALID_REQUEST");
      assert.deepEqual(await store.environmentSettings(), {
        policy: "optional",
        // Stored in Latchkey's one order (policy.ts's MFA_FACTOR_TYPES), whatever order was sent.
        enabledFactors: ["mfa:email", "mfa:authenticator_app"],
        recoveryCodes: false,
        passkeyPolicy: "mandatory",
      });
      ok("replaceOrganizationMfa", "success_response");
      ok("updateOrganization:enforce", "success_response");
      assert.deepEqual(await store.organizationSettings(org.code), {
        enforced: true,
        enabledFactors: ["mfa:email"],
        recoveryCodes: true,
        passkeyPolicy: "off",
      });

      assert.deepEqual(
        { ...ok("updatePasskey"), message: "" },
        { code: "OK", message: "", enabled: true, policy: "mandatory" },
      );
      assert.deepEqual(ok("getPasskey"), {
        code: "OK",
        message: "Success",
        enabled: true,
        policy: "mandatory",
      });
      const orgPasskey = ok("updateOrganizationPasskey");
      assert.equal(orgPasskey.enabled, false);
      assert.equal(orgPasskey.is_override_environment_passkey_settings, true);
      assert.deepEqual(ok("getOrganizationPasskey"), {
        code: "OK",
        message: "Success",
        enabled: false,
        policy: "off",
        is_override_environment_passkey_settings: true,
        environment_policy: "mandatory",
      });
    });
  });
}
