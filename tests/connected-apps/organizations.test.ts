// Connections owned by an organization (Kinde's auth_url with org_code): any member may consent,
// no one outside the organization may, and the connection is the organization's — it is not
// listed, offered or revocable as any one user's.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import { type OidcProviderHandle, startOidcProvider } from "../helpers/oauth-provider.js";
import { freePort, startTestServer, type TestServer } from "../helpers/server.js";
import { signedInUserAgent, type UserAgent } from "../helpers/user-agent.js";

const APP_CALLBACK = "https://app.example.com/connected";
type Errors = { errors?: { code: string; message: string }[] };

for (const { kind, skip } of await databaseKinds()) {
  describe(`connected apps owned by organizations (${kind})`, { skip }, () => {
    let server: TestServer;
    let provider: OidcProviderHandle;
    let token: string;
    let spaClientId: string;
    let acme: string;
    let globex: string;
    const members: Record<string, { id: string; email: string; password: string; browser: UserAgent }> = {};

    before(async () => {
      const port = await freePort();
      provider = await startOidcProvider({ redirectUri: `http://127.0.0.1:${port}/connected_apps/callback` });
      server = await startTestServer(kind, { port, env: { CONNECTED_APPS_ALLOW_PRIVATE_NETWORKS: "true" } });
      token = await managementToken(server);
      const created = await callApi(server, "POST", "/api/v1/connected_apps", {
        token,
        body: {
          key_code_ref: "drive",
          provider: "oauth2",
          name: "Stand-in Drive",
          client_id: provider.clientId,
          client_secret: provider.clientSecret,
          callback_url: APP_CALLBACK,
          scopes: ["openid", "offline_access"],
          settings: {
            authorization_url: provider.authorizationEndpoint,
            token_url: provider.tokenEndpoint,
            client_auth: "basic",
          },
        },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      spaClientId = (await createApplication(server, "spa")).clientId;
      acme = (await server.services.organizations.create({ name: "Acme" })).code;
      globex = (await server.services.organizations.create({ name: "Globex" })).code;
      for (const [name, org] of [
        ["ada", acme],
        ["bob", acme],
        ["eve", globex],
      ] as const) {
        const user = await createUser(server);
        await server.services.organizations.join(org, user.id);
        members[name] = { ...user, browser: await signedInUserAgent(server, spaClientId, CALLBACK, user) };
      }
    });
    after(async () => {
      await server?.close();
      await provider?.close();
    });

    const authUrl = (query: string) =>
      callApi<{ url: string; session_id: string } & Errors>(
        server,
        "GET",
        `/api/v1/connected_apps/auth_url?key_code_ref=drive&${query}`,
        { token },
      );

    /** The browser opens the link; a permitted one is sent on to the provider. */
    async function open(url: string, browser: UserAgent): Promise<Response> {
      const response = await browser.request(url);
      await response.text();
      return response;
    }

    it("any member of the organization may consent; the token is the organization's", async () => {
      const link = await authUrl(`org_code=${acme}`);
      assert.equal(link.status, 200, JSON.stringify(link.body));

      // Someone from another organization is refused and nothing is consumed.
      const outsider = await open(link.body.url, members.eve!.browser);
      assert.notEqual(outsider.status, 302);
      assert.match(
        (await members.eve!.browser.request(link.body.url).then((r) => r.text())) ?? "",
        /another account/,
      );

      // A member goes through to the provider and back.
      const toProvider = await members.bob!.browser.redirectFrom(link.body.url);
      assert.equal(toProvider.origin, new URL(provider.issuer).origin);
      const landed = await members.bob!.browser.redirectFrom(await provider.authorize(toProvider));
      assert.equal(landed.searchParams.get("session_id"), link.body.session_id);

      const issued = await callApi<{ access_token: string }>(
        server,
        "GET",
        `/api/v1/connected_apps/token?session_id=${link.body.session_id}`,
        { token },
      );
      assert.equal(issued.status, 200, JSON.stringify(issued.body));
      assert.ok(issued.body.access_token);

      const row = await server.storage.db
        .selectFrom("connections")
        .select(["user_id", "org_code", "status"])
        .where("id", "=", link.body.session_id)
        .executeTakeFirstOrThrow();
      assert.deepEqual(row, { user_id: null, org_code: acme, status: "connected" });

      // Not any one user's: neither the member who consented nor another member lists it.
      for (const member of [members.bob!, members.ada!]) {
        const listed = await callApi<{ connected_apps?: unknown[] }>(
          server,
          "GET",
          `/api/v1/users/${member.id}/connected_apps`,
          { token },
        );
        assert.equal(listed.status, 200, JSON.stringify(listed.body));
        assert.equal(JSON.stringify(listed.body).includes(link.body.session_id), false);
      }
    });

    it("with user_id and org_code only that member may consent; non-members and unknown orgs are refused", async () => {
      const link = await authUrl(`org_code=${acme}&user_id=${members.ada!.id}`);
      assert.equal(link.status, 200, JSON.stringify(link.body));
      const otherMember = await open(link.body.url, members.bob!.browser);
      assert.notEqual(otherMember.status, 302, "another member of the same organization may not");
      const toProvider = await members.ada!.browser.redirectFrom(link.body.url);
      assert.equal(toProvider.origin, new URL(provider.issuer).origin);

      const notMember = await authUrl(`org_code=${acme}&user_id=${members.eve!.id}`);
      assert.equal(notMember.status, 404);
      assert.equal(notMember.body.errors?.[0]?.code, "USER_NOT_FOUND");

      const unknown = await authUrl("org_code=org_00000000000");
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.errors?.[0]?.code, "ORGANIZATION_NOT_FOUND");

      const nobody = await authUrl("");
      assert.equal(nobody.status, 400);
      assert.equal(nobody.body.errors?.[0]?.code, "INVALID_REQUEST");
    });

    it("deleting the organization deletes its connections", async () => {
      const temp = (await server.services.organizations.create({ name: "Temp" })).code;
      const link = await authUrl(`org_code=${temp}`);
      assert.equal(link.status, 200, JSON.stringify(link.body));
      await server.services.organizations.delete(temp);
      const gone = await server.storage.db
        .selectFrom("connections")
        .select("id")
        .where("id", "=", link.body.session_id)
        .executeTakeFirst();
      assert.equal(gone, undefined);
    });
  });
}
