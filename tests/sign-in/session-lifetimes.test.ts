// Session lifetimes made real (issue 19): an application's authenticated_session_lifetime and an
// organization's override bound how old a browser session may be to sign in silently (the
// strictest wins: src/sign-in/session-lifetime.ts), and an organization's non_persistent SSO
// session policy makes the session cookie a browser-session cookie. Through the real
// authorization endpoint and sign-in form, with the server's clock moved forward, on both databases.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, beforeEach, describe, it } from "node:test";
import type { Clock } from "../../src/clock.js";
import { issueAuthorizationCode, STALE_SESSION } from "../../src/oauth/authorize.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";

/** A user agent that keeps every Set-Cookie line it was sent, to judge cookie attributes. */
class RecordingAgent extends UserAgent {
  readonly setCookies: string[] = [];
  override async request(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const response = await super.request(url, init);
    this.setCookies.push(...response.headers.getSetCookie());
    return response;
  }
  /** The attributes of the last session cookie set (lower-cased), or undefined. */
  sessionCookie(): string[] | undefined {
    const line = this.setCookies.filter((l) => l.startsWith("latchkey_session=")).at(-1);
    return line?.split(";").map((part) => part.trim().toLowerCase());
  }
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`Session lifetimes at sign-in (${kind})`, { skip }, () => {
    let server: TestServer;
    // Frozen within a test (moved only by `offset`): a slow sign-in must not cross a boundary.
    let base = Math.floor(Date.now() / 1000);
    let offset = 0;
    const clock: Clock = { now: () => base + offset };
    before(async () => {
      server = await startTestServer(kind, { clock });
    });
    after(async () => server?.close());
    beforeEach(() => {
      base = Math.floor(Date.now() / 1000);
      offset = 0;
    });

    const api = (method: string, path: string, body?: unknown) =>
      callApi(server, method, path, body === undefined ? {} : { body });

    async function app(lifetime?: number): Promise<string> {
      const { clientId } = await createApplication(server, "reg");
      if (lifetime !== undefined) {
        const set = await api("PATCH", `/api/v1/applications/${clientId}/tokens`, {
          authenticated_session_lifetime: lifetime,
        });
        assert.equal(set.status, 200, JSON.stringify(set.body));
      }
      return clientId;
    }

    async function organization(members: string[], sessions?: Record<string, unknown>): Promise<string> {
      const created = await api("POST", "/api/v1/organization", {
        name: `Org ${randomBytes(3).toString("hex")}`,
      });
      const code = (created.body as { organization: { code: string } }).organization.code;
      const added = await api("POST", `/api/v1/organizations/${code}/users`, {
        users: members.map((id) => ({ id })),
      });
      assert.equal(added.status, 200, JSON.stringify(added.body));
      if (sessions) await setSessions(code, sessions);
      return code;
    }

    async function setSessions(code: string, body: Record<string, unknown>) {
      const set = await api("PATCH", `/api/v1/organizations/${code}/sessions`, body);
      assert.equal(set.status, 200, JSON.stringify(set.body));
    }

    async function signIn(
      agent: UserAgent,
      clientId: string,
      user: { email: string; password: string },
      extra: Record<string, string> = {},
    ) {
      const back = await agent.authorize(authorizationUrl(server, clientId, CALLBACK, extra), user);
      assert.ok(back.searchParams.get("code"), `no code: ${back.href}`);
    }

    /** prompt=none: "code" when the session signs in silently, else the error (OIDC Core §3.1.2.6). */
    async function silently(agent: UserAgent, clientId: string, extra: Record<string, string> = {}) {
      const back = await agent.redirectFrom(
        authorizationUrl(server, clientId, CALLBACK, { prompt: "none", ...extra }),
      );
      return back.searchParams.get("code") ? "code" : back.searchParams.get("error");
    }

    it("an application's lifetime bounds silent sign-in to it, not to other applications", async () => {
      const [bounded, unbounded] = [await app(3600), await app()];
      const user = await createUser(server);
      const agent = new UserAgent(server.url);
      await signIn(agent, bounded, user);
      assert.equal(await silently(agent, bounded), "code");
      offset = 3600;
      assert.equal(await silently(agent, bounded), "code");
      offset = 3601;
      assert.equal(await silently(agent, bounded), "login_required");
      // The session itself lives on (the environment's 14 days) for an application without a bound.
      assert.equal(await silently(agent, unbounded), "code");
      // Without prompt=none the person is sent to sign in, and a new sign-in is young again.
      const page = await agent.redirectFrom(authorizationUrl(server, bounded, CALLBACK));
      assert.equal(page.pathname, "/auth/sign-in");
      await signIn(agent, bounded, user);
      assert.equal(await silently(agent, bounded), "code");
      // Cleared (null), the application follows the environment again.
      offset = 3601 + 7200;
      assert.equal(await silently(agent, bounded), "login_required");
      await api("PATCH", `/api/v1/applications/${bounded}/tokens`, { authenticated_session_lifetime: null });
      assert.equal(await silently(agent, bounded), "code");
    });

    it("an organization's lifetime applies to sign-ins into it; the strictest of it and the application's wins", async () => {
      const user = await createUser(server);
      const [hourApp, freeApp] = [await app(3600), await app()];
      const org = await organization([user.id], {
        is_use_org_authenticated_session_lifetime: true,
        authenticated_session_lifetime: 1800,
      });
      const agent = new UserAgent(server.url);
      await signIn(agent, hourApp, user, { org_code: org });
      offset = 1801;
      // The organization's 1800 s is stricter than the application's 3600 s…
      assert.equal(await silently(agent, hourApp, { org_code: org }), "login_required");
      assert.equal(await silently(agent, freeApp, { org_code: org }), "login_required");
      // …and for sign-ins without org_code that enter it (the last one signed into; review M3).
      assert.equal(await silently(agent, hourApp), "login_required");
      // Override off: the organization bounds nothing (its value is kept).
      await setSessions(org, { is_use_org_authenticated_session_lifetime: false });
      assert.equal(await silently(agent, hourApp, { org_code: org }), "code");
      // A looser organization does not lengthen the application's bound.
      await setSessions(org, {
        is_use_org_authenticated_session_lifetime: true,
        authenticated_session_lifetime: 7200,
      });
      offset = 3601;
      assert.equal(await silently(agent, hourApp, { org_code: org }), "login_required");
      assert.equal(await silently(agent, freeApp, { org_code: org }), "code");
      offset = 7201;
      assert.equal(await silently(agent, freeApp, { org_code: org }), "login_required");
      assert.equal(await silently(agent, freeApp), "login_required");
    });

    it("without org_code, the lifetime of the organization that will be entered applies (review M3)", async () => {
      const user = await createUser(server);
      const client = await app();
      const org = await organization([user.id], {
        is_use_org_authenticated_session_lifetime: true,
        authenticated_session_lifetime: 1800,
      });
      const agent = new UserAgent(server.url);
      // Signing into the organization makes it the one entered next time without org_code.
      await signIn(agent, client, user, { org_code: org });
      offset = 1801;
      assert.equal(await silently(agent, client), "login_required");
      offset = 1700;
      assert.equal(await silently(agent, client), "code");
    });

    it("a code is refused at issue when the session is too old for the organization actually entered (review M3)", async () => {
      const user = await createUser(server);
      const client = await app();
      const org = await organization([user.id], {
        is_use_org_authenticated_session_lifetime: true,
        authenticated_session_lifetime: 1800,
      });
      // Signing into it once makes it the one entered without org_code.
      await signIn(new UserAgent(server.url), client, user, { org_code: org });
      const { session } = await server.services.sessions.create(user.id, { amr: ["pwd"] });
      const issue = (prompt: string[]) =>
        issueAuthorizationCode(
          server.services.oauth,
          { clientId: client, redirectUri: CALLBACK, scope: "openid", audience: [], prompt, state: "s" },
          { id: user.id, sessionId: session.id, authTime: session.authTime },
        );
      // Whatever the authorization endpoint predicted, issue judges the organization entered.
      offset = 1801;
      assert.equal(await issue(["none"]), STALE_SESSION);
      assert.equal(await issue([]), STALE_SESSION);
      offset = 1700;
      const fresh = await issue([]);
      assert.equal(typeof fresh, "string");
      assert.ok(new URL(fresh as string).searchParams.get("code"), String(fresh));
    });

    it("an organization's non_persistent policy makes the session cookie end with the browser", async () => {
      const user = await createUser(server);
      const client = await app();
      const transient = await organization([user.id], {
        is_use_org_sso_session_policy: true,
        sso_session_persistence_mode: "non_persistent",
      });
      const persistent = await organization([user.id], {
        is_use_org_sso_session_policy: true,
        sso_session_persistence_mode: "persistent",
      });
      const dormant = await organization([user.id], { sso_session_persistence_mode: "non_persistent" });
      const signInTo = async (org?: string, who = user) => {
        const agent = new RecordingAgent(server.url);
        await signIn(agent, client, who, org ? { org_code: org } : {});
        const attributes = agent.sessionCookie();
        assert.ok(attributes, "no session cookie was set");
        return attributes;
      };
      const lasting = (attributes: string[]) =>
        attributes.some((a) => a.startsWith("max-age=") || a.startsWith("expires="));

      // Without org_code, into the organization last signed into (review M3): the same cookie.
      const member = await createUser(server);
      const own = await organization([member.id], {
        is_use_org_sso_session_policy: true,
        sso_session_persistence_mode: "non_persistent",
      });
      await signIn(new UserAgent(server.url), client, member, { org_code: own });
      const agent = new RecordingAgent(server.url);
      await signIn(agent, client, member);
      const entered = agent.sessionCookie();
      assert.ok(entered, "no session cookie was set");
      assert.equal(lasting(entered), false, `${own}: ${entered.join("; ")}`);

      const browserSession = await signInTo(transient);
      assert.equal(lasting(browserSession), false, browserSession.join("; "));
      assert.ok(browserSession.includes("httponly"));
      for (const org of [persistent, dormant]) {
        const attributes = await signInTo(org);
        assert.ok(attributes.includes("max-age=1209600"), `${org}: ${attributes.join("; ")}`);
      }
      // Without org_code, someone whose organizations have no policy (`user` would enter the one
      // last signed into, which ties within a second).
      const plain = await signInTo(undefined, await createUser(server));
      assert.ok(plain.includes("max-age=1209600"), plain.join("; "));
    });
  });
}
