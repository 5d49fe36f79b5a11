// Property-based fuzzing (fast-check) of the OAuth, sign-in, logout and connected-app endpoints'
// parameters and bodies: random, oversized, duplicated, wrongly typed, Unicode/NUL/control
// characters and injection strings, mixed with real values so inputs get past the first check.
// Every answer must be a non-5xx in the surface's own vocabulary — RFC 6749 JSON on the back
// channel, HTML pages or redirects on browser endpoints — and arrive within the per-request
// timeout. (The Management API is fuzzed from its OpenAPI document in fuzz-management.test.ts.)
// The seed is fixed (FUZZ_SEED=<n>|random overrides it) and printed; FUZZ_RUNS=<factor> scales runs.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, LOGOUT } from "../helpers/fixtures.js";
import {
  basic,
  checkClientRedirect,
  checkOAuthJson,
  checkPage,
  encodePairs,
  fuzzFailure,
  fuzzParameters,
  fuzzSeed,
  mostly,
  nastyString,
  pairs,
  type Reply,
  rawTail,
  send,
} from "./support.js";
import { API_AUDIENCE, buildWorld, CSRF_COOKIE, SESSION_COOKIE, userTokens, type World } from "./world.js";

const SCALE = Number(process.env.FUZZ_RUNS ?? "1") || 1;
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
const SEED = fuzzSeed();

/** Requests sent per database, reported in docs/reliability.md. */
const sent: Record<string, number> = {};

type Pairs = [string, string][];

