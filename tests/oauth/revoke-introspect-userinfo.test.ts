// Negative tests for revocation (RFC 7009), introspection (RFC 7662) and the UserInfo endpoint
// (OIDC Core §5.3 with RFC 6750 bearer rules and RFC 9700 §4.3.2: no tokens in query strings).
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { Clock } from "../../src/clock.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApi, createApplication, createUser } from "../helpers/fixtures.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";

type Json = Record<string, unknown>;
interface Client {
  clientId: string;
  clientSecret?: string;
}
interface Reply {
  status: number;
  headers: Headers;
  json: Json;
  text: string;
}

const API = "https://api.example.com";

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`;
}

async function toReply(response: Response): Promise<Reply> {
  const text = await response.text();
  let json: Json = {};
  try {
    json = JSON.parse(text) as Json;
  } catch {
    // empty or not JSON: assertions show the text
  }
  return { status: response.status, headers: response.headers, json, text };
}

function expectError(reply: Reply, status: number, error: string, what = ""): void {
  assert.equal(reply.status, status, `${what}: ${reply.text.slice(0, 300)}`);
  assert.equal(reply.json.error, error, `${what}: ${reply.text.slice(0, 300)}`);
}

/** Replaces the payload of a JWT while keeping its header and signature. */
function tamper(jwt: string, change: (claims: Json) => void): string {
  const [header, payload, signature] = jwt.split(".");
  const claims = JSON.parse(Buffer.from(payload!, "base64url").toString("utf8")) as Json;
  change(claims);
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}`;
}

