// "Test connection" over HTTP (issue 17), on SQLite and PostgreSQL: POST
// /api/v1/connections/{id}/test hands an administrator a single-use link; the browser that opens it
// goes to the provider and comes back through the normal callback, every check of a sign-in made,
// to a page showing the claims (escaped) — and nothing else happens: no user, identity, session,
// event or leftover state. Machines are refused; a ticket works once and never as a state; another
// browser cannot finish the test; a provider answer failing a check shows why, and nothing more.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { dashboardToken } from "../helpers/dashboard.js";
import { databaseKinds } from "../helpers/databases.js";
import { callApi, narrowMachineToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";
import { type ClaimsProvider, startClaimsProvider } from "./claims-provider.js";

const ADMIN = { email: "root@tests.example", password: "a root password nobody guesses" };

type TestAnswer = { code: string; authorization_url: string; expires_in: number };

/** Rows that a sign-in would leave behind, counted per table. */
async function footprint(server: TestServer) {
  const db = server.storage.db;
  const count = async (table: "users" | "external_identities" | "browser_sessions" | "events") =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as("n"))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return {
    users: await count("users"),
    identities: await count("external_identities"),
    sessions: await count("browser_sessions"),
    events: await count("events"),
  };
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`testing a connection (${kind})`, { skip }, () => {
    let server: TestServer;
    let provider: ClaimsProvider;
    let adminToken: string;
    let connectionId: string;

    const issue = async (id = connectionId, token = adminToken) =>
      callApi<TestAnswer>(server, "POST", `/api/v1/connections/${id}/test`, { token });

    before(async () => {
      server = await startTestServer(kind, {
        env: {
          CONNECTED_APPS_ALLOW_PRIVATE_NETWORKS: "true",
          BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
          BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
        },
      });
      provider = await startClaimsProvider({
        sub: "tester-1",
        email: "tester@acme.test",
        email_verified: true,
        given_name: "<script>alert('given')</script>",
        groups: ["staff", "ops"],
      });
      // Enabled for no application: a test needs none.
      connectionId = (
        await server.services.connections.create({
          name: "acme-sso",
          displayName: "Acme SSO",
          strategy: "oidc:custom",
          options: {
            client_id: provider.clientId,
            client_secret: provider.clientSecret,
            issuer: provider.issuer,
            is_trusted: true,
          },
        })
      ).id;
      adminToken = (await dashboardToken(server, ADMIN, "openid update:connections")).access_token;
    });
    after(async () => {
      await provider?.close();
      await server?.close();
    });

    it("signs in once at the provider and shows the validated claims, escaped, with nothing stored", async () => {
      const before = await footprint(server);
      const issued = await issue();
      assert.equal(issued.status, 200);
      assert.equal(issued.body.expires_in, 600);
      const link = new URL(issued.body.authorization_url);
      assert.equal(`${link.origin}${link.pathname}`, `${server.url}/auth/connections/test`);

      const agent = new UserAgent(server.url);
      const toProvider = await agent.redirectFrom(link);
      assert.equal(toProvider.origin, provider.issuer);
      assert.equal(toProvider.searchParams.get("code_challenge_method"), "S256");
      assert.ok(toProvider.searchParams.get("nonce"));
      const back = await provider.authorize(toProvider);
      assert.equal(`${back.origin}${back.pathname}`, `${server.url}/auth/connections/callback`);
      const response = await agent.request(back);
      const page = await response.text();
      assert.equal(response.status, 200, page.slice(0, 300));
      assert.match(page, /<h1>Acme SSO works<\/h1>/);
      assert.match(page, /tester-1/);
      assert.match(page, /tester@acme\.test/);
      assert.match(page, /links at once to an existing account/);
      assert.match(page, /\[&quot;staff&quot;,&quot;ops&quot;\]|\["staff","ops"\]/);
      assert.doesNotMatch(page, /<script>alert/, "the provider's text is escaped");
      assert.match(page, /&lt;script&gt;alert/);
      assert.match(page, /nothing was linked, no account was created or changed, and nobody was signed in/);
      assert.equal(agent.cookie("latchkey_session"), undefined);
      assert.deepEqual(await footprint(server), before, "no user, identity, session or event");
      const states = await server.storage.db.selectFrom("upstream_sign_in_states").selectAll().execute();
      assert.deepEqual(states, [], "the ticket and the state are both used up");
      // The answer again is refused: the state worked once.
      assert.equal((await agent.request(back)).status, 400);
    });

    it("refuses machines, unknown connections and strategies that cannot sign in", async () => {
      const { token: machine } = await narrowMachineToken(server, ["update:connections"]);
      const refused = await callApi<{ errors: { code: string }[] }>(
        server,
        "POST",
        `/api/v1/connections/${connectionId}/test`,
        { token: machine },
      );
      assert.equal(refused.status, 403);
      assert.equal(refused.body.errors[0]!.code, "FORBIDDEN");
      const unknown = await issue(`conn_${"0".repeat(32)}`);
      assert.equal(unknown.status, 404);
      const stripe = await server.services.connections.create({
        name: "stripe",
        displayName: "Stripe",
        strategy: "oauth2:stripe",
        options: { client_id: "ca_x" },
      });
      const unsupported = await callApi<{ errors: { code: string }[] }>(
        server,
        "POST",
        `/api/v1/connections/${stripe.id}/test`,
        { token: adminToken },
      );
      assert.equal(unsupported.status, 400);
      assert.equal(unsupported.body.errors[0]!.code, "STRATEGY_NOT_SUPPORTED");
      // Without update:connections, not even an administrator.
      const reader = (await dashboardToken(server, ADMIN, "openid read:connections")).access_token;
      assert.equal((await issue(connectionId, reader)).status, 403);
    });

    it("a ticket works once and is never a state; another browser cannot finish the test", async () => {
      const link = new URL((await issue()).body.authorization_url);
      const ticket = link.searchParams.get("ticket")!;
      const callbackWithTicket = await new UserAgent(server.url).request(
        `/auth/connections/callback?state=${ticket}&code=x`,
      );
      assert.equal(callbackWithTicket.status, 400, "a ticket at the callback is no state");
      const agent = new UserAgent(server.url);
      const toProvider = await agent.redirectFrom(link);
      const reused = await new UserAgent(server.url).request(link);
      assert.equal(reused.status, 400);
      assert.match(await reused.text(), /expired or was already used/);

      const back = await provider.authorize(toProvider);
      const before = await footprint(server);
      const elsewhere = await new UserAgent(server.url).request(back);
      assert.equal(elsewhere.status, 403);
      const page = await elsewhere.text();
      assert.doesNotMatch(page, /tester@acme\.test/);
      assert.deepEqual(await footprint(server), before);
    });

    it("shows why an answer failing a check is refused, and stores nothing", async () => {
      const agent = new UserAgent(server.url);
      const toProvider = await agent.redirectFrom(new URL((await issue()).body.authorization_url));
      const back = await provider.authorize(toProvider);
      // An answer naming another issuer (RFC 9207): a mix-up.
      back.searchParams.set("iss", "https://attacker.example");
      const before = await footprint(server);
      const response = await agent.request(back);
      const page = await response.text();
      assert.ok(response.status >= 400, `${response.status}`);
      assert.match(page, /Testing Acme SSO failed/);
      assert.doesNotMatch(page, /tester@acme\.test/);
      assert.deepEqual(await footprint(server), before);
    });
  });
}
