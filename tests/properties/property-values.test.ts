// Property values over the Management API, as Kinde has them: users and organizations read every
// property of their context with its value (GET …/properties), set one with
// PUT …/properties/{key}?value= and several with PATCH {properties}; applications read the same way
// and set one with PUT {value} (text or a boolean). Unknown owners are 404 (applications: Kinde's
// 400 APPLICATION_NOT_FOUND), unknown keys 404, values that do not fit their type 400, a PATCH with
// one bad entry changes nothing, an empty value or null clears, and each operation needs its scope.
// On both databases.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { storedDashboardClientId } from "../../src/dashboard/dashboard-app.js";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication, createUser } from "../helpers/fixtures.js";
import { callApi, narrowMachineToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

type Json = Record<string, unknown>;
type Value = { id: string; name: string; description: string | null; key: string; value: string | null };

const errorCode = (body: unknown) => (body as { errors: { code: string }[] }).errors[0]?.code;

for (const { kind, skip } of await databaseKinds()) {
  describe(`Property values of users, organizations and applications (${kind})`, { skip }, () => {
    let server: TestServer;
    let categories: Record<string, string>;
    before(async () => {
      server = await startTestServer(kind);
      categories = {};
      for (const context of ["usr", "org", "app"]) {
        const created = await api<{ category: { id: string } }>("POST", "/api/v1/property_categories", {
          name: `Custom ${context}`,
          context,
        });
        categories[context] = created.body.category.id;
      }
      for (const [context, key, type] of [
        ["usr", "nickname", "single_line_text"],
        ["usr", "bio", "multi_line_text"],
        ["org", "plan", "single_line_text"],
        ["app", "region", "single_line_text"],
        ["app", "beta", "single_line_text"],
      ] as const) {
        const created = await api("POST", "/api/v1/properties", {
          name: key,
          key,
          type,
          context,
          is_private: false,
          category_id: categories[context],
        });
        assert.equal(created.status, 201, JSON.stringify(created.body));
      }
    });
    after(async () => server?.close());

    const api = <T = Json>(method: string, path: string, body?: unknown, token?: string) =>
      callApi<T>(server, method, path, { ...(body === undefined ? {} : { body }), token });
    const values = async (path: string) => {
      const read = await api<{ properties: Value[]; next_token?: string }>("GET", path);
      assert.equal(read.status, 200, JSON.stringify(read.body));
      return Object.fromEntries(read.body.properties.map((p) => [p.key, p.value]));
    };

    it("sets, reads and clears a user's values", async () => {
      const user = await createUser(server);
      const path = `/api/v1/users/${user.id}/properties`;
      const before = await api<{ properties: Value[]; next_token?: string }>("GET", path);
      assert.equal(before.body.next_token, undefined, "one page: every property of the context");
      const keys = before.body.properties.map((p) => p.key);
      assert.ok(keys.includes("nickname") && keys.includes("kp_usr_city") && keys.includes("utm_source"));
      assert.ok(!keys.includes("plan"), "only the user context's properties");
      assert.deepEqual([...keys].sort(), keys, "by key");
      assert.ok(before.body.properties.every((p) => p.value === null));

      const put = await api("PUT", `${path}/nickname?value=${encodeURIComponent("Countess & co")}`);
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const patched = await api("PATCH", path, {
        properties: { kp_usr_city: "London", bio: "Line one\nLine two", utm_source: 42 },
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      let now = await values(path);
      assert.equal(now.nickname, "Countess & co");
      assert.equal(now.kp_usr_city, "London");
      assert.equal(now.bio, "Line one\nLine two");
      assert.equal(now.utm_source, "42", "numbers are kept as text");

      await api("PUT", `${path}/nickname?value=`);
      await api("PATCH", path, { properties: { bio: null } });
      now = await values(path);
      assert.equal(now.nickname, null, "an empty value clears");
      assert.equal(now.bio, null, "null clears");
      assert.equal(now.kp_usr_city, "London", "others are kept");
    });

    it("refuses values that do not fit, unknown keys and unknown users — a PATCH all or nothing", async () => {
      const user = await createUser(server);
      const path = `/api/v1/users/${user.id}/properties`;
      const multiLine = await api("PUT", `${path}/nickname?value=${encodeURIComponent("two\nlines")}`);
      assert.equal(multiLine.status, 400);
      assert.equal(errorCode(multiLine.body), "INVALID_PROPERTY_VALUE");
      const tooLong = await api("PUT", `${path}/nickname?value=${"x".repeat(1001)}`);
      assert.equal(errorCode(tooLong.body), "INVALID_PROPERTY_VALUE");
      const noValue = await api("PUT", `${path}/nickname`);
      assert.equal(noValue.status, 400, "value is required");
      const unknownKey = await api("PUT", `${path}/no_such_key?value=x`);
      assert.equal(unknownKey.status, 404);
      assert.equal(errorCode(unknownKey.body), "PROPERTY_NOT_FOUND");
      const orgKey = await api("PUT", `${path}/plan?value=x`);
      assert.equal(orgKey.status, 404, "an organization property is not a user's");

      const mixed = await api("PATCH", path, { properties: { nickname: "Ok", plan: "gold" } });
      assert.equal(mixed.status, 400);
      const badValue = await api("PATCH", path, { properties: { nickname: "Ok", kp_usr_city: "a\u0007b" } });
      assert.equal(errorCode(badValue.body), "INVALID_PROPERTY_VALUE");
      assert.equal((await values(path)).nickname, null, "nothing of a refused PATCH was written");
      for (const body of [
        {},
        { properties: {} },
        { properties: { nickname: { v: 1 } } },
        { properties: "x" },
      ]) {
        const refused = await api("PATCH", path, body);
        assert.equal(refused.status, 400, JSON.stringify(body));
      }
      const tooMany = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, "v"]));
      assert.equal((await api("PATCH", path, { properties: tooMany })).status, 400);

      for (const [method, body] of [
        ["GET", undefined],
        ["PATCH", { properties: { nickname: "x" } }],
      ] as const) {
        const unknown = await api(method, "/api/v1/users/kp_nobody/properties", body);
        assert.equal(unknown.status, 404);
        assert.equal(errorCode(unknown.body), "USER_NOT_FOUND");
      }
      assert.equal((await api("PUT", "/api/v1/users/kp_nobody/properties/nickname?value=x")).status, 404);
    });

    it("sets and reads an organization's values", async () => {
      const created = await api<{ organization: { code: string } }>("POST", "/api/v1/organization", {
        name: "Valued",
      });
      const path = `/api/v1/organizations/${created.body.organization.code}/properties`;
      assert.equal((await api("PUT", `${path}/plan?value=gold`)).status, 200);
      assert.equal(
        (await api("PATCH", path, { properties: { kp_org_city: "Paris", utm_campaign: "launch" } })).status,
        200,
      );
      const now = await values(path);
      assert.equal(now.plan, "gold");
      assert.equal(now.kp_org_city, "Paris");
      assert.equal(now.utm_campaign, "launch");
      assert.ok(!("nickname" in now));
      const unknown = await api("GET", "/api/v1/organizations/org_000000000/properties");
      assert.equal(unknown.status, 404);
      assert.equal(errorCode(unknown.body), "ORGANIZATION_NOT_FOUND");
      const unknownKey = await api("PUT", `${path}/nickname?value=x`);
      assert.equal(errorCode(unknownKey.body), "PROPERTY_NOT_FOUND");
    });

    it("sets and reads an application's values (a JSON body, text or a boolean)", async () => {
      const app = await createApplication(server, "m2m");
      const path = `/api/v1/applications/${app.clientId}/properties`;
      assert.equal((await api("PUT", `${path}/region`, { value: "eu-west" })).status, 200);
      assert.equal((await api("PUT", `${path}/beta`, { value: true })).status, 200);
      assert.deepEqual(await values(path), { beta: "true", region: "eu-west" });
      const refused = await api("PUT", `${path}/region`, { value: 5 });
      assert.equal(refused.status, 400);
      const noBody = await api("PUT", `${path}/region`, {});
      assert.equal(noBody.status, 400);
      const unknownKey = await api("PUT", `${path}/nickname`, { value: "x" });
      assert.equal(unknownKey.status, 404);
      assert.equal(errorCode(unknownKey.body), "PROPERTY_NOT_FOUND");
      const unknownApp = await api("GET", `/api/v1/applications/${"0".repeat(32)}/properties`);
      assert.equal(unknownApp.status, 400, "Kinde's application lookups answer 400");
      assert.equal(errorCode(unknownApp.body), "APPLICATION_NOT_FOUND");
    });

    it("needs each operation's scope", async () => {
      const user = await createUser(server);
      const org = (
        await api<{ organization: { code: string } }>("POST", "/api/v1/organization", { name: "Scoped" })
      ).body.organization.code;
      const app = await createApplication(server, "reg");
      const attempts: [string, string, unknown, string][] = [
        ["GET", `/api/v1/users/${user.id}/properties`, undefined, "read:user_properties"],
        [
          "PATCH",
          `/api/v1/users/${user.id}/properties`,
          { properties: { nickname: "x" } },
          "update:user_properties",
        ],
        ["PUT", `/api/v1/users/${user.id}/properties/nickname?value=x`, undefined, "update:user_properties"],
        ["GET", `/api/v1/organizations/${org}/properties`, undefined, "read:organization_properties"],
        [
          "PATCH",
          `/api/v1/organizations/${org}/properties`,
          { properties: { plan: "x" } },
          "update:organization_properties",
        ],
        [
          "PUT",
          `/api/v1/organizations/${org}/properties/plan?value=x`,
          undefined,
          "update:organization_properties",
        ],
        ["GET", `/api/v1/applications/${app.clientId}/properties`, undefined, "read:application_properties"],
        [
          "PUT",
          `/api/v1/applications/${app.clientId}/properties/region`,
          { value: "x" },
          "update:application_properties",
        ],
      ];
      const other = await narrowMachineToken(server, ["read:users", "update:users"]);
      for (const [method, path, body, scope] of attempts) {
        const refused = await api(method, path, body, other.token);
        assert.equal(refused.status, 403, `${method} ${path} without ${scope}`);
        const allowed = await api(method, path, body, (await narrowMachineToken(server, [scope])).token);
        assert.equal(allowed.status, 200, `${method} ${path} with ${scope}: ${JSON.stringify(allowed.body)}`);
      }
    });

    it("changes no value of the dashboard's application, nor of one stronger than the caller", async () => {
      const { token } = await narrowMachineToken(server, ["update:application_properties"]);
      const dashboardId = await storedDashboardClientId(server.storage.db);
      assert.ok(dashboardId);
      const onDashboard = await api(
        "PUT",
        `/api/v1/applications/${dashboardId}/properties/region`,
        { value: "x" },
        token,
      );
      assert.equal(onDashboard.status, 403);
      assert.equal(errorCode(onDashboard.body), "DASHBOARD_APPLICATION_PROTECTED");
      // A machine holding read:users, which the caller does not: its tokens' claims are not the caller's to set.
      const stronger = await narrowMachineToken(server, ["read:users"]);
      const path = `/api/v1/applications/${stronger.clientId}/properties/region`;
      const onStronger = await api("PUT", path, { value: "x" }, token);
      assert.equal(onStronger.status, 403);
      assert.equal((await values(`/api/v1/applications/${stronger.clientId}/properties`)).region, null);
    });
  });
}
