// A user's access token for an API carries only the requested API scopes the user holds: through a
// role they have in the organization signed into (Kinde's role scopes), or given to them directly
// in that organization (Kinde's organization-user API scopes). The rest are dropped, and the token
// response's `scope` says so (RFC 6749 §3.3). A refresh re-evaluates within what the sign-in was
// issued, so taking a scope away shows on the next refresh and a refresh never widens. Machine
// apps keep their per-application grants. On both databases.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { decodeJwt } from "jose";
import { databaseKinds } from "../helpers/databases.js";
import { createApi, createApplication, createUser } from "../helpers/fixtures.js";
import { callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";
import { backEndClient, type Json, type Tokens } from "../organizations/client.js";

const OIDC = "openid profile email offline";

for (const { kind, skip } of await databaseKinds()) {
  describe(`user tokens carry only the API scopes their user holds (${kind})`, { skip }, () => {
    let server: TestServer;
    let app: { clientId: string; clientSecret?: string };
    before(async () => {
      server = await startTestServer(kind);
      app = await createApplication(server, "reg");
    });
    after(async () => server?.close());

    const api = <T = Json>(method: string, path: string, body?: unknown) =>
      callApi<T>(server, method, path, body === undefined ? {} : { body });
    const { authorizeUrl, token, exchange } = backEndClient(
      () => server,
      () => app,
    );
    const scp = (tokens: { access_token: string }) => decodeJwt(tokens.access_token).scp as string[];

    async function signIn(user: { email: string; password: string }, extra: Record<string, string>) {
      return exchange(await new UserAgent(server.url).authorize(authorizeUrl(extra), user));
    }
    async function refresh(tokens: Tokens, scope?: string) {
      return token({
        grant_type: "refresh_token",
        refresh_token: tokens.refresh_token,
        ...(scope === undefined ? {} : { scope }),
      });
    }

    /** An API the app is authorised for (no scope granted to the app), with its scope ids by key. */
    async function setUp(keys = ["read:orders", "write:orders"]) {
      const tag = randomBytes(3).toString("hex");
      const audience = `https://orders-${tag}.example.com`;
      const { id: apiId } = await createApi(server, { audience, scopes: keys, authorize: [app.clientId] });
      const scopeId = Object.fromEntries(
        (await server.services.apis.store.scopes(apiId)).map((s) => [s.key, s.id]),
      ) as Record<string, string>;
      const user = await createUser(server);
      const defaultOrg = (await server.services.organizations.store.findDefault())!.code;
      const role = (
        await api<{ role: { id: string } }>("POST", "/api/v1/roles", { key: `orders-${tag}`, name: "Orders" })
      ).body.role.id;
      return { tag, audience, apiId, scopeId, user, defaultOrg, role };
    }

    it("drops a requested API scope the user holds by no role, and the token response says so", async () => {
      const { audience, user } = await setUp();
      const tokens = (await signIn(user, {
        scope: `${OIDC} read:orders write:orders`,
        audience,
      })) as Tokens & Json;
      assert.deepEqual(decodeJwt(tokens.access_token).aud, [audience], "the audience itself is kept");
      assert.deepEqual(scp(tokens), OIDC.split(" "));
      assert.equal(tokens.scope, OIDC, "RFC 6749 §3.3: the issued scope, narrower than requested");
      // A refresh cannot ask for what was not issued.
      const wider = await refresh(tokens, `${OIDC} read:orders`);
      assert.equal(wider.status, 400, JSON.stringify(wider.body));
      assert.equal(wider.body.error, "invalid_scope");
    });

    it("carries a scope held through a role in the organization; removing it shows on refresh", async () => {
      const { audience, scopeId, user, defaultOrg, role } = await setUp();
      assert.equal(
        (await api("POST", `/api/v1/roles/${role}/scopes`, { scope_id: scopeId["read:orders"] })).status,
        201,
      );
      // The role alone gives nothing until the user has it in the organization they sign into.
      assert.deepEqual(scp(await signIn(user, { scope: `${OIDC} read:orders`, audience })), OIDC.split(" "));
      assert.equal(
        (await api("POST", `/api/v1/organizations/${defaultOrg}/users/${user.id}/roles`, { role_id: role }))
          .status,
        200,
      );

      const tokens = (await signIn(user, {
        scope: `${OIDC} read:orders write:orders`,
        audience,
      })) as Tokens & Json;
      assert.deepEqual(scp(tokens), [...OIDC.split(" "), "read:orders"], "write:orders is not held");
      assert.equal(tokens.scope, `${OIDC} read:orders`);

      const kept = await refresh(tokens);
      assert.equal(kept.status, 200, JSON.stringify(kept.body));
      assert.equal(kept.body.scope, `${OIDC} read:orders`);

      assert.equal(
        (await api("DELETE", `/api/v1/roles/${role}/scopes/${scopeId["read:orders"]}`)).status,
        200,
      );
      const narrowed = await refresh(kept.body as unknown as Tokens);
      assert.equal(narrowed.status, 200, JSON.stringify(narrowed.body));
      assert.deepEqual(scp(narrowed.body as unknown as Tokens), OIDC.split(" "));
      assert.equal(narrowed.body.scope, OIDC);

      // Given back, it returns on refresh — never beyond what the sign-in was issued.
      await api("POST", `/api/v1/roles/${role}/scopes`, { scope_id: scopeId["read:orders"] });
      await api("POST", `/api/v1/roles/${role}/scopes`, { scope_id: scopeId["write:orders"] });
      const again = await refresh(narrowed.body as unknown as Tokens);
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.equal(again.body.scope, `${OIDC} read:orders`, "write:orders was not issued at sign-in");

      // Losing the role (not only the role's scope) ends it too.
      await api("DELETE", `/api/v1/organizations/${defaultOrg}/users/${user.id}/roles/${role}`);
      const lost = await refresh(again.body as unknown as Tokens);
      assert.equal(lost.body.scope, OIDC);
    });

    it("carries a scope given to the user directly, only in that organization", async () => {
      const { tag, audience, apiId, scopeId, user, defaultOrg } = await setUp();
      const other = (
        await api<{ organization: { code: string } }>("POST", "/api/v1/organization", {
          name: `Other ${tag}`,
        })
      ).body.organization.code;
      await api("POST", `/api/v1/organizations/${other}/users`, { users: [{ id: user.id }] });
      const path = `/api/v1/organizations/${other}/users/${user.id}/apis/${apiId}/scopes/${scopeId["write:orders"]}`;
      assert.equal((await api("POST", path)).status, 200);

      const scope = `${OIDC} read:orders write:orders`;
      const inOther = (await signIn(user, { scope, audience, org_code: other })) as Tokens & Json;
      assert.equal(decodeJwt(inOther.access_token).org_code, other);
      assert.equal(inOther.scope, `${OIDC} write:orders`);
      const inDefault = (await signIn(user, { scope, audience, org_code: defaultOrg })) as Tokens & Json;
      assert.equal(inDefault.scope, OIDC, "a scope given in one organization never reaches another's token");

      assert.equal((await api("DELETE", path)).status, 200);
      const refreshed = await refresh(inOther);
      assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
      assert.equal(refreshed.body.scope, OIDC);
    });

    it("keeps a scope only if the user holds it on every requested API that defines it", async () => {
      const { audience, scopeId, user, defaultOrg, role } = await setUp(["read"]);
      const second = await setUp(["read"]);
      await api("POST", `/api/v1/roles/${role}/scopes`, { scope_id: scopeId.read });
      await api("POST", `/api/v1/organizations/${defaultOrg}/users/${user.id}/roles`, { role_id: role });
      const url = authorizeUrl({ scope: `${OIDC} read` });
      url.searchParams.append("audience", audience);
      url.searchParams.append("audience", second.audience);
      const both = await exchange(await new UserAgent(server.url).authorize(url, user));
      assert.deepEqual(decodeJwt(both.access_token).aud, [audience, second.audience]);
      assert.deepEqual(scp(both), OIDC.split(" "), "read is held on the first API only");
      assert.deepEqual(scp(await signIn(user, { scope: `${OIDC} read`, audience })), [
        ...OIDC.split(" "),
        "read",
      ]);
    });

    it("leaves machine-to-machine applications with their per-application grants", async () => {
      const { audience, apiId } = await setUp();
      const m2m = await createApplication(server, "m2m");
      await server.services.apis.authorizeApplication(apiId, m2m.clientId);
      await server.services.apis.grantScopes(apiId, m2m.clientId, ["write:orders"]);
      const response = await fetch(`${server.url}/oauth2/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: m2m.clientId,
          client_secret: m2m.clientSecret!,
          audience,
        }),
      });
      const body = (await response.json()) as Json;
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.equal(body.scope, "write:orders");
    });
  });
}
