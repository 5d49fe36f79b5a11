// Sessions made by signing in through a connection (issue 17, security review), on SQLite and
// PostgreSQL, against a certified OpenID provider (oidc-provider) started by the test:
// - such a session signs in silently only to applications the connection is enabled for: another
//   application gets the sign-in page (login_required with prompt=none), and none once the identity
//   is unlinked; a password session is not limited;
// - an administrator never signs in through a provider, even one linked before the promotion, and
//   a session made that way stops signing in silently;
// - the sign-in is in the authentication log (method `ext`) and user.authenticated keeps Kinde's
//   shape ({user: {id}});
// - a refreshed ID token still carries ext_provider;
// - expired upstream states are purged.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { decodeJwt } from "jose";
import { UpstreamStates } from "../../src/sign-in/upstream-state.js";
import { purgeExpired } from "../../src/storage/purge.js";
import { ExternalIdentitiesStore } from "../../src/users/external-identities.store.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { type OidcProviderHandle, startOidcProvider } from "../helpers/oauth-provider.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";

type Json = Record<string, unknown>;

/** An authorization request for `clientId` whose PKCE verifier the test keeps (for the token call). */
function authRequest(server: TestServer, clientId: string, extra: Record<string, string> = {}) {
  const verifier = randomBytes(32).toString("base64url");
  const url = new URL("/oauth2/auth", server.url);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: CALLBACK,
    scope: "openid profile email offline",
    state: randomBytes(8).toString("hex"),
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
    ...extra,
  }).toString();
  return { url, verifier };
}

async function connect(server: TestServer, provider: OidcProviderHandle, clientIds: string[]) {
  const connection = await server.services.connections.create({
    name: `idp-${randomBytes(4).toString("hex")}`,
    displayName: "Example IdP",
    strategy: "oidc:custom",
    options: {
      client_id: provider.clientId,
      client_secret: provider.clientSecret,
      issuer: provider.issuer,
      is_trusted: true,
    },
    enabledApplications: clientIds,
  });
  return connection.id;
}

/** Signs in through the connection for `clientId`; the response of Latchkey's callback. */
async function throughConnection(
  server: TestServer,
  agent: UserAgent,
  provider: OidcProviderHandle,
  clientId: string,
  connectionId: string,
) {
  const request = authRequest(server, clientId, { connection_id: connectionId });
  let next: URL = request.url;
  for (let hop = 0; hop < 3 && next.origin === server.url; hop++) next = await agent.redirectFrom(next);
  assert.equal(next.origin, provider.issuer, "sent to the provider");
  const back = await provider.authorize(next);
  return { response: await agent.request(back), verifier: request.verifier };
}

/** The authorization code in a redirect to the application, or undefined. */
function codeIn(response: Response): string | undefined {
  const location = response.headers.get("location");
  if (!location?.startsWith(CALLBACK)) return undefined;
  return new URL(location).searchParams.get("code") ?? undefined;
}

