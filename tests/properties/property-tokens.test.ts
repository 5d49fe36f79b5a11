// Properties in tokens and at sign-up, as Kinde has them. js-utils' marketing parameters on
// /oauth2/auth (utm_*, gclid, device …) become the new account's properties when it signs up —
// only known keys, bounded values, never on a later sign-in. User tokens (access and ID) carry
// user_properties and, for the organization signed into, organization_properties as {key: {v}}
// ({} for a public property without a value) — public properties only, recomputed at refresh; a
// machine's tokens carry its public application_properties, and a change shows on the next token
// although client credentials are served from the configuration cache. On both databases.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { decodeJwt } from "jose";
import { databaseKinds } from "../helpers/databases.js";
import { createApi, createApplication } from "../helpers/fixtures.js";
import { callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";
import { backEndClient, type Json, type Tokens } from "../organizations/client.js";

type Claims = Record<string, { v?: string }>;

for (const { kind, skip } of await databaseKinds()) {
  describe(`Properties in tokens and marketing parameters at sign-up (${kind})`, { skip }, () => {
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
    const userValues = async (userId: string) => {
      const read = await api<{ properties: { key: string; value: string | null }[] }>(
        "GET",
        `/api/v1/users/${userId}/properties`,
      );
      return Object.fromEntries(read.body.properties.map((p) => [p.key, p.value]));
    };
    const propertyId = async (context: string, key: string) => {
      const list = await api<{ properties: { id: string; key: string; context: string }[] }>(
        "GET",
        `/api/v1/properties?page_size=500&context=${context}`,
      );
      return list.body.properties.find((p) => p.key === key)!.id;
    };
    const setPrivacy = async (context: string, key: string, isPrivate: boolean) => {
      const id = await propertyId(context, key);
      const list = await api<{ properties: { id: string; name: string; category_id: string }[] }>(
        "GET",
        `/api/v1/properties?page_size=500&context=${context}`,
      );
      const property = list.body.properties.find((p) => p.id === id)!;
      const updated = await api("PUT", `/api/v1/properties/${id}`, {
        name: property.name,
        is_private: isPrivate,
        category_id: property.category_id,
      });
      assert.equal(updated.status, 200, JSON.stringify(updated.body));
    };
    const customProperty = async (context: string, key: string, isPrivate: boolean) => {
      const category = await api<{ category: { id: string } }>("POST", "/api/v1/property_categories", {
        name: `For ${key}`,
        context,
      });
      const created = await api("POST", "/api/v1/properties", {
        name: key,
        key,
        type: "single_line_text",
        context,
        is_private: isPrivate,
        category_id: category.body.category.id,
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
    };

    it("keeps the marketing parameters of a sign-up as the new user's properties", async () => {
      const email = `signup-${randomBytes(4).toString("hex")}@example.com`;
      const password = `Pw-${randomBytes(10).toString("hex")}`;
      const agent = new UserAgent(server.url);
      const callback = await agent.authorize(
        authorizeUrl({
          prompt: "create",
          utm_source: "newsletter",
          utm_campaign: "spring launch",
          gclid: "Cj0KCQ-abc_123",
          device: "m",
          utm_medium: "x".repeat(256),
          utm_term: "undefined",
          referrer_secret: "not a marketing key",
        }),
        { email, password, signUp: true, givenName: "Mae" },
      );
      const tokens = await exchange(callback);
      const userId = decodeJwt(tokens.access_token).sub!;
      const values = await userValues(userId);
      assert.equal(values.utm_source, "newsletter");
      assert.equal(values.utm_campaign, "spring launch");
      assert.equal(values.gclid, "Cj0KCQ-abc_123");
      assert.equal(values.device, "m");
      assert.equal(values.utm_medium, null, "a value over 255 characters is dropped");
      assert.equal(values.utm_term, null, "the SDK's literal undefined is not a value");
      assert.ok(!("referrer_secret" in values));
      // Attribution stays private: not in the tokens.
      const access = decodeJwt(tokens.access_token);
      assert.ok(!("utm_source" in (access.user_properties as Claims)));

      // A later sign-in with other parameters changes nothing: they belong to the sign-up.
      const again = await exchange(
        await new UserAgent(server.url).authorize(authorizeUrl({ utm_source: "retargeting" }), {
          email,
          password,
        }),
      );
      assert.ok(again.access_token);
      assert.equal((await userValues(userId)).utm_source, "newsletter");

      // Repeated or malformed, a marketing parameter is dropped and the sign-up still works.
      const other = `repeat-${randomBytes(4).toString("hex")}@example.com`;
      const url = authorizeUrl({ prompt: "create", utm_source: "one" });
      url.searchParams.append("utm_source", "two");
      const repeated = await exchange(
        await new UserAgent(server.url).authorize(url, { email: other, password, signUp: true }),
      );
      assert.equal((await userValues(decodeJwt(repeated.access_token).sub!)).utm_source, null);
    });

    it("puts public user and organization properties in access and ID tokens, never private ones", async () => {
      await customProperty("usr", "nickname", false);
      await customProperty("usr", "salary_band", true);
      await customProperty("org", "plan", false);
      await customProperty("org", "internal_notes", true);
      const email = `claims-${randomBytes(4).toString("hex")}@example.com`;
      const password = `Pw-${randomBytes(10).toString("hex")}`;
      const first = await exchange(
        await new UserAgent(server.url).authorize(authorizeUrl({ prompt: "create", utm_source: "ads" }), {
          email,
          password,
          signUp: true,
        }),
      );
      const access = decodeJwt(first.access_token);
      const userId = access.sub!;
      const orgCode = access.org_code as string;
      assert.ok(orgCode, "the default organization was entered");
      // Public built-ins without a value are there, empty, as Kinde's SDKs expect them.
      assert.deepEqual((access.user_properties as Claims).kp_usr_city, {});
      assert.deepEqual((access.user_properties as Claims).nickname, {});
      assert.deepEqual((access.organization_properties as Claims).kp_org_city, {});

      await api("PATCH", `/api/v1/users/${userId}/properties`, {
        properties: { kp_usr_city: "London", nickname: "Ada", salary_band: "C" },
      });
      await api("PATCH", `/api/v1/organizations/${orgCode}/properties`, {
        properties: { plan: "gold", internal_notes: "late payer" },
      });
      await setPrivacy("usr", "utm_source", false);
      const refreshed = await token({ grant_type: "refresh_token", refresh_token: first.refresh_token });
      assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
      const tokens = refreshed.body as unknown as Tokens;
      for (const jwt of [tokens.access_token, tokens.id_token]) {
        const claims = decodeJwt(jwt);
        const user = claims.user_properties as Claims;
        const org = claims.organization_properties as Claims;
        assert.deepEqual(user.kp_usr_city, { v: "London" });
        assert.deepEqual(user.nickname, { v: "Ada" });
        assert.deepEqual(user.utm_source, { v: "ads" }, "made public, the sign-up's source shows");
        assert.ok(!("salary_band" in user), "a private property never enters a token");
        assert.ok(!("plan" in user), "organization properties are not the user's");
        assert.deepEqual(org.plan, { v: "gold" });
        assert.ok(!("internal_notes" in org));
        assert.ok(!("nickname" in org));
      }
      await setPrivacy("usr", "utm_source", true);
    });

    it("carries a machine's public application properties, and a change shows on the next token", async () => {
      const machine = await createApplication(server, "m2m");
      const audience = `https://props-${randomBytes(3).toString("hex")}.example.com`;
      await createApi(server, { audience, scopes: ["read:x"], grant: { [machine.clientId]: ["read:x"] } });
      const machineToken = async () => {
        const response = await fetch(`${server.url}/oauth2/token`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            grant_type: "client_credentials",
            client_id: machine.clientId,
            client_secret: machine.clientSecret!,
            audience,
          }),
        });
        const body = (await response.json()) as { access_token: string };
        assert.equal(response.status, 200, JSON.stringify(body));
        return decodeJwt(body.access_token);
      };
      assert.equal(
        (await machineToken()).application_properties,
        undefined,
        "no public application property yet",
      );
      await customProperty("app", "tenant", false);
      await customProperty("app", "api_secret_hint", true);
      const path = `/api/v1/applications/${machine.clientId}/properties`;
      await api("PUT", `${path}/tenant`, { value: "acme" });
      await api("PUT", `${path}/api_secret_hint`, { value: "starts with sk_" });
      assert.deepEqual((await machineToken()).application_properties, { tenant: { v: "acme" } });
      await api("PUT", `${path}/tenant`, { value: "globex" });
      assert.deepEqual((await machineToken()).application_properties, { tenant: { v: "globex" } });
      await setPrivacy("app", "tenant", true);
      assert.equal((await machineToken()).application_properties, undefined);
      await setPrivacy("app", "tenant", false);
      await api("PUT", `${path}/tenant`, { value: "" });
      assert.deepEqual(
        (await machineToken()).application_properties,
        { tenant: {} },
        "a public property without a value is there, empty",
      );
    });
  });
}
