// Negative tests for the authorization endpoint (RFC 6749 §4.1.1-4.1.2.1, OIDC Core §3.1.2.6,
// RFC 7636, RFC 9207, RFC 9700). Two kinds of failure, never mixed up:
// - client_id or redirect_uri cannot be trusted → an HTML error page, HTTP 400, and no redirect;
// - anything else → a redirect to the registered redirect URI with `error`, `state` and `iss`.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";

type Pairs = Record<string, string> | [string, string][];

/** RFC 6749 §5.2 / §4.1.2.1: error and error_description are limited to %x20-21 / %x23-5B / %x5D-7E. */
const ERROR_CHARSET = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

function pairs(params: Pairs): [string, string][] {
  return Array.isArray(params) ? params : Object.entries(params);
}

function without(params: Record<string, string>, ...names: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(params).filter(([k]) => !names.includes(k)));
}

function get(url: string | URL, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, redirect: "manual" });
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`authorization endpoint negative cases (${kind})`, { skip }, () => {
    let server: TestServer;
    let spa: { clientId: string };
    let reg: { clientId: string; clientSecret?: string };
    let m2m: { clientId: string; clientSecret?: string };
    let user: { email: string; password: string };
    /** A browser with a live Latchkey session (signed in once in `before`). */
    let signedIn: UserAgent;

    const authUrl = (params: Pairs): URL => {
      const url = new URL("/oauth2/auth", server.url);
      for (const [k, v] of pairs(params)) url.searchParams.append(k, v);
      return url;
    };

    /** A valid request for the SPA (PKCE S256), to be varied one parameter at a time. */
    const spaParams = (overrides: Record<string, string> = {}): Record<string, string> => ({
      response_type: "code",
      client_id: spa.clientId,
      redirect_uri: CALLBACK,
      scope: "openid profile",
      state: "st-123",
      code_challenge: pkce().challenge,
      code_challenge_method: "S256",
      ...overrides,
    });

    /** A valid request for the confidential (reg) client, which may omit PKCE. */
    const regParams = (overrides: Record<string, string> = {}): Record<string, string> => ({
      response_type: "code",
      client_id: reg.clientId,
      redirect_uri: CALLBACK,
      scope: "openid",
      state: "st-reg",
      ...overrides,
    });

    async function expectErrorPage(response: Response, what: string): Promise<string> {
      const body = await response.text();
      assert.equal(response.status, 400, `${what}: expected the error page, got ${response.status}`);
      assert.equal(response.headers.get("location"), null, `${what}: must not redirect`);
      assert.match(response.headers.get("content-type") ?? "", /^text\/html/, what);
      assert.match(response.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/, what);
      assert.equal(response.headers.get("x-frame-options"), "DENY", what);
      assert.equal(response.headers.get("access-control-allow-origin"), null, what);
      assert.doesNotMatch(body, /localhost:8080\/callback|evil\.example/, `${what}: page must not link back`);
      return body;
    }

    async function expectErrorRedirect(
      response: Response,
      expected: { error: string; state?: string | null; status?: number; redirectUri?: string },
    ): Promise<URLSearchParams> {
      const body = await response.text();
      const status = expected.status ?? 302;
      assert.equal(
        response.status,
        status,
        `expected a ${status} error redirect, got: ${body.slice(0, 300)}`,
      );
      const location = new URL(response.headers.get("location") ?? "about:blank");
      assert.equal(`${location.origin}${location.pathname}`, expected.redirectUri ?? CALLBACK);
      assert.equal(location.hash, "", "errors travel in the query (response_mode=query), never a fragment");
      const q = location.searchParams;
      assert.deepEqual(q.getAll("error"), [expected.error], location.href);
      assert.match(q.get("error_description") ?? "", ERROR_CHARSET);
      assert.deepEqual(q.getAll("iss"), [server.url], "RFC 9207: iss on every authorization response");
      if (expected.state === null) assert.equal(q.get("state"), null);
      else if (expected.state !== undefined) assert.deepEqual(q.getAll("state"), [expected.state]);
      for (const leaked of ["code", "access_token", "id_token", "token_type"]) {
        assert.equal(q.get(leaked), null, `an error response must not carry ${leaked}`);
      }
      return q;
    }

    before(async () => {
      server = await startTestServer(kind);
      spa = await createApplication(server, "spa");
      reg = await createApplication(server, "reg", {
        callbackUrls: [CALLBACK, "https://app.example.com/cb"],
      });
      m2m = await createApplication(server, "m2m");
      user = await createUser(server);
      signedIn = new UserAgent(server.url);
      const callback = await signedIn.authorize(authUrl(spaParams()), user);
      assert.ok(callback.searchParams.get("code"), `sign-in in before() failed: ${callback.href}`);
    });
    after(async () => server?.close());

    // ---------------------------------------------------------------------------------------------
    // Untrusted client_id / redirect_uri: error page, 400, never a redirect (RFC 6749 §4.1.2.1).

    it("missing client_id → error page, no redirect", async () => {
      await expectErrorPage(await get(authUrl(without(spaParams(), "client_id"))), "missing client_id");
      await expectErrorPage(await get(authUrl(spaParams({ client_id: "" }))), "empty client_id");
    });

    it("unknown client_id → error page, no redirect", async () => {
      await expectErrorPage(
        await get(authUrl(spaParams({ client_id: randomBytes(16).toString("hex") }))),
        "unknown",
      );
      await expectErrorPage(
        await get(authUrl(spaParams({ client_id: spa.clientId.toUpperCase() }))),
        "client_id in another case",
      );
      await expectErrorPage(
        await get(authUrl(spaParams({ client_id: `${spa.clientId} ` }))),
        "client_id with trailing space",
      );
    });

    it("unknown client_id is not reflected into the error page", async () => {
      const body = await expectErrorPage(
        await get(authUrl(spaParams({ client_id: "<script>alert(1)</script>" }))),
        "hostile client_id",
      );
      assert.doesNotMatch(body, /<script>alert/);
    });

    it("duplicated client_id → error page, no redirect", async () => {
      const base = without(spaParams(), "client_id");
      await expectErrorPage(
        await get(
          authUrl([
            ...pairs(base),
            ["client_id", spa.clientId] as [string, string],
            ["client_id", spa.clientId],
          ]),
        ),
        "client_id twice (same value)",
      );
      await expectErrorPage(
        await get(
          authUrl([
            ...pairs(base),
            ["client_id", spa.clientId] as [string, string],
            ["client_id", reg.clientId],
          ]),
        ),
        "client_id twice (different values)",
      );
    });

    it("missing or duplicated redirect_uri → error page, no redirect", async () => {
      await expectErrorPage(await get(authUrl(without(spaParams(), "redirect_uri"))), "missing redirect_uri");
      await expectErrorPage(
        await get(
          authUrl([
            ...pairs(without(spaParams(), "redirect_uri")),
            ["redirect_uri", CALLBACK],
            ["redirect_uri", CALLBACK],
          ]),
        ),
        "redirect_uri twice",
      );
      await expectErrorPage(
        await get(
          authUrl([
            ...pairs(without(regParams(), "redirect_uri")),
            ["redirect_uri", CALLBACK],
            ["redirect_uri", "https://app.example.com/cb"],
          ]),
        ),
        "redirect_uri twice, two registered values",
      );
    });

    it("unregistered redirect_uri (every near miss) → error page, no redirect (RFC 9700 §4.1.3)", async () => {
      const nearMisses = [
        `${CALLBACK}x`,
        `${CALLBACK}/`,
        `${CALLBACK}/../evil`,
        `${CALLBACK}?x=1`,
        `${CALLBACK}#frag`,
        `${CALLBACK}%2F..%2Fevil`,
        `${CALLBACK}.evil.example`,
        "http://localhost:8081/callback",
        "http://localhost/callback",
        "http://localhost:80/callback",
        "https://localhost:8080/callback",
        "http://127.0.0.1:8080/callback",
        "http://[::1]:8080/callback",
        "http://LOCALHOST:8080/callback",
        "HTTP://localhost:8080/callback",
        "http://localhost:8080/Callback",
        "http://localhost:8080@evil.example/callback",
        "http://evil.example/?http://localhost:8080/callback",
        "javascript:alert(1)//http://localhost:8080/callback",
        ` ${CALLBACK}`,
        `${CALLBACK} `,
        "https://evil.example/callback",
        "https://app.example.com/cb/",
        "https://app.example.com/c",
      ];
      for (const redirectUri of nearMisses) {
        await expectErrorPage(await get(authUrl(spaParams({ redirect_uri: redirectUri }))), redirectUri);
      }
      // A URL registered for another application is not registered for this one.
      await expectErrorPage(
        await get(authUrl(spaParams({ redirect_uri: "https://app.example.com/cb" }))),
        "redirect_uri of another client",
      );
    });

    it("an invalid redirect_uri wins over every other error: still no redirect", async () => {
      const evil = "https://evil.example/cb";
      for (const params of [
        spaParams({ redirect_uri: evil, response_type: "token" }),
        spaParams({ redirect_uri: evil, prompt: "none" }),
        without(spaParams({ redirect_uri: evil }), "code_challenge", "code_challenge_method"),
        spaParams({ redirect_uri: evil, request: "eyJhbGciOiJub25lIn0.e30." }),
      ]) {
        await expectErrorPage(await get(authUrl(params)), JSON.stringify(params));
      }
    });

    it("a machine-to-machine client cannot start a browser flow → error page", async () => {
      await expectErrorPage(
        await get(authUrl(spaParams({ client_id: m2m.clientId, redirect_uri: CALLBACK }))),
        "m2m client",
      );
    });

    // ---------------------------------------------------------------------------------------------
    // Trusted client and redirect URI: errors go back to the client with error, state and iss.

    it("response_type=token (implicit) → unsupported_response_type redirect", async () => {
      await expectErrorRedirect(await get(authUrl(spaParams({ response_type: "token" }))), {
        error: "unsupported_response_type",
        state: "st-123",
      });
    });

    it("hybrid response types → unsupported_response_type redirect, no token in the front channel", async () => {
      for (const responseType of [
        "code id_token",
        "code token",
        "id_token",
        "id_token token",
        "none",
        "CODE",
      ]) {
        await expectErrorRedirect(await get(authUrl(spaParams({ response_type: responseType }))), {
          error: "unsupported_response_type",
          state: "st-123",
        });
      }
    });

    it("missing response_type → invalid_request redirect", async () => {
      await expectErrorRedirect(await get(authUrl(without(spaParams(), "response_type"))), {
        error: "invalid_request",
        state: "st-123",
      });
      await expectErrorRedirect(await get(authUrl(spaParams({ response_type: "" }))), {
        error: "invalid_request",
        state: "st-123",
      });
    });

    it("duplicated response_type → invalid_request redirect", async () => {
      await expectErrorRedirect(await get(authUrl([...pairs(spaParams()), ["response_type", "code"]])), {
        error: "invalid_request",
        state: "st-123",
      });
    });

    it("a front-end (public) client without code_challenge → invalid_request redirect", async () => {
      await expectErrorRedirect(
        await get(authUrl(without(spaParams(), "code_challenge", "code_challenge_method"))),
        { error: "invalid_request", state: "st-123" },
      );
      // An empty value counts as absent (RFC 6749 §3.1).
      await expectErrorRedirect(
        await get(authUrl(spaParams({ code_challenge: "", code_challenge_method: "" }))),
        { error: "invalid_request", state: "st-123" },
      );
    });

    it("code_challenge_method=plain → invalid_request redirect (S256 only)", async () => {
      const { verifier } = pkce();
      for (const params of [
        spaParams({ code_challenge: verifier, code_challenge_method: "plain" }),
        regParams({ code_challenge: verifier, code_challenge_method: "plain" }),
        spaParams({ code_challenge_method: "s256" }),
        spaParams({ code_challenge_method: "S512" }),
      ]) {
        await expectErrorRedirect(await get(authUrl(params)), {
          error: "invalid_request",
          state: params.state!,
        });
      }
    });

    it("code_challenge without a method (means plain, RFC 7636 §4.3) → invalid_request redirect", async () => {
      await expectErrorRedirect(await get(authUrl(without(spaParams(), "code_challenge_method"))), {
        error: "invalid_request",
        state: "st-123",
      });
      await expectErrorRedirect(await get(authUrl(regParams({ code_challenge: pkce().challenge }))), {
        error: "invalid_request",
        state: "st-reg",
      });
    });

    it("malformed code_challenge or a method without a challenge → invalid_request redirect", async () => {
      for (const params of [
        spaParams({ code_challenge: "short" }),
        spaParams({ code_challenge: `${pkce().challenge}A` }),
        spaParams({ code_challenge: `${pkce().challenge.slice(0, 42)}=` }),
        spaParams({ code_challenge: `${pkce().challenge.slice(0, 42)}+` }),
        without(regParams({ code_challenge_method: "S256" }), "code_challenge"),
      ]) {
        await expectErrorRedirect(await get(authUrl(params)), {
          error: "invalid_request",
          state: params.state!,
        });
      }
    });

    it("duplicated code_challenge → invalid_request redirect", async () => {
      await expectErrorRedirect(
        await get(authUrl([...pairs(spaParams()), ["code_challenge", pkce().challenge]])),
        { error: "invalid_request", state: "st-123" },
      );
    });

    it("duplicated scope → invalid_request redirect with state", async () => {
      await expectErrorRedirect(await get(authUrl([...pairs(spaParams()), ["scope", "openid email"]])), {
        error: "invalid_request",
        state: "st-123",
      });
    });

    it("duplicated state → invalid_request redirect", async () => {
      const q = await expectErrorRedirect(
        await get(authUrl([...pairs(spaParams()), ["state", "other-state"]])),
        { error: "invalid_request" },
      );
      // Neither value can be "the" state; whatever is echoed must be one of those sent.
      for (const echoed of q.getAll("state")) assert.ok(["st-123", "other-state"].includes(echoed));
    });

    it("duplicated parameters even when the session would allow a silent code → invalid_request", async () => {
      const response = await signedIn.request(
        authUrl([...pairs(spaParams()), ["nonce", "a"], ["nonce", "b"]]),
      );
      await expectErrorRedirect(response, { error: "invalid_request", state: "st-123" });
    });

    it("prompt=none without a session → login_required redirect with state and iss", async () => {
      await expectErrorRedirect(await get(authUrl(spaParams({ prompt: "none" }))), {
        error: "login_required",
        state: "st-123",
      });
      // Control: with a session, prompt=none answers with a code at once.
      const callback = await signedIn.redirectFrom(authUrl(spaParams({ prompt: "none" })));
      assert.ok(callback.searchParams.get("code"), callback.href);
      assert.equal(callback.searchParams.get("iss"), server.url);
    });

    it("prompt=none with an exceeded max_age → login_required, never a silent code", async () => {
      // max_age=0 requires a sign-in newer than now; prompt=none forbids showing one. Let a second
      // pass so the session from before() is older than 0 seconds whatever the timing.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await expectErrorRedirect(
        await signedIn.request(authUrl(spaParams({ prompt: "none", max_age: "0" }))),
        {
          error: "login_required",
          state: "st-123",
        },
      );
    });

    it("prompt=none combined with another value → invalid_request redirect", async () => {
      await expectErrorRedirect(await get(authUrl(spaParams({ prompt: "none login" }))), {
        error: "invalid_request",
        state: "st-123",
      });
    });

    it("request= (request object) → request_not_supported redirect", async () => {
      await expectErrorRedirect(
        await get(authUrl(spaParams({ request: "eyJhbGciOiJub25lIn0.eyJjbGllbnRfaWQiOiJ4In0." }))),
        { error: "request_not_supported", state: "st-123" },
      );
    });

    it("request_uri= → request_uri_not_supported redirect", async () => {
      await expectErrorRedirect(
        await get(authUrl(spaParams({ request_uri: "https://evil.example/request.jwt" }))),
        { error: "request_uri_not_supported", state: "st-123" },
      );
      await expectErrorRedirect(
        await get(authUrl(spaParams({ request_uri: "urn:ietf:params:oauth:request_uri:abc" }))),
        { error: "request_uri_not_supported", state: "st-123" },
      );
    });

    it("unsupported response_mode → invalid_request redirect in the query", async () => {
      for (const mode of ["fragment", "form_post", "web_message"]) {
        await expectErrorRedirect(await get(authUrl(spaParams({ response_mode: mode }))), {
          error: "invalid_request",
          state: "st-123",
        });
      }
    });

    it("malformed max_age → invalid_request redirect", async () => {
      for (const maxAge of ["abc", "-1", "1e3", "99999999999999999999"]) {
        await expectErrorRedirect(await get(authUrl(spaParams({ max_age: maxAge }))), {
          error: "invalid_request",
          state: "st-123",
        });
      }
    });

    it("an error redirect after a POST is a 303, never 307 (RFC 9700 §4.12)", async () => {
      const response = await get(new URL("/oauth2/auth", server.url), {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(spaParams({ response_type: "token" })),
      });
      await expectErrorRedirect(response, {
        error: "unsupported_response_type",
        state: "st-123",
        status: 303,
      });
    });

    it("an error page answers a POST with an untrusted redirect_uri too", async () => {
      const response = await get(new URL("/oauth2/auth", server.url), {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(spaParams({ redirect_uri: "https://evil.example/cb" })),
      });
      await expectErrorPage(response, "POST with evil redirect_uri");
    });

    it("state without CR/LF injection into the Location header", async () => {
      const state = "x\r\nSet-Cookie: injected=1\r\n";
      const response = await get(authUrl(spaParams({ response_type: "token", state })));
      assert.equal(response.headers.get("set-cookie"), null);
      await expectErrorRedirect(response, { error: "unsupported_response_type", state });
    });

    // ---------------------------------------------------------------------------------------------
    // What must work: unknown parameters, long state, POST, no CORS.

    it("unknown parameters are ignored (RFC 6749 §3.1)", async () => {
      const response = await get(
        authUrl({ ...spaParams(), foo: "bar", "x-custom": "1", claims_locales: "de", "weird[]": "x" }),
      );
      await response.text();
      assert.equal(response.status, 302);
      assert.match(response.headers.get("location") ?? "", /^\/auth\/sign-in\?request=/);
    });

    it("a 2000-character state survives sign-in and is echoed exactly, with iss", async () => {
      const alphabet = "aZ09-._~ &=+/?#%;,:@!$'()*[]éß漢字😀\"<>";
      let state = "";
      while (state.length < 2000) state += alphabet;
      state = state.slice(0, 1998); // keep the surrogate pairs whole
      assert.ok(state.length >= 1990);
      const browser = new UserAgent(server.url);
      const callback = await browser.authorize(authUrl(spaParams({ state })), user);
      assert.equal(callback.searchParams.get("state"), state);
      assert.ok(callback.searchParams.get("code"));
      assert.equal(callback.searchParams.get("iss"), server.url);
      // And again from the existing session (no sign-in page in between).
      const again = await browser.redirectFrom(authUrl(spaParams({ state })));
      assert.equal(again.searchParams.get("state"), state);
      // And on an error redirect.
      const error = await get(authUrl(spaParams({ state, response_type: "token" })));
      await expectErrorRedirect(error, { error: "unsupported_response_type", state });
    });

    it("POST to /oauth2/auth works like GET (OIDC Core §3.1.2.1), answering 303", async () => {
      const browser = new UserAgent(server.url);
      const response = await browser.request(new URL("/oauth2/auth", server.url), {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(spaParams({ state: "posted" })),
      });
      await response.text();
      assert.equal(response.status, 303);
      assert.match(response.headers.get("location") ?? "", /^\/auth\/sign-in\?request=/);
      // With a session, the POST ends at the client with a code.
      const withSession = await signedIn.request(new URL("/oauth2/auth", server.url), {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(spaParams({ state: "posted" })),
      });
      await withSession.text();
      assert.equal(withSession.status, 303);
      const callback = new URL(withSession.headers.get("location")!);
      assert.equal(`${callback.origin}${callback.pathname}`, CALLBACK);
      assert.ok(callback.searchParams.get("code"));
      assert.equal(callback.searchParams.get("state"), "posted");
      assert.equal(callback.searchParams.get("iss"), server.url);
    });

    it("no CORS on the authorization endpoint (RFC 9700 §2.6), even for a registered SPA origin", async () => {
      const origin = new URL(CALLBACK).origin;
      const response = await get(authUrl(spaParams()), { headers: { origin } });
      await response.text();
      assert.equal(response.headers.get("access-control-allow-origin"), null);
      assert.equal(response.headers.get("access-control-allow-credentials"), null);
      const preflight = await get(new URL("/oauth2/auth", server.url), {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type",
        },
      });
      await preflight.text();
      assert.equal(preflight.headers.get("access-control-allow-origin"), null);
      assert.equal(preflight.headers.get("access-control-allow-methods"), null);
      const error = await get(authUrl(spaParams({ client_id: "nope" })), { headers: { origin } });
      await error.text();
      assert.equal(error.headers.get("access-control-allow-origin"), null);
      const post = await get(new URL("/oauth2/auth", server.url), {
        method: "POST",
        headers: { origin, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(spaParams()),
      });
      await post.text();
      assert.equal(post.headers.get("access-control-allow-origin"), null);
    });

    it("an unknown scope is narrowed away, not an error; an over-long parameter is invalid_request", async () => {
      const callback = await signedIn.redirectFrom(authUrl(spaParams({ scope: "openid admin:everything" })));
      assert.ok(callback.searchParams.get("code"), callback.href);
      assert.doesNotMatch(callback.searchParams.get("scope") ?? "", /admin/);
      await expectErrorRedirect(await get(authUrl(spaParams({ nonce: "n".repeat(5000) }))), {
        error: "invalid_request",
        state: "st-123",
      });
    });

    it("garbage never causes a 5xx", async () => {
      const cases: [string, Pairs][] = [
        ["NUL client_id", spaParams({ client_id: "\u0000" })],
        ["NUL-suffixed client_id", spaParams({ client_id: `${spa.clientId}\u0000` })],
        ["unicode client_id", spaParams({ client_id: "客户端😀" })],
        ["5000-char client_id", spaParams({ client_id: "x".repeat(5000) })],
        ["NUL redirect_uri", spaParams({ redirect_uri: "\u0000" })],
        ["NUL-suffixed redirect_uri", spaParams({ redirect_uri: `${CALLBACK}\u0000` })],
        ["5000-char redirect_uri", spaParams({ redirect_uri: "x".repeat(5000) })],
        ["NUL and lone surrogate state", spaParams({ state: "\u0000\ud800" })],
        ["NUL audience", spaParams({ audience: "\u0000" })],
        ["NUL-suffixed audience", spaParams({ audience: "https://api.example.com\u0000" })],
        ["NUL login_hint", spaParams({ login_hint: "\u0000<script>" })],
        ["NUL scope", spaParams({ scope: "openid\u0000 \ud83d" })],
        ["NUL max_age", spaParams({ max_age: "\u0000" })],
        ["NUL prompt", spaParams({ prompt: "\u0000" })],
        ["two audiences, one NUL", [...pairs(spaParams()), ["audience", "a"], ["audience", "\u0000"]]],
        // A code for a request carrying a NUL byte in the nonce must be storable (or refused).
        ["NUL nonce", spaParams({ nonce: "n\u0000n" })],
      ];
      const failures: string[] = [];
      for (const [name, params] of cases) {
        for (const [who, browser] of [
          ["anonymous", new UserAgent(server.url)],
          ["signed in", signedIn],
        ] as const) {
          const response = await browser.request(authUrl(params));
          await response.text();
          if (response.status >= 500) failures.push(`${who}: ${name} → ${response.status}`);
        }
      }
      assert.deepEqual(failures, []);
    });
  });
}
