// Issue 20, the dashboard's own sign-in takes no sign-ups, on SQLite and PostgreSQL: its sign-in
// page (password or passwordless, first shown or after a wrong password) has no "Create one" link;
// /auth/sign-up for its request answers 403 with a page that says why, shown or posted, and no
// account is made; prompt=create, start_page=registration and is_create_org for it come back to the
// dashboard as access_denied; a first sign-in through a connection enabled for it is refused with
// a page, storing no user and no identity. Each is checked against an ordinary application, which
// keeps all of them; an administrator still signs in to the dashboard.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication } from "../helpers/fixtures.js";
import { type OidcProviderHandle, startOidcProvider } from "../helpers/oauth-provider.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";

const ADMIN = { email: "admin@example.com", password: "admin-password-123" };
const NO_SIGN_UPS = /The dashboard takes no sign-ups/;
const CREATE_LINK = /No account\? <a href="\/auth\/sign-up/;

for (const { kind, skip } of await databaseKinds()) {
  describe(`the dashboard's sign-in takes no sign-ups (${kind})`, { skip }, () => {
    let server: TestServer;
    let dashboard: { clientId: string; callback: string };
    let spa: { clientId: string };

    before(async () => {
      server = await startTestServer(kind, {
        env: {
          // The connection's provider is a local oidc-provider (127.0.0.1, plain http).
          CONNECTED_APPS_ALLOW_PRIVATE_NETWORKS: "true",
          BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
          BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
        },
      });
      const config = (await (await fetch(`${server.url}/admin/config.json`)).json()) as { clientId: string };
      assert.ok(config.clientId, "the dashboard is registered");
      dashboard = { clientId: config.clientId, callback: `${server.url}/admin/callback` };
      spa = await createApplication(server, "spa");
    });
    after(async () => server?.close());

    const toDashboard = (extra: Record<string, string> = {}) =>
      authorizationUrl(server, dashboard.clientId, dashboard.callback, extra);
    const toSpa = (extra: Record<string, string> = {}) =>
      authorizationUrl(server, spa.clientId, CALLBACK, extra);

    /** The sign-in page an authorization request leads to: its request id, and its HTML. */
    const signInPage = async (agent: UserAgent, url: URL) => {
      const start = await agent.redirectFrom(url);
      assert.equal(start.pathname, "/auth/sign-in");
      const response = await agent.request(start);
      assert.equal(response.status, 200);
      return { request: start.searchParams.get("request")!, html: await response.text() };
    };

    const hiddenFields = (html: string) =>
      Object.fromEntries(
        [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [
          m[1]!,
          m[2]!,
        ]),
      );

    it("shows no 'Create one' link on the dashboard's sign-in page, with passwords on or off", async () => {
      const agent = new UserAgent(server.url);
      const page = await signInPage(agent, toDashboard());
      assert.doesNotMatch(page.html, CREATE_LINK);
      assert.doesNotMatch(page.html, /\/auth\/sign-up/);
      assert.match((await signInPage(agent, toSpa())).html, CREATE_LINK, "other applications keep it");

      // Shown again after a wrong password: still none.
      const wrong = await agent.postForm("/auth/sign-in", {
        ...hiddenFields(page.html),
        email: ADMIN.email,
        password: "not the password",
      });
      assert.equal(wrong.status, 401);
      assert.doesNotMatch(await wrong.text(), /\/auth\/sign-up/);

      await server.services.business.setSignInMethods({ password: false, email_code: true });
      try {
        const passwordless = await signInPage(agent, toDashboard());
        assert.match(passwordless.html, /Email me a sign-in code/);
        assert.doesNotMatch(passwordless.html, /\/auth\/sign-up/);
        assert.match((await signInPage(agent, toSpa())).html, CREATE_LINK);
      } finally {
        await server.services.business.setSignInMethods({ password: true, email_code: true });
      }
    });

    it("answers /auth/sign-up for the dashboard with 403 and a page, shown or posted, creating nobody", async () => {
      const agent = new UserAgent(server.url);
      const page = await signInPage(agent, toDashboard());
      const shown = await agent.request(`/auth/sign-up?request=${encodeURIComponent(page.request)}`);
      assert.equal(shown.status, 403);
      const shownHtml = await shown.text();
      assert.match(shownHtml, NO_SIGN_UPS);
      assert.match(shownHtml, /latchkey admins create/);
      assert.doesNotMatch(shownHtml, /<form/);

      const form = {
        ...hiddenFields(page.html),
        email: "newcomer@example.com",
        password: "a long enough password 123",
        given_name: "New",
        family_name: "Comer",
      };
      const posted = await agent.postForm("/auth/sign-up", form);
      assert.equal(posted.status, 403);
      assert.match(await posted.text(), NO_SIGN_UPS);
      assert.equal(await server.services.users.store.findByEmail("newcomer@example.com"), undefined);

      // The same form for an ordinary application makes the account.
      const other = await signInPage(agent, toSpa());
      const made = await agent.postForm("/auth/sign-up", { ...form, ...hiddenFields(other.html) });
      assert.equal(made.status, 303, await made.text());
      assert.ok(await server.services.users.store.findByEmail("newcomer@example.com"));
    });

    it("refuses prompt=create, start_page=registration and is_create_org for the dashboard with access_denied", async () => {
      const agent = new UserAgent(server.url);
      const requests: Record<string, string>[] = [
        { prompt: "create" },
        { prompt: "login create" },
        { start_page: "registration" },
        { is_create_org: "true", org_name: "Sneaky" },
      ];
      for (const extra of requests) {
        const back = await agent.redirectFrom(toDashboard({ ...extra, state: "st-1" }));
        assert.equal(`${back.origin}${back.pathname}`, dashboard.callback, JSON.stringify(extra));
        assert.equal(back.searchParams.get("error"), "access_denied", JSON.stringify(extra));
        assert.match(back.searchParams.get("error_description") ?? "", /takes no sign-ups/);
        assert.equal(back.searchParams.get("state"), "st-1");
        assert.equal(back.searchParams.get("iss"), server.url);
      }
      const spaSignUp = await agent.redirectFrom(toSpa({ prompt: "create" }));
      assert.equal(spaSignUp.pathname, "/auth/sign-up", "other applications still start at sign-up");

      // An administrator signs in to the dashboard as before.
      const signedIn = await agent.authorize(toDashboard({ state: "st-2" }), ADMIN);
      assert.equal(`${signedIn.origin}${signedIn.pathname}`, dashboard.callback);
      assert.ok(signedIn.searchParams.get("code"));
    });

    describe("through a connection", () => {
      let op: OidcProviderHandle;
      let connectionId: string;

      before(async () => {
        op = await startOidcProvider({
          redirectUri: `${server.url}/auth/connections/callback`,
          accountId: "stranger",
          scopes: ["profile", "email"],
        });
        const connection = await server.services.connections.create({
          name: "dashboard-idp",
          displayName: "Example IdP",
          strategy: "oidc:custom",
          options: {
            client_id: op.clientId,
            client_secret: op.clientSecret,
            issuer: op.issuer,
            is_trusted: true,
          },
          enabledApplications: [dashboard.clientId, spa.clientId],
        });
        connectionId = connection.id;
      });
      after(async () => op?.close());

      /** Follows Latchkey's redirects to the provider, signs in there, and returns Latchkey's answer. */
      const throughProvider = async (agent: UserAgent, start: URL) => {
        let next = start;
        for (let hop = 0; hop < 3 && next.origin === server.url; hop++) next = await agent.redirectFrom(next);
        assert.equal(next.origin, op.issuer);
        return agent.request(await op.authorize(next));
      };

      const count = async (table: "users" | "external_identities") =>
        Number(
          (
            await server.storage.db
              .selectFrom(table)
              .select((eb) => eb.fn.countAll<number>().as("n"))
              .executeTakeFirstOrThrow()
          ).n,
        );

      it("never creates an account at a first sign-in for the dashboard, and says why", async () => {
        const users = await count("users");
        const identities = await count("external_identities");
        const agent = new UserAgent(server.url);
        const page = await signInPage(agent, toDashboard());
        assert.match(page.html, /Continue with Example IdP/, "the connection is offered to sign in");

        const refused = await throughProvider(agent, toDashboard({ connection_id: connectionId }));
        assert.equal(refused.status, 403);
        const html = await refused.text();
        assert.match(html, NO_SIGN_UPS);
        assert.match(html, /signing in to the dashboard creates none/);
        assert.equal(await count("users"), users, "no user stored");
        assert.equal(await count("external_identities"), identities, "no identity stored");
        assert.equal(await server.services.users.store.findByEmail("stranger@provider.test"), undefined);

        // The same person through an ordinary application gets an account just in time.
        const spaAgent = new UserAgent(server.url);
        const made = await throughProvider(spaAgent, toSpa({ connection_id: connectionId }));
        assert.equal(made.status, 303, await made.text());
        assert.equal(new URL(made.headers.get("location")!).origin, new URL(CALLBACK).origin);
        assert.equal(await count("users"), users + 1);
      });
    });
  });
}
