// Negative tests for the token endpoint (RFC 6749 §2.3, §3.2, §4.1.3, §4.4, §5.2, §6; RFC 7636 §4.6;
// RFC 8707; RFC 9700 §2.1.1, §4.2.4, §4.14). Every error is checked for its exact code and status,
// a JSON body, Cache-Control: no-store and Pragma: no-cache.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { Clock } from "../../src/clock.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApi, createApplication, createUser } from "../helpers/fixtures.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";

type Json = Record<string, unknown>;
type Fields = Record<string, string> | [string, string][];
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

const ERROR_CHARSET = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const TOKEN_ERRORS = [
  "invalid_request",
  "invalid_client",
  "invalid_grant",
  "unauthorized_client",
  "unsupported_grant_type",
  "invalid_scope",
  "invalid_target",
];
const OTHER_CALLBACK = "http://localhost:8080/other";
const API = "https://api.example.com";
const OTHER_API = "https://other.example.com";

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

function basic(id: string, secret: string): string {
  const enc = (v: string) => encodeURIComponent(v).replace(/%20/g, "+");
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString("base64")}`;
}

function assertNoStore(reply: Reply, what = ""): void {
  assert.equal(reply.headers.get("cache-control"), "no-store", `Cache-Control on ${what}`);
  assert.equal(reply.headers.get("pragma"), "no-cache", `Pragma on ${what}`);
}

function expectError(reply: Reply, status: number, error: string, what = ""): void {
  assert.equal(reply.status, status, `${what}: ${reply.text.slice(0, 300)}`);
  assert.equal(reply.json.error, error, `${what}: ${reply.text.slice(0, 300)}`);
  assert.match(reply.headers.get("content-type") ?? "", /^application\/json/, what);
  assert.match(String(reply.json.error_description ?? ""), ERROR_CHARSET, what);
  for (const leaked of ["access_token", "refresh_token", "id_token"])
    assert.equal(reply.json[leaked], undefined);
  assertNoStore(reply, what);
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`token endpoint negative cases (${kind})`, { skip }, () => {
    let server: TestServer;
    /** Seconds added to real time; tests that move it restore it. */
    let offset = 0;
    const clock: Clock = { now: () => Math.floor(Date.now() / 1000) + offset };
    let spaA: Client;
    let spaB: Client;
    let regA: Client;
    let regB: Client;
    let m2m: Client;
    let browser: UserAgent;
    let user: { email: string; password: string };

    async function post(
      fields: Fields | string,
      init: { headers?: Record<string, string>; contentType?: string } = {},
    ): Promise<Reply> {
      const body = typeof fields === "string" ? fields : new URLSearchParams(fields).toString();
      const response = await fetch(`${server.url}/oauth2/token`, {
        method: "POST",
        headers: { "content-type": init.contentType ?? "application/x-www-form-urlencoded", ...init.headers },
        body,
      });
      const text = await response.text();
      let json: Json = {};
      try {
        json = JSON.parse(text) as Json;
      } catch {
        // left empty: the assertions report the text
      }
      return { status: response.status, headers: response.headers, json, text };
    }

    /** client_secret_post for confidential clients, client_id alone for public ones. */
    const auth = (client: Client): Record<string, string> =>
      client.clientSecret
        ? { client_id: client.clientId, client_secret: client.clientSecret }
        : { client_id: client.clientId };

    /** Runs the front channel for `client` with the signed-in browser; returns the code. */
    async function codeFor(
      client: Client,
      options: { pkce?: boolean; redirectUri?: string; scope?: string } = {},
    ): Promise<{ code: string; verifier?: string; redirectUri: string }> {
      const redirectUri = options.redirectUri ?? CALLBACK;
      const challenge = options.pkce === false ? undefined : pkce();
      const url = new URL("/oauth2/auth", server.url);
      const params: Record<string, string> = {
        response_type: "code",
        client_id: client.clientId,
        redirect_uri: redirectUri,
        scope: options.scope ?? "openid profile email offline",
        state: "s",
      };
      if (challenge)
        Object.assign(params, { code_challenge: challenge.challenge, code_challenge_method: "S256" });
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
      const callback = await browser.authorize(url, user);
      const code = callback.searchParams.get("code");
      assert.ok(code, `no code: ${callback.href}`);
      return { code, verifier: challenge?.verifier, redirectUri };
    }

    function exchange(
      client: Client,
      grant: { code: string; verifier?: string; redirectUri: string },
      extra: Record<string, string> = {},
    ) {
      return post({
        grant_type: "authorization_code",
        ...auth(client),
        code: grant.code,
        redirect_uri: grant.redirectUri,
        ...(grant.verifier ? { code_verifier: grant.verifier } : {}),
        ...extra,
      });
    }

    async function tokensFor(client: Client, options: { scope?: string } = {}): Promise<Json> {
      const reply = await exchange(
        client,
        await codeFor(client, { pkce: !client.clientSecret, scope: options.scope }),
      );
      assert.equal(reply.status, 200, reply.text);
      assertNoStore(reply, "code exchange");
      return reply.json;
    }

    function refresh(client: Client, refreshToken: string, extra: Record<string, string> = {}) {
      return post({ grant_type: "refresh_token", ...auth(client), refresh_token: refreshToken, ...extra });
    }

    /** Introspection by `client`, which must be a party to the token (RFC 7662 §4). */
    async function introspect(client: Client, token: string): Promise<Json> {
      const response = await fetch(`${server.url}/oauth2/introspect`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: basic(client.clientId, client.clientSecret ?? ""),
        },
        body: new URLSearchParams({ token }),
      });
      assert.equal(response.status, 200);
      return (await response.json()) as Json;
    }

    async function userinfoStatus(accessToken: string): Promise<number> {
      const response = await fetch(`${server.url}/oauth2/v2/user_profile`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      await response.text();
      return response.status;
    }

    before(async () => {
      server = await startTestServer(kind, { clock });
      spaA = await createApplication(server, "spa", { name: "SPA A" });
      spaB = await createApplication(server, "spa", { name: "SPA B" });
      regA = await createApplication(server, "reg", {
        name: "Reg A",
        callbackUrls: [CALLBACK, OTHER_CALLBACK],
      });
      regB = await createApplication(server, "reg", { name: "Reg B" });
      m2m = await createApplication(server, "m2m");
      await createApi(server, {
        audience: API,
        scopes: ["read:things", "write:things"],
        grant: { [m2m.clientId]: ["read:things"] },
      });
      await createApi(server, { audience: OTHER_API, scopes: ["admin"] });
      user = await createUser(server);
      browser = new UserAgent(server.url);
    });
    after(async () => server?.close());

    // --- Request shape -----------------------------------------------------------------------------

    it("missing grant_type → 400 invalid_request", async () => {
      expectError(await post({ ...auth(regA) }), 400, "invalid_request", "missing");
      expectError(await post({ grant_type: "", ...auth(regA) }), 400, "invalid_request", "empty");
    });

    it("password, implicit and unknown grants → 400 unsupported_grant_type (RFC 9700 §2.4)", async () => {
      for (const grantType of [
        "password",
        "implicit",
        "token",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "urn:ietf:params:oauth:grant-type:token-exchange",
        "AUTHORIZATION_CODE",
        "__proto__",
        "constructor",
        "toString",
        "hasOwnProperty",
      ]) {
        expectError(
          await post({ grant_type: grantType, ...auth(regA), username: user.email, password: user.password }),
          400,
          "unsupported_grant_type",
          grantType,
        );
      }
    });

    it("the device grant from an application that is not a device one → 400 unauthorized_client (RFC 8628 §3.4, RFC 6749 §5.2)", async () => {
      expectError(
        await post({
          grant_type: "urn:ietf:params:oauth:grant-type:device_code",
          ...auth(regA),
          device_code: "x",
        }),
        400,
        "unauthorized_client",
        "device_code",
      );
    });

    it("duplicated parameters → 400 invalid_request (RFC 6749 §3.2)", async () => {
      expectError(
        await post([
          ["grant_type", "client_credentials"],
          ["grant_type", "client_credentials"],
          ["client_id", m2m.clientId],
          ["client_secret", m2m.clientSecret!],
        ]),
        400,
        "invalid_request",
        "grant_type twice",
      );
      const grant = await codeFor(spaA);
      expectError(
        await post([
          ["grant_type", "authorization_code"],
          ["client_id", spaA.clientId],
          ["code", grant.code],
          ["code", grant.code],
          ["redirect_uri", CALLBACK],
          ["code_verifier", grant.verifier!],
        ]),
        400,
        "invalid_request",
        "code twice",
      );
      expectError(
        await post([
          ["grant_type", "client_credentials"],
          ["client_id", m2m.clientId],
          ["client_id", m2m.clientId],
          ["client_secret", m2m.clientSecret!],
        ]),
        400,
        "invalid_request",
        "client_id twice",
      );
    });

    it("JSON or other non-form bodies → 400 invalid_request", async () => {
      const fields = {
        grant_type: "client_credentials",
        client_id: m2m.clientId,
        client_secret: m2m.clientSecret!,
      };
      expectError(
        await post(JSON.stringify(fields), { contentType: "application/json" }),
        400,
        "invalid_request",
        "json",
      );
      expectError(
        await post("{not json", { contentType: "application/json" }),
        400,
        "invalid_request",
        "bad json",
      );
      expectError(
        await post(new URLSearchParams(fields).toString(), { contentType: "text/plain" }),
        400,
        "invalid_request",
        "text/plain",
      );
    });

    it("GET is not a token endpoint: no token, no 5xx", async () => {
      const url = new URL("/oauth2/token", server.url);
      for (const [k, v] of Object.entries({
        grant_type: "client_credentials",
        client_id: m2m.clientId,
        client_secret: m2m.clientSecret!,
      }))
        url.searchParams.set(k, v);
      const response = await fetch(url);
      const body = (await response.json()) as Json;
      assert.equal(response.status, 405);
      assert.equal(body.access_token, undefined);
    });

    // --- Client authentication ---------------------------------------------------------------------

    it("wrong secret → 401 invalid_client, with WWW-Authenticate when Basic was used", async () => {
      const viaBasic = await post(
        { grant_type: "client_credentials" },
        { headers: { authorization: basic(m2m.clientId, "wrong-secret") } },
      );
      expectError(viaBasic, 401, "invalid_client", "basic");
      assert.match(viaBasic.headers.get("www-authenticate") ?? "", /^Basic\b/i);

      const viaPost = await post({
        grant_type: "client_credentials",
        client_id: m2m.clientId,
        client_secret: "wrong-secret",
      });
      expectError(viaPost, 401, "invalid_client", "post");

      const regWrong = await exchange(
        { ...regA, clientSecret: `${regA.clientSecret}x` },
        await codeFor(regA, { pkce: false }),
      );
      expectError(regWrong, 401, "invalid_client", "reg wrong secret");
    });

    it("unknown client → 401 invalid_client, with WWW-Authenticate when Basic was used", async () => {
      const viaBasic = await post(
        { grant_type: "client_credentials" },
        { headers: { authorization: basic("nobody", "secret") } },
      );
      expectError(viaBasic, 401, "invalid_client", "basic");
      assert.match(viaBasic.headers.get("www-authenticate") ?? "", /^Basic\b/i);
      expectError(
        await post({ grant_type: "client_credentials", client_id: "nobody", client_secret: "x" }),
        401,
        "invalid_client",
      );
      expectError(
        await post({ grant_type: "client_credentials" }),
        401,
        "invalid_client",
        "no client at all",
      );
    });

    it("a confidential client cannot skip its secret (auth method none) → 401 invalid_client", async () => {
      const grant = await codeFor(regA, { pkce: false });
      expectError(
        await post({
          grant_type: "authorization_code",
          client_id: regA.clientId,
          code: grant.code,
          redirect_uri: CALLBACK,
        }),
        401,
        "invalid_client",
        "reg without secret",
      );
      // Even with PKCE, a confidential client still authenticates.
      const withPkce = await codeFor(regA, { pkce: true });
      expectError(
        await post({
          grant_type: "authorization_code",
          client_id: regA.clientId,
          code: withPkce.code,
          redirect_uri: CALLBACK,
          code_verifier: withPkce.verifier!,
        }),
        401,
        "invalid_client",
        "reg with PKCE but without secret",
      );
      expectError(
        await post({ grant_type: "client_credentials", client_id: m2m.clientId }),
        401,
        "invalid_client",
        "m2m",
      );
    });

    it("Basic and client_secret in the body together → 400 invalid_request (RFC 6749 §2.3)", async () => {
      expectError(
        await post(
          { grant_type: "client_credentials", client_id: m2m.clientId, client_secret: m2m.clientSecret! },
          { headers: { authorization: basic(m2m.clientId, m2m.clientSecret!) } },
        ),
        400,
        "invalid_request",
        "both",
      );
      expectError(
        await post(
          { grant_type: "client_credentials", client_secret: m2m.clientSecret! },
          { headers: { authorization: basic(m2m.clientId, m2m.clientSecret!) } },
        ),
        400,
        "invalid_request",
        "both without body client_id",
      );
    });

    it("Basic for one client with client_id of another in the body → 400 invalid_request", async () => {
      expectError(
        await post(
          { grant_type: "client_credentials", client_id: regA.clientId },
          { headers: { authorization: basic(m2m.clientId, m2m.clientSecret!) } },
        ),
        400,
        "invalid_request",
      );
    });

    it("an unsupported authentication scheme → 401 invalid_client (RFC 6749 §5.2)", async () => {
      for (const header of [`Bearer ${m2m.clientSecret}`, `Digest username="${m2m.clientId}"`]) {
        const reply = await post(
          { grant_type: "client_credentials", client_id: m2m.clientId },
          { headers: { authorization: header } },
        );
        expectError(reply, 401, "invalid_client", header.split(" ")[0]);
        assert.ok(reply.headers.get("www-authenticate"), "401 after header authentication needs a challenge");
      }
    });

    it("a public client presenting a secret → 401 invalid_client", async () => {
      const grant = await codeFor(spaA);
      expectError(await exchange({ ...spaA, clientSecret: "made-up" }, grant), 401, "invalid_client");
    });

    it("Basic credentials are form-urlencoded before base64 (RFC 6749 §2.3.1)", async () => {
      const reply = await post(
        { grant_type: "client_credentials", audience: API },
        { headers: { authorization: basic(m2m.clientId, m2m.clientSecret!) } },
      );
      assert.equal(reply.status, 200, reply.text);
      assertNoStore(reply, "client_credentials success");
    });

    // --- Authorization codes -----------------------------------------------------------------------

    it("code reuse → invalid_grant, and the tokens of the first exchange are revoked (RFC 6749 §4.1.2)", async () => {
      const grant = await codeFor(spaA);
      const first = await exchange(spaA, grant);
      assert.equal(first.status, 200, first.text);
      const accessToken = String(first.json.access_token);
      const refreshToken = String(first.json.refresh_token);
      // A public client's token has no party that may introspect it: userinfo shows its state.
      assert.equal(await userinfoStatus(accessToken), 200, "control: live before the replay");

      expectError(await exchange(spaA, grant), 400, "invalid_grant", "replay");

      expectError(await refresh(spaA, refreshToken), 400, "invalid_grant", "refresh after replay");
      assert.equal(await userinfoStatus(accessToken), 401);
    });

    it("code reuse by a confidential client also revokes the first tokens", async () => {
      const grant = await codeFor(regA, { pkce: false });
      const first = await exchange(regA, grant);
      assert.equal(first.status, 200, first.text);
      expectError(await exchange(regA, grant), 400, "invalid_grant", "replay");
      expectError(await refresh(regA, String(first.json.refresh_token)), 400, "invalid_grant");
      assert.deepEqual(await introspect(regA, String(first.json.access_token)), { active: false });
    });

    it("two concurrent exchanges of one code → exactly one succeeds", async () => {
      const grant = await codeFor(spaA);
      const replies = await Promise.all([
        exchange(spaA, grant),
        exchange(spaA, grant),
        exchange(spaA, grant),
      ]);
      const ok = replies.filter((r) => r.status === 200);
      assert.equal(ok.length, 1, replies.map((r) => `${r.status} ${r.text.slice(0, 80)}`).join("\n"));
      for (const reply of replies.filter((r) => r.status !== 200))
        expectError(reply, 400, "invalid_grant", "loser");
    });

    it("a code used by another client → invalid_grant", async () => {
      const grant = await codeFor(spaA);
      expectError(await exchange(spaB, grant), 400, "invalid_grant", "spa B with A's code and verifier");
      const regGrant = await codeFor(regA, { pkce: false });
      expectError(await exchange(regB, regGrant), 400, "invalid_grant", "reg B with reg A's code");
      expectError(await exchange(spaA, regGrant), 400, "invalid_grant", "public client with reg A's code");
    });

    it("a wrong redirect_uri → invalid_grant (RFC 6749 §4.1.3)", async () => {
      for (const redirectUri of [
        OTHER_CALLBACK,
        `${CALLBACK}x`,
        "https://evil.example/cb",
        `${CALLBACK}?x=1`,
      ]) {
        const grant = await codeFor(regA, { pkce: false });
        expectError(await exchange(regA, { ...grant, redirectUri }), 400, "invalid_grant", redirectUri);
      }
      // The other direction: code issued for the second registered URL, redeemed with the first.
      const grant = await codeFor(regA, { pkce: false, redirectUri: OTHER_CALLBACK });
      expectError(await exchange(regA, { ...grant, redirectUri: CALLBACK }), 400, "invalid_grant", "swapped");
    });

    it("redirect_uri must be identical to the request's even after the registration changed", async () => {
      // An administrator removes the callback URL the code was issued for (within the code's minute).
      const client = await createApplication(server, "reg", { callbackUrls: [CALLBACK, OTHER_CALLBACK] });
      for (const redirectUri of ["https://evil.example/cb", "http://localhost:8080/unregistered"]) {
        const grant = await codeFor(client, { pkce: false });
        await server.storage.db
          .deleteFrom("application_urls")
          .where("application_id", "=", client.clientId)
          .where("url", "=", CALLBACK)
          .execute();
        try {
          expectError(await exchange(client, { ...grant, redirectUri }), 400, "invalid_grant", redirectUri);
        } finally {
          await server.services.applications.addUrls(client.clientId, "callback", [CALLBACK]);
        }
      }
    });

    it("a missing redirect_uri when the request had one → invalid_grant, no tokens", async () => {
      const grant = await codeFor(regA, { pkce: false });
      const reply = await post({ grant_type: "authorization_code", ...auth(regA), code: grant.code });
      assert.equal(reply.status, 400, reply.text);
      assert.ok(["invalid_grant", "invalid_request"].includes(String(reply.json.error)), reply.text);
      expectError(reply, 400, String(reply.json.error));
    });

    it("a missing code_verifier → invalid_grant (RFC 7636 §4.6)", async () => {
      const grant = await codeFor(spaA);
      expectError(await exchange(spaA, { ...grant, verifier: undefined }), 400, "invalid_grant", "spa");
      const regGrant = await codeFor(regA, { pkce: true });
      expectError(
        await exchange(regA, { ...regGrant, verifier: undefined }),
        400,
        "invalid_grant",
        "reg with PKCE",
      );
    });

    it("a wrong or malformed code_verifier → invalid_grant", async () => {
      const grant = await codeFor(spaA);
      const challenge = createHash("sha256").update(grant.verifier!).digest("base64url");
      for (const verifier of [
        pkce().verifier,
        challenge, // the challenge itself, as a "plain" downgrade
        grant.verifier!.slice(0, 42), // too short
        `${grant.verifier}${"a".repeat(90)}`, // too long (133)
        `${grant.verifier!.slice(0, 42)}=`,
        `${grant.verifier!.slice(0, 42)} `,
        grant.verifier!.toUpperCase() === grant.verifier
          ? grant.verifier!.toLowerCase()
          : grant.verifier!.toUpperCase(),
      ]) {
        expectError(await exchange(spaA, { ...grant, verifier }), 400, "invalid_grant", verifier);
      }
    });

    it("a code_verifier when no code_challenge was sent → invalid_grant (PKCE downgrade, RFC 9700 §2.1.1)", async () => {
      const grant = await codeFor(regA, { pkce: false });
      expectError(await exchange(regA, { ...grant, verifier: pkce().verifier }), 400, "invalid_grant");
    });

    it("an expired code (older than 60 s) → invalid_grant", async () => {
      const grant = await codeFor(spaA);
      offset += 61;
      try {
        expectError(await exchange(spaA, grant), 400, "invalid_grant", "expired");
      } finally {
        offset -= 61;
      }
    });

    it("a missing, unknown or malformed code → invalid_request / invalid_grant", async () => {
      expectError(
        await post({ grant_type: "authorization_code", ...auth(regA), redirect_uri: CALLBACK }),
        400,
        "invalid_request",
        "missing code",
      );
      for (const code of [randomBytes(32).toString("base64url"), "x", "😀", "' OR 1=1 --"]) {
        expectError(
          await post({ grant_type: "authorization_code", ...auth(regA), code, redirect_uri: CALLBACK }),
          400,
          "invalid_grant",
          code,
        );
      }
    });

    it("a code is not a refresh token, and a refresh token is not a code", async () => {
      const grant = await codeFor(spaA);
      expectError(await refresh(spaA, grant.code), 400, "invalid_grant", "code as refresh token");
      const tokens = await tokensFor(spaA);
      expectError(
        await exchange(spaA, {
          code: String(tokens.refresh_token),
          verifier: pkce().verifier,
          redirectUri: CALLBACK,
        }),
        400,
        "invalid_grant",
        "refresh token as code",
      );
      expectError(
        await refresh(spaA, String(tokens.access_token)),
        400,
        "invalid_grant",
        "access token as refresh",
      );
    });

    it("a machine-to-machine client cannot use the authorization_code or refresh_token grants → unauthorized_client", async () => {
      expectError(
        await post({ grant_type: "authorization_code", ...auth(m2m), code: "x", redirect_uri: CALLBACK }),
        400,
        "unauthorized_client",
      );
      expectError(
        await post({ grant_type: "refresh_token", ...auth(m2m), refresh_token: "x" }),
        400,
        "unauthorized_client",
      );
    });

    // --- Refresh tokens ----------------------------------------------------------------------------

    it("a refresh token of client A used by client B → invalid_grant, and A's token still works", async () => {
      const tokens = await tokensFor(spaA);
      const refreshToken = String(tokens.refresh_token);
      expectError(await refresh(spaB, refreshToken), 400, "invalid_grant", "public B");
      expectError(await refresh(regB, refreshToken), 400, "invalid_grant", "confidential B");
      const owner = await refresh(spaA, refreshToken);
      assert.equal(owner.status, 200, owner.text);

      const regTokens = await tokensFor(regA);
      expectError(
        await refresh(regB, String(regTokens.refresh_token)),
        400,
        "invalid_grant",
        "reg B with reg A's",
      );
      expectError(
        await refresh(spaA, String(regTokens.refresh_token)),
        400,
        "invalid_grant",
        "public with reg A's",
      );
      assert.equal((await refresh(regA, String(regTokens.refresh_token))).status, 200);
    });

    it("refresh with a wider scope → invalid_scope (RFC 6749 §6)", async () => {
      const tokens = await tokensFor(spaA, { scope: "openid offline" });
      const refreshToken = String(tokens.refresh_token);
      for (const scope of [
        "openid offline email",
        "openid offline profile",
        "openid offline read:things",
        "admin",
      ]) {
        expectError(await refresh(spaA, refreshToken, { scope }), 400, "invalid_scope", scope);
      }
      // A narrower scope is fine.
      const narrower = await refresh(spaA, refreshToken, { scope: "openid" });
      assert.equal(narrower.status, 200, narrower.text);
      assert.equal(narrower.json.scope, "openid");
    });

    it("a rotated refresh token reused → invalid_grant, and the whole family is revoked (RFC 9700 §4.14.2)", async () => {
      const tokens = await tokensFor(spaA);
      const first = String(tokens.refresh_token);
      const rotated = await refresh(spaA, first);
      assert.equal(rotated.status, 200, rotated.text);
      expectError(await refresh(spaA, first), 400, "invalid_grant", "reuse");
      expectError(await refresh(spaA, String(rotated.json.refresh_token)), 400, "invalid_grant", "successor");
      assert.equal(await userinfoStatus(String(rotated.json.access_token)), 401);
    });

    it("a missing or unknown refresh token → invalid_request / invalid_grant", async () => {
      expectError(await post({ grant_type: "refresh_token", ...auth(spaA) }), 400, "invalid_request");
      expectError(await refresh(spaA, randomBytes(32).toString("base64url")), 400, "invalid_grant");
    });

    it("an expired refresh token → invalid_grant", async () => {
      const tokens = await tokensFor(spaA);
      offset += 16 * 86_400; // refresh tokens live 15 days by default
      try {
        expectError(await refresh(spaA, String(tokens.refresh_token)), 400, "invalid_grant", "expired");
      } finally {
        offset -= 16 * 86_400;
      }
    });

    // --- Client credentials ------------------------------------------------------------------------

    it("client_credentials by a regular web application → unauthorized_client", async () => {
      expectError(
        await post({ grant_type: "client_credentials", ...auth(regA) }),
        400,
        "unauthorized_client",
        "reg",
      );
      expectError(
        await post({ grant_type: "client_credentials", ...auth(regA), audience: API }),
        400,
        "unauthorized_client",
      );
    });

    it("client_credentials by a public client → unauthorized_client (RFC 6749 §4.4: confidential only)", async () => {
      expectError(
        await post({ grant_type: "client_credentials", ...auth(spaA) }),
        400,
        "unauthorized_client",
        "spa",
      );
    });

    it("m2m asking a scope it was not granted → invalid_scope", async () => {
      for (const scope of [
        "write:things",
        "read:things write:things",
        "admin",
        "openid",
        "read:things offline",
      ]) {
        expectError(
          await post({ grant_type: "client_credentials", ...auth(m2m), audience: API, scope }),
          400,
          "invalid_scope",
          scope,
        );
      }
      expectError(
        await post({ grant_type: "client_credentials", ...auth(m2m), scope: "read:things" }),
        400,
        "invalid_scope",
        "no audience",
      );
      expectError(
        await post({
          grant_type: "client_credentials",
          ...auth(m2m),
          audience: API,
          scope: "read:things\u0000",
        }),
        400,
        // NUL is refused for every parameter before any grant logic runs.
        "invalid_request",
        "malformed",
      );
      // Control: the granted scope works.
      const ok = await post({
        grant_type: "client_credentials",
        ...auth(m2m),
        audience: API,
        scope: "read:things",
      });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.json.scope, "read:things");
      assert.equal(ok.json.refresh_token, undefined, "no refresh token for client credentials");
    });

    it("m2m asking an API it is not authorised for → invalid_target (RFC 8707)", async () => {
      for (const audience of [
        OTHER_API,
        "https://nonexistent.example.com",
        `${API}/`,
        API.toUpperCase(),
        `${API} ${OTHER_API}`,
      ]) {
        expectError(
          await post({ grant_type: "client_credentials", ...auth(m2m), audience }),
          400,
          "invalid_target",
          audience,
        );
      }
      expectError(
        await post([
          ["grant_type", "client_credentials"],
          ["client_id", m2m.clientId],
          ["client_secret", m2m.clientSecret!],
          ["audience", API],
          ["audience", OTHER_API],
        ]),
        400,
        "invalid_target",
        "two audiences, one not authorised",
      );
    });

    // --- Hygiene -----------------------------------------------------------------------------------

    it("every response, success or error, carries Cache-Control: no-store and Pragma: no-cache", async () => {
      const replies = [
        await post({ grant_type: "client_credentials", ...auth(m2m), audience: API }),
        await post({ grant_type: "nope", ...auth(m2m) }),
        await post({ grant_type: "client_credentials", client_id: "x", client_secret: "y" }),
        await post("{}", { contentType: "application/json" }),
        await exchange(spaA, await codeFor(spaA)),
      ];
      for (const reply of replies) assertNoStore(reply, `${reply.status} ${reply.text.slice(0, 60)}`);
    });

    it("garbage never causes a 5xx", async () => {
      const m2mAuth = auth(m2m);
      const cases: [string, Fields | string, Record<string, string>?][] = [
        [
          "huge code",
          {
            grant_type: "authorization_code",
            ...auth(spaA),
            code: "x".repeat(10_000),
            redirect_uri: CALLBACK,
          },
        ],
        ["huge scope", { grant_type: "client_credentials", ...m2mAuth, scope: "s ".repeat(3000) }],
        ["array grant_type", "grant_type=client_credentials&grant_type=refresh_token"],
        ["bracket keys", "grant_type[]=client_credentials&client_id[0]=x&__proto__[admin]=1"],
        ["unicode grant_type", { grant_type: "çödé💥\u202e", ...m2mAuth }],
        ["NUL grant_type", { grant_type: "client_credentials\u0000", ...m2mAuth }],
        ["NUL client_id", { grant_type: "client_credentials", client_id: "\u0000", client_secret: "x" }],
        [
          "NUL-suffixed client_id",
          {
            grant_type: "client_credentials",
            client_id: `${m2m.clientId}\u0000`,
            client_secret: m2m.clientSecret!,
          },
        ],
        [
          "NUL secret",
          { grant_type: "client_credentials", client_id: m2m.clientId, client_secret: "\u0000" },
        ],
        [
          "unicode client_id",
          { grant_type: "client_credentials", client_id: "客户端😀", client_secret: "x" },
        ],
        ["lone surrogate client_id", "grant_type=client_credentials&client_id=%ED%A0%80&client_secret=x"],
        [
          "long client_id",
          { grant_type: "client_credentials", client_id: "c".repeat(4000), client_secret: "x" },
        ],
        ["NUL audience", { grant_type: "client_credentials", ...m2mAuth, audience: "\u0000" }],
        [
          "NUL code",
          {
            grant_type: "authorization_code",
            ...auth(spaA),
            code: "\u0000",
            redirect_uri: CALLBACK,
            code_verifier: pkce().verifier,
          },
        ],
        ["NUL refresh token", { grant_type: "refresh_token", ...auth(spaA), refresh_token: "\u0000" }],
        ["broken percent-encoding", "grant_type=%zz&client_id=%E0%A4%A&client_secret=%"],
        ["empty body", ""],
        ["only separators", "&&&==&"],
        ["constructor grant", "grant_type=constructor&client_id=x"],
        ["Basic garbage", { grant_type: "client_credentials" }, { authorization: "Basic !!!!" }],
        [
          "Basic without colon",
          { grant_type: "client_credentials" },
          { authorization: `Basic ${Buffer.from("abc").toString("base64")}` },
        ],
        [
          "Basic bad escape",
          { grant_type: "client_credentials" },
          { authorization: `Basic ${Buffer.from("%E0%A4%A:x").toString("base64")}` },
        ],
        [
          "Basic NUL id",
          { grant_type: "client_credentials" },
          { authorization: `Basic ${Buffer.from("%00:x").toString("base64")}` },
        ],
        [
          "Basic non-UTF-8",
          { grant_type: "client_credentials" },
          { authorization: `Basic ${Buffer.from([0xff, 0xfe, 0x3a, 0xc3]).toString("base64")}` },
        ],
        [
          "Basic huge",
          { grant_type: "client_credentials" },
          { authorization: `Basic ${"A".repeat(12_000)}` },
        ],
      ];
      const failures: string[] = [];
      for (const [name, fields, headers] of cases) {
        const reply = await post(fields, { headers });
        if (reply.status >= 500) failures.push(`${name} → ${reply.status} ${reply.text.slice(0, 100)}`);
        else if (!TOKEN_ERRORS.includes(String(reply.json.error)))
          failures.push(`${name} → ${reply.status} not an RFC error: ${reply.text.slice(0, 100)}`);
        else if (!ERROR_CHARSET.test(String(reply.json.error_description ?? "")))
          failures.push(`${name} → error_description outside the RFC 6749 charset`);
      }
      const huge = await post({
        grant_type: "client_credentials",
        ...m2mAuth,
        pad: "x".repeat(2 * 1024 * 1024),
      });
      if (huge.status >= 500) failures.push(`2 MB body → ${huge.status}`);
      assert.deepEqual(failures, []);
    });
  });
}
