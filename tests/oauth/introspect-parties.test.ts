// Introspection only for a token's own parties (RFC 7662 §2.1, §4): the client it was issued to,
// or a protected resource (an application authorised for an API in the token's audience). Anyone
// else learns `{active:false}` and nothing more. oauth4webapi, an independent client, makes the calls.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as oauth from "oauth4webapi";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApi, createApplication, createUser } from "../helpers/fixtures.js";
import { managementToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";

interface Client {
  clientId: string;
  clientSecret?: string;
}
interface Tokens {
  access: string;
  refresh?: string;
}

const API = "https://parties.example.com";
const OTHER_API = "https://elsewhere.example.com";

for (const { kind, skip } of await databaseKinds()) {
  describe(`introspection by the token's own parties only (${kind})`, { skip }, () => {
    let server: TestServer;
    let as: oauth.AuthorizationServer;
    let user: { id: string; email: string; password: string };
    let browser: UserAgent;
    /** Owns the user tokens. */
    let regA: Client;
    /** Another confidential client, authorised for nothing. */
    let regB: Client;
    /** Owns the machine tokens. */
    let m2mA: Client;
    /** A resource server: authorised for API, so tokens meant for API are presented to it. */
    let resource: Client;
    /** Authorised only for OTHER_API. */
    let stranger: Client;

    async function tokenRequest(fields: Record<string, string>): Promise<Record<string, unknown>> {
      const response = await fetch(`${server.url}/oauth2/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(fields),
      });
      const body = (await response.json()) as Record<string, unknown>;
      assert.equal(response.status, 200, JSON.stringify(body));
      return body;
    }

    /** regA's user tokens through the code flow, for `audience` when given. */
    async function userTokens(audience?: string): Promise<Required<Tokens>> {
      const url = new URL("/oauth2/auth", server.url);
      for (const [k, v] of Object.entries({
        response_type: "code",
        client_id: regA.clientId,
        redirect_uri: CALLBACK,
        scope: "openid offline",
        state: "s",
        ...(audience ? { audience } : {}),
      }))
        url.searchParams.set(k, v);
      const callback = await browser.authorize(url, user);
      const body = await tokenRequest({
        grant_type: "authorization_code",
        client_id: regA.clientId,
        client_secret: regA.clientSecret ?? "",
        code: callback.searchParams.get("code") ?? "",
        redirect_uri: CALLBACK,
      });
      return { access: String(body.access_token), refresh: String(body.refresh_token) };
    }

    async function machineToken(): Promise<string> {
      const body = await tokenRequest({
        grant_type: "client_credentials",
        client_id: m2mA.clientId,
        client_secret: m2mA.clientSecret ?? "",
        audience: API,
      });
      return String(body.access_token);
    }

    /** The introspection response as oauth4webapi reads it. */
    async function introspect(
      caller: Client,
      token: string,
      hint?: "access_token" | "refresh_token",
    ): Promise<oauth.IntrospectionResponse> {
      const client: oauth.Client = { client_id: caller.clientId };
      const response = await oauth.introspectionRequest(
        as,
        client,
        oauth.ClientSecretPost(caller.clientSecret ?? ""),
        token,
        {
          [oauth.allowInsecureRequests]: true,
          ...(hint ? { additionalParameters: { token_type_hint: hint } } : {}),
        },
      );
      return oauth.processIntrospectionResponse(as, client, response);
    }

    /** Exactly `{active:false}`: no claim says whose token it is or that it exists. */
    async function assertInactive(caller: Client, token: string, what: string): Promise<void> {
      for (const hint of [undefined, "access_token", "refresh_token"] as const) {
        assert.deepEqual(await introspect(caller, token, hint), { active: false }, `${what} (hint ${hint})`);
      }
    }

    before(async () => {
      server = await startTestServer(kind);
      as = await oauth.processDiscoveryResponse(
        new URL(server.url),
        await oauth.discoveryRequest(new URL(server.url), {
          algorithm: "oauth2",
          [oauth.allowInsecureRequests]: true,
        }),
      );
      regA = await createApplication(server, "reg", { name: "Reg A" });
      regB = await createApplication(server, "reg", { name: "Reg B" });
      m2mA = await createApplication(server, "m2m", { name: "M2M A" });
      resource = await createApplication(server, "m2m", { name: "Resource server" });
      stranger = await createApplication(server, "reg", { name: "Stranger" });
      await createApi(server, {
        audience: API,
        scopes: ["read"],
        authorize: [regA.clientId, resource.clientId],
        grant: { [m2mA.clientId]: ["read"] },
      });
      await createApi(server, { audience: OTHER_API, authorize: [stranger.clientId] });
      user = await createUser(server);
      browser = new UserAgent(server.url);
    });
    after(async () => server?.close());

    it("another client learns nothing about a user's access token: {active:false}", async () => {
      const plain = await userTokens();
      const forApi = await userTokens(API);
      // m2mA and the resource server are authorised for API: parties to tokens for it, not to others.
      for (const caller of [regB, m2mA, resource, stranger])
        await assertInactive(caller, plain.access, `${caller.clientId} on the audience-less token`);
      for (const caller of [regB, stranger])
        await assertInactive(caller, forApi.access, `${caller.clientId} on the token for API`);
    });

    it("another client learns nothing about a machine token: {active:false}", async () => {
      const token = await machineToken();
      for (const caller of [regB, stranger]) await assertInactive(caller, token, caller.clientId);
    });

    it("the client a token was issued to sees it active with its claims", async () => {
      const tokens = await userTokens(API);
      const own = await introspect(regA, tokens.access);
      assert.equal(own.active, true);
      assert.equal(own.client_id, regA.clientId);
      assert.equal(own.sub, user.id);
      assert.deepEqual(own.aud, [API]);

      const machine = await introspect(m2mA, await machineToken(), "access_token");
      assert.equal(machine.active, true);
      assert.equal(machine.client_id, m2mA.clientId);
      assert.equal(machine.scope, "read");
    });

    it("a resource server authorised for the token's audience sees it active", async () => {
      const tokens = await userTokens(API);
      const seen = await introspect(resource, tokens.access);
      assert.equal(seen.active, true);
      assert.equal(seen.client_id, regA.clientId);
      assert.equal(seen.sub, user.id);

      const machine = await introspect(resource, await machineToken());
      assert.equal(machine.active, true);
      assert.equal(machine.client_id, m2mA.clientId);
    });

    it("an application authorised for the Management API learns nothing about others' Management API tokens", async () => {
      const managementApi = (await server.services.apis.store.findManagementApi())!;
      await server.services.apis.authorizeApplication(managementApi.id, resource.clientId);
      await server.services.apis.grantScopes(managementApi.id, resource.clientId, ["read:users"]);
      await assertInactive(resource, await managementToken(server), "the bootstrap application's token");
    });

    it("a refresh token is only ever shown to the client holding it", async () => {
      const tokens = await userTokens(API);
      // Not even to the resource server of its audience: refresh tokens are never presented to one.
      for (const caller of [regB, m2mA, resource, stranger])
        await assertInactive(caller, tokens.refresh, `${caller.clientId} on A's refresh token`);
      const own = await introspect(regA, tokens.refresh, "refresh_token");
      assert.equal(own.active, true);
      assert.equal(own.client_id, regA.clientId);
    });
  });
}
