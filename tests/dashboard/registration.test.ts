// Issue 6, the server side of the admin dashboard, on SQLite and PostgreSQL: bootstrap registers the
// dashboard as a front-end application once (surviving restarts and renames), an administrator's
// token obtained through it reaches the Management API and anyone else's does not, and the two
// Management API extensions the dashboard needs (granted scopes of an application, signing keys)
// answer as documented.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { bootstrap } from "../../src/bootstrap.js";
import { DASHBOARD_APPLICATION_NAME, findDashboardClientId } from "../../src/dashboard/dashboard-app.js";
import { dashboardToken } from "../helpers/dashboard.js";
import { databaseKinds } from "../helpers/databases.js";
import { createApi, createApplication, createUser } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const ADMIN = { email: "root@example.com", password: "root-password-123" };

for (const { kind, skip } of await databaseKinds()) {
  describe(`admin dashboard registration and extensions (${kind})`, { skip }, () => {
    let server: TestServer;
    let token: string;

    before(async () => {
      server = await startTestServer(kind, {
        env: { BOOTSTRAP_ADMIN_EMAIL: ADMIN.email, BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password },
      });
      token = await managementToken(server);
    });
    after(async () => server?.close());

    it("registers the dashboard once, authorised for the Management API, across restarts and renames", async () => {
      const clientId = await findDashboardClientId(server.storage.db, server.url);
      assert.ok(clientId);
      const read = await callApi<{
        application: { name: string; type: string; client_secret: string | null };
      }>(server, "GET", `/api/v1/applications/${clientId}`, { token });
      assert.equal(read.body.application.name, DASHBOARD_APPLICATION_NAME);
      assert.equal(read.body.application.type, "spa");
      assert.equal(read.body.application.client_secret, null);
      const urls = await callApi<{ redirect_urls: string[] }>(
        server,
        "GET",
        `/api/v1/applications/${clientId}/auth_redirect_urls`,
        { token },
      );
      assert.deepEqual(urls.body.redirect_urls, [`${server.url}/admin/callback`]);

      // Latchkey's own: no change through the Management API (not its name, URLs, token lifetimes
      // or API grants, nor its deletion), and restarts keep the same application.
      for (const [method, path, body] of [
        ["PATCH", `/api/v1/applications/${clientId}`, { name: "Admin" }],
        ["PATCH", `/api/v1/applications/${clientId}/tokens`, { access_token_lifetime: 31_536_000 }],
        ["PUT", `/api/v1/applications/${clientId}/auth_logout_urls`, { urls: [] }],
        [
          "POST",
          `/api/v1/applications/${clientId}/auth_redirect_urls`,
          { urls: ["https://evil.example/cb"] },
        ],
        ["PATCH", `/api/v1/applications/${clientId}`, { redirect_uris: ["https://evil.example/cb"] }],
        ["DELETE", `/api/v1/applications/${clientId}/auth_redirect_urls?urls=${server.url}/admin/callback`],
        ["DELETE", `/api/v1/applications/${clientId}`],
      ] as const) {
        const refused = await callApi<{ errors: { code: string }[] }>(server, method, path, {
          token,
          ...(body ? { body } : {}),
        });
        assert.equal(refused.status, 403, `${method} ${path}`);
        assert.equal(refused.body.errors[0]!.code, "DASHBOARD_APPLICATION_PROTECTED");
      }
      await bootstrap(server.storage, server.secretBox, server.config);
      await bootstrap(server.storage, server.secretBox, server.config);
      assert.equal(await findDashboardClientId(server.storage.db, server.url), clientId);
      const list = await callApi<{ applications: { id: string; type: string }[] }>(
        server,
        "GET",
        "/api/v1/applications?page_size=100",
        { token },
      );
      assert.equal(list.body.applications.filter((a) => a.type === "spa").length, 1);
      const logout = await callApi<{ logout_urls: string[] }>(
        server,
        "GET",
        `/api/v1/applications/${clientId}/auth_logout_urls`,
        { token },
      );
      assert.deepEqual(logout.body.logout_urls, [`${server.url}/admin/`]);
      const api = await callApi<{ api: { applications: { id: string; is_active: boolean }[] } }>(
        server,
        "GET",
        `/api/v1/apis/${(await server.services.apis.store.findManagementApi())!.id}`,
        { token },
      );
      assert.ok(api.body.api.applications.some((a) => a.id === clientId && a.is_active));
    });

    it("gives an administrator a token for what they ask, and anyone else a 403", async () => {
      const admin = await dashboardToken(server, ADMIN, "openid read:users read:signing_keys");
      assert.deepEqual(admin.scope.split(" ").sort(), ["openid", "read:signing_keys", "read:users"]);
      const users = await callApi(server, "GET", "/api/v1/users", { token: admin.access_token });
      assert.equal(users.status, 200);
      // Only what was asked for: no write scope.
      const denied = await callApi(server, "POST", "/api/v1/signing_keys/rotate", {
        token: admin.access_token,
      });
      assert.equal(denied.status, 403);

      const person = await createUser(server);
      const other = await dashboardToken(server, person, "openid read:users");
      const refused = await callApi<{ errors: { code: string; message: string }[] }>(
        server,
        "GET",
        "/api/v1/users",
        { token: other.access_token },
      );
      assert.equal(refused.status, 403);
      assert.match(refused.body.errors[0]!.message, /administrators/);
    });

    it("refuses an administrator's token obtained through any application but the dashboard", async () => {
      // A front-end app authorised for the Management API (say, by mistake or by an integration
      // that may edit applications): an administrator signing in to it must not hand it the API.
      const redirectUri = "https://tools.example.com/callback";
      const spa = await createApplication(server, "spa", { callbackUrls: [redirectUri] });
      const managementApi = (await server.services.apis.store.findManagementApi())!;
      await server.services.apis.authorizeApplication(managementApi.id, spa.clientId);
      await server.services.apis.grantScopes(managementApi.id, spa.clientId);
      const stolen = await dashboardToken(server, ADMIN, "openid read:users", {
        clientId: spa.clientId,
        redirectUri,
      });
      const refused = await callApi<{ errors: { code: string }[] }>(server, "GET", "/api/v1/users", {
        token: stolen.access_token,
      });
      assert.equal(refused.status, 403);
      assert.equal(refused.body.errors[0]!.code, "FORBIDDEN");
    });

    it("reads which scopes of an API an application holds", async () => {
      const m2m = await createApplication(server, "m2m");
      const audience = `https://orders-${kind}.example.com`;
      const { id: apiId } = await createApi(server, {
        audience,
        scopes: ["read:orders", "write:orders"],
        grant: { [m2m.clientId]: ["read:orders"] },
      });
      const path = `/api/v1/apis/${apiId}/applications/${m2m.clientId}/scopes`;
      const granted = await callApi<{ is_authorized: boolean; scopes: { id: string; key: string }[] }>(
        server,
        "GET",
        path,
        { token },
      );
      assert.equal(granted.status, 200);
      assert.equal(granted.body.is_authorized, true);
      assert.deepEqual(
        granted.body.scopes.map((s) => s.key),
        ["read:orders"],
      );
      // Granting through Kinde's operation shows up here.
      const scopes = await callApi<{ scopes: { id: string; key: string }[] }>(
        server,
        "GET",
        `/api/v1/apis/${apiId}/scopes`,
        { token },
      );
      const write = scopes.body.scopes.find((s) => s.key === "write:orders")!;
      await callApi(server, "POST", `/api/v1/apis/${apiId}/applications/${m2m.clientId}/scopes/${write.id}`, {
        token,
      });
      const both = await callApi<{ scopes: { key: string }[] }>(server, "GET", path, { token });
      assert.deepEqual(both.body.scopes.map((s) => s.key).sort(), ["read:orders", "write:orders"]);
      // Not authorised: nothing held.
      const other = await createApplication(server, "m2m");
      const none = await callApi<{ is_authorized: boolean; scopes: unknown[] }>(
        server,
        "GET",
        `/api/v1/apis/${apiId}/applications/${other.clientId}/scopes`,
        { token },
      );
      assert.deepEqual([none.body.is_authorized, none.body.scopes], [false, []]);
      // Unknown API or application: Kinde's errors.
      const noApi = await callApi<{ errors: { code: string }[] }>(
        server,
        "GET",
        `/api/v1/apis/nope/applications/${m2m.clientId}/scopes`,
        { token },
      );
      assert.equal(noApi.body.errors[0]?.code, "API_NOT_FOUND");
      const noApp = await callApi<{ errors: { code: string }[] }>(
        server,
        "GET",
        `/api/v1/apis/${apiId}/applications/nope/scopes`,
        { token },
      );
      assert.equal(noApp.body.errors[0]?.code, "APPLICATION_NOT_FOUND");
    });

    it("lists signing keys and starts a rotation that publishes first and signs later", async () => {
      const before = await callApi<{ signing_keys: { kid: string; status: string }[] }>(
        server,
        "GET",
        "/api/v1/signing_keys",
        { token },
      );
      assert.equal(before.status, 200);
      const current = before.body.signing_keys.filter((k) => k.status === "current");
      assert.equal(current.length, 1);

      const bad = await callApi(server, "POST", "/api/v1/signing_keys/rotate?activate_in_seconds=-1", {
        token,
      });
      assert.equal(bad.status, 400);

      const rotated = await callApi<{ signing_key: { kid: string; status: string; signs_from: string } }>(
        server,
        "POST",
        "/api/v1/signing_keys/rotate?activate_in_seconds=600",
        { token },
      );
      assert.equal(rotated.status, 200);
      assert.equal(rotated.body.signing_key.status, "next");
      const signsIn = Date.parse(rotated.body.signing_key.signs_from) - Date.now();
      assert.ok(signsIn > 590_000 && signsIn <= 600_000, `signs in ${signsIn} ms`);
      // Published in the JWKS at once, while the current key keeps signing.
      const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as {
        keys: { kid: string }[];
      };
      assert.ok(jwks.keys.some((k) => k.kid === rotated.body.signing_key.kid));
      const after = await callApi<{
        signing_keys: { kid: string; status: string; retired_on: string | null }[];
      }>(server, "GET", "/api/v1/signing_keys", { token });
      const old = after.body.signing_keys.find((k) => k.kid === current[0]!.kid)!;
      assert.equal(old.status, "current");
      assert.equal(old.retired_on, rotated.body.signing_key.signs_from);

      // Without a delay, the default one (five minutes).
      const plain = await callApi<{ signing_key: { signs_from: string } }>(
        server,
        "POST",
        "/api/v1/signing_keys/rotate",
        {
          token,
        },
      );
      assert.equal(plain.status, 200);
      const delay = Date.parse(plain.body.signing_key.signs_from) - Date.now();
      assert.ok(delay > 290_000 && delay <= 300_000, `signs in ${delay} ms`);
    });
  });
}

describe("admin dashboard when ISSUER_URL cannot carry a callback", () => {
  let server: TestServer;
  after(async () => server?.close());

  it("is not registered, and /admin/config.json says why", async () => {
    // http on a host other than localhost: no callback URL may be registered there (RFC 9700 §2.6).
    server = await startTestServer("sqlite", { env: { ISSUER_URL: "http://id.internal.example:3000" } });
    assert.equal(
      await findDashboardClientId(server.storage.db, "http://id.internal.example:3000"),
      undefined,
    );
    const local = new URL(server.url);
    const response = await fetch(`${local.origin}/admin/config.json`);
    assert.equal(response.status, 503);
    const body = (await response.json()) as { error_description: string };
    assert.match(body.error_description, /ISSUER_URL must use https/);
  });
});
