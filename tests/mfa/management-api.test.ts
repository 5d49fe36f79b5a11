// Management API for MFA and passkey settings (issue 22): Kinde's PUT /api/v1/mfa, organization
// MFA and is_enforce_mfa, a user's factors read and reset (directly and as an organization's
// member), passkey policies of the environment and of organizations — scopes, bad bodies and
// unknown ids included. A reset must end the user's sessions and refresh tokens and record
// user.updated. Every answer is checked against the server's OpenAPI document by callApi.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { recoveryCodeHash } from "../../src/mfa/mfa.store.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { callApi, managementToken, narrowMachineToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { exchangeCode, pkcePair } from "../helpers/tokens.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";

type Errors = { errors: { code: string; message: string }[] };
const errorCode = (body: unknown) => (body as Errors).errors?.[0]?.code;

for (const { kind, skip } of await databaseKinds()) {
  describe(`Management API: MFA and passkey settings (${kind})`, { skip }, () => {
    let server: TestServer;
    let token: string;
    let spa: { clientId: string };

    before(async () => {
      server = await startTestServer(kind);
      token = await managementToken(server);
      spa = await createApplication(server, "spa");
    });
    after(async () => server?.close());

    const api = <T = Record<string, unknown>>(
      method: string,
      path: string,
      options: { body?: unknown; token?: string } = {},
    ) => callApi<T>(server, method, path, { token, ...options });

    const newOrganization = async () => {
      const created = await api<{ organization: { code: string } }>("POST", "/api/v1/organization", {
        body: { name: `Org ${randomBytes(3).toString("hex")}` },
      });
      assert.equal(created.status, 200);
      return created.body.organization.code;
    };

    /** A password sign-in through the hosted page and the code exchange: the tokens. */
    async function signIn(user: { email: string; password: string }) {
      const { verifier, challenge } = pkcePair();
      const url = authorizationUrl(server, spa.clientId, CALLBACK, {
        scope: "openid offline",
        code_challenge: challenge,
      });
      const callback = await new UserAgent(server.url).authorize(url, user);
      const tokens = await exchangeCode(server, callback, { clientId: spa.clientId, verifier });
      assert.ok(tokens.refresh_token, "offline: a refresh token");
      return { refresh_token: tokens.refresh_token };
    }

    async function refreshStatus(refreshToken: string): Promise<number> {
      const response = await fetch(`${server.url}/oauth2/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "refresh_token",
          client_id: spa.clientId,
          refresh_token: refreshToken,
        }),
      });
      await response.text();
      return response.status;
    }

    /** An authenticator app (with recovery codes) and an e-mail factor, as the sign-in pages save them. */
    async function enrol(userId: string, email: string) {
      const { store } = server.services.mfa;
      await store.recordUse(userId, "mfa:email", email);
      const app = await store.saveFactor({
        userId,
        type: "mfa:authenticator_app",
        name: "Authenticator app",
        secretSealed: server.services.mfa.newSealedSecret(userId).sealed,
        lastUsedStep: null,
      });
      await store.replaceRecoveryCodes(
        userId,
        ["AAAAA-BBBBB", "CCCCC-DDDDD"].map((code) => recoveryCodeHash(userId, code)),
      );
      return app;
    }

    const liveSessions = async (userId: string) =>
      (
        await server.services.db
          .selectFrom("browser_sessions")
          .select("id")
          .where("user_id", "=", userId)
          .where("revoked_at", "is", null)
          .execute()
      ).length;

    const userUpdatedEvents = async (userId: string) =>
      server.services.db
        .selectFrom("events")
        .select(["source", "data"])
        .where("type", "=", "user.updated")
        .where("user_id", "=", userId)
        .execute();

    it("reads and replaces the environment's MFA configuration", async () => {
      const initial = await api("GET", "/api/v1/mfa");
      assert.equal(initial.status, 200);
      assert.deepEqual(initial.body, {
        code: "OK",
        message: "Success",
        mfa: { policy: "off", enabled_factors: ["mfa:authenticator_app"], is_recovery_codes_enabled: true },
      });

      const replaced = await api("PUT", "/api/v1/mfa", {
        body: {
          policy: "required",
          enabled_factors: ["mfa:email", "mfa:authenticator_app", "mfa:email"],
          is_recovery_codes_enabled: false,
        },
      });
      assert.equal(replaced.status, 200);
      assert.deepEqual(replaced.body, { code: "OK", message: "MFA Configuration updated successfully" });
      assert.deepEqual(await server.services.mfa.store.environmentSettings(), {
        policy: "required",
        enabledFactors: ["mfa:email", "mfa:authenticator_app"],
        recoveryCodes: false,
        passkeyPolicy: "optional",
      });
      // Kinde's default for the field this replacement leaves out.
      await api("PUT", "/api/v1/mfa", { body: { policy: "optional", enabled_factors: ["mfa:sms"] } });
      assert.deepEqual((await api("GET", "/api/v1/mfa")).body.mfa, {
        policy: "optional",
        enabled_factors: ["mfa:sms"],
        is_recovery_codes_enabled: true,
      });

      for (const body of [
        { enabled_factors: ["mfa:email"] },
        { policy: "required" },
        { policy: "sometimes", enabled_factors: [] },
        { policy: "required", enabled_factors: ["mfa:fax"] },
        { policy: "required", enabled_factors: "mfa:email" },
        { policy: "required", enabled_factors: ["mfa:email"], is_recovery_codes_enabled: "yes" },
        { policy: "required", enabled_factors: ["mfa:email"], remember_device: true },
        { policy: "required", enabled_factors: [] },
        { policy: "optional", enabled_factors: [] },
      ]) {
        const refused = await api("PUT", "/api/v1/mfa", { body });
        assert.equal(refused.status, 400, JSON.stringify(body));
        assert.equal(errorCode(refused.body), "INVALID_REQUEST", JSON.stringify(body));
      }
      assert.equal((await api("GET", "/api/v1/mfa")).body.mfa && true, true);
      assert.equal((await server.services.mfa.store.environmentSettings()).policy, "optional", "unchanged");
      const off = await api("PUT", "/api/v1/mfa", { body: { policy: "off", enabled_factors: [] } });
      assert.equal(off.status, 200, "no factors is fine with MFA off");
      await api("PUT", "/api/v1/mfa", {
        body: { policy: "off", enabled_factors: ["mfa:authenticator_app"] },
      });
    });

    it("sets an organization's factors and is_enforce_mfa; unknown organizations are 404", async () => {
      const org = await newOrganization();
      const before = await api("GET", `/api/v1/organizations/${org}/mfa`);
      assert.deepEqual(before.body.mfa, {
        is_enforce_mfa: false,
        enabled_factors: null,
        is_recovery_codes_enabled: null,
      });
      const put = await api("PUT", `/api/v1/organizations/${org}/mfa`, {
        body: { enabled_factors: ["mfa:email"], is_recovery_codes_enabled: false },
      });
      assert.equal(put.status, 200);
      const enforced = await api("PATCH", `/api/v1/organization/${org}`, { body: { is_enforce_mfa: true } });
      assert.equal(enforced.status, 200, JSON.stringify(enforced.body));
      assert.deepEqual(await server.services.mfa.store.organizationSettings(org), {
        enforced: true,
        enabledFactors: ["mfa:email"],
        recoveryCodes: false,
        passkeyPolicy: null,
      });
      assert.deepEqual((await api("GET", `/api/v1/organizations/${org}/mfa`)).body.mfa, {
        is_enforce_mfa: true,
        enabled_factors: ["mfa:email"],
        is_recovery_codes_enabled: false,
      });
      // The environment says off; this organization's sign-ins still need a second factor.
      const settings = await server.services.mfa.settingsFor("kp_nobody", org);
      assert.equal(settings.policy, "required");

      await api("PATCH", `/api/v1/organization/${org}`, { body: { is_enforce_mfa: false } });
      await api("PUT", `/api/v1/organizations/${org}/mfa`, { body: { enabled_factors: [] } });
      assert.deepEqual((await api("GET", `/api/v1/organizations/${org}/mfa`)).body.mfa, {
        is_enforce_mfa: false,
        enabled_factors: [],
        is_recovery_codes_enabled: true,
      });

      for (const body of [{}, { enabled_factors: ["sms"] }, { enabled_factors: [], policy: "required" }]) {
        const refused = await api("PUT", `/api/v1/organizations/${org}/mfa`, { body });
        assert.equal(refused.status, 400, JSON.stringify(body));
        assert.equal(errorCode(refused.body), "INVALID_REQUEST");
      }
      const badPatch = await api("PATCH", `/api/v1/organization/${org}`, { body: { is_enforce_mfa: "yes" } });
      assert.equal(badPatch.status, 400);
      for (const [method, path, body] of [
        ["GET", "/api/v1/organizations/org_missing/mfa", undefined],
        ["PUT", "/api/v1/organizations/org_missing/mfa", { enabled_factors: [] }],
        ["PATCH", "/api/v1/organization/org_missing", { is_enforce_mfa: true }],
      ] as const) {
        const missing = await api(method, path, { body });
        assert.equal(missing.status, 404, `${method} ${path}`);
        assert.equal(errorCode(missing.body), "ORGANIZATION_NOT_FOUND");
      }
    });

    it("reads a user's factors in Kinde's shape, the authenticator app first", async () => {
      const user = await createUser(server);
      const none = await api(`GET`, `/api/v1/users/${user.id}/mfa`);
      assert.equal(none.status, 200);
      assert.deepEqual(none.body, { code: "OK", message: "Success", factors: [] });

      await server.services.mfa.store.recordUse(user.id, "mfa:email", user.email);
      const emailOnly = await api<{ mfa: Record<string, unknown> }>("GET", `/api/v1/users/${user.id}/mfa`);
      const email = (await server.services.mfa.store.factors(user.id))[0]!;
      assert.deepEqual(emailOnly.body.mfa, {
        id: email.id,
        type: "email",
        created_on: new Date(email.createdAt * 1000).toISOString(),
        name: user.email,
        is_verified: true,
        usage_count: 1,
        last_used_on: new Date(email.lastUsedAt! * 1000).toISOString(),
      });
      assert.match(email.id, /^mfa_[0-9a-f]{32}$/);

      const app = await enrol(user.id, user.email);
      const both = await api<{ mfa: { id: string; type: string }; factors: { id: string; type: string }[] }>(
        "GET",
        `/api/v1/users/${user.id}/mfa`,
      );
      // The e-mail factor was used more recently; Kinde's one factor is still the app.
      assert.equal(both.body.mfa.id, app.id);
      assert.equal(both.body.mfa.type, "authenticator_app");
      assert.deepEqual(
        both.body.factors.map((f) => f.type).sort(),
        ["authenticator_app", "email"],
        "the Latchkey extension lists every factor",
      );

      const missing = await api("GET", "/api/v1/users/kp_missing/mfa");
      assert.equal(missing.status, 404);
      assert.equal(errorCode(missing.body), "USER_NOT_FOUND");
    });

    it("resetting one factor or all ends sessions and refresh tokens, and records user.updated", async () => {
      const user = await createUser(server);
      const app = await enrol(user.id, user.email);
      const tokens = await signIn(user);
      assert.equal(await liveSessions(user.id), 1);

      const unknown = await api("DELETE", `/api/v1/users/${user.id}/mfa/mfa_${"0".repeat(32)}`);
      assert.equal(unknown.status, 404);
      assert.equal(errorCode(unknown.body), "MFA_FACTOR_NOT_FOUND");
      assert.equal(await refreshStatus(tokens.refresh_token), 200, "an unknown factor changes nothing");
      const second = await signIn(user);

      const one = await api("DELETE", `/api/v1/users/${user.id}/mfa/${app.id}`);
      assert.equal(one.status, 200);
      assert.deepEqual(one.body, { code: "OK", message: "User's MFA successfully reset" });
      const left = await server.services.mfa.store.factors(user.id);
      assert.deepEqual(
        left.map((f) => f.type),
        ["mfa:email"],
      );
      assert.equal(await server.services.mfa.store.unusedRecoveryCodes(user.id), 0, "codes go with the app");
      assert.equal(await liveSessions(user.id), 0);
      assert.equal(await refreshStatus(second.refresh_token), 400, "the refresh token is revoked");
      const events = await userUpdatedEvents(user.id);
      assert.equal(events.length, 1);
      assert.equal(events[0]!.source, "api");
      assert.equal((JSON.parse(events[0]!.data) as { user: { id: string } }).user.id, user.id);

      const third = await signIn(user);
      const all = await api("DELETE", `/api/v1/users/${user.id}/mfa`);
      assert.equal(all.status, 200);
      assert.deepEqual(await server.services.mfa.store.factors(user.id), []);
      assert.equal(await refreshStatus(third.refresh_token), 400);
      assert.equal((await userUpdatedEvents(user.id)).length, 2);
      // Nothing left to remove: still a sign-out everywhere, but no change to tell receivers of.
      assert.equal((await api("DELETE", `/api/v1/users/${user.id}/mfa`)).status, 200);
      assert.equal((await userUpdatedEvents(user.id)).length, 2);

      const missing = await api("DELETE", "/api/v1/users/kp_missing/mfa");
      assert.equal(missing.status, 404);
      assert.equal(errorCode(missing.body), "USER_NOT_FOUND");
    });

    it("a machine token cannot reset an administrator's factors", async () => {
      const admin = await createUser(server);
      await server.services.db.updateTable("users").set({ is_admin: 1 }).where("id", "=", admin.id).execute();
      const app = await enrol(admin.id, admin.email);
      const org = await newOrganization();
      await server.services.organizations.join(org, admin.id);
      for (const path of [
        `/api/v1/users/${admin.id}/mfa`,
        `/api/v1/users/${admin.id}/mfa/${app.id}`,
        `/api/v1/organizations/${org}/users/${admin.id}/mfa`,
        `/api/v1/organizations/${org}/users/${admin.id}/mfa/${app.id}`,
      ]) {
        const refused = await api("DELETE", path);
        assert.equal(refused.status, 403, path);
        assert.equal(errorCode(refused.body), "ADMINISTRATOR_PROTECTED");
      }
      assert.equal((await server.services.mfa.store.factors(admin.id)).length, 2);
      assert.equal((await api("GET", `/api/v1/users/${admin.id}/mfa`)).status, 200, "reading is fine");
    });

    it("acts on a member's factors through the organization; a non-member is 404", async () => {
      const org = await newOrganization();
      const member = await createUser(server);
      const outsider = await createUser(server);
      await api("POST", `/api/v1/organizations/${org}/users`, { body: { users: [{ id: member.id }] } });
      const app = await enrol(member.id, member.email);
      await enrol(outsider.id, outsider.email);

      const read = await api<{ mfa: { id: string }; factors: unknown[] }>(
        "GET",
        `/api/v1/organizations/${org}/users/${member.id}/mfa`,
      );
      assert.equal(read.status, 200);
      assert.equal(read.body.mfa.id, app.id);
      assert.equal(read.body.factors.length, 2);

      for (const [method, path] of [
        ["GET", `/api/v1/organizations/${org}/users/${outsider.id}/mfa`],
        ["DELETE", `/api/v1/organizations/${org}/users/${outsider.id}/mfa`],
        ["DELETE", `/api/v1/organizations/${org}/users/${outsider.id}/mfa/${app.id}`],
        ["GET", `/api/v1/organizations/${org}/users/kp_missing/mfa`],
      ]) {
        const refused = await api(method!, path!);
        assert.equal(refused.status, 404, path);
        assert.equal(errorCode(refused.body), "ORGANIZATION_USER_NOT_FOUND");
      }
      const noOrg = await api("GET", `/api/v1/organizations/org_missing/users/${member.id}/mfa`);
      assert.equal(errorCode(noOrg.body), "ORGANIZATION_NOT_FOUND");
      assert.equal((await server.services.mfa.store.factors(outsider.id)).length, 2, "the outsider's stay");

      // Another member's factor id, through this member: not theirs.
      const outsiderApp = (await server.services.mfa.store.factors(outsider.id))[1]!;
      const foreign = await api(
        "DELETE",
        `/api/v1/organizations/${org}/users/${member.id}/mfa/${outsiderApp.id}`,
      );
      assert.equal(foreign.status, 404);
      assert.equal(errorCode(foreign.body), "MFA_FACTOR_NOT_FOUND");

      const tokens = await signIn(member);
      const one = await api("DELETE", `/api/v1/organizations/${org}/users/${member.id}/mfa/${app.id}`);
      assert.equal(one.status, 200);
      assert.equal(await refreshStatus(tokens.refresh_token), 400);
      const all = await api("DELETE", `/api/v1/organizations/${org}/users/${member.id}/mfa`);
      assert.equal(all.status, 200);
      assert.deepEqual(await server.services.mfa.store.factors(member.id), []);
    });

    it("reads and sets passkey policies of the environment and of organizations", async () => {
      assert.deepEqual((await api("GET", "/api/v1/passkey")).body, {
        code: "OK",
        message: "Success",
        enabled: true,
        policy: "optional",
      });
      const off = await api("PUT", "/api/v1/passkey", { body: { policy: "off" } });
      assert.equal(off.status, 200);
      assert.equal(off.body.enabled, false);
      assert.equal((await server.services.mfa.store.environmentSettings()).passkeyPolicy, "off");
      for (const body of [{}, { policy: "always" }, { policy: "off", enabled: true }]) {
        const refused = await api("PUT", "/api/v1/passkey", { body });
        assert.equal(refused.status, 400, JSON.stringify(body));
        assert.equal(errorCode(refused.body), "INVALID_REQUEST");
      }

      const org = await newOrganization();
      assert.deepEqual((await api("GET", `/api/v1/organizations/${org}/passkey`)).body, {
        code: "OK",
        message: "Success",
        enabled: false,
        policy: "off",
        is_override_environment_passkey_settings: false,
        environment_policy: "off",
      });
      const override = await api("PUT", `/api/v1/organizations/${org}/passkey`, {
        body: { policy: "mandatory", is_override_environment_passkey_settings: true },
      });
      assert.equal(override.status, 200);
      assert.deepEqual(
        { ...override.body, message: undefined },
        {
          code: "OK",
          message: undefined,
          enabled: true,
          policy: "mandatory",
          is_override_environment_passkey_settings: true,
        },
      );
      assert.equal((await server.services.mfa.store.organizationSettings(org))?.passkeyPolicy, "mandatory");
      const read = await api("GET", `/api/v1/organizations/${org}/passkey`);
      assert.equal(read.body.environment_policy, "off");
      assert.equal(read.body.policy, "mandatory");

      const back = await api("PUT", `/api/v1/organizations/${org}/passkey`, {
        body: { is_override_environment_passkey_settings: false },
      });
      assert.equal(back.status, 200);
      assert.equal(back.body.policy, "off");
      assert.equal(back.body.is_override_environment_passkey_settings, false);
      assert.equal((await server.services.mfa.store.organizationSettings(org))?.passkeyPolicy, null);
      // A policy alone overrides.
      await api("PUT", `/api/v1/organizations/${org}/passkey`, { body: { policy: "optional" } });
      assert.equal((await server.services.mfa.store.organizationSettings(org))?.passkeyPolicy, "optional");

      for (const [body, code] of [
        [{}, "NO_FIELDS_TO_UPDATE"],
        [{ is_override_environment_passkey_settings: true }, "INVALID_REQUEST"],
        [{ is_override_environment_passkey_settings: false, policy: "mandatory" }, "INVALID_REQUEST"],
        [{ policy: "sometimes" }, "INVALID_REQUEST"],
      ] as const) {
        const refused = await api("PUT", `/api/v1/organizations/${org}/passkey`, { body });
        assert.equal(refused.status, 400, JSON.stringify(body));
        assert.equal(errorCode(refused.body), code, JSON.stringify(body));
      }
      assert.equal(
        (await server.services.mfa.store.organizationSettings(org))?.passkeyPolicy,
        "optional",
        "refused bodies change nothing",
      );
      for (const method of ["GET", "PUT"]) {
        const missing = await api(method, "/api/v1/organizations/org_missing/passkey", {
          body: method === "PUT" ? { policy: "off" } : undefined,
        });
        assert.equal(missing.status, 404);
        assert.equal(errorCode(missing.body), "ORGANIZATION_NOT_FOUND");
      }
      await api("PUT", "/api/v1/passkey", { body: { policy: "optional" } });
    });

    it("each operation needs its own scope", async () => {
      const org = await newOrganization();
      const user = await createUser(server);
      await api("POST", `/api/v1/organizations/${org}/users`, { body: { users: [{ id: user.id }] } });
      const factor = () => `mfa_${randomBytes(16).toString("hex")}`;
      const operations: [string, string, string, unknown?][] = [
        ["GET", "/api/v1/mfa", "read:mfa"],
        ["PUT", "/api/v1/mfa", "update:mfa", { policy: "off", enabled_factors: ["mfa:authenticator_app"] }],
        ["GET", `/api/v1/organizations/${org}/mfa`, "read:organization_mfa"],
        ["PUT", `/api/v1/organizations/${org}/mfa`, "update:organization_mfa", { enabled_factors: [] }],
        ["GET", `/api/v1/users/${user.id}/mfa`, "read:user_mfa"],
        ["DELETE", `/api/v1/users/${user.id}/mfa`, "delete:user_mfa"],
        ["DELETE", `/api/v1/users/${user.id}/mfa/${factor()}`, "delete:user_mfa"],
        ["GET", `/api/v1/organizations/${org}/users/${user.id}/mfa`, "read:organization_user_mfa"],
        ["DELETE", `/api/v1/organizations/${org}/users/${user.id}/mfa`, "delete:organization_user_mfa"],
        [
          "DELETE",
          `/api/v1/organizations/${org}/users/${user.id}/mfa/${factor()}`,
          "delete:organization_user_mfa",
        ],
        ["GET", "/api/v1/passkey", "read:passkey"],
        ["PUT", "/api/v1/passkey", "update:passkey", { policy: "optional" }],
        ["GET", `/api/v1/organizations/${org}/passkey`, "read:organization_passkey"],
        [
          "PUT",
          `/api/v1/organizations/${org}/passkey`,
          "update:organization_passkey",
          { policy: "optional" },
        ],
        ["PATCH", `/api/v1/organization/${org}`, "update:organizations", { is_enforce_mfa: false }],
      ];
      // A token holding every other scope of these operations: only the right one opens each.
      const scopes = [...new Set(operations.map(([, , scope]) => scope))];
      const tokens = new Map<string, string>();
      for (const scope of scopes) tokens.set(scope, (await narrowMachineToken(server, [scope])).token);
      for (const [method, path, scope, body] of operations) {
        const others = (
          await narrowMachineToken(
            server,
            scopes.filter((s) => s !== scope),
          )
        ).token;
        const refused = await api(method, path, { token: others, body });
        assert.equal(refused.status, 403, `${method} ${path} without ${scope}`);
        assert.equal(errorCode(refused.body), "FORBIDDEN");
        const allowed = await api(method, path, { token: tokens.get(scope)!, body });
        assert.ok(
          allowed.status === 200 ||
            (method === "DELETE" && path.includes("/mfa/mfa_") && allowed.status === 404),
          `${method} ${path} with ${scope}: ${allowed.status} ${JSON.stringify(allowed.body)}`,
        );
      }
    });
  });
}
