// Issue 22, the account page's access, on SQLite and PostgreSQL: a browser without a session is
// sent through the authorization endpoint (PKCE, state, prompt=login) and back; a session too old
// for changes signs in again before one is made; a form without its CSRF token changes nothing;
// the callback admits only the response to this browser's own request, once.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { accountClientId } from "../../src/account/account-app.js";
import { databaseKinds } from "../helpers/databases.js";
import { createUser } from "../helpers/fixtures.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";
import { hiddenFields, type MovableClock, movableClock, signInToAccount } from "./support.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`account page access (${kind})`, { skip }, () => {
    let server: TestServer;
    let clock: MovableClock;

    before(async () => {
      clock = movableClock();
      server = await startTestServer(kind, { clock });
    });
    after(async () => server?.close());

    it("sends a browser without a session to sign in through the authorization endpoint, and back", async () => {
      const user = await createUser(server, { givenName: "Grace", familyName: "Hopper" });
      const agent = new UserAgent(server.url);
      const start = await agent.redirectFrom("/account");
      assert.equal(start.pathname, "/oauth2/auth");
      const params = start.searchParams;
      assert.equal(params.get("client_id"), await accountClientId(server.services));
      assert.equal(params.get("redirect_uri"), `${server.url}/account/callback`);
      assert.equal(params.get("response_type"), "code");
      assert.equal(params.get("prompt"), null, "no session to re-prove");
      assert.equal(params.get("code_challenge_method"), "S256");
      assert.match(params.get("code_challenge") ?? "", /^[\w-]{43}$/);
      assert.match(params.get("state") ?? "", /^[\w-]{43}$/);

      const { page, asked } = await signInToAccount(server, agent, user, { start });
      assert.deepEqual(asked, []);
      assert.match(page, /<h1>Your account<\/h1>/);
      assert.match(page, new RegExp(`id="account-email">${user.email}<`));
      assert.match(page, /value="Grace"/);
      assert.doesNotMatch(page, /id="sign-in-again"/, "a fresh sign-in needs no other");
      // The account pages' application holds exactly its callback.
      const app = await server.services.applications.store.findById(await accountClientId(server.services));
      assert.equal(app?.type, "reg");
      assert.deepEqual(await server.services.applications.store.urls(app!.id, "callback"), [
        `${server.url}/account/callback`,
      ]);
    });

    it("takes a session too old for changes through a new sign-in before it changes anything", async () => {
      const user = await createUser(server, { givenName: "Before" });
      const agent = new UserAgent(server.url);
      await signInToAccount(server, agent, user);
      clock.advance(16 * 60);

      const stale = await agent.request("/account");
      const html = await stale.text();
      assert.equal(stale.status, 200, "viewing needs no recent sign-in");
      assert.match(html, /id="sign-in-again"/);
      const { csrf } = hiddenFields(html);
      const refused = await agent.postForm("/account/profile", { csrf: csrf!, given_name: "After" });
      assert.equal(refused.status, 303);
      const again = new URL(refused.headers.get("location")!, server.url);
      assert.equal(again.pathname, "/oauth2/auth");
      assert.equal(again.searchParams.get("prompt"), "login");
      assert.equal(again.searchParams.get("login_hint"), user.email);
      assert.equal((await server.services.users.store.findById(user.id))?.given_name, "Before");

      const { page } = await signInToAccount(server, agent, user, { start: again });
      assert.doesNotMatch(page, /id="sign-in-again"/);
      const saved = await agent.postForm("/account/profile", {
        csrf: hiddenFields(page).csrf!,
        given_name: "After",
        family_name: "",
      });
      assert.equal(saved.status, 303);
      assert.equal(saved.headers.get("location"), "/account?done=profile");
      const stored = await server.services.users.store.findById(user.id);
      assert.equal(stored?.given_name, "After");
      assert.equal(stored?.family_name, null);
      assert.match(await (await agent.request("/account?done=profile")).text(), /Your name is saved/);
    });

    it("refuses a form without its CSRF token, or with another one", async () => {
      const user = await createUser(server, { givenName: "Kept" });
      const agent = new UserAgent(server.url);
      await signInToAccount(server, agent, user);
      for (const csrf of [undefined, "x".repeat(43)]) {
        const fields: Record<string, string> = { given_name: "Forged" };
        if (csrf) fields.csrf = csrf;
        const reply = await agent.postForm("/account/profile", fields);
        assert.equal(reply.status, 403);
        assert.match(await reply.text(), /This form has expired/);
      }
      const signOut = await agent.postForm("/account/sessions/sign-out-everywhere", {});
      assert.equal(signOut.status, 403);
      assert.equal((await server.services.users.store.findById(user.id))?.given_name, "Kept");
      assert.equal((await agent.request("/account")).status, 200, "still signed in");
    });

    it("admits an authorization response only for this browser's own request, and only once", async () => {
      const user = await createUser(server);
      const agent = new UserAgent(server.url);
      const start = await agent.redirectFrom("/account");
      const signInPage = await agent.redirectFrom(start);
      const hidden = await agent.openForm(signInPage);
      const reply = await agent.postForm("/auth/sign-in", {
        ...hidden,
        email: user.email,
        password: user.password,
      });
      const callback = new URL(reply.headers.get("location")!, server.url);

      // Another browser bringing the response home has no pending sign-in.
      const thief = new UserAgent(server.url);
      const stolen = await thief.request(callback);
      assert.equal(stolen.status, 400);
      // A forged state in the right browser.
      const forged = new URL(callback);
      forged.searchParams.set("state", "x".repeat(43));
      assert.equal((await agent.request(forged)).status, 400);

      // The session alone does not open the page: the browser signs in to the account pages
      // through the authorization endpoint — silently here, the session being good — and the
      // response to that request is admitted, once.
      const again = await agent.redirectFrom("/account");
      assert.equal(again.pathname, "/oauth2/auth");
      const silent = await agent.redirectFrom(again);
      assert.equal(silent.href.split("?")[0], `${server.url}/account/callback`);
      const landed = await agent.redirectFrom(silent);
      assert.equal(landed.pathname, "/account");
      assert.equal((await agent.request("/account")).status, 200);
      assert.equal((await agent.request(silent)).status, 400, "a response is admitted once");
      assert.equal((await agent.request(callback)).status, 400, "an old response is not admitted");
    });

    it("sends a browser back to the sign-in when the error comes back instead of a code", async () => {
      const agent = new UserAgent(server.url);
      const start = await agent.redirectFrom("/account");
      const response = new URL("/account/callback", server.url);
      response.search = new URLSearchParams({
        error: "access_denied",
        error_description: "The user is not a member of the organization",
        state: start.searchParams.get("state")!,
        iss: server.url,
      }).toString();
      const reply = await agent.request(response);
      assert.equal(reply.status, 400);
      assert.match(await reply.text(), /not a member of the organization/);
      assert.equal((await agent.redirectFrom("/account")).pathname, "/oauth2/auth");
    });

    it("comes back to the account page that asked (/account/passkeys), and only to an account page", async () => {
      const user = await createUser(server);
      const agent = new UserAgent(server.url);
      /** Signs in from /account/sign-in?return=…; where the callback sends the browser. */
      const returnFrom = async (returnTo: string) => {
        const start = await agent.redirectFrom(`/account/sign-in?return=${encodeURIComponent(returnTo)}`);
        assert.equal(start.searchParams.get("prompt"), "login");
        const hidden = await agent.openForm(await agent.redirectFrom(start));
        const reply = await agent.postForm("/auth/sign-in", {
          ...hidden,
          email: user.email,
          password: user.password,
        });
        return (await agent.redirectFrom(new URL(reply.headers.get("location")!, server.url))).href;
      };
      assert.equal(await returnFrom("/account/passkeys"), `${server.url}/account/passkeys`);
      for (const elsewhere of [
        "https://evil.example/account",
        "//evil.example",
        "/admin/",
        "/account/../admin",
      ])
        assert.equal(await returnFrom(elsewhere), `${server.url}/account`, elsewhere);
    });

    it("explains, rather than redirects, when ISSUER_URL cannot carry the account pages' callback", async () => {
      const plain = await startTestServer(kind, { env: { ISSUER_URL: "http://latchkey.example" } });
      try {
        const reply = await fetch(new URL("/account", plain.url), { redirect: "manual" });
        assert.equal(reply.status, 503);
        assert.match(await reply.text(), /needs ISSUER_URL on https/);
        assert.equal(
          await plain.services.applications.store.findById(await accountClientId(plain.services)),
          undefined,
        );
      } finally {
        await plain.close();
      }
    });
  });
}