function unsigned(claims: Json, header: Json = { alg: "none", typ: "JWT" }): string {
  const part = (v: Json) => Buffer.from(JSON.stringify(v)).toString("base64url");
  return `${part(header)}.${part(claims)}.`;
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`revocation, introspection and userinfo negative cases (${kind})`, { skip }, () => {
    let server: TestServer;
    let offset = 0;
    const clock: Clock = { now: () => Math.floor(Date.now() / 1000) + offset };
    let regA: Client;
    let regB: Client;
    let spa: Client;
    let spaB: Client;
    let m2m: Client;
    let user: { id: string; email: string; password: string };
    let browser: UserAgent;

    const auth = (client: Client): Record<string, string> =>
      client.clientSecret
        ? { client_id: client.clientId, client_secret: client.clientSecret }
        : { client_id: client.clientId };

    async function form(path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
      return toReply(
        await fetch(`${server.url}${path}`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
          body: new URLSearchParams(fields),
        }),
      );
    }

    const revoke = (client: Client | undefined, token: string, extra: Record<string, string> = {}) =>
      form("/oauth2/revoke", { ...(client ? auth(client) : {}), token, ...extra });
    const introspect = (client: Client | undefined, token: string, extra: Record<string, string> = {}) =>
      form("/oauth2/introspect", { ...(client ? auth(client) : {}), token, ...extra });

    async function userinfo(token: string | undefined, path = "/oauth2/v2/user_profile"): Promise<Reply> {
      return toReply(
        await fetch(`${server.url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {}),
      );
    }

    /** Access, refresh and ID token for `client` through the code flow. */
    async function tokensFor(client: Client): Promise<{ access: string; refresh: string; id: string }> {
      const challenge = client.clientSecret ? undefined : pkce();
      const url = new URL("/oauth2/auth", server.url);
      const params: Record<string, string> = {
        response_type: "code",
        client_id: client.clientId,
        redirect_uri: CALLBACK,
        scope: "openid profile email offline",
        state: "s",
      };
      if (challenge)
        Object.assign(params, { code_challenge: challenge.challenge, code_challenge_method: "S256" });
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
      const callback = await browser.authorize(url, user);
      const reply = await form("/oauth2/token", {
        grant_type: "authorization_code",
        ...auth(client),
        code: callback.searchParams.get("code") ?? "",
        redirect_uri: CALLBACK,
        ...(challenge ? { code_verifier: challenge.verifier } : {}),
      });
      assert.equal(reply.status, 200, reply.text);
      return {
        access: String(reply.json.access_token),
        refresh: String(reply.json.refresh_token),
        id: String(reply.json.id_token),
      };
    }

    async function machineToken(): Promise<string> {
      const reply = await form("/oauth2/token", {
        grant_type: "client_credentials",
        ...auth(m2m),
        audience: API,
      });
      assert.equal(reply.status, 200, reply.text);
      return String(reply.json.access_token);
    }

    async function refreshWorks(client: Client, refreshToken: string): Promise<Reply> {
      return form("/oauth2/token", {
        grant_type: "refresh_token",
        ...auth(client),
        refresh_token: refreshToken,
      });
    }

    before(async () => {
      server = await startTestServer(kind, { clock });
      regA = await createApplication(server, "reg", { name: "Reg A" });
      regB = await createApplication(server, "reg", { name: "Reg B" });
      spa = await createApplication(server, "spa", { name: "SPA" });
      spaB = await createApplication(server, "spa", { name: "SPA B" });
      m2m = await createApplication(server, "m2m");
      await createApi(server, { audience: API, scopes: ["read"], grant: { [m2m.clientId]: ["read"] } });
      user = await createUser(server);
      browser = new UserAgent(server.url);
    });
    after(async () => server?.close());

    // --- Revocation (RFC 7009) ---------------------------------------------------------------------

    it("revoking an unknown or malformed token → 200 (RFC 7009 §2.2)", async () => {
      for (const token of [randomBytes(32).toString("base64url"), "x", "a.b.c", unsigned({ sub: "x" })]) {
        const reply = await revoke(regA, token);
        assert.equal(reply.status, 200, `${token}: ${reply.text}`);
      }
      assert.equal((await revoke(spa, "unknown")).status, 200, "public caller");
    });

    it("an unknown token_type_hint is ignored, a wrong one only widens the search", async () => {
      assert.equal((await revoke(regA, "unknown", { token_type_hint: "banana" })).status, 200);
      const tokens = await tokensFor(regA);
      const reply = await revoke(regA, tokens.refresh, { token_type_hint: "access_token" });
      assert.equal(reply.status, 200, reply.text);
      expectError(
        await refreshWorks(regA, tokens.refresh),
        400,
        "invalid_grant",
        "revoked with a wrong hint",
      );
    });

    it("revocation without client authentication → 401 invalid_client", async () => {
      const tokens = await tokensFor(regA);
      expectError(await revoke(undefined, tokens.refresh), 401, "invalid_client", "no client");
      expectError(
        await revoke({ ...regA, clientSecret: "wrong" }, tokens.refresh),
        401,
        "invalid_client",
        "wrong",
      );
      const viaBasic = await form(
        "/oauth2/revoke",
        { token: tokens.refresh },
        { authorization: basic(regA.clientId, "wrong") },
      );
      expectError(viaBasic, 401, "invalid_client", "basic");
      assert.match(viaBasic.headers.get("www-authenticate") ?? "", /^Basic\b/i);
      // Confidential client without its secret.
      expectError(await revoke({ clientId: regA.clientId }, tokens.refresh), 401, "invalid_client", "none");
      assert.equal((await refreshWorks(regA, tokens.refresh)).status, 200, "the token survived");
    });

    it("revocation without a token → 400 invalid_request", async () => {
      expectError(await form("/oauth2/revoke", auth(regA)), 400, "invalid_request");
    });

    it("a confidential client cannot revoke another client's refresh token: 400 invalid_request, token keeps working", async () => {
      const tokens = await tokensFor(regA);
      for (const caller of [regB, m2m]) {
        expectError(await revoke(caller, tokens.refresh), 400, "invalid_request", "refresh");
        expectError(
          await revoke(caller, tokens.refresh, { token_type_hint: "refresh_token" }),
          400,
          "invalid_request",
          "refresh, hinted",
        );
      }
      const still = await refreshWorks(regA, tokens.refresh);
      assert.equal(still.status, 200, still.text);
      assert.equal((await userinfo(tokens.access)).status, 200);
    });

    it("a confidential client cannot revoke another client's access token: 400 invalid_request, token keeps working", async () => {
      const tokens = await tokensFor(regA);
      expectError(await revoke(regB, tokens.access), 400, "invalid_request", "access");
      expectError(
        await revoke(regB, tokens.access, { token_type_hint: "access_token" }),
        400,
        "invalid_request",
      );
      assert.equal((await userinfo(tokens.access)).status, 200);
      assert.equal((await introspect(regA, tokens.access)).json.active, true);
    });

    it("a public client revoking another client's token gets a silent 200 and the token keeps working", async () => {
      const tokens = await tokensFor(regA);
      assert.equal((await revoke(spa, tokens.refresh)).status, 200);
      assert.equal((await revoke(spa, tokens.access)).status, 200);
      assert.equal((await userinfo(tokens.access)).status, 200);
      assert.equal((await refreshWorks(regA, tokens.refresh)).status, 200);
      const spaTokens = await tokensFor(spa);
      assert.equal((await revoke(spaB, spaTokens.refresh)).status, 200);
      assert.equal(
        (await refreshWorks(spa, spaTokens.refresh)).status,
        200,
        "spa B did not revoke spa's token",
      );
    });

    it("revoking a refresh token revokes its access tokens too (RFC 7009 §2.1)", async () => {
      const tokens = await tokensFor(spa);
      assert.equal((await revoke(spa, tokens.refresh)).status, 200);
      expectError(await refreshWorks(spa, tokens.refresh), 400, "invalid_grant");
      const info = await userinfo(tokens.access);
      expectError(info, 401, "invalid_token");
      // Only a confidential client may introspect, and only its own tokens (RFC 7662 §4).
      const own = await tokensFor(regA);
      assert.equal((await introspect(regA, own.access)).json.active, true, "control");
      assert.equal((await revoke(regA, own.refresh)).status, 200);
      assert.deepEqual((await introspect(regA, own.access)).json, { active: false });
    });

    it("revoking an access token: userinfo 401, introspection inactive", async () => {
      const tokens = await tokensFor(regA);
      assert.equal((await revoke(regA, tokens.access, { token_type_hint: "access_token" })).status, 200);
      expectError(await userinfo(tokens.access), 401, "invalid_token");
      assert.deepEqual((await introspect(regA, tokens.access)).json, { active: false });
    });

    it("revocation is POST only", async () => {
      const response = await fetch(`${server.url}/oauth2/revoke?token=x&client_id=${regA.clientId}`);
      await response.text();
      assert.equal(response.status, 405);
    });

    // --- Introspection (RFC 7662) ------------------------------------------------------------------

    it("unauthenticated introspection → 401 invalid_client (RFC 7662 §2.1)", async () => {
      const tokens = await tokensFor(regA);
      const reply = await introspect(undefined, tokens.access);
      expectError(reply, 401, "invalid_client", "none");
      assert.equal(reply.json.active, undefined);
      expectError(
        await introspect({ ...regA, clientSecret: "wrong" }, tokens.access),
        401,
        "invalid_client",
        "wrong",
      );
      expectError(
        await introspect({ clientId: regA.clientId }, tokens.access),
        401,
        "invalid_client",
        "no secret",
      );
      expectError(
        await introspect({ clientId: "nobody", clientSecret: "x" }, tokens.access),
        401,
        "invalid_client",
      );
      const viaBasic = await form(
        "/oauth2/introspect",
        { token: tokens.access },
        { authorization: basic(regA.clientId, "x") },
      );
      expectError(viaBasic, 401, "invalid_client", "basic");
      assert.match(viaBasic.headers.get("www-authenticate") ?? "", /^Basic\b/i);
    });

    it("a public (spa) client cannot introspect, not even its own token", async () => {
      const tokens = await tokensFor(spa);
      for (const token of [tokens.access, tokens.refresh]) {
        const reply = await introspect(spa, token);
        expectError(reply, 401, "invalid_client", "spa");
        assert.equal(reply.json.active, undefined);
      }
    });

    it("an unknown token → 200 {active:false} and nothing else", async () => {
      for (const token of [randomBytes(32).toString("base64url"), "x", "a.b.c", "😀", "' or 1=1 --"]) {
        const reply = await introspect(regA, token);
        assert.equal(reply.status, 200, reply.text);
        assert.deepEqual(reply.json, { active: false }, token);
      }
      const hinted = await introspect(regA, "nope", { token_type_hint: "banana" });
      assert.deepEqual(hinted.json, { active: false });
    });

    it("introspection without a token → 400 invalid_request", async () => {
      expectError(await form("/oauth2/introspect", auth(regA)), 400, "invalid_request");
    });

    it("another client's refresh token → {active:false} and nothing else", async () => {
      const tokens = await tokensFor(regA);
      for (const caller of [regB, m2m]) {
        assert.deepEqual((await introspect(caller, tokens.refresh)).json, { active: false });
        assert.deepEqual(
          (await introspect(caller, tokens.refresh, { token_type_hint: "refresh_token" })).json,
          { active: false },
        );
      }
      // Control: its owner sees it active.
      const own = await introspect(regA, tokens.refresh, { token_type_hint: "refresh_token" });
      assert.equal(own.json.active, true, own.text);
      assert.equal(own.json.client_id, regA.clientId);
    });

    it("a live access token is active with its claims; revoked, forged and expired ones are {active:false}", async () => {
      const tokens = await tokensFor(regA);
      const active = await introspect(regA, tokens.access);
      assert.equal(active.json.active, true, active.text);
      assert.equal(active.json.client_id, regA.clientId);
      assert.equal(active.json.sub, user.id);
      assert.equal(active.json.iss, server.url);
      assert.equal(typeof active.json.exp, "number");

      const forged = [
        tamper(tokens.access, (c) => {
          c.sub = "someone-else";
        }),
        tamper(tokens.access, (c) => {
          c.exp = Number(c.exp) + 86_400 * 365;
        }),
        unsigned({ ...JSON.parse(Buffer.from(tokens.access.split(".")[1]!, "base64url").toString()) }),
        `${unsigned({ sub: user.id, azp: regA.clientId }, { alg: "HS256", typ: "JWT" }).slice(0, -1)}${randomBytes(32).toString("base64url")}`,
        `${tokens.access.slice(0, -4)}AAAA`,
      ];
      for (const token of forged)
        assert.deepEqual((await introspect(regA, token)).json, { active: false }, token);

      offset += 86_400 + 120; // past the 1-day lifetime and the clock tolerance
      try {
        assert.deepEqual((await introspect(regA, tokens.access)).json, { active: false }, "expired");
        expectError(await userinfo(tokens.access), 401, "invalid_token", "expired at userinfo");
      } finally {
        offset -= 86_400 + 120;
      }
    });

    it("an ID token is not an access token: {active:false}", async () => {
      const tokens = await tokensFor(regA);
      const reply = await introspect(regA, tokens.id);
      assert.deepEqual(reply.json, { active: false }, reply.text);
      const hinted = await introspect(regA, tokens.id, { token_type_hint: "access_token" });
      assert.deepEqual(hinted.json, { active: false }, hinted.text);
    });

    it("a consumed (rotated) refresh token → {active:false}", async () => {
      const tokens = await tokensFor(regA);
      assert.equal((await refreshWorks(regA, tokens.refresh)).status, 200);
      assert.deepEqual((await introspect(regA, tokens.refresh)).json, { active: false });
    });

    // --- UserInfo ----------------------------------------------------------------------------------

    it("no token → 401 with a bare WWW-Authenticate: Bearer challenge (RFC 6750 §3.1)", async () => {
      for (const path of ["/oauth2/v2/user_profile", "/oauth2/user_profile"]) {
        const reply = await userinfo(undefined, path);
        assert.equal(reply.status, 401, `${path}: ${reply.text}`);
        const challenge = reply.headers.get("www-authenticate") ?? "";
        assert.match(challenge, /^Bearer\b/, path);
        assert.doesNotMatch(challenge, /error=/, `${path}: no error code without credentials`);
        assert.equal(reply.json.sub, undefined);
      }
      const post = await toReply(await fetch(`${server.url}/oauth2/v2/user_profile`, { method: "POST" }));
      assert.equal(post.status, 401);
      assert.match(post.headers.get("www-authenticate") ?? "", /^Bearer\b/);
    });

    it("?access_token= in the query is refused (RFC 9700 §4.3.2), even with a valid token", async () => {
      const tokens = await tokensFor(regA);
      for (const path of ["/oauth2/v2/user_profile", "/oauth2/user_profile"]) {
        const reply = await toReply(
          await fetch(`${server.url}${path}?access_token=${encodeURIComponent(tokens.access)}`),
        );
        assert.ok([400, 401].includes(reply.status), `${path}: ${reply.status} ${reply.text}`);
        assert.equal(reply.json.sub, undefined);
        assert.equal(reply.json.id, undefined);
        expectError(reply, 400, "invalid_request", path);
      }
      // Also alongside a valid header: the query token is never silently accepted.
      const both = await toReply(
        await fetch(
          `${server.url}/oauth2/v2/user_profile?access_token=${encodeURIComponent(tokens.access)}`,
          {
            headers: { authorization: `Bearer ${tokens.access}` },
          },
        ),
      );
      expectError(both, 400, "invalid_request", "query and header");
    });

    it("an access token in a form body is not accepted", async () => {
      const tokens = await tokensFor(regA);
      const reply = await toReply(
        await fetch(`${server.url}/oauth2/v2/user_profile`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ access_token: tokens.access }),
        }),
      );
      assert.equal(reply.status, 401, reply.text);
      assert.equal(reply.json.sub, undefined);
    });

    it("a machine token → 401 invalid_token", async () => {
      const reply = await userinfo(await machineToken());
      expectError(reply, 401, "invalid_token", "m2m");
      assert.match(reply.headers.get("www-authenticate") ?? "", /^Bearer\b.*error="invalid_token"/);
    });

    it("an ID token → 401 invalid_token", async () => {
      const tokens = await tokensFor(regA);
      const reply = await userinfo(tokens.id);
      expectError(reply, 401, "invalid_token", "id token");
      assert.match(reply.headers.get("www-authenticate") ?? "", /^Bearer\b.*error="invalid_token"/);
    });

    it("a refresh token, a forged token or garbage as bearer → 401 invalid_token", async () => {
      const tokens = await tokensFor(regA);
      const candidates = [
        tokens.refresh,
        tamper(tokens.access, (c) => {
          c.sub = "someone-else";
        }),
        unsigned(JSON.parse(Buffer.from(tokens.access.split(".")[1]!, "base64url").toString()) as Json).slice(
          0,
          -1,
        ),
        `${tokens.access.slice(0, -4)}AAAA`,
        randomBytes(32).toString("base64url"),
      ];
      for (const token of candidates)
        expectError(await userinfo(token), 401, "invalid_token", token.slice(0, 40));
      // Control.
      const ok = await userinfo(tokens.access);
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.json.sub, user.id);
    });

    it("a revoked access token → 401 invalid_token", async () => {
      const tokens = await tokensFor(spa);
      assert.equal((await userinfo(tokens.access)).status, 200, "control");
      assert.equal((await revoke(spa, tokens.access)).status, 200);
      const reply = await userinfo(tokens.access);
      expectError(reply, 401, "invalid_token");
      assert.match(reply.headers.get("www-authenticate") ?? "", /error="invalid_token"/);
    });

    it("a suspended user's token → 401 invalid_token", async () => {
      const victim = await createUser(server);
      const agent = new UserAgent(server.url);
      const challenge = pkce();
      const url = new URL("/oauth2/auth", server.url);
      for (const [k, v] of Object.entries({
        response_type: "code",
        client_id: spa.clientId,
        redirect_uri: CALLBACK,
        scope: "openid offline",
        code_challenge: challenge.challenge,
        code_challenge_method: "S256",
      }))
        url.searchParams.set(k, v);
      const callback = await agent.authorize(url, victim);
      const tokens = await form("/oauth2/token", {
        grant_type: "authorization_code",
        client_id: spa.clientId,
        code: callback.searchParams.get("code") ?? "",
        redirect_uri: CALLBACK,
        code_verifier: challenge.verifier,
      });
      assert.equal(tokens.status, 200, tokens.text);
      await server.services.users.store.update(victim.id, { is_suspended: 1 });
      expectError(await userinfo(String(tokens.json.access_token)), 401, "invalid_token");
      expectError(await refreshWorks(spa, String(tokens.json.refresh_token)), 400, "invalid_grant");
    });
  });
}
