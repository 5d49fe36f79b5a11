// Organizations under attack: a suspended organization (or a removed member) gets nothing more from
// codes minted before, refresh tokens or org-scoped M2M applications; is_create_org never creates
// an organization silently and only so many a day; a suspended organization neither locks its
// members out of their others nor takes sign-ups. On both databases.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { decodeJwt } from "jose";
import { readPublicProperties } from "../../src/oauth/token-claims.store.js";
import { userClaims } from "../../src/organizations/claims.js";
import { USER_ORGANIZATION_LIMIT } from "../../src/organizations/organizations.service.js";
import { databaseKinds } from "../helpers/databases.js";
import { createApi, createApplication, createUser } from "../helpers/fixtures.js";
import { callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";
import { backEndClient, type Json, type Tokens } from "./client.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`Organization security fixes (${kind})`, { skip }, () => {
    let server: TestServer;
    let app: { clientId: string; clientSecret?: string };
    before(async () => {
      server = await startTestServer(kind);
      app = await createApplication(server, "reg");
    });
    after(async () => server?.close());

    const api = <T = Json>(method: string, path: string, body?: unknown) =>
      callApi<T>(server, method, path, body === undefined ? {} : { body });

    const { authorizeUrl, token, exchangeCode, exchange } = backEndClient(
      () => server,
      () => app,
    );

    const refresh = (tokens: Tokens) =>
      token({ grant_type: "refresh_token", refresh_token: tokens.refresh_token });

    async function createOrganization(name: string, extra: Json = {}): Promise<string> {
      const created = await api<{ organization: { code: string } }>("POST", "/api/v1/organization", {
        name,
        ...extra,
      });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      return created.body.organization.code;
    }

    const suspend = async (orgCode: string, is_suspended = true) =>
      assert.equal((await api("PATCH", `/api/v1/organization/${orgCode}`, { is_suspended })).status, 200);

    /** An organization with a permission, and a member holding it, signed in on a browser. */
    async function member() {
      const tag = randomBytes(3).toString("hex");
      const orgCode = await createOrganization(`Org ${tag}`);
      const permission = `read-${tag}`;
      assert.equal(
        (await api("POST", "/api/v1/permissions", { key: permission, name: permission })).status,
        201,
      );
      const user = await createUser(server);
      await api("POST", `/api/v1/organizations/${orgCode}/users`, {
        users: [{ id: user.id, permissions: [permission] }],
      });
      const agent = new UserAgent(server.url);
      const tokens = await exchange(await agent.authorize(authorizeUrl({ org_code: orgCode }), user));
      assert.deepEqual(decodeJwt(tokens.access_token).permissions, [permission]);
      return { orgCode, permission, user, agent, tokens };
    }

    /** A code minted silently by the signed-in browser, not exchanged yet. */
    async function silentCode(agent: UserAgent, orgCode: string): Promise<URL> {
      const callback = await agent.redirectFrom(authorizeUrl({ org_code: orgCode, prompt: "none" }));
      assert.ok(callback.searchParams.get("code"), callback.href);
      return callback;
    }

    // --- Finding 1 (HIGH): codes minted before a suspension or removal.
    it("burns an organization's unexchanged codes when it is suspended", async () => {
      const { orgCode, agent } = await member();
      const pending = await silentCode(agent, orgCode);
      await suspend(orgCode);
      const refused = await exchangeCode(pending);
      assert.equal(refused.status, 400, JSON.stringify(refused.body));
      assert.equal(refused.body.error, "invalid_grant");
      assert.match(String(refused.body.error_description), /already been used/, "burnt by the suspension");
    });

    it("burns a removed member's unexchanged codes, and only theirs", async () => {
      const { orgCode, user, agent } = await member();
      const stayer = await createUser(server);
      await api("POST", `/api/v1/organizations/${orgCode}/users`, { users: [{ id: stayer.id }] });
      const stayerAgent = new UserAgent(server.url);
      await stayerAgent.authorize(authorizeUrl({ org_code: orgCode }), stayer);
      const pending = await silentCode(agent, orgCode);
      const stayerPending = await silentCode(stayerAgent, orgCode);
      assert.equal((await api("DELETE", `/api/v1/organizations/${orgCode}/users/${user.id}`)).status, 200);
      const refused = await exchangeCode(pending);
      assert.equal(refused.body.error, "invalid_grant");
      assert.match(String(refused.body.error_description), /already been used/);
      assert.equal(decodeJwt((await exchange(stayerPending)).access_token).org_code, orgCode);
    });

    it("re-checks the organization at the code exchange and at refresh (a suspension racing them)", async () => {
      const { orgCode, agent, tokens } = await member();
      const pending = await silentCode(agent, orgCode);
      // Suspended behind the service's back (plain SQL, or a write racing the exchange): no grant
      // was revoked and no code burnt, so only the grants' own check stands.
      await server.storage.db
        .updateTable("organizations")
        .set({ is_suspended: 1 })
        .where("code", "=", orgCode)
        .execute();
      const exchanged = await exchangeCode(pending);
      assert.equal(exchanged.status, 400, JSON.stringify(exchanged.body));
      assert.equal(exchanged.body.error, "invalid_grant");
      const refreshed = await refresh(tokens);
      assert.equal(refreshed.status, 400, JSON.stringify(refreshed.body));
      assert.equal(refreshed.body.error, "invalid_grant");
      // The refusal ended the grant: lifting the suspension does not bring the token back.
      await server.storage.db
        .updateTable("organizations")
        .set({ is_suspended: 0 })
        .where("code", "=", orgCode)
        .execute();
      assert.equal((await refresh(tokens)).body.error, "invalid_grant");
    });

    it("re-checks membership at the code exchange (a removal racing it)", async () => {
      const { orgCode, user, agent } = await member();
      const pending = await silentCode(agent, orgCode);
      await server.storage.db
        .deleteFrom("organization_users")
        .where("org_code", "=", orgCode)
        .where("user_id", "=", user.id)
        .execute();
      const exchanged = await exchangeCode(pending);
      assert.equal(exchanged.status, 400, JSON.stringify(exchanged.body));
      assert.equal(exchanged.body.error, "invalid_grant");
    });

    it("names an organization in claims only for a current member while it is not suspended", async () => {
      const { orgCode, permission, user } = await member();
      const outsider = await createUser(server);
      const { db } = server.storage;
      const inside = await userClaims(db, user.id, orgCode, readPublicProperties(db));
      assert.equal(inside.access.org_code, orgCode);
      assert.deepEqual(inside.access.permissions, [permission]);
      const outside = await userClaims(db, outsider.id, orgCode, readPublicProperties(db));
      assert.equal(outside.access.org_code, undefined, "no org_code for a non-member");
      await suspend(orgCode);
      const suspended = await userClaims(db, user.id, orgCode, readPublicProperties(db));
      assert.equal(suspended.access.org_code, undefined, "no org_code for a suspended organization");
      assert.deepEqual(suspended.access.permissions, []);
    });

    // --- Finding 2 (MEDIUM): is_create_org.
    it("never creates an organization silently: prompt=none is login_required, else the page", async () => {
      const user = await createUser(server);
      const agent = new UserAgent(server.url);
      await agent.authorize(authorizeUrl(), user);
      const count = async () =>
        (await server.storage.db.selectFrom("organizations").select("code").execute()).length;
      const before = await count();
      const silent = await agent.redirectFrom(
        authorizeUrl({ prompt: "none", is_create_org: "true", org_name: "Silent Ltd" }),
      );
      assert.equal(silent.searchParams.get("error"), "login_required", silent.href);
      const session = await agent.redirectFrom(
        authorizeUrl({ is_create_org: "true", org_name: "Drive-by Ltd" }),
      );
      assert.equal(
        session.pathname,
        "/auth/sign-up",
        "the signed-in browser is shown the page, given no code",
      );
      assert.equal(await count(), before, "no organization was created");
      // Kinde's SDK createOrg (start_page=registration) still works through the page.
      const callback = await agent.authorize(
        authorizeUrl({ start_page: "registration", is_create_org: "true", org_name: "Chosen Ltd" }),
        user,
      );
      const orgCode = decodeJwt((await exchange(callback)).access_token).org_code as string;
      assert.equal((await api<Json>("GET", `/api/v1/organization?code=${orgCode}`)).body.name, "Chosen Ltd");
      assert.equal(await count(), before + 1);
    });

    it(`lets a user create at most ${USER_ORGANIZATION_LIMIT.max} organizations a day`, async () => {
      const user = await createUser(server);
      const create = (name: string) =>
        new UserAgent(server.url).authorize(
          authorizeUrl({ prompt: "create", is_create_org: "true", org_name: name }),
          user,
        );
      for (let i = 0; i < USER_ORGANIZATION_LIMIT.max; i++) {
        const callback = await create(`Mine ${i}`);
        assert.ok(callback.searchParams.get("code"), callback.href);
      }
      const refused = await create("One too many");
      assert.equal(refused.searchParams.get("error"), "access_denied", refused.href);
      assert.match(
        refused.searchParams.get("error_description") ?? "",
        /organizations can be created per user/,
      );
      const names = await server.storage.db
        .selectFrom("organization_users")
        .innerJoin("organizations", "organizations.code", "organization_users.org_code")
        .select("organizations.name")
        .where("organization_users.user_id", "=", user.id)
        .execute();
      assert.ok(!names.some((n) => n.name === "One too many"), "the refused one was not created");
      assert.equal(names.filter((n) => n.name.startsWith("Mine ")).length, USER_ORGANIZATION_LIMIT.max);
    });

    // --- Finding 3 (LOW): the last-visited organization suspended.
    it("signs a member into another organization when the one they last visited is suspended", async () => {
      const { orgCode, user } = await member();
      await suspend(orgCode);
      const callback = await new UserAgent(server.url).authorize(authorizeUrl(), user);
      assert.equal(callback.searchParams.get("error"), null, callback.href);
      const claims = decodeJwt((await exchange(callback)).access_token);
      assert.ok(claims.org_code, "signed into an organization");
      assert.notEqual(claims.org_code, orgCode);
      // Asked for by name, the suspended organization is still refused.
      const named = await new UserAgent(server.url).authorize(authorizeUrl({ org_code: orgCode }), user);
      assert.equal(named.searchParams.get("error"), "access_denied");
    });

    // --- Finding 4 (LOW): org-scoped M2M applications.
    it("refuses client_credentials to an application while its organization is suspended", async () => {
      const orgCode = await createOrganization(`Robots ${randomBytes(3).toString("hex")}`);
      const created = await api<{ application: { id: string; client_id: string; client_secret: string } }>(
        "POST",
        "/api/v1/applications",
        { name: "Org worker", type: "m2m", org_code: orgCode },
      );
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const { client_id, client_secret } = created.body.application;
      const audience = `https://jobs-${randomBytes(4).toString("hex")}.example.com`;
      await createApi(server, {
        audience,
        scopes: ["run"],
        grant: { [created.body.application.id]: ["run"] },
      });
      const machineToken = async () => {
        const response = await fetch(`${server.url}/oauth2/token`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ grant_type: "client_credentials", client_id, client_secret, audience }),
        });
        return { status: response.status, body: (await response.json()) as Json };
      };
      const first = await machineToken(); // also warms the configuration cache
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.equal(decodeJwt(first.body.access_token as string).org_code, orgCode);
      await suspend(orgCode);
      const refused = await machineToken();
      assert.equal(refused.status, 400, JSON.stringify(refused.body));
      assert.equal(refused.body.error, "unauthorized_client");
      await suspend(orgCode, false);
      assert.equal((await machineToken()).status, 200, "works again once the suspension is lifted");
    });

    // --- Finding 5 (LOW): sign-up into a suspended organization.
    it("refuses sign-up into a suspended organization, creating no account", async () => {
      const orgCode = await createOrganization(`Open ${randomBytes(3).toString("hex")}`, {
        is_allow_registrations: true,
      });
      await suspend(orgCode);
      const agent = new UserAgent(server.url);
      const page = await agent.redirectFrom(authorizeUrl({ org_code: orgCode, prompt: "create" }));
      const form = await agent.openForm(new URL(`/auth/sign-up${page.search}`, server.url));
      const email = `new-${randomBytes(4).toString("hex")}@example.com`;
      const signUp = await agent.request("/auth/sign-up", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ ...form, email, password: `Pw-${randomBytes(10).toString("hex")}` }),
      });
      assert.equal(signUp.status, 403);
      assert.match(await signUp.text(), /organization is suspended/);
      assert.equal(await server.services.users.store.findByEmail(email), undefined);
    });
  });
}
