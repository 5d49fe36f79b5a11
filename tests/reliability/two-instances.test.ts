// Two instances on one database (security.md §3.1): every single-use value has exactly one winner
// whichever instances the racing requests reach, a browser session and the sign-in throttle are
// shared, and a signing key rotated on one instance is verified and published by the other.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { decodeProtectedHeader } from "jose";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";
import { form, type Reply, send } from "./support.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`two instances on one database (${kind})`, { skip }, () => {
    let a: TestServer;
    let b: TestServer;
    let app: { clientId: string; clientSecret?: string };
    before(async () => {
      // One deployment: shared database, issuer and master key; B caches keys for a second.
      const masterKey = randomBytes(32).toString("base64");
      a = await startTestServer(kind, { env: { LATCHKEY_MASTER_KEY: masterKey }, keyCacheSeconds: 30 });
      b = await startTestServer(kind, {
        database: a.database,
        env: { ISSUER_URL: a.url, LATCHKEY_MASTER_KEY: masterKey },
        keyCacheSeconds: 1,
      });
      app = await createApplication(a, "reg");
    });
    after(async () => {
      await b?.close();
      await a?.close();
    });

    const authorizeUrl = (server: TestServer) => {
      const url = new URL("/oauth2/auth", server.url);
      url.search = new URLSearchParams({
        response_type: "code",
        client_id: app.clientId,
        redirect_uri: CALLBACK,
        scope: "openid offline",
        state: randomBytes(8).toString("hex"),
      }).toString();
      return url;
    };
    const token = (server: TestServer, fields: Record<string, string>): Promise<Reply> =>
      send(
        `${server.url}/oauth2/token`,
        form({ client_id: app.clientId, client_secret: app.clientSecret!, ...fields }),
      );
    /** Signs in on A and returns the authorization code. */
    async function code(user: { email: string; password: string }): Promise<string> {
      const callback = await new UserAgent(a.url).authorize(authorizeUrl(a), user);
      return callback.searchParams.get("code")!;
    }
    /** Sends the same request to A and B alternately, all at once; returns the statuses. */
    async function race(request: (server: TestServer) => Promise<Reply>, count = 6): Promise<Reply[]> {
      return Promise.all(Array.from({ length: count }, (_, i) => request(i % 2 === 0 ? a : b)));
    }
    const winners = (replies: Reply[]) => replies.filter((r) => r.status === 200);

    it("an authorization code redeemed on both at once yields exactly one grant", async () => {
      const user = await createUser(a);
      const redeemed = await code(user);
      const replies = await race((server) =>
        token(server, { grant_type: "authorization_code", code: redeemed, redirect_uri: CALLBACK }),
      );
      assert.equal(winners(replies).length, 1, replies.map((r) => `${r.status} ${r.text}`).join("\n"));
      for (const reply of replies.filter((r) => r.status !== 200)) {
        assert.equal(reply.status, 400, reply.text);
        assert.equal((reply.json as { error: string }).error, "invalid_grant");
      }
    });

    it("a refresh token used on both at once is rotated exactly once", async () => {
      const user = await createUser(a);
      const first = await token(a, {
        grant_type: "authorization_code",
        code: await code(user),
        redirect_uri: CALLBACK,
      });
      assert.equal(first.status, 200, first.text);
      const refreshToken = (first.json as { refresh_token: string }).refresh_token;
      const replies = await race((server) =>
        token(server, { grant_type: "refresh_token", refresh_token: refreshToken }),
      );
      assert.equal(winners(replies).length, 1, replies.map((r) => `${r.status} ${r.text}`).join("\n"));
      for (const reply of replies.filter((r) => r.status !== 200)) {
        assert.equal((reply.json as { error: string }).error, "invalid_grant", reply.text);
      }
    });

    it("a browser signed in on one instance is signed in on the other", async () => {
      const user = await createUser(a);
      const onA = new UserAgent(a.url);
      await onA.authorize(authorizeUrl(a), user);
      const session = onA.cookie("latchkey_session");
      assert.ok(session, "A set a session cookie");
      // The same browser reaching B (behind one load balancer the origin would be the same).
      const response = await fetch(authorizeUrl(b), {
        redirect: "manual",
        headers: { cookie: `latchkey_session=${session}` },
      });
      assert.equal(response.status, 302);
      const location = new URL(response.headers.get("location")!, b.url);
      assert.equal(`${location.origin}${location.pathname}`, CALLBACK, "no sign-in page on B");
      const exchanged = await token(b, {
        grant_type: "authorization_code",
        code: location.searchParams.get("code")!,
        redirect_uri: CALLBACK,
      });
      assert.equal(exchanged.status, 200, exchanged.text);
    });

    it("failed sign-ins are counted across both instances", async () => {
      const user = await createUser(a);
      /** One wrong-password attempt through `server`'s sign-in page; returns the status. */
      async function wrongPassword(server: TestServer): Promise<number> {
        const agent = new UserAgent(server.url);
        const next = await agent.redirectFrom(authorizeUrl(server));
        const hidden = await agent.openForm(new URL(`/auth/sign-in${next.search}`, server.url));
        const response = await agent.request("/auth/sign-in", {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ ...hidden, email: user.email, password: "not-the-password" }),
        });
        await response.text();
        return response.status;
      }
      const statuses: number[] = [];
      // Ten wrong guesses per account and address in 15 minutes (src/sign-in/browser-sign-in.ts).
      for (let i = 0; i < 10; i += 1) statuses.push(await wrongPassword(i % 2 === 0 ? a : b));
      assert.deepEqual(statuses, Array(10).fill(401));
      assert.equal(await wrongPassword(a), 429, "A counts B's attempts");
      assert.equal(await wrongPassword(b), 429, "B counts A's attempts");
    });

    it("a key rotated on one instance signs tokens the other verifies and publishes", async () => {
      const jwksKids = async (server: TestServer) => {
        const response = await fetch(`${server.url}/.well-known/jwks`);
        return ((await response.json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
      };
      const before = await jwksKids(b); // B has the key list cached now
      const rotated = await callApi<{ signing_key: { kid: string } }>(
        a,
        "POST",
        "/api/v1/signing_keys/rotate?activate_in_seconds=0",
      );
      assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
      const kid = rotated.body.signing_key.kid;
      assert.ok(!before.includes(kid));
      // A signs with the new key at once; B has never seen it and must look it up, not refuse.
      const fresh = await managementToken(a);
      assert.equal(decodeProtectedHeader(fresh).kid, kid);
      assert.equal((await callApi(b, "GET", "/api/v1/business", { token: fresh })).status, 200);
      // B's published JWKS follows within its key cache lifetime (1 s here).
      const deadline = Date.now() + 5_000;
      while (!(await jwksKids(b)).includes(kid) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.ok((await jwksKids(b)).includes(kid), "B publishes the rotated key");
      // Tokens B signs (B's issuer is A's URL, so is the Management API audience) verify on A.
      const fromB = await send(
        `${b.url}/oauth2/token`,
        form({
          grant_type: "client_credentials",
          client_id: b.management.clientId,
          client_secret: b.management.clientSecret,
          audience: `${a.url}/api`,
        }),
      );
      assert.equal(fromB.status, 200, fromB.text);
      const tokenFromB = (fromB.json as { access_token: string }).access_token;
      assert.equal((await callApi(a, "GET", "/api/v1/business", { token: tokenFromB })).status, 200);
    });
  });
}
