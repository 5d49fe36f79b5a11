// The Account API over plain HTTP: tokens it refuses (401 in Kinde's `{errors}` shape, with RFC
// 6750's challenge), keys it does not know, paging (page_size, starting_after, Kinde's metadata),
// the endpoints js-utils does not call (user_profile, user_organizations, current_organization,
// feature_flags/{key}), entitlements without billing, portal_link's return_url check, and CORS.
// js-utils itself, in Chromium, is tests/account-api/js-utils.test.ts.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";
import { backEndClient, type Json, type Tokens } from "../organizations/client.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`Account API over HTTP (${kind})`, { skip }, () => {
    let server: TestServer;
    let app: { clientId: string; clientSecret?: string };
    let tag: string;
    let orgA: string;
    let orgB: string;
    let user: { id: string; email: string; password: string };
    let tokens: Tokens;

    const api = <T = Json>(method: string, path: string, body?: unknown) =>
      callApi<T>(server, method, path, body === undefined ? {} : { body });
    const { authorizeUrl, exchange } = backEndClient(
      () => server,
      () => app,
    );
    const signIn = async (who: { email: string; password: string }, extra: Record<string, string> = {}) =>
      exchange(await new UserAgent(server.url).authorize(authorizeUrl(extra), who));

    /** `token` null: no Authorization header at all. */
    async function accountApi(path: string, token: string | null = tokens.access_token, headers = {}) {
      const response = await fetch(`${server.url}/account_api/v1/${path}`, {
        headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...headers },
      });
      const text = await response.text();
      return {
        status: response.status,
        headers: response.headers,
        body: (text ? JSON.parse(text) : {}) as Json,
      };
    }
    const data = (body: Json) => body.data as Json;

    before(async () => {
      server = await startTestServer(kind);
      app = await createApplication(server, "reg", {
        callbackUrls: [CALLBACK, "https://app.example.com/callback"],
        logoutUrls: ["https://www.example.com/"],
      });
      tag = randomBytes(3).toString("hex");
      const create = async (name: string) =>
        (await api<{ organization: { code: string } }>("POST", "/api/v1/organization", { name })).body
          .organization.code;
      orgA = await create(`A ${tag}`);
      orgB = await create(`B ${tag}`);
      // Seven permissions and seven roles, so pages of 3 have a remainder.
      const permissionKeys = Array.from({ length: 7 }, (_, i) => `perm-${i}-${tag}`);
      for (const key of permissionKeys)
        assert.equal((await api("POST", "/api/v1/permissions", { key, name: `Perm ${key}` })).status, 201);
      const roleKeys = Array.from({ length: 7 }, (_, i) => `role-${i}-${tag}`);
      for (const key of roleKeys)
        assert.equal((await api("POST", "/api/v1/roles", { key, name: `Role ${key}` })).status, 201);
      assert.equal(
        (
          await api("POST", "/api/v1/feature_flags", {
            key: `theme-${tag}`,
            name: "Theme",
            type: "str",
            default_value: "light",
          })
        ).status,
        201,
      );
      user = await createUser(server, { givenName: "Grace", familyName: "Hopper" });
      await api("POST", `/api/v1/organizations/${orgA}/users`, {
        users: [{ id: user.id, roles: roleKeys, permissions: permissionKeys }],
      });
      await api("POST", `/api/v1/organizations/${orgB}/users`, { users: [{ id: user.id }] });
      tokens = await signIn(user, { org_code: orgA });
    });
    after(async () => server?.close());

    it("refuses missing, malformed, foreign, machine and revoked tokens in Kinde's error shape", async () => {
      const expectRefused = async (token: string | null, status = 401, code = "INVALID_CREDENTIALS") => {
        const answer = await accountApi("roles", token);
        assert.equal(answer.status, status, JSON.stringify(answer.body));
        assert.equal(answer.headers.get("content-type")?.split(";")[0], "application/json");
        const errors = answer.body.errors as { code: string; message: string }[];
        assert.equal(errors.length, 1);
        assert.equal(errors[0]!.code, code);
        assert.ok(errors[0]!.message.length > 0);
        assert.match(answer.headers.get("www-authenticate") ?? "", /^Bearer realm="latchkey"/);
      };
      await expectRefused(null);
      await expectRefused("not-a-token");
      await expectRefused(`${tokens.access_token.slice(0, -4)}AAAA`);
      // The ID token is a JWT of ours too, but no access token.
      await expectRefused(tokens.id_token);
      // A machine token carries no person.
      await expectRefused(await managementToken(server));
      const malformed = await accountApi("roles", null, { authorization: "Basic Zm9vOmJhcg==" });
      assert.equal(malformed.status, 400);
      assert.equal((malformed.body.errors as Json[])[0]!.code, "INVALID_REQUEST");

      // Revoked (its refresh token revoked with the grant): refused from then on, every endpoint.
      const revocable = await signIn(user, { org_code: orgA });
      assert.equal((await accountApi("user_profile", revocable.access_token)).status, 200);
      const revoke = await fetch(`${server.url}/oauth2/revoke`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          token: revocable.refresh_token,
          client_id: app.clientId,
          client_secret: app.clientSecret!,
        }),
      });
      assert.equal(revoke.status, 200);
      for (const path of [
        "roles",
        "permissions",
        "permission/x",
        "feature_flags",
        "user_profile",
        "portal_link",
      ])
        assert.equal((await accountApi(path, revocable.access_token)).status, 401, path);
    });

    it("pages roles and permissions with page_size and starting_after, as js-utils follows them", async () => {
      const all: Json[] = [];
      let after: string | null = null;
      let pages = 0;
      do {
        const query: string = `page_size=3${after ? `&starting_after=${after}` : ""}`;
        const page = await accountApi(`permissions?${query}`);
        assert.equal(page.status, 200, JSON.stringify(page.body));
        assert.equal(data(page.body).org_code, orgA);
        const items = data(page.body).permissions as Json[];
        all.push(...items);
        const metadata = page.body.metadata as { has_more: boolean; next_page_starting_after: string | null };
        assert.equal(metadata.has_more, all.length < 7);
        assert.equal(
          metadata.next_page_starting_after,
          metadata.has_more ? (items.at(-1)!.id as string) : null,
        );
        after = metadata.next_page_starting_after;
        pages++;
      } while (after);
      assert.equal(pages, 3);
      assert.deepEqual(
        all.map((p) => p.key),
        Array.from({ length: 7 }, (_, i) => `perm-${i}-${tag}`),
      );
      // Unpaged (10 by default): everything on one page.
      const roles = await accountApi("roles");
      assert.equal((data(roles.body).roles as Json[]).length, 7);
      assert.deepEqual(roles.body.metadata, { has_more: false, next_page_starting_after: null });
      const limited = await accountApi("roles?limit=2");
      assert.equal((data(limited.body).roles as Json[]).length, 2);

      for (const query of ["page_size=0", "page_size=1001", "page_size=abc", "starting_after=nobody"]) {
        const bad = await accountApi(`roles?${query}`);
        assert.equal(bad.status, 400, query);
        assert.equal((bad.body.errors as Json[])[0]!.code, "INVALID_REQUEST", query);
      }
    });

    it("answers single permissions and flags, and unknown keys", async () => {
      const held = await accountApi(`permission/${encodeURIComponent(`perm-2-${tag}`)}`);
      assert.equal(held.status, 200);
      assert.equal(held.body.permissionKey, `perm-2-${tag}`);
      assert.equal(held.body.orgCode, orgA);
      assert.equal(held.body.isGranted, true);
      assert.equal(data(held.body).is_granted, true);
      const unknown = await accountApi("permission/no-such-permission");
      assert.equal(unknown.status, 200);
      assert.deepEqual(
        { key: unknown.body.permissionKey, granted: unknown.body.isGranted },
        { key: "no-such-permission", granted: false },
      );
      // The same permission through another organization's token: not granted there.
      const inB = await signIn(user, { org_code: orgB });
      const elsewhere = await accountApi(`permission/perm-2-${tag}`, inB.access_token);
      assert.equal(elsewhere.body.isGranted, false);
      assert.equal(elsewhere.body.orgCode, orgB);

      const flag = await accountApi(`feature_flags/theme-${tag}`);
      assert.equal(flag.status, 200);
      assert.deepEqual(
        { ...data(flag.body), id: undefined },
        {
          id: undefined,
          name: "Theme",
          key: `theme-${tag}`,
          type: "string",
          value: "light",
        },
      );
      const noFlag = await accountApi("feature_flags/no-such-flag");
      assert.equal(noFlag.status, 404);
      assert.equal((noFlag.body.errors as Json[])[0]!.code, "FEATURE_FLAG_NOT_FOUND");
    });

    it("profile, organizations and the current one; no entitlements without billing", async () => {
      const profile = await accountApi("user_profile");
      assert.deepEqual(profile.body, {
        data: { id: user.id, email: user.email, given_name: "Grace", family_name: "Hopper", picture: null },
      });
      const organizations = await accountApi("user_organizations");
      const codes = (organizations.body.data as Json[]).map((o) => o.code);
      assert.ok(codes.includes(orgA) && codes.includes(orgB), JSON.stringify(codes));
      assert.deepEqual(
        (organizations.body.data as Json[]).find((o) => o.code === orgA),
        { id: orgA, code: orgA, name: `A ${tag}` },
      );
      const current = await accountApi("current_organization");
      assert.deepEqual(current.body, { data: { id: orgA, code: orgA, name: `A ${tag}` } });

      const entitlements = await accountApi("entitlements");
      assert.deepEqual(entitlements.body, {
        data: { org_code: orgA, plans: [], entitlements: [] },
        metadata: { has_more: false, next_page_starting_after: null },
      });
      const entitlement = await accountApi("entitlement/pro-seats");
      assert.equal(entitlement.status, 404);
      assert.equal((entitlement.body.errors as Json[])[0]!.code, "ENTITLEMENT_NOT_FOUND");

      // Removed from the organization: its token no longer reads it.
      const leaver = await createUser(server);
      await api("POST", `/api/v1/organizations/${orgA}/users`, {
        users: [{ id: leaver.id, roles: [`role-0-${tag}`] }],
      });
      const leaverTokens = await signIn(leaver, { org_code: orgA });
      assert.equal(
        (data((await accountApi("roles", leaverTokens.access_token)).body).roles as Json[]).length,
        1,
      );
      assert.equal((await api("DELETE", `/api/v1/organizations/${orgA}/users/${leaver.id}`)).status, 200);
      const gone = await accountApi("current_organization", leaverTokens.access_token);
      if (gone.status === 200) assert.fail("a token of a former member still reads the organization");
      assert.ok([401, 404].includes(gone.status), String(gone.status));
    });

    it("portal_link: a link to /account, return_url only on the application's registered origins", async () => {
      const plain = await accountApi("portal_link");
      assert.deepEqual(plain.body, { url: `${server.url}/account` });
      const back = "https://app.example.com/settings?tab=1";
      const linked = await accountApi(`portal_link?subnav=profile&return_url=${encodeURIComponent(back)}`);
      assert.equal(linked.status, 200);
      const url = new URL(linked.body.url as string);
      assert.equal(url.origin + url.pathname, `${server.url}/account`);
      assert.equal(url.searchParams.get("subnav"), "profile");
      assert.equal(url.searchParams.get("return_url"), back);
      // A logout URL's origin counts too; a stranger's, another scheme or an unknown page do not.
      assert.equal(
        (await accountApi(`portal_link?return_url=${encodeURIComponent("https://www.example.com/x")}`))
          .status,
        200,
      );
      for (const query of [
        `return_url=${encodeURIComponent("https://evil.example/")}`,
        `return_url=${encodeURIComponent("javascript:alert(1)")}`,
        `return_url=${encodeURIComponent("https://app.example.com.evil.example/")}`,
        "return_url=relative/path",
        "subnav=admin_panel",
      ]) {
        const refused = await accountApi(`portal_link?${query}`);
        assert.equal(refused.status, 400, query);
        assert.equal((refused.body.errors as Json[])[0]!.code, "INVALID_REQUEST", query);
      }
    });

    it("answers CORS preflights for front-end applications' origins only", async () => {
      await createApplication(server, "spa", { callbackUrls: ["https://spa.example/callback"] });
      for (const path of [
        "permission/x",
        "feature_flags/x",
        "user_organizations",
        "portal_link",
        "entitlements",
      ]) {
        const allowed = await fetch(`${server.url}/account_api/v1/${path}`, {
          method: "OPTIONS",
          headers: { origin: "https://spa.example", "access-control-request-method": "GET" },
        });
        assert.equal(allowed.status, 204, path);
        assert.equal(allowed.headers.get("access-control-allow-origin"), "https://spa.example", path);
        assert.match(allowed.headers.get("access-control-allow-headers") ?? "", /authorization/);
        const other = await fetch(`${server.url}/account_api/v1/${path}`, {
          method: "OPTIONS",
          headers: { origin: "https://evil.example", "access-control-request-method": "GET" },
        });
        assert.equal(other.headers.get("access-control-allow-origin"), null, path);
      }
      const get = await accountApi("roles", tokens.access_token, { origin: "https://spa.example" });
      assert.equal(get.headers.get("access-control-allow-origin"), "https://spa.example");
      assert.equal(get.headers.get("cache-control"), "no-store");
    });
  });
}
