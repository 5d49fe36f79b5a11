// The attack suite: negative cases that the per-surface suites (tests/oauth, tests/management,
// tests/connected-apps) do not already cover — mostly attacks that cross a state change (a user
// suspended or deleted, an application deleted, a secret rotated, a session signed out) or cross
// surfaces (connected-app links, shared throttles, protected resources, SSRF ranges), plus
// clickjacking headers and cookie flags on every page. Each case asserts the exact status and the
// exact error in the surface's vocabulary. Table-driven: one entry per attack.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { Clock } from "../../src/clock.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser, LOGOUT } from "../helpers/fixtures.js";
import { type ApiResponse, callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { selfSignedCertificate } from "../helpers/tls.js";
import { signedInUserAgent, UserAgent } from "../helpers/user-agent.js";
import { basic, ERROR_CHARSET, form, pkce, type Reply, send } from "./support.js";
import {
  API_AUDIENCE,
  authorizeUrl,
  buildWorld,
  type Client,
  codeFrom,
  userTokens,
  type World,
} from "./world.js";

type Case = [name: string, run: () => Promise<void>];

const MIN_CASES = 100;

function show(reply: Reply): string {
  return `${reply.status} ${reply.headers.get("location") ?? ""} ${reply.text.slice(0, 300)}`;
}

/** RFC 6749 §5.2 error: exact status and code, JSON, no tokens, no-store. */
function expectOAuth(reply: Reply, status: number, error: string): void {
  assert.equal(reply.status, status, show(reply));
  const body = reply.json as Record<string, unknown>;
  assert.equal(body?.error, error, show(reply));
  assert.match(String(body.error_description ?? ""), ERROR_CHARSET);
  for (const leaked of ["access_token", "refresh_token", "id_token"]) assert.equal(body[leaked], undefined);
}

/** Kinde error: exact status and code. */
function expectApi(reply: ApiResponse, status: number, code: string): void {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  const errors = (reply.body as { errors?: { code: string }[] }).errors;
  assert.ok(Array.isArray(errors), JSON.stringify(reply.body));
  assert.equal(errors[0]?.code, code, JSON.stringify(reply.body));
}

/** An HTML page with this status and no redirect. */
function expectPage(reply: Reply, status: number, text?: RegExp): void {
  assert.equal(reply.status, status, show(reply));
  assert.equal(reply.headers.get("location"), null, show(reply));
  assert.match(reply.headers.get("content-type") ?? "", /^text\/html/, show(reply));
  if (text) assert.match(reply.text, text, show(reply));
}

/** A redirect to the client with `error` (RFC 6749 §4.1.2.1) and `iss` (RFC 9207), no code. */
function expectRedirectError(reply: Reply, error: string, issuer: string): void {
  assert.equal(reply.status, 302, show(reply));
  const location = new URL(reply.headers.get("location")!);
  assert.equal(`${location.origin}${location.pathname}`, CALLBACK, show(reply));
  assert.equal(location.searchParams.get("error"), error, show(reply));
  assert.equal(location.searchParams.get("iss"), issuer, show(reply));
  assert.equal(location.searchParams.get("code"), null, show(reply));
}

/** Anti-framing on a page (RFC 9700 §4.16): X-Frame-Options and CSP frame-ancestors. */
function expectNoFraming(reply: Reply): void {
  assert.equal(reply.headers.get("x-frame-options"), "DENY", show(reply));
  assert.match(reply.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/, show(reply));
  assert.equal(reply.headers.get("cache-control"), "no-store", show(reply));
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`attack suite (${kind})`, { skip }, () => {
    let world: World;
    let server: TestServer;
    let offset = 0;
    const clock: Clock = { now: () => Math.floor(Date.now() / 1000) + offset };

    before(async () => {
      world = await buildWorld(kind, { clock });
      server = world.server;
    });
    after(async () => server?.close());

    const get = (path: string, init: RequestInit = {}) => send(new URL(path, server.url), init);
    const token = (fields: Record<string, string>, headers: Record<string, string> = {}) => {
      const init = form(fields);
      return send(`${server.url}/oauth2/token`, { ...init, headers: { ...init.headers, ...headers } });
    };
    const postForm = (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) => {
      const init = form(fields);
      return send(`${server.url}${path}`, { ...init, headers: { ...init.headers, ...headers } });
    };
    const api = <T = Record<string, unknown>>(
      method: string,
      path: string,
      body?: unknown,
      headers?: Record<string, string>,
    ) => callApi<T>(server, method, path, { token: world.managementToken, body, headers });
    const m2mToken = (client: Client, extra: Record<string, string> = {}) =>
      token({
        grant_type: "client_credentials",
        client_id: client.clientId,
        client_secret: client.clientSecret!,
        audience: API_AUDIENCE,
        ...extra,
      });
    const exchange = (
      client: Client,
      grant: { code: string; verifier: string },
      extra: Record<string, string> = {},
    ) =>
      token({
        grant_type: "authorization_code",
        client_id: client.clientId,
        ...(client.clientSecret ? { client_secret: client.clientSecret } : {}),
        code: grant.code,
        redirect_uri: CALLBACK,
        code_verifier: grant.verifier,
        ...extra,
      });
    const refresh = (client: Client, refreshToken: string) =>
      token({
        grant_type: "refresh_token",
        client_id: client.clientId,
        ...(client.clientSecret ? { client_secret: client.clientSecret } : {}),
        refresh_token: refreshToken,
      });
    const introspect = (tokenValue: string, client: Client = world.m2m) =>
      postForm(
        "/oauth2/introspect",
        { token: tokenValue },
        { authorization: basic(client.clientId, client.clientSecret!) },
      );
    const userinfo = (accessToken: string) =>
      get("/oauth2/v2/user_profile", { headers: { authorization: `Bearer ${accessToken}` } });

    /** A fresh user signed in through `spa` in a new browser. */
    async function freshUser(spa: Client = world.spa) {
      const user = await createUser(server);
      const browser = await signedInUserAgent(server, spa.clientId, CALLBACK, user);
      return { user, browser };
    }
    const suspend = async (userId: string) =>
      assert.equal((await api("PATCH", `/api/v1/user?id=${userId}`, { is_suspended: true })).status, 200);
    const deleteUser = async (userId: string) =>
      assert.equal((await api("DELETE", `/api/v1/user?id=${userId}`)).status, 200);
    const deleteApp = async (clientId: string) =>
      assert.equal((await api("DELETE", `/api/v1/applications/${clientId}`)).status, 200);
    const rotate = async (clientId: string) => {
      const reply = await api<{ client_secret?: string }>(
        "POST",
        `/api/v1/applications/${clientId}/rotate_secret`,
      );
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
    };
    /** Signs out as the user would by following the app's logout link (same-site navigation). */
    const signOut = async (browser: UserAgent) => {
      const reply = await browserRequest(browser, "/logout", {
        headers: { "sec-fetch-site": "same-origin" },
      });
      assert.equal(reply.status, 200, show(reply));
    };
    /** A new authorization request in `browser`: the sign-in form's request id and CSRF token. */
    async function pendingRequest(browser: UserAgent, extra: Record<string, string> = {}) {
      const next = await browser.redirectFrom(
        authorizeUrl(server, world.spa.clientId, pkce().challenge, extra),
      );
      return browser.openForm(new URL(`/auth/sign-in${next.search}`, server.url));
    }
    const browserRequest = async (
      browser: UserAgent,
      path: string,
      init: RequestInit = {},
    ): Promise<Reply> => {
      const response = await browser.request(path, init);
      const text = await response.text();
      return { status: response.status, headers: response.headers, text, json: undefined };
    };
    const browserForm = (browser: UserAgent, path: string, fields: Record<string, string>) =>
      browserRequest(browser, path, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(fields),
      });
    async function newConnectedApp(): Promise<string> {
      const key = `gh-${randomBytes(4).toString("hex")}`;
      const created = await api("POST", "/api/v1/connected_apps", {
        key_code_ref: key,
        provider: "github",
        client_id: "gh",
        client_secret: "gh-secret",
        callback_url: "https://app.example.com/connected",
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      return key;
    }
    async function authLink(key: string, userId: string): Promise<{ url: string; sessionId: string }> {
      const reply = await api<{ url: string; session_id: string }>(
        "GET",
        `/api/v1/connected_apps/auth_url?key_code_ref=${key}&user_id=${userId}`,
      );
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      return { url: reply.body.url, sessionId: reply.body.session_id };
    }
    /** Follows a link in a signed-in browser to the provider: the state Latchkey sent. */
    async function toProvider(browser: UserAgent, url: string): Promise<string> {
      const location = await browser.redirectFrom(url);
      assert.equal(location.hostname, "github.com", location.href);
      return location.searchParams.get("state")!;
    }

    // ---- authorization endpoint ----------------------------------------------------------------
    const authorizeCases: Case[] = [
      [
        "authorize for a deleted application → 400 error page, no redirect",
        async () => {
          const app = await createApplication(server, "spa");
          await deleteApp(app.clientId);
          expectPage(await get(authorizeUrl(server, app.clientId, pkce().challenge).href), 400);
        },
      ],
      [
        "authorize after the callback URL was removed from the application → 400 error page",
        async () => {
          const app = await createApplication(server, "reg");
          const removed = await api(
            "DELETE",
            `/api/v1/applications/${app.clientId}/auth_redirect_urls?urls=${encodeURIComponent(CALLBACK)}`,
          );
          assert.equal(removed.status, 200, JSON.stringify(removed.body));
          expectPage(await get(authorizeUrl(server, app.clientId, pkce().challenge).href), 400);
        },
      ],
      [
        "a suspended user's session cookie gets no code: sent to sign in again",
        async () => {
          const { user, browser } = await freshUser();
          await suspend(user.id);
          const reply = await browserRequest(
            browser,
            authorizeUrl(server, world.spa.clientId, pkce().challenge).href,
          );
          assert.equal(reply.status, 302, show(reply));
          assert.match(reply.headers.get("location") ?? "", /^\/auth\/sign-in\?request=/);
        },
      ],
      [
        "a deleted user's session cookie gets no code: sent to sign in again",
        async () => {
          const { user, browser } = await freshUser();
          await deleteUser(user.id);
          const reply = await browserRequest(
            browser,
            authorizeUrl(server, world.spa.clientId, pkce().challenge).href,
          );
          assert.equal(reply.status, 302, show(reply));
          assert.match(reply.headers.get("location") ?? "", /^\/auth\/sign-in\?request=/);
        },
      ],
      [
        "prompt=none with a suspended user's session → login_required redirect",
        async () => {
          const { user, browser } = await freshUser();
          await suspend(user.id);
          const url = authorizeUrl(server, world.spa.clientId, pkce().challenge, { prompt: "none" });
          expectRedirectError(await browserRequest(browser, url.href), "login_required", server.url);
        },
      ],
      [
        "prompt=none after the session's own logout → login_required redirect",
        async () => {
          const { browser } = await freshUser();
          await signOut(browser);
          const url = authorizeUrl(server, world.spa.clientId, pkce().challenge, { prompt: "none" });
          expectRedirectError(await browserRequest(browser, url.href), "login_required", server.url);
        },
      ],
      [
        "a 4097-character nonce → invalid_request redirect",
        async () => {
          const url = authorizeUrl(server, world.spa.clientId, pkce().challenge, { nonce: "n".repeat(4097) });
          expectRedirectError(await get(url.href), "invalid_request", server.url);
        },
      ],
      [
        "a 4097-character scope → invalid_request redirect",
        async () => {
          const url = authorizeUrl(server, world.spa.clientId, pkce().challenge, {
            scope: `openid ${"s".repeat(4090)}`,
          });
          expectRedirectError(await get(url.href), "invalid_request", server.url);
        },
      ],
      [
        "a code_challenge with characters outside base64url ('.') → invalid_request redirect",
        async () => {
          const url = authorizeUrl(server, world.spa.clientId, `${pkce().challenge.slice(0, 42)}.`);
          expectRedirectError(await get(url.href), "invalid_request", server.url);
        },
      ],
      [
        "code_challenge_method=s256 (wrong case) → invalid_request redirect",
        async () => {
          const url = authorizeUrl(server, world.spa.clientId, pkce().challenge, {
            code_challenge_method: "s256",
          });
          expectRedirectError(await get(url.href), "invalid_request", server.url);
        },
      ],
      [
        "a JSON POST to the authorization endpoint is not a form → 400, nothing issued",
        async () => {
          const reply = await send(`${server.url}/oauth2/auth`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ client_id: world.spa.clientId, response_type: "code" }),
          });
          assert.equal(reply.status, 400, show(reply));
          assert.equal(reply.headers.get("location"), null);
        },
      ],
    ];

    // ---- token endpoint --------------------------------------------------------------------------
    const tokenCases: Case[] = [
      [
        "a code redeemed after its user was suspended → invalid_grant",
        async () => {
          const { user, browser } = await freshUser();
          const grant = await codeFrom(server, browser, world.spa.clientId);
          await suspend(user.id);
          expectOAuth(await exchange(world.spa, grant), 400, "invalid_grant");
        },
      ],
      [
        "a code redeemed after its user was deleted → invalid_grant",
        async () => {
          const { user, browser } = await freshUser();
          const grant = await codeFrom(server, browser, world.spa.clientId);
          await deleteUser(user.id);
          expectOAuth(await exchange(world.spa, grant), 400, "invalid_grant");
        },
      ],
      [
        "a code redeemed after its application was deleted → 401 invalid_client",
        async () => {
          const app = await createApplication(server, "spa");
          const { browser } = await freshUser(app);
          const grant = await codeFrom(server, browser, app.clientId);
          await deleteApp(app.clientId);
          expectOAuth(await exchange(app, grant), 401, "invalid_client");
        },
      ],
      [
        "a code redeemed after the session that made it signed out → invalid_grant",
        async () => {
          const { browser } = await freshUser();
          const grant = await codeFrom(server, browser, world.spa.clientId);
          await signOut(browser);
          expectOAuth(await exchange(world.spa, grant), 400, "invalid_grant");
        },
      ],
      [
        "a refresh after the user was suspended → invalid_grant",
        async () => {
          const { user, browser } = await freshUser();
          const tokens = await userTokens(server, browser, world.spa);
          await suspend(user.id);
          expectOAuth(await refresh(world.spa, tokens.refresh), 400, "invalid_grant");
        },
      ],
      [
        "a refresh after the user was deleted → invalid_grant",
        async () => {
          const { user, browser } = await freshUser();
          const tokens = await userTokens(server, browser, world.spa);
          await deleteUser(user.id);
          expectOAuth(await refresh(world.spa, tokens.refresh), 400, "invalid_grant");
        },
      ],
      [
        "a refresh after the application was deleted → 401 invalid_client",
        async () => {
          const app = await createApplication(server, "spa");
          const { browser } = await freshUser(app);
          const tokens = await userTokens(server, browser, app);
          await deleteApp(app.clientId);
          expectOAuth(await refresh(app, tokens.refresh), 401, "invalid_client");
        },
      ],
      [
        "a refresh with the secret from before a rotation → 401 invalid_client",
        async () => {
          const app = await createApplication(server, "reg");
          const { browser } = await freshUser();
          const grant = await codeFrom(server, browser, app.clientId);
          const first = await exchange(app, grant);
          assert.equal(first.status, 200, first.text);
          await rotate(app.clientId);
          expectOAuth(
            await refresh(app, (first.json as { refresh_token: string }).refresh_token),
            401,
            "invalid_client",
          );
        },
      ],
      [
        "client_credentials with the secret from before a rotation → 401 invalid_client",
        async () => {
          const app = await createApplication(server, "m2m");
          await rotate(app.clientId);
          expectOAuth(await m2mToken(app, { audience: "" }), 401, "invalid_client");
        },
      ],
      [
        "client_credentials by a deleted application → 401 invalid_client",
        async () => {
          const app = await createApplication(server, "m2m");
          await deleteApp(app.clientId);
          expectOAuth(await m2mToken(app, { audience: "" }), 401, "invalid_client");
        },
      ],
      [
        "client_credentials with the secret plus a trailing space → 401 invalid_client",
        async () =>
          expectOAuth(
            await m2mToken({ ...world.m2m, clientSecret: `${world.m2m.clientSecret} ` }),
            401,
            "invalid_client",
          ),
      ],
      [
        "client_credentials with the secret in another case → 401 invalid_client",
        async () => {
          const secret = world.m2m.clientSecret!;
          const flipped = secret === secret.toUpperCase() ? secret.toLowerCase() : secret.toUpperCase();
          expectOAuth(await m2mToken({ ...world.m2m, clientSecret: flipped }), 401, "invalid_client");
        },
      ],
      [
        "client_credentials with another application's secret → 401 invalid_client",
        async () =>
          expectOAuth(
            await m2mToken({ ...world.m2m, clientSecret: server.management.clientSecret }),
            401,
            "invalid_client",
          ),
      ],
      [
        "client_credentials with a truncated secret → 401 invalid_client",
        async () =>
          expectOAuth(
            await m2mToken({ ...world.m2m, clientSecret: world.m2m.clientSecret!.slice(0, -1) }),
            401,
            "invalid_client",
          ),
      ],
      [
        "client_credentials with Basic and an empty secret → 401 invalid_client",
        async () =>
          expectOAuth(
            await token(
              { grant_type: "client_credentials" },
              { authorization: basic(world.m2m.clientId, "") },
            ),
            401,
            "invalid_client",
          ),
      ],
      [
        "a client assertion (private_key_jwt) instead of a secret → 401 invalid_client",
        async () =>
          expectOAuth(
            await token({
              grant_type: "client_credentials",
              client_id: world.m2m.clientId,
              client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
              client_assertion: "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
            }),
            401,
            "invalid_client",
          ),
      ],
      ...[
        "CLIENT_CREDENTIALS",
        "client_credentials ",
        "urn:ietf:params:oauth:grant-type:token-exchange",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
      ].map(
        (grantType): Case => [
          `grant_type=${grantType.trim()}${grantType.endsWith(" ") ? " (trailing space)" : ""} → unsupported_grant_type`,
          async () =>
            expectOAuth(
              await token({
                grant_type: grantType,
                client_id: world.m2m.clientId,
                client_secret: world.m2m.clientSecret!,
              }),
              400,
              "unsupported_grant_type",
            ),
        ],
      ),
      [
        // RFC 8628 §3.4: the grant exists now; a machine (not a device application) may not use it.
        "grant_type=urn:ietf:params:oauth:grant-type:device_code from a machine → unauthorized_client",
        async () =>
          expectOAuth(
            await token({
              grant_type: "urn:ietf:params:oauth:grant-type:device_code",
              client_id: world.m2m.clientId,
              client_secret: world.m2m.clientSecret!,
              device_code: "x",
            }),
            400,
            "unauthorized_client",
          ),
      ],
      [
        "a refresh token with one character appended → invalid_grant",
        async () => expectOAuth(await refresh(world.spa, `${world.tokens.refresh}A`), 400, "invalid_grant"),
      ],
      [
        "a truncated refresh token → invalid_grant",
        async () =>
          expectOAuth(await refresh(world.spa, world.tokens.refresh.slice(0, -2)), 400, "invalid_grant"),
      ],
      [
        "an ID token presented as a refresh token → invalid_grant",
        async () => expectOAuth(await refresh(world.spa, world.tokens.id), 400, "invalid_grant"),
      ],
      [
        "a code with one character appended → invalid_grant",
        async () => {
          const grant = await codeFrom(server, world.browser, world.spa.clientId);
          expectOAuth(await exchange(world.spa, { ...grant, code: `${grant.code}A` }), 400, "invalid_grant");
        },
      ],
      [
        "a code in another case → invalid_grant",
        async () => {
          const grant = await codeFrom(server, world.browser, world.spa.clientId);
          const flipped =
            grant.code === grant.code.toUpperCase() ? grant.code.toLowerCase() : grant.code.toUpperCase();
          expectOAuth(await exchange(world.spa, { ...grant, code: flipped }), 400, "invalid_grant");
        },
      ],
      [
        "a public client's code exchanged without client_id → 401 invalid_client",
        async () => {
          const grant = await codeFrom(server, world.browser, world.spa.clientId);
          const reply = await token({
            grant_type: "authorization_code",
            code: grant.code,
            redirect_uri: CALLBACK,
            code_verifier: grant.verifier,
          });
          expectOAuth(reply, 401, "invalid_client");
        },
      ],
      [
        "a code of a public client redeemed by a confidential client with its secret → invalid_grant",
        async () => {
          const grant = await codeFrom(server, world.browser, world.spa.clientId);
          expectOAuth(await exchange(world.reg, grant), 400, "invalid_grant");
        },
      ],
    ];

    // ---- revocation, introspection, userinfo ------------------------------------------------------
    const tokenStateCases: Case[] = [
      [
        "introspection with the secret from before a rotation → 401 invalid_client",
        async () => {
          const app = await createApplication(server, "m2m");
          await rotate(app.clientId);
          expectOAuth(await introspect(world.tokens.access, app), 401, "invalid_client");
        },
      ],
      [
        "introspection by a deleted application → 401 invalid_client",
        async () => {
          const app = await createApplication(server, "m2m");
          await deleteApp(app.clientId);
          expectOAuth(await introspect(world.tokens.access, app), 401, "invalid_client");
        },
      ],
      [
        "revocation with a wrong secret → 401 invalid_client",
        async () =>
          expectOAuth(
            await postForm(
              "/oauth2/revoke",
              { token: world.tokens.access },
              { authorization: basic(world.m2m.clientId, "wrong") },
            ),
            401,
            "invalid_client",
          ),
      ],
      [
        "a suspended user's access token is inactive at introspection",
        async () => {
          const { user, browser } = await freshUser();
          // A confidential client's token, so the caller is a party to it (RFC 7662 §4).
          const tokens = await userTokens(server, browser, world.reg);
          const control = await introspect(tokens.access, world.reg);
          assert.equal((control.json as { active: boolean }).active, true, show(control));
          await suspend(user.id);
          const reply = await introspect(tokens.access, world.reg);
          assert.equal(reply.status, 200, show(reply));
          assert.deepEqual(reply.json, { active: false });
        },
      ],
      [
        "a deleted user's access token is inactive at introspection",
        async () => {
          const { user, browser } = await freshUser();
          // A confidential client's token, so the caller is a party to it (RFC 7662 §4).
          const tokens = await userTokens(server, browser, world.reg);
          const control = await introspect(tokens.access, world.reg);
          assert.equal((control.json as { active: boolean }).active, true, show(control));
          await deleteUser(user.id);
          const reply = await introspect(tokens.access, world.reg);
          assert.equal(reply.status, 200, show(reply));
          assert.deepEqual(reply.json, { active: false });
        },
      ],
      [
        "a deleted user's access token at user_profile → 401 invalid_token",
        async () => {
          const { user, browser } = await freshUser();
          const tokens = await userTokens(server, browser, world.spa);
          await deleteUser(user.id);
          expectOAuth(await userinfo(tokens.access), 401, "invalid_token");
        },
      ],
      [
        "a token over 16 KiB at introspection → 400 invalid_request",
        async () => expectOAuth(await introspect("t".repeat(16_385)), 400, "invalid_request"),
      ],
      [
        "introspecting a Management API token (longer than 4 KiB with every scope) works: active",
        async () => {
          const reply = await introspect(world.managementToken, server.management);
          assert.equal(reply.status, 200, show(reply));
          assert.equal((reply.json as { active: boolean }).active, true, show(reply));
        },
      ],
      [
        "introspection by GET → 405 invalid_request, never a token answer",
        async () => {
          const reply = await get(`/oauth2/introspect?token=${world.tokens.access}`, {
            headers: { authorization: basic(world.m2m.clientId, world.m2m.clientSecret!) },
          });
          expectOAuth(reply, 405, "invalid_request");
        },
      ],
      [
        "a refresh token revoked through /oauth2/revoke → invalid_grant at the token endpoint",
        async () => {
          const { browser } = await freshUser();
          const tokens = await userTokens(server, browser, world.spa);
          const revoked = await postForm("/oauth2/revoke", {
            token: tokens.refresh,
            client_id: world.spa.clientId,
          });
          assert.equal(revoked.status, 200, show(revoked));
          expectOAuth(await refresh(world.spa, tokens.refresh), 400, "invalid_grant");
        },
      ],
      [
        "the access token from a reused-code exchange is revoked at user_profile → 401 invalid_token",
        async () => {
          const grant = await codeFrom(server, world.browser, world.spa.clientId);
          const first = await exchange(world.spa, grant);
          assert.equal(first.status, 200, first.text);
          expectOAuth(await exchange(world.spa, grant), 400, "invalid_grant");
          expectOAuth(
            await userinfo((first.json as { access_token: string }).access_token),
            401,
            "invalid_token",
          );
        },
      ],
    ];

    // ---- Management API --------------------------------------------------------------------------
    const managementApiId = async () => {
      const apis = await api<{ apis: { id: string; audience: string }[] }>("GET", "/api/v1/apis");
      return apis.body.apis.find((a) => a.audience === `${server.url}/api`)!.id;
    };
    const ssrfCases: Case[] = [
      "http://169.254.169.254/latest/meta-data/",
      "http://10.0.0.1/token",
      "http://192.168.1.1/token",
      "http://localhost/token",
      "http://[::1]/token",
      "http://0.0.0.0/token",
      "http://127.1/token",
      "http://[::ffff:127.0.0.1]/token",
      "file:///etc/passwd",
      "gopher://127.0.0.1:6379/_INFO",
    ].map(
      (tokenUrl): Case => [
        `a connected app whose token URL is ${tokenUrl} (SSRF) → 400 INVALID_URL`,
        async () =>
          expectApi(
            await api("POST", "/api/v1/connected_apps", {
              key_code_ref: `ssrf-${randomBytes(3).toString("hex")}`,
              provider: "oauth2",
              client_id: "c",
              client_secret: "s",
              callback_url: "https://app.example.com/connected",
              settings: { authorization_url: "https://auth.example.com/authorize", token_url: tokenUrl },
            }),
            400,
            "INVALID_URL",
          ),
      ],
    );
    const managementCases: Case[] = [
      [
        "deleting the Management API itself → 400 MANAGEMENT_API_PROTECTED",
        async () =>
          expectApi(
            await api("DELETE", `/api/v1/apis/${await managementApiId()}`),
            400,
            "MANAGEMENT_API_PROTECTED",
          ),
      ],
      [
        "adding a scope to the Management API → 400 MANAGEMENT_API_PROTECTED",
        async () =>
          expectApi(
            await api("POST", `/api/v1/apis/${await managementApiId()}/scopes`, { key: "admin:all" }),
            400,
            "MANAGEMENT_API_PROTECTED",
          ),
      ],
      [
        "an API with an existing audience → 409 API_EXISTS",
        async () =>
          expectApi(
            await api("POST", "/api/v1/apis", { name: "Dup", audience: API_AUDIENCE }),
            409,
            "API_EXISTS",
          ),
      ],
      [
        "an API whose audience carries a fragment → 400 INVALID_AUDIENCE",
        async () =>
          expectApi(
            await api("POST", "/api/v1/apis", { name: "Frag", audience: "https://api.example.com/#x" }),
            400,
            "INVALID_AUDIENCE",
          ),
      ],
      [
        "an API whose audience has a space → 400 INVALID_AUDIENCE",
        async () =>
          expectApi(
            await api("POST", "/api/v1/apis", { name: "Space", audience: "https://api.example.com/a b" }),
            400,
            "INVALID_AUDIENCE",
          ),
      ],
      [
        "a scope key with spaces → 400 INVALID_SCOPE_KEY",
        async () => {
          const apiId = world.victims.api_id![0]!;
          expectApi(
            await api("POST", `/api/v1/apis/${apiId}/scopes`, { key: "read all" }),
            400,
            "INVALID_SCOPE_KEY",
          );
        },
      ],
      [
        "a duplicate scope key → 409 SCOPE_EXISTS",
        async () => {
          const apiId = world.victims.api_id![0]!;
          const key = `k${randomBytes(3).toString("hex")}`;
          assert.equal((await api("POST", `/api/v1/apis/${apiId}/scopes`, { key })).status, 200);
          expectApi(await api("POST", `/api/v1/apis/${apiId}/scopes`, { key }), 409, "SCOPE_EXISTS");
        },
      ],
      [
        "granting a scope to an application not authorized for the API → 400 APPLICATION_NOT_AUTHORIZED",
        async () => {
          const apiId = world.victims.api_id![0]!;
          const scopeId = world.victims.scope_id![0]!;
          expectApi(
            await api("POST", `/api/v1/apis/${apiId}/applications/${world.reg.clientId}/scopes/${scopeId}`),
            400,
            "APPLICATION_NOT_AUTHORIZED",
          );
        },
      ],
      [
        "authorizing an unknown application for an API → 400 APPLICATION_NOT_FOUND",
        async () => {
          const apiId = world.victims.api_id![0]!;
          expectApi(
            await api("PATCH", `/api/v1/apis/${apiId}/applications`, {
              applications: [{ id: randomBytes(16).toString("hex") }],
            }),
            400,
            "APPLICATION_NOT_FOUND",
          );
        },
      ],
      [
        "a user with an existing email in another case → 409 USER_EXISTS",
        async () =>
          expectApi(
            await api("POST", "/api/v1/user", {
              identities: [{ type: "email", details: { email: world.user.email.toUpperCase() } }],
            }),
            409,
            "USER_EXISTS",
          ),
      ],
      [
        "a user with a malformed email → 400 INVALID_EMAIL",
        async () =>
          expectApi(
            await api("POST", "/api/v1/user", {
              identities: [{ type: "email", details: { email: "a@b@c" } }],
            }),
            400,
            "INVALID_EMAIL",
          ),
      ],
      [
        "deleting an unknown user → 404 USER_NOT_FOUND",
        async () =>
          expectApi(
            await api("DELETE", `/api/v1/user?id=kp_${randomBytes(16).toString("hex")}`),
            404,
            "USER_NOT_FOUND",
          ),
      ],
      [
        "an unknown password hashing method → 400 HASHING_METHOD_NOT_SUPPORTED",
        async () =>
          expectApi(
            await api("PUT", `/api/v1/users/${world.victims.user_id![0]}/password`, {
              hashed_password: "5f4dcc3b5aa765d61d8327deb882cf99",
              hashing_method: "sha1",
            }),
            400,
            "HASHING_METHOD_NOT_SUPPORTED",
          ),
      ],
      [
        "a malformed bcrypt hash → 400 INVALID_PASSWORD_HASH",
        async () =>
          expectApi(
            await api("PUT", `/api/v1/users/${world.victims.user_id![0]}/password`, {
              hashed_password: "$2b$10$tooshort",
              hashing_method: "bcrypt",
            }),
            400,
            "INVALID_PASSWORD_HASH",
          ),
      ],
      [
        "an identity that already exists on the user → 409 IDENTITY_EXISTS",
        async () =>
          expectApi(
            await api("POST", `/api/v1/users/${world.user.id}/identities`, {
              type: "email",
              value: world.user.email,
            }),
            409,
            "IDENTITY_EXISTS",
          ),
      ],
      [
        "an identity of an unknown type → 400 INVALID_REQUEST",
        async () =>
          expectApi(
            await api("POST", `/api/v1/users/${world.user.id}/identities`, { type: "saml", value: "x" }),
            400,
            "INVALID_REQUEST",
          ),
      ],
      [
        "an identity of a type Latchkey does not support (enterprise) → 400 IDENTITY_TYPE_NOT_SUPPORTED",
        async () =>
          expectApi(
            await api("POST", `/api/v1/users/${world.user.id}/identities`, {
              type: "enterprise",
              value: "x",
            }),
            400,
            "IDENTITY_TYPE_NOT_SUPPORTED",
          ),
      ],
      [
        "an Idempotency-Key reused with another body → 422 IDEMPOTENCY_KEY_REUSED, nothing created",
        async () => {
          const key = randomBytes(8).toString("hex");
          const first = await api(
            "POST",
            "/api/v1/apis",
            { name: "Idem", audience: `https://idem-${key}.example` },
            { "idempotency-key": key },
          );
          assert.equal(first.status, 200, JSON.stringify(first.body));
          expectApi(
            await api(
              "POST",
              "/api/v1/apis",
              { name: "Idem", audience: `https://other-${key}.example` },
              { "idempotency-key": key },
            ),
            422,
            "IDEMPOTENCY_KEY_REUSED",
          );
        },
      ],
      [
        "an Idempotency-Key reused on another route → 422 IDEMPOTENCY_KEY_REUSED",
        async () => {
          const key = randomBytes(8).toString("hex");
          const first = await api(
            "POST",
            "/api/v1/apis",
            { name: "Idem2", audience: `https://idem2-${key}.example` },
            { "idempotency-key": key },
          );
          assert.equal(first.status, 200, JSON.stringify(first.body));
          expectApi(
            await api("POST", "/api/v1/applications", { name: "x", type: "reg" }, { "idempotency-key": key }),
            422,
            "IDEMPOTENCY_KEY_REUSED",
          );
        },
      ],
      [
        "an Idempotency-Key of 300 characters → 400 INVALID_REQUEST",
        async () =>
          expectApi(
            await api(
              "POST",
              "/api/v1/applications",
              { name: "x", type: "reg" },
              { "idempotency-key": "k".repeat(300) },
            ),
            400,
            "INVALID_REQUEST",
          ),
      ],
      [
        "an Idempotency-Key with non-ASCII bytes → 400 INVALID_REQUEST",
        async () =>
          expectApi(
            await api(
              "POST",
              "/api/v1/applications",
              { name: "x", type: "reg" },
              { "idempotency-key": "clé-é" },
            ),
            400,
            "INVALID_REQUEST",
          ),
      ],
      [
        "an application whose callback is javascript: → 400 INVALID_URL",
        async () => {
          const app = await createApplication(server, "reg");
          expectApi(
            await api("POST", `/api/v1/applications/${app.clientId}/auth_redirect_urls`, {
              urls: ["javascript:alert(1)"],
            }),
            400,
            "INVALID_URL",
          );
        },
      ],
      [
        "a callback URL with a fragment (RFC 6749 §3.1.2) → 400 INVALID_URL",
        async () => {
          const app = await createApplication(server, "reg");
          expectApi(
            await api("POST", `/api/v1/applications/${app.clientId}/auth_redirect_urls`, {
              urls: ["https://app.example.com/cb#x"],
            }),
            400,
            "INVALID_URL",
          );
        },
      ],
      [
        "an application of an unknown type → 400 APPLICATION_TYPE_NOT_SUPPORTED",
        async () =>
          expectApi(
            await api("POST", "/api/v1/applications", { name: "x", type: "admin" }),
            400,
            "APPLICATION_TYPE_NOT_SUPPORTED",
          ),
      ],
      [
        "an access-token lifetime under a minute → 400 INVALID_REQUEST",
        async () =>
          expectApi(
            await api("PATCH", `/api/v1/applications/${world.victims.app_id![0]}/tokens`, {
              access_token_lifetime: 59,
            }),
            400,
            "INVALID_REQUEST",
          ),
      ],
      [
        "a connected app with an unknown provider → 400 INVALID_PROVIDER",
        async () =>
          expectApi(
            await api("POST", "/api/v1/connected_apps", {
              key_code_ref: "nope-app",
              provider: "nope",
              client_id: "c",
              client_secret: "s",
              callback_url: "https://app.example.com/connected",
            }),
            400,
            "INVALID_PROVIDER",
          ),
      ],
      [
        "a connected app with a reserved key_code_ref (token) → 400 INVALID_REQUEST",
        async () =>
          expectApi(
            await api("POST", "/api/v1/connected_apps", {
              key_code_ref: "token",
              provider: "github",
              client_id: "c",
              client_secret: "s",
              callback_url: "https://app.example.com/connected",
            }),
            400,
            "INVALID_REQUEST",
          ),
      ],
      [
        "a duplicate connected app key_code_ref → 409 CONNECTED_APP_EXISTS",
        async () =>
          expectApi(
            await api("POST", "/api/v1/connected_apps", {
              key_code_ref: world.connectedApp.keyCodeRef,
              provider: "github",
              client_id: "c",
              client_secret: "s",
              callback_url: "https://app.example.com/connected",
            }),
            409,
            "CONNECTED_APP_EXISTS",
          ),
      ],
      [
        "an auth URL with an unregistered override_callback_url → 400 INVALID_URL",
        async () =>
          expectApi(
            await api(
              "GET",
              `/api/v1/connected_apps/auth_url?key_code_ref=${world.connectedApp.keyCodeRef}&user_id=${world.user.id}&override_callback_url=${encodeURIComponent("https://evil.example/steal")}`,
            ),
            400,
            "INVALID_URL",
          ),
      ],
      [
        "an auth URL for an unknown user → 404 USER_NOT_FOUND",
        async () =>
          expectApi(
            await api(
              "GET",
              `/api/v1/connected_apps/auth_url?key_code_ref=${world.connectedApp.keyCodeRef}&user_id=kp_nobody`,
            ),
            404,
            "USER_NOT_FOUND",
          ),
      ],
      [
        "an auth URL for an unknown connected app → 404 CONNECTED_APP_NOT_FOUND",
        async () =>
          expectApi(
            await api("GET", `/api/v1/connected_apps/auth_url?key_code_ref=nope&user_id=${world.user.id}`),
            404,
            "CONNECTED_APP_NOT_FOUND",
          ),
      ],
      [
        "a token for a connection the user never completed → 400 CONNECTION_NOT_READY",
        async () => {
          const link = await authLink(world.connectedApp.keyCodeRef, world.user.id);
          expectApi(
            await api("GET", `/api/v1/connected_apps/token?session_id=${encodeURIComponent(link.sessionId)}`),
            400,
            "CONNECTION_NOT_READY",
          );
        },
      ],
      [
        "revoking an unknown connection → 400 SESSION_NOT_FOUND",
        async () =>
          expectApi(
            await api("POST", "/api/v1/connected_apps/revoke?session_id=nope"),
            400,
            "SESSION_NOT_FOUND",
          ),
      ],
      ...ssrfCases,
    ];

    // ---- hosted pages: framing, cookies, CSRF, throttling, open redirects --------------------------
    const pageCases: Case[] = [
      ...(
        [
          [
            "the sign-in page",
            async () => `/auth/sign-in?request=${(await pendingRequest(new UserAgent(server.url))).request}`,
          ],
          [
            "the sign-up page",
            async () => `/auth/sign-up?request=${(await pendingRequest(new UserAgent(server.url))).request}`,
          ],
          ["the authorization error page", async () => "/oauth2/auth?client_id=nope"],
          ["the signed-out page", async () => "/logout"],
          ["the expired-request page", async () => "/auth/sign-in?request=expired"],
          [
            "the connected-app sign-in page",
            async () =>
              new URL((await authLink(world.connectedApp.keyCodeRef, world.user.id)).url).pathname +
              new URL((await authLink(world.connectedApp.keyCodeRef, world.user.id)).url).search,
          ],
        ] as const
      ).map(
        ([what, path]): Case => [
          `${what} cannot be framed (X-Frame-Options DENY, frame-ancestors 'none') and is not cached`,
          async () => expectNoFraming(await get(await path())),
        ],
      ),
      [
        "the CSRF cookie is HttpOnly, SameSite=Lax, Path=/",
        async () => {
          const { request } = await pendingRequest(new UserAgent(server.url));
          const response = await fetch(`${server.url}/auth/sign-in?request=${request}`);
          const cookie = response.headers.getSetCookie().find((c) => c.startsWith("latchkey_csrf="));
          assert.ok(cookie, "a CSRF cookie is set");
          assert.match(cookie, /; HttpOnly/i);
          assert.match(cookie, /; SameSite=Lax/i);
          assert.match(cookie, /; Path=\//i);
          assert.doesNotMatch(cookie, /; Domain=/i);
        },
      ],
      [
        "POST /auth/continue without the CSRF token → 400 page, no code",
        async () => {
          const browser = new UserAgent(server.url);
          const request = (await pendingRequest(browser)).request ?? "";
          expectPage(await browserForm(browser, "/auth/continue", { request }), 400);
        },
      ],
      [
        "POST /auth/connect without the CSRF token → 400 page, no redirect to a provider",
        async () => {
          const browser = new UserAgent(server.url);
          const request = (await pendingRequest(browser)).request ?? "";
          expectPage(
            await browserForm(browser, "/auth/connect", {
              request,
              key_code_ref: world.connectedApp.keyCodeRef,
            }),
            400,
          );
        },
      ],
      [
        "GET /auth/continue for a request another browser signed in to → 400 page",
        async () => {
          const victim = new UserAgent(server.url);
          const hidden = await pendingRequest(victim);
          const signedIn = await browserForm(victim, "/auth/sign-in", {
            ...hidden,
            email: world.user.email,
            password: world.user.password,
          });
          assert.equal(signedIn.status, 303, show(signedIn));
          const attacker = new UserAgent(server.url);
          expectPage(await browserRequest(attacker, `/auth/continue?request=${hidden.request}`), 400);
        },
      ],
      [
        "sign-up with an existing email in another case → 400, the same message as any refusal, no session",
        async () => {
          const browser = new UserAgent(server.url);
          const next = await browser.redirectFrom(authorizeUrl(server, world.spa.clientId, pkce().challenge));
          const hidden = await browser.openForm(new URL(`/auth/sign-up${next.search}`, server.url));
          const reply = await browserForm(browser, "/auth/sign-up", {
            ...hidden,
            email: world.user.email.toUpperCase(),
            password: "a perfectly long password 123",
            given_name: "Eve",
            family_name: "X",
          });
          expectPage(reply, 400, /could not create an account/);
          assert.equal(browser.cookie("latchkey_session"), undefined);
        },
      ],
      [
        "sign-up with a malformed email → 400 page, no user",
        async () => {
          const browser = new UserAgent(server.url);
          const next = await browser.redirectFrom(authorizeUrl(server, world.spa.clientId, pkce().challenge));
          const hidden = await browser.openForm(new URL(`/auth/sign-up${next.search}`, server.url));
          const reply = await browserForm(browser, "/auth/sign-up", {
            ...hidden,
            email: "not-an-email",
            password: "a perfectly long password 123",
          });
          expectPage(reply, 400, /valid email/);
        },
      ],
      [
        "sign-up with a too-short password → 400 page, no user",
        async () => {
          const browser = new UserAgent(server.url);
          const next = await browser.redirectFrom(authorizeUrl(server, world.spa.clientId, pkce().challenge));
          const hidden = await browser.openForm(new URL(`/auth/sign-up${next.search}`, server.url));
          const email = `short-${randomBytes(3).toString("hex")}@example.com`;
          expectPage(
            await browserForm(browser, "/auth/sign-up", { ...hidden, email, password: "short" }),
            400,
            /Choose another password/,
          );
          const found = await api<{ users?: unknown[] }>(
            "GET",
            `/api/v1/users?email=${encodeURIComponent(email)}`,
          );
          assert.deepEqual(found.body.users ?? [], []);
        },
      ],
      [
        "a sign-in form POSTed as JSON (no form, no CSRF) → 403 page, no session",
        async () => {
          const browser = new UserAgent(server.url);
          const hidden = await pendingRequest(browser);
          const reply = await browserRequest(browser, "/auth/sign-in", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
              request: hidden.request,
              email: world.user.email,
              password: world.user.password,
            }),
          });
          expectPage(reply, 403);
          assert.equal(browser.cookie("latchkey_session"), undefined);
        },
      ],
      ...[
        "http://localhost:8080/evil",
        "http://localhost:8080/?next=https://evil.example",
        "http://localhost:8080.evil.example/",
        "//evil.example/",
        "http://evil.example@localhost:8080/",
        "javascript:alert(1)",
        "HTTP://LOCALHOST:8080/x",
      ].map(
        (redirect): Case => [
          `/logout?redirect=${redirect} (unregistered) → 400 page, no redirect`,
          async () => expectPage(await get(`/logout?redirect=${encodeURIComponent(redirect)}`), 400),
        ],
      ),
      [
        "a cross-site GET /logout (logout CSRF) → confirmation page, the session stays",
        async () => {
          const { browser } = await freshUser();
          const reply = await browserRequest(browser, "/logout", {
            headers: { "sec-fetch-site": "cross-site" },
          });
          expectPage(reply, 200, /<form[^>]+method="post"/i);
          const again = await browserRequest(
            browser,
            authorizeUrl(server, world.spa.clientId, pkce().challenge, { prompt: "none" }).href,
          );
          assert.match(again.headers.get("location") ?? "", /[?&]code=/, "still signed in");
        },
      ],
      [
        "POST /logout without the CSRF token → 403 page, the session stays",
        async () => {
          const { browser } = await freshUser();
          expectPage(await browserForm(browser, "/logout", {}), 403, /still signed in/);
          const again = await browserRequest(
            browser,
            authorizeUrl(server, world.spa.clientId, pkce().challenge, { prompt: "none" }).href,
          );
          assert.match(again.headers.get("location") ?? "", /[?&]code=/, "still signed in");
        },
      ],
      [
        "/logout with a registered redirect and an unregistered post_logout_redirect_uri → redirect only to the registered one",
        async () => {
          const reply = await get(
            `/logout?redirect=${encodeURIComponent(LOGOUT)}&post_logout_redirect_uri=${encodeURIComponent("https://evil.example/")}`,
          );
          assert.equal(reply.status, 302, show(reply));
          assert.equal(new URL(reply.headers.get("location")!).origin, new URL(LOGOUT).origin);
        },
      ],
      [
        "failed sign-ins on the connected-app form and the sign-in page share one throttle → 429 with Retry-After",
        async () => {
          const { user } = await freshUser();
          const browser = new UserAgent(server.url);
          for (let i = 0; i < 5; i++) {
            const hidden = await pendingRequest(browser);
            const reply = await browserForm(browser, "/auth/sign-in", {
              ...hidden,
              email: user.email,
              password: `wrong-${i}`,
            });
            assert.equal(reply.status, 401, show(reply));
          }
          const link = await authLink(world.connectedApp.keyCodeRef, user.id);
          const token = new URL(link.url).searchParams.get("token")!;
          let last: Reply | undefined;
          for (let i = 0; i < 6; i++) {
            const page = await browserRequest(browser, link.url.replace(server.url, ""));
            const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? "";
            last = await browserForm(browser, "/connected_apps/start", {
              token,
              csrf,
              email: user.email,
              password: `wrong-b${i}`,
            });
          }
          expectPage(last!, 429, /Too many sign-in attempts/);
          assert.ok(Number(last!.headers.get("retry-after")) > 0, "Retry-After");
        },
      ],
    ];

    // ---- connected apps: another user's link, replay, state binding --------------------------------
    const connectedCases: Case[] = [
      [
        "a link opened by another signed-in user → sign-in form naming the other account, no redirect to the provider",
        async () => {
          const link = await authLink(world.connectedApp.keyCodeRef, world.user.id);
          const { browser } = await freshUser();
          const reply = await browserRequest(browser, link.url.replace(server.url, ""));
          expectPage(reply, 200, /created for another account/);
        },
      ],
      [
        "a link POSTed with another user's correct password → 403 page, no redirect",
        async () => {
          const link = await authLink(world.connectedApp.keyCodeRef, world.user.id);
          const other = await createUser(server);
          const browser = new UserAgent(server.url);
          const page = await browserRequest(browser, link.url.replace(server.url, ""));
          const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? "";
          const reply = await browserForm(browser, "/connected_apps/start", {
            token: new URL(link.url).searchParams.get("token")!,
            csrf,
            email: other.email,
            password: other.password,
          });
          expectPage(reply, 403, /created for another account/);
        },
      ],
      [
        "a link POSTed without the CSRF token → 403 page, no session",
        async () => {
          const link = await authLink(world.connectedApp.keyCodeRef, world.user.id);
          const browser = new UserAgent(server.url);
          const reply = await browserForm(browser, "/connected_apps/start", {
            token: new URL(link.url).searchParams.get("token")!,
            email: world.user.email,
            password: world.user.password,
          });
          expectPage(reply, 403);
          assert.equal(browser.cookie("latchkey_session"), undefined);
        },
      ],
      [
        "a link used twice → 400 page the second time",
        async () => {
          const link = await authLink(world.connectedApp.keyCodeRef, world.user.id);
          await toProvider(world.browser, link.url);
          expectPage(await browserRequest(world.browser, link.url.replace(server.url, "")), 400);
        },
      ],
      [
        "a link of a deleted connected app → 400 page",
        async () => {
          const key = await newConnectedApp();
          const link = await authLink(key, world.user.id);
          assert.equal((await api("DELETE", `/api/v1/connected_apps/${key}`)).status, 200);
          expectPage(await browserRequest(world.browser, link.url.replace(server.url, "")), 400);
        },
      ],
      [
        "an expired link (past its lifetime) → 400 page",
        async () => {
          const link = await authLink(world.connectedApp.keyCodeRef, world.user.id);
          offset += 3600;
          try {
            expectPage(await browserRequest(world.browser, link.url.replace(server.url, "")), 400);
          } finally {
            offset -= 3600;
          }
        },
      ],
      [
        "the provider callback without the browser's state cookie → 400 page",
        async () => {
          const link = await authLink(world.connectedApp.keyCodeRef, world.user.id);
          const state = await toProvider(world.browser, link.url);
          expectPage(await get(`/connected_apps/callback?state=${encodeURIComponent(state)}&code=abc`), 400);
        },
      ],
      [
        "the provider callback in another browser (its own state cookie) → 400 page",
        async () => {
          const link = await authLink(world.connectedApp.keyCodeRef, world.user.id);
          const state = await toProvider(world.browser, link.url);
          const { browser: attacker, user: attackerUser } = await freshUser();
          const own = await authLink(world.connectedApp.keyCodeRef, attackerUser.id);
          await toProvider(attacker, own.url);
          expectPage(
            await browserRequest(
              attacker,
              `/connected_apps/callback?state=${encodeURIComponent(state)}&code=abc`,
            ),
            400,
          );
        },
      ],
      [
        "a provider callback replayed after it completed → 400 page",
        async () => {
          const { browser, user } = await freshUser();
          const link = await authLink(world.connectedApp.keyCodeRef, user.id);
          const state = await toProvider(browser, link.url);
          const first = await browserRequest(
            browser,
            `/connected_apps/callback?state=${encodeURIComponent(state)}&error=access_denied`,
          );
          assert.equal(first.status, 302, show(first));
          expectPage(
            await browserRequest(
              browser,
              `/connected_apps/callback?state=${encodeURIComponent(state)}&error=access_denied`,
            ),
            400,
          );
        },
      ],
      [
        "a connection refused at the provider hands out no token → 400 CONNECTION_NOT_READY",
        async () => {
          const { browser, user } = await freshUser();
          const link = await authLink(world.connectedApp.keyCodeRef, user.id);
          const state = await toProvider(browser, link.url);
          await browserRequest(
            browser,
            `/connected_apps/callback?state=${encodeURIComponent(state)}&error=access_denied`,
          );
          const reply = await api(
            "GET",
            `/api/v1/connected_apps/token?session_id=${encodeURIComponent(link.sessionId)}`,
          );
          assert.equal(reply.status, 400, JSON.stringify(reply.body));
        },
      ],
    ];

    const all: Case[] = [
      ...authorizeCases,
      ...tokenCases,
      ...tokenStateCases,
      ...managementCases,
      ...pageCases,
      ...connectedCases,
    ];
    it(`has at least ${MIN_CASES} attacks of its own`, () => {
      assert.ok(all.length >= MIN_CASES, `only ${all.length} cases`);
      assert.equal(new Set(all.map(([name]) => name)).size, all.length, "case names are unique");
    });
    for (const [name, run] of all) it(name, run);
  });
}