async function token(server: TestServer, fields: Record<string, string>): Promise<Json> {
  const response = await fetch(`${server.url}/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields),
  });
  const body = (await response.json()) as Json;
  assert.equal(response.status, 200, JSON.stringify(body));
  return body;
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`sessions signed in through a connection (${kind})`, { skip }, () => {
    let server: TestServer;
    let appA: { clientId: string };
    let appB: { clientId: string };
    let op: OidcProviderHandle;
    let connectionId: string;

    before(async () => {
      server = await startTestServer(kind, { env: { CONNECTED_APPS_ALLOW_PRIVATE_NETWORKS: "true" } });
      appA = await createApplication(server, "spa");
      appB = await createApplication(server, "spa");
      op = await startOidcProvider({
        redirectUri: `${server.url}/auth/connections/callback`,
        accountId: "session-person",
        scopes: ["profile", "email"],
      });
      // Enabled for application A only.
      connectionId = await connect(server, op, [appA.clientId]);
    });
    after(async () => {
      await op?.close();
      await server?.close();
    });

    it("signs in silently only to applications the connection is enabled for", async () => {
      const agent = new UserAgent(server.url);
      const { response } = await throughConnection(server, agent, op, appA.clientId, connectionId);
      assert.equal(response.status, 303, await response.clone().text());
      assert.ok(codeIn(response), "signed in to A through the connection");

      // Application B does not offer the connection: the shared session does not sign in there.
      const atB = await agent.request(authRequest(server, appB.clientId).url);
      assert.equal(atB.status, 302);
      const page = new URL(atB.headers.get("location")!, server.url);
      assert.equal(page.pathname, "/auth/sign-in", "B asks the person to sign in");
      const silentB = await agent.request(authRequest(server, appB.clientId, { prompt: "none" }).url);
      const refused = new URL(silentB.headers.get("location")!);
      assert.equal(refused.origin + refused.pathname, CALLBACK);
      assert.equal(refused.searchParams.get("error"), "login_required");
      assert.equal(refused.searchParams.get("code"), null);

      // Application A again: the session still signs in silently there.
      const atA = await agent.request(authRequest(server, appA.clientId).url);
      assert.equal(atA.status, 302);
      assert.ok(codeIn(atA), "A again: a code without a page");
      const silentA = await agent.request(authRequest(server, appA.clientId, { prompt: "none" }).url);
      assert.ok(codeIn(silentA));

      // Enabled for B later: the same session now counts there too (the rule is the enablement).
      await server.services.connections.update(connectionId, {
        enabledApplications: [appA.clientId, appB.clientId],
      });
      assert.ok(codeIn(await agent.request(authRequest(server, appB.clientId).url)));
      await server.services.connections.update(connectionId, { enabledApplications: [appA.clientId] });
      assert.equal(codeIn(await agent.request(authRequest(server, appB.clientId).url)), undefined);

      // The identity unlinked (DELETE /api/v1/identities/{id}): the session no longer signs in.
      const user = (await server.services.users.store.findByEmail("session-person@provider.test"))!;
      const [identity] = await new ExternalIdentitiesStore(server.storage.db).ofUser(user.id);
      assert.ok(await new ExternalIdentitiesStore(server.storage.db).delete(identity!.id));
      const afterUnlink = await agent.request(authRequest(server, appA.clientId).url);
      assert.equal(new URL(afterUnlink.headers.get("location")!, server.url).pathname, "/auth/sign-in");
    });

    it("does not limit a session made with a password", async () => {
      const person = await createUser(server);
      const agent = new UserAgent(server.url);
      const signedIn = await agent.authorize(authRequest(server, appA.clientId).url, person);
      assert.ok(signedIn.searchParams.get("code"));
      assert.ok(codeIn(await agent.request(authRequest(server, appB.clientId).url)), "B silently");
    });

    it("records the sign-in (method ext) and user.authenticated in Kinde's shape; a refreshed ID token keeps ext_provider", async () => {
      const provider = await startOidcProvider({
        redirectUri: `${server.url}/auth/connections/callback`,
        accountId: "refresher",
        scopes: ["profile", "email"],
      });
      try {
        const id = await connect(server, provider, [appA.clientId]);
        const agent = new UserAgent(server.url);
        const { response, verifier } = await throughConnection(server, agent, provider, appA.clientId, id);
        const code = codeIn(response);
        assert.ok(code, await response.clone().text());
        const user = (await server.services.users.store.findByEmail("refresher@provider.test"))!;

        await server.services.authenticationLog.flush();
        const entries = await server.storage.db
          .selectFrom("authentication_log")
          .selectAll()
          .where("user_id", "=", user.id)
          .where("type", "=", "sign_in")
          .execute();
        assert.equal(entries.length, 1);
        assert.equal(entries[0]!.method, "ext");
        assert.equal(entries[0]!.client_id, appA.clientId);

        const events = await server.storage.db
          .selectFrom("events")
          .selectAll()
          .where("type", "=", "user.authenticated")
          .where("user_id", "=", user.id)
          .execute();
        assert.equal(events.length, 1);
        assert.deepEqual(
          JSON.parse(events[0]!.data),
          { user: { id: user.id } },
          "Kinde's event carries the id alone",
        );

        const issued = await token(server, {
          grant_type: "authorization_code",
          client_id: appA.clientId,
          code,
          code_verifier: verifier,
          redirect_uri: CALLBACK,
        });
        const first = decodeJwt(issued.id_token as string);
        assert.equal((first.ext_provider as Json).connection_id, id);
        assert.ok(issued.refresh_token, "offline asked for a refresh token");
        const refreshed = await token(server, {
          grant_type: "refresh_token",
          client_id: appA.clientId,
          refresh_token: issued.refresh_token as string,
        });
        const again = decodeJwt(refreshed.id_token as string);
        assert.equal(again.sub, user.id);
        const ext = again.ext_provider as { connection_id: string; name: string; claims: Json };
        assert.equal(ext.connection_id, id, "the refreshed ID token still names the connection");
        assert.equal(ext.claims.email, "refresher@provider.test");
      } finally {
        await provider.close();
      }
    });

    it("never signs an administrator in through a provider, even one linked before the promotion", async () => {
      const provider = await startOidcProvider({
        redirectUri: `${server.url}/auth/connections/callback`,
        accountId: "promoted",
        scopes: ["profile", "email"],
      });
      try {
        const id = await connect(server, provider, [appA.clientId]);
        const agent = new UserAgent(server.url);
        const first = await throughConnection(server, agent, provider, appA.clientId, id);
        assert.ok(codeIn(first.response), "linked and signed in while not an administrator");
        const user = (await server.services.users.store.findByEmail("promoted@provider.test"))!;
        await server.storage.db.updateTable("users").set({ is_admin: 1 }).where("id", "=", user.id).execute();

        // The session made through the provider no longer signs in silently…
        const silent = await agent.request(authRequest(server, appA.clientId, { prompt: "none" }).url);
        assert.equal(new URL(silent.headers.get("location")!).searchParams.get("error"), "login_required");
        // …and signing in through it again is refused with a page saying to use the password.
        const fresh = new UserAgent(server.url);
        const { response } = await throughConnection(server, fresh, provider, appA.clientId, id);
        assert.equal(response.status, 403);
        assert.match(await response.text(), /administrator account[\s\S]*sign in with your password/i);
        assert.equal(fresh.cookie("latchkey_session"), undefined, "no session cookie");
        const sessions = await server.storage.db
          .selectFrom("browser_sessions")
          .select("id")
          .where("user_id", "=", user.id)
          .execute();
        assert.equal(sessions.length, 1, "no new session was made");
      } finally {
        await provider.close();
      }
    });

    it("purges expired upstream states and keeps live ones", async () => {
      const now = server.services.clock.now();
      const states = (at: number) =>
        new UpstreamStates(server.storage.db, server.secretBox, { now: () => at });
      const state = {
        requestId: "r",
        connectionId,
        issuer: op.issuer,
        nonce: "n",
        codeVerifier: "v".repeat(43),
        browser: "b",
      };
      await states(now - 3_600).create(state);
      const live = await states(now).create(state);
      const count = async () =>
        Number(
          (
            await server.storage.db
              .selectFrom("upstream_sign_in_states")
              .select((eb) => eb.fn.countAll<number>().as("n"))
              .executeTakeFirstOrThrow()
          ).n,
        );
      const before = await count();
      await purgeExpired(server.storage.db, now);
      assert.equal(await count(), before - 1, "the expired state is gone");
      assert.ok(await states(now).isLive(live), "the live one stays");
    });
  });
}
