// Organizations in tokens and in the Account API: org_code on /oauth2/auth signs a member into
// that organization (and refuses anyone else), is_create_org creates one, access tokens carry the
// organization's permissions, roles and flags — recomputed at every refresh — and ID tokens list
// the user's organizations. On both databases.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { decodeJwt } from "jose";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication, createUser } from "../helpers/fixtures.js";
import { callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";
import { backEndClient, type Json, type Tokens } from "./client.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`Organizations in tokens and the Account API (${kind})`, { skip }, () => {
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

    const refresh = async (tokens: Tokens) => {
      const { status, body } = await token({
        grant_type: "refresh_token",
        refresh_token: tokens.refresh_token,
      });
      return { status, body: body as unknown as Tokens & Json };
    };

    async function signIn(user: { email: string; password: string }, extra: Record<string, string> = {}) {
      return exchange(await new UserAgent(server.url).authorize(authorizeUrl(extra), user));
    }

    async function accountApi(accessToken: string, path: string): Promise<{ status: number; body: Json }> {
      const response = await fetch(`${server.url}/account_api/v1/${path}`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      return { status: response.status, body: (await response.json()) as Json };
    }

    async function setUp() {
      const tag = randomBytes(3).toString("hex");
      const create = async (name: string) =>
        (await api<{ organization: { code: string } }>("POST", "/api/v1/organization", { name })).body
          .organization.code;
      const orgA = await create(`A ${tag}`);
      const orgB = await create(`B ${tag}`);
      for (const key of [`a-read-${tag}`, `b-admin-${tag}`])
        assert.equal((await api("POST", "/api/v1/permissions", { key, name: key })).status, 201);
      const permissions = (
        await api<{ permissions: { id: string; key: string }[] }>("GET", "/api/v1/permissions?page_size=500")
      ).body.permissions;
      const id = (key: string) => permissions.find((p) => p.key === key)!.id;
      const roleA = (
        await api<{ role: { id: string } }>("POST", "/api/v1/roles", { key: `reader-${tag}`, name: "Reader" })
      ).body.role.id;
      await api("PATCH", `/api/v1/roles/${roleA}/permissions`, {
        permissions: [{ id: id(`a-read-${tag}`) }],
      });
      assert.equal(
        (
          await api("POST", "/api/v1/feature_flags", {
            key: `plan-${tag}`,
            name: "Plan",
            type: "str",
            default_value: "free",
            allow_override_level: "org",
          })
        ).status,
        201,
      );
      await api("PATCH", `/api/v1/organizations/${orgB}/feature_flags/plan-${tag}?value=enterprise`);
      const user = await createUser(server);
      const outsider = await createUser(server);
      await api("POST", `/api/v1/organizations/${orgA}/users`, {
        users: [{ id: user.id, roles: [`reader-${tag}`] }],
      });
      await api("POST", `/api/v1/organizations/${orgB}/users`, {
        users: [{ id: user.id, permissions: [`b-admin-${tag}`] }],
      });
      return { tag, orgA, orgB, roleA, user, outsider, permissionId: id };
    }

    it("signs a member into the organization named, with that organization's claims only", async () => {
      const { tag, orgA, orgB, roleA, user } = await setUp();
      const inA = await signIn(user, { org_code: orgA });
      const access = decodeJwt(inA.access_token);
      assert.equal(access.org_code, orgA);
      assert.deepEqual(access.permissions, [`a-read-${tag}`]);
      assert.deepEqual(access.roles, [{ id: roleA, key: `reader-${tag}`, name: "Reader" }]);
      assert.deepEqual((access.feature_flags as Json)[`plan-${tag}`], { t: "s", v: "free" });
      const id = decodeJwt(inA.id_token);
      const codes = id.org_codes as string[];
      assert.ok(codes.includes(orgA) && codes.includes(orgB), `org_codes ${codes}`);
      assert.ok((id.organizations as Json[]).some((o) => o.id === orgA && o.name === `A ${tag}`));

      const inB = decodeJwt((await signIn(user, { org_code: orgB })).access_token);
      assert.equal(inB.org_code, orgB);
      assert.deepEqual(inB.permissions, [`b-admin-${tag}`], "Org A's permissions never reach an Org B token");
      assert.deepEqual(inB.roles, []);
      assert.deepEqual((inB.feature_flags as Json)[`plan-${tag}`], { t: "s", v: "enterprise" });

      // Account API: the token's organization, and nothing of the other one.
      const permissions = await accountApi(inA.access_token, "permissions");
      assert.equal(permissions.status, 200);
      assert.deepEqual(permissions.body, {
        data: {
          org_code: orgA,
          permissions: [
            {
              id:
                permissions.body.data &&
                (permissions.body.data as { permissions: Json[] }).permissions[0]!.id,
              name: `a-read-${tag}`,
              key: `a-read-${tag}`,
            },
          ],
        },
        metadata: { has_more: false, next_page_starting_after: null },
      });
      const roles = await accountApi(inA.access_token, "roles");
      assert.deepEqual((roles.body.data as Json).roles, [
        { id: roleA, name: "Reader", key: `reader-${tag}` },
      ]);
      const flags = await accountApi(inA.access_token, "feature_flags");
      const plan = ((flags.body.data as Json).feature_flags as Json[]).find((f) => f.key === `plan-${tag}`);
      assert.deepEqual(
        { ...plan, id: undefined },
        { id: undefined, name: "Plan", key: `plan-${tag}`, type: "string", value: "free" },
      );
      assert.equal((await accountApi("not-a-token", "roles")).status, 401);
      assert.equal((await fetch(`${server.url}/account_api/v1/roles`)).status, 401);
    });

    it("refuses to sign anyone else into an organization, and unknown organizations", async () => {
      const { orgA, outsider } = await setUp();
      // The sign-in page refuses the outsider's (correct) password for this organization.
      const agent = new UserAgent(server.url);
      const page = await agent.redirectFrom(authorizeUrl({ org_code: orgA }));
      const form = await agent.openForm(new URL(`/auth/sign-in${page.search}`, server.url));
      const refused = await agent.request("/auth/sign-in", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ ...form, email: outsider.email, password: outsider.password }),
      });
      assert.equal(refused.status, 403);
      assert.match(await refused.text(), /not a member of the organization/);

      // Signed in (to the default organization), the outsider is still not let into Org A silently.
      const signedIn = new UserAgent(server.url);
      await signedIn.authorize(authorizeUrl(), outsider);
      const again = await signedIn.redirectFrom(authorizeUrl({ org_code: orgA }));
      assert.equal(again.pathname, "/auth/sign-in", "no code for a non-member");
      const silent = await signedIn.redirectFrom(authorizeUrl({ org_code: orgA, prompt: "none" }));
      assert.equal(silent.searchParams.get("error"), "login_required");

      // Sign-up into an organization that takes no registrations is refused before any account exists.
      const newcomer = new UserAgent(server.url);
      const signUpPage = await newcomer.redirectFrom(authorizeUrl({ org_code: orgA, prompt: "create" }));
      const signUpForm = await newcomer.openForm(new URL(`/auth/sign-up${signUpPage.search}`, server.url));
      const email = `new-${randomBytes(4).toString("hex")}@example.com`;
      const signUp = await newcomer.request("/auth/sign-up", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          ...signUpForm,
          email,
          password: `Pw-${randomBytes(10).toString("hex")}`,
        }),
      });
      assert.equal(signUp.status, 403);
      assert.equal(await server.services.users.store.findByEmail(email), undefined);

      const unknown = await new UserAgent(server.url).redirectFrom(
        authorizeUrl({ org_code: "org_00000000000" }),
      );
      assert.equal(unknown.searchParams.get("error"), "invalid_request");
    });

    it("creates an organization during sign-up (is_create_org) and signs the user into it", async () => {
      const email = `founder-${randomBytes(4).toString("hex")}@example.com`;
      const callback = await new UserAgent(server.url).authorize(
        authorizeUrl({ prompt: "create", is_create_org: "true", org_name: "Founders Ltd" }),
        { email, password: `Pw-${randomBytes(10).toString("hex")}`, signUp: true, givenName: "Fay" },
      );
      const tokens = await exchange(callback);
      const orgCode = decodeJwt(tokens.access_token).org_code as string;
      assert.match(orgCode, /^org_[0-9a-f]{11}$/);
      const org = await api<Json>("GET", `/api/v1/organization?code=${orgCode}`);
      assert.equal(org.body.name, "Founders Ltd");
      assert.equal(org.body.is_default, false);
      const codes = decodeJwt(tokens.id_token).org_codes as string[];
      assert.equal(codes.length, 2, "the default organization and the new one");
      assert.ok(codes.includes(orgCode));
    });

    it("shows role, permission and flag changes on the next refresh; leaving ends the grant", async () => {
      const { tag, orgA, user, permissionId } = await setUp();
      const tokens = await signIn(user, { org_code: orgA });
      assert.deepEqual(decodeJwt(tokens.access_token).permissions, [`a-read-${tag}`]);

      await api("POST", `/api/v1/organizations/${orgA}/users/${user.id}/permissions`, {
        permission_id: permissionId(`b-admin-${tag}`),
      });
      // Held through the role already: given directly as well, it is still listed once.
      const direct = await api("POST", `/api/v1/organizations/${orgA}/users/${user.id}/permissions`, {
        permission_id: permissionId(`a-read-${tag}`),
      });
      assert.ok(direct.status === 200 || direct.status === 201, JSON.stringify(direct.body));
      await api("PATCH", `/api/v1/organizations/${orgA}/feature_flags/plan-${tag}?value=pro`);
      assert.equal((await api("POST", `/api/v1/users/${user.id}/refresh_claims`)).status, 200);
      const first = await refresh(tokens);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const claims = decodeJwt(first.body.access_token);
      assert.equal(claims.org_code, orgA, "the grant stays in its organization");
      assert.deepEqual(claims.permissions, [`a-read-${tag}`, `b-admin-${tag}`]);
      assert.deepEqual((claims.feature_flags as Json)[`plan-${tag}`], { t: "s", v: "pro" });

      // Removed from the organization: its grant ends, so no token of it can be refreshed.
      assert.equal((await api("DELETE", `/api/v1/organizations/${orgA}/users/${user.id}`)).status, 200);
      const second = await refresh(first.body);
      assert.equal(second.status, 400);
      assert.equal(second.body.error, "invalid_grant");
      assert.equal((await accountApi(first.body.access_token, "permissions")).status, 401);
    });
  });
}