/** The valid request, the valid request with some parameters replaced, or with extras appended (duplicates). */
function around(valid: Pairs, spec: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<Pairs> {
  return fc
    .tuple(fc.constantFrom("pairs", "replace", "append", "drop"), pairs(spec, 5), fc.nat())
    .map(([mode, extra, n]) => {
      if (mode === "pairs") return extra;
      if (mode === "append") return [...valid, ...extra];
      if (mode === "drop") return valid.filter((_, i) => i !== n % valid.length);
      const replaced = new Set(extra.map(([k]) => k));
      return [...valid.filter(([k]) => !replaced.has(k)), ...extra];
    });
}

/** Header values fetch accepts (ByteString, no CR/LF): hostile but sendable. */
const headerSafe = (value: string) =>
  [...value].every((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) <= 0xff && c !== "\x7f");
const nastyHeaderValue = nastyString.filter(headerSafe);

for (const { kind, skip } of await databaseKinds()) {
  describe(`fuzzing every endpoint (${kind})`, { skip }, () => {
    let world: World;
    let url: string;
    sent[kind] = 0;

    /** send(), counted. */
    const request = (path: string, init: RequestInit = {}): Promise<Reply> => {
      sent[kind]! += 1;
      return send(`${url}${path}`, init);
    };

    /** Run one property and put the seed in front of any failure. */
    async function property<T>(
      t: { name: string; diagnostic(message: string): void },
      arbitrary: fc.Arbitrary<T>,
      numRuns: number,
      check: (value: T) => Promise<void>,
    ): Promise<void> {
      t.diagnostic(`seed ${SEED}, ${runs(numRuns)} runs`);
      try {
        await fc.assert(fc.asyncProperty(arbitrary, check), fuzzParameters(runs(numRuns), SEED));
      } catch (error) {
        throw fuzzFailure(t.name, SEED, error);
      }
    }

    before(async () => {
      // A second session cookie the /logout fuzz may end without disturbing the others.
      world = await buildWorld(kind);
      url = world.server.url;
    });
    after(async () => {
      process.stdout.write(`# fuzz (${kind}): ${sent[kind]} requests, seed ${SEED}\n`);
      await world?.server.close();
    });

    const cookieChoices = () => {
      const session = world.browser.cookie(SESSION_COOKIE) ?? "";
      return fc.constantFrom(
        "",
        `${CSRF_COOKIE}=${world.csrf}`,
        `${SESSION_COOKIE}=${session}; ${CSRF_COOKIE}=${world.csrf}`,
        `${SESSION_COOKIE}=' OR 1=1 --; ${CSRF_COOKIE}=`,
        `${SESSION_COOKIE}=${"A".repeat(4000)}`,
        `${CSRF_COOKIE}=${world.csrf}; ${CSRF_COOKIE}=other`,
        "latchkey_session=%00; latchkey_csrf=%ff",
      );
    };

    // ---- authorization endpoint ----------------------------------------------------------------

    it("GET and POST /oauth2/auth: HTML error pages or redirects carrying error/code", async (t) => {
      const { spa, reg, m2m } = world;
      const valid: Pairs = [
        ["response_type", "code"],
        ["client_id", spa.clientId],
        ["redirect_uri", CALLBACK],
        ["scope", "openid profile email offline"],
        ["state", "st"],
        ["code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"],
        ["code_challenge_method", "S256"],
      ];
      const spec = {
        response_type: fc.constantFrom("code", "token", "code id_token", "none", "id_token", "CODE"),
        client_id: mostly([spa.clientId, reg.clientId, m2m.clientId]),
        redirect_uri: mostly([CALLBACK, LOGOUT, `${CALLBACK}/`, "http://localhost:8080/callback?x=1"]),
        scope: fc.constantFrom("openid", "openid profile email offline", "offline", "openid openid", "admin"),
        state: nastyString,
        nonce: nastyString,
        code_challenge: mostly(["E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "short"]),
        code_challenge_method: fc.constantFrom("S256", "plain", "s256", "RS256"),
        prompt: fc.constantFrom("none", "login", "create", "consent", "none login", "select_account"),
        max_age: fc.constantFrom("0", "60", "-1", "abc", "1e10", "99999999999999999999"),
        login_hint: nastyString,
        audience: mostly([API_AUDIENCE, `${url}/api`]),
        response_mode: fc.constantFrom("query", "fragment", "form_post", "jwt"),
        request: nastyString,
        request_uri: nastyString,
        lang: nastyString,
        org_code: nastyString,
        is_create: fc.constantFrom("true", "false"),
      };
      const input = fc.record({
        params: around(valid, spec),
        tail: rawTail,
        method: fc.constantFrom("GET", "POST"),
        cookie: cookieChoices(),
      });
      await property(t, input, 250, async ({ params, tail, method, cookie }) => {
        const encoded = encodePairs(params, tail);
        const headers: Record<string, string> = cookie ? { cookie } : {};
        const reply =
          method === "GET"
            ? await request(`/oauth2/auth?${encoded}`, { headers })
            : await request("/oauth2/auth", {
                method: "POST",
                headers: { ...headers, "content-type": "application/x-www-form-urlencoded" },
                body: encoded,
              });
        const what = `${method} /oauth2/auth ${encoded.slice(0, 300)}`;
        checkPage(what, reply);
        assert.notEqual(
          reply.status,
          200,
          `${what}: the authorization endpoint only redirects or shows an error`,
        );
        if (reply.status >= 300 && reply.status < 400) {
          const location = new URL(reply.headers.get("location")!, url);
          if (location.origin === url) assert.match(location.pathname, /^\/auth\/sign-(in|up)$/, what);
          else checkClientRedirect(what, location);
        }
      });
    });

    // ---- token endpoint --------------------------------------------------------------------------

    it("POST /oauth2/token, every grant: tokens or an RFC 6749 §5.2 error", async (t) => {
      const { spa, reg, m2m, codes, tokens } = world;
      const code = codes[0]!;
      const bases: Pairs[] = [
        [
          ["grant_type", "client_credentials"],
          ["client_id", m2m.clientId],
          ["client_secret", m2m.clientSecret!],
          ["audience", API_AUDIENCE],
        ],
        [
          ["grant_type", "authorization_code"],
          ["client_id", spa.clientId],
          ["code", code.code],
          ["redirect_uri", CALLBACK],
          ["code_verifier", code.verifier],
        ],
        [
          ["grant_type", "refresh_token"],
          ["client_id", spa.clientId],
          ["refresh_token", tokens.refresh],
        ],
      ];
      const spec = {
        grant_type: fc.constantFrom(
          "client_credentials",
          "authorization_code",
          "refresh_token",
          "password",
          "implicit",
          "urn:ietf:params:oauth:grant-type:device_code",
          "urn:ietf:params:oauth:grant-type:token-exchange",
        ),
        client_id: mostly([spa.clientId, reg.clientId, m2m.clientId]),
        client_secret: mostly([m2m.clientSecret!, reg.clientSecret!]),
        code: mostly(codes.map((c) => c.code)),
        code_verifier: mostly(codes.map((c) => c.verifier)),
        redirect_uri: mostly([CALLBACK, LOGOUT]),
        refresh_token: mostly([tokens.refresh, tokens.access, tokens.id]),
        scope: fc.constantFrom(
          "openid",
          "read:things",
          "write:things",
          "offline profile",
          "read:things write:things",
        ),
        audience: mostly([API_AUDIENCE, `${url}/api`, "https://nope.example"]),
        client_assertion_type: nastyString,
        client_assertion: nastyString,
      };
      const authorization = fc.oneof(
        { weight: 6, arbitrary: fc.constant("") },
        { weight: 1, arbitrary: fc.constant(basic(m2m.clientId, m2m.clientSecret!)) },
        { weight: 1, arbitrary: fc.constant(basic(reg.clientId, "wrong")) },
        { weight: 1, arbitrary: nastyHeaderValue.map((v) => `Basic ${v}`) },
        { weight: 1, arbitrary: nastyHeaderValue.map((v) => `Basic ${Buffer.from(v).toString("base64")}`) },
        { weight: 1, arbitrary: nastyHeaderValue.map((v) => `Bearer ${v}`) },
      );
      const contentType = fc.constantFrom(
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=ISO-8859-1",
        "application/json",
        "text/plain",
        "multipart/form-data; boundary=x",
        "",
      );
      const input = fc.record({
        params: fc.oneof(...bases.map((b) => around(b, spec))),
        tail: rawTail,
        authorization,
        contentType,
      });
      await property(t, input, 300, async ({ params, tail, authorization, contentType }) => {
        const headers: Record<string, string> = {};
        if (authorization) headers.authorization = authorization;
        if (contentType) headers["content-type"] = contentType;
        const body =
          contentType === "application/json"
            ? JSON.stringify(Object.fromEntries(params))
            : encodePairs(params, tail);
        const reply = await request("/oauth2/token", { method: "POST", headers, body });
        const what = `token ${contentType} ${body.slice(0, 300)}`;
        checkOAuthJson(what, reply);
        assert.equal(reply.headers.get("cache-control"), "no-store", what);
        if (reply.status === 200)
          assert.equal(typeof (reply.json as { access_token?: unknown }).access_token, "string", what);
      });
    });

    // ---- revocation and introspection -----------------------------------------------------------

    for (const endpoint of ["revoke", "introspect"] as const) {
      it(`POST /oauth2/${endpoint}: 200 or an RFC 6749 §5.2 error`, async (t) => {
        const { spa, reg, m2m } = world;
        // Fresh tokens: revocation fuzzing may end them.
        const live = await userTokens(world.server, world.browser, spa);
        const spec = {
          token: mostly([live.access, live.refresh, live.id, world.managementToken]),
          token_type_hint: fc.constantFrom("access_token", "refresh_token", "id_token", "bogus"),
          client_id: mostly([spa.clientId, reg.clientId, m2m.clientId]),
          client_secret: mostly([m2m.clientSecret!, reg.clientSecret!]),
        };
        const valid: Pairs = [
          ["token", live.access],
          ["client_id", m2m.clientId],
          ["client_secret", m2m.clientSecret!],
        ];
        const input = fc.record({
          params: around(valid, spec),
          tail: rawTail,
          authorization: fc.oneof(
            { weight: 4, arbitrary: fc.constant("") },
            { weight: 1, arbitrary: fc.constant(basic(m2m.clientId, m2m.clientSecret!)) },
            { weight: 1, arbitrary: nastyHeaderValue.map((v) => `Basic ${v}`) },
          ),
          json: fc.boolean(),
        });
        await property(t, input, 150, async ({ params, tail, authorization, json }) => {
          const headers: Record<string, string> = {
            "content-type": json ? "application/json" : "application/x-www-form-urlencoded",
          };
          if (authorization) headers.authorization = authorization;
          const body = json ? JSON.stringify(Object.fromEntries(params)) : encodePairs(params, tail);
          const reply = await request(`/oauth2/${endpoint}`, { method: "POST", headers, body });
          const what = `${endpoint} ${body.slice(0, 300)}`;
          checkOAuthJson(what, reply);
          if (reply.status === 200 && endpoint === "introspect") {
            assert.equal(typeof (reply.json as { active?: unknown }).active, "boolean", what);
          }
          if (reply.status === 200 && endpoint === "revoke") assert.equal(reply.text, "", what);
        });
      });
    }

    // ---- user profile ----------------------------------------------------------------------------

    it("GET/POST /oauth2/user_profile and /oauth2/v2/user_profile: a profile or an RFC 6750 error", async (t) => {
      const { tokens } = world;
      const input = fc.record({
        path: fc.constantFrom("/oauth2/user_profile", "/oauth2/v2/user_profile"),
        method: fc.constantFrom("GET", "GET", "POST"),
        authorization: fc.oneof(
          fc.constant(""),
          fc
            .constantFrom(tokens.access, tokens.id, tokens.refresh, world.managementToken)
            .map((v) => `Bearer ${v}`),
          nastyHeaderValue.map((v) => `Bearer ${v}`),
          nastyHeaderValue,
          fc.constantFrom(
            "Bearer",
            "Bearer ",
            "bearer  x",
            "Basic eDp5",
            `Bearer ${tokens.access}, Bearer x`,
          ),
          fc.constant(`Bearer ${tokens.access}`).map((v) => `${v.slice(0, -3)}AAA`),
        ),
        query: pairs({ access_token: mostly([tokens.access]), schema: fc.constant("openid") }, 3),
      });
      await property(t, input, 150, async ({ path, method, authorization, query }) => {
        const headers: Record<string, string> = {};
        if (authorization) headers.authorization = authorization;
        const search = encodePairs(query);
        const reply = await request(`${path}${search ? `?${search}` : ""}`, { method, headers });
        const what = `${method} ${path}?${search.slice(0, 200)} auth=${authorization.slice(0, 60)}`;
        if (method === "POST" && path === "/oauth2/user_profile") {
          // Not a route: the OAuth surface's 404.
          checkOAuthJson(what, reply, [404]);
          return;
        }
        checkOAuthJson(what, reply);
        if (reply.status === 401) assert.match(reply.headers.get("www-authenticate") ?? "", /^Bearer/, what);
      });
    });

    // ---- logout ----------------------------------------------------------------------------------

    it("GET /logout: a page or a redirect to a registered URL only", async (t) => {
      const input = fc.record({
        params: pairs({
          redirect: mostly([LOGOUT, CALLBACK, "http://localhost:8080"]),
          post_logout_redirect_uri: mostly([LOGOUT]),
          state: nastyString,
          client_id: mostly([world.spa.clientId]),
          id_token_hint: mostly([world.tokens.id]),
        }),
        tail: rawTail,
        cookie: fc.constantFrom("", `${SESSION_COOKIE}=garbage`, `${SESSION_COOKIE}=${"B".repeat(3000)}`),
      });
      await property(t, input, 150, async ({ params, tail, cookie }) => {
        const search = encodePairs(params, tail);
        const reply = await request(`/logout?${search}`, { headers: cookie ? { cookie } : {} });
        const what = `logout ?${search.slice(0, 300)}`;
        checkPage(what, reply);
        if (reply.status >= 300 && reply.status < 400) {
          const target = new URL(reply.headers.get("location")!);
          assert.equal(
            `${target.origin}${target.pathname}`,
            LOGOUT,
            `${what}: only to a registered logout URL`,
          );
        }
      });
    });

    // ---- hosted sign-in, sign-up, continue, connect -----------------------------------------------

    it("hosted sign-in, sign-up and continue forms (GET and POST): HTML pages or redirects", async (t) => {
      const { user, requestIds, csrf } = world;
      const spec = {
        request: mostly(requestIds, 5),
        csrf: mostly([csrf], 5),
        email: mostly([user.email, user.email.toUpperCase(), "nobody@example.com"]),
        password: mostly([user.password, "correct horse battery staple 1"]),
        given_name: nastyString,
        family_name: nastyString,
        key_code_ref: mostly(["github-fuzz"]),
      };
      const input = fc.record({
        path: fc.constantFrom("/auth/sign-in", "/auth/sign-up", "/auth/continue", "/auth/connect"),
        method: fc.constantFrom("GET", "POST", "POST"),
        params: pairs(spec, 8),
        tail: rawTail,
        cookie: cookieChoices(),
        contentType: fc.constantFrom(
          "application/x-www-form-urlencoded",
          "application/x-www-form-urlencoded",
          "application/x-www-form-urlencoded",
          "application/json",
          "text/plain",
          "multipart/form-data; boundary=zz",
        ),
      });
      await property(t, input, 250, async ({ path, method, params, tail, cookie, contentType }) => {
        const headers: Record<string, string> = cookie ? { cookie } : {};
        let reply: Reply;
        let body = "";
        if (method === "GET") reply = await request(`${path}?${encodePairs(params, tail)}`, { headers });
        else {
          body =
            contentType === "application/json"
              ? JSON.stringify(Object.fromEntries(params))
              : encodePairs(params, tail);
          reply = await request(path, { method, headers: { ...headers, "content-type": contentType }, body });
        }
        const what = `${method} ${path} ${contentType} ${(body || encodePairs(params)).slice(0, 300)}`;
        if (method === "GET" && path === "/auth/connect") {
          checkOAuthJson(what, reply, []); // no such route: the generic 404
          return;
        }
        checkPage(what, reply);
        if (reply.status >= 300 && reply.status < 400) {
          const location = new URL(reply.headers.get("location")!, url);
          if (location.origin !== url && location.hostname !== "github.com")
            checkClientRedirect(what, location);
        }
      });
    });

    // ---- connected apps (browser side) ----------------------------------------------------------

    it("connected-app start and callback: HTML pages or redirects", async (t) => {
      const { connectedApp, user, csrf } = world;
      const input = fc.record({
        path: fc.constantFrom("/connected_apps/start", "/connected_apps/callback"),
        method: fc.constantFrom("GET", "POST"),
        params: pairs(
          {
            token: mostly(connectedApp.linkTokens, 4),
            state: mostly(connectedApp.sessionIds),
            code: nastyString,
            error: fc.constantFrom("access_denied", "server_error", "<b>x</b>"),
            email: mostly([user.email]),
            password: mostly([user.password]),
            csrf: mostly([csrf], 5),
          },
          8,
        ),
        tail: rawTail,
        cookie: fc.oneof(cookieChoices(), fc.constant("latchkey_connect=' OR '1'='1")),
      });
      await property(t, input, 150, async ({ path, method, params, tail, cookie }) => {
        const headers: Record<string, string> = cookie ? { cookie } : {};
        const encoded = encodePairs(params, tail);
        const reply =
          method === "GET"
            ? await request(`${path}?${encoded}`, { headers })
            : await request(path, {
                method: "POST",
                headers: { ...headers, "content-type": "application/x-www-form-urlencoded" },
                body: encoded,
              });
        const what = `${method} ${path} ${encoded.slice(0, 300)}`;
        if (method === "POST" && path === "/connected_apps/callback") {
          checkOAuthJson(what, reply, []); // no such route
          return;
        }
        checkPage(what, reply);
      });
    });
  });
}