describe("cookie flags over HTTPS (__Host- prefix, Secure)", () => {
  let server: TestServer | undefined;
  after(async () => server?.close());

  it("the CSRF and session cookies are __Host-, Secure, HttpOnly, SameSite=Lax, Path=/ without Domain; HSTS is sent", async () => {
    const certificate = selfSignedCertificate();
    server = await startTestServer("sqlite", {
      tls: { certFile: certificate.certFile, keyFile: certificate.keyFile },
    });
    const spa = await createApplication(server, "spa");
    const user = await createUser(server);
    const start = await server.app.inject({
      method: "GET",
      url:
        authorizeUrl(server, spa.clientId, pkce().challenge).pathname +
        authorizeUrl(server, spa.clientId, pkce().challenge).search,
    });
    assert.equal(start.statusCode, 302, start.body);
    const page = await server.app.inject({ method: "GET", url: start.headers.location as string });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers["strict-transport-security"]), /max-age=\d+/);
    const csrfCookie = ([] as string[])
      .concat(page.headers["set-cookie"] ?? [])
      .find((c) => c.startsWith("__Host-latchkey_csrf="));
    assert.ok(csrfCookie, "__Host- CSRF cookie");
    const hidden = Object.fromEntries(
      [...page.body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [
        m[1],
        m[2],
      ]),
    );
    const posted = await server.app.inject({
      method: "POST",
      url: "/auth/sign-in",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: csrfCookie.split(";")[0]! },
      payload: new URLSearchParams({ ...hidden, email: user.email, password: user.password }).toString(),
    });
    assert.equal(posted.statusCode, 303, posted.body);
    const sessionCookie = ([] as string[])
      .concat(posted.headers["set-cookie"] ?? [])
      .find((c) => c.startsWith("__Host-latchkey_session="));
    assert.ok(sessionCookie, "__Host- session cookie");
    for (const cookie of [csrfCookie, sessionCookie]) {
      assert.match(cookie, /; Secure/i, cookie);
      assert.match(cookie, /; HttpOnly/i, cookie);
      assert.match(cookie, /; SameSite=Lax/i, cookie);
      assert.match(cookie, /; Path=\/(;|$)/i, cookie);
      assert.doesNotMatch(cookie, /; Domain=/i, cookie);
    }
  });
});
