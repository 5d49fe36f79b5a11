// Negative tests for the hosted sign-in, sign-up and logout pages: CSRF, account enumeration,
// throttling (ASVS 6.3), replayed and expired forms, open redirects at logout (RFC 9700 §4.11.2)
// and logout ending the session's grants.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { Clock } from "../../src/clock.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser, LOGOUT } from "../helpers/fixtures.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";

const SESSION_COOKIE = "latchkey_session";
const FORM = { "content-type": "application/x-www-form-urlencoded" };

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

function formError(html: string): string | undefined {
  return /<p class="error"[^>]*>([^<]*)<\/p>/.exec(html)?.[1];
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`sign-in pages negative cases (${kind})`, { skip }, () => {
    let server: TestServer;
    let offset = 0;
    const clock: Clock = { now: () => Math.floor(Date.now() / 1000) + offset };
    let spa: { clientId: string };

    function authUrl(extra: Record<string, string> = {}): { url: URL; verifier: string } {
      const { verifier, challenge } = pkce();
      const url = new URL("/oauth2/auth", server.url);
      for (const [k, v] of Object.entries({
        response_type: "code",
        client_id: spa.clientId,
        redirect_uri: CALLBACK,
        scope: "openid offline",
        state: "st",
        code_challenge: challenge,
        code_challenge_method: "S256",
        ...extra,
      }))
        url.searchParams.set(k, v);
      return { url, verifier };
    }

    /** Starts an authorization request in `browser` and opens the sign-in form: its hidden fields. */
    async function openSignIn(browser: UserAgent, page = "/auth/sign-in") {
      const { url, verifier } = authUrl();
      const next = await browser.redirectFrom(url);
      assert.equal(next.pathname, "/auth/sign-in", next.href);
      const hidden = await browser.openForm(new URL(`${page}${next.search}`, server.url));
      assert.ok(hidden.request && hidden.csrf, JSON.stringify(hidden));
      return { hidden, verifier };
    }

    async function submit(browser: UserAgent, fields: Record<string, string>, path = "/auth/sign-in") {
      const response = await browser.request(path, {
        method: "POST",
        headers: FORM,
        body: new URLSearchParams(fields),
      });
      const html = await response.text();
      return { response, html };
    }

    /** Asserts a refused form: the status, no redirect, no session. */
    function refused(
      result: { response: Response; html: string },
      browser: UserAgent,
      status: number,
      what: string,
    ) {
      assert.equal(result.response.status, status, `${what}: ${result.html.slice(0, 200)}`);
      assert.equal(result.response.headers.get("location"), null, `${what}: must not redirect`);
      assert.equal(browser.cookie(SESSION_COOKIE), undefined, `${what}: must not create a session`);
      assert.ok(
        !result.response.headers.getSetCookie().some((c) => c.startsWith(`${SESSION_COOKIE}=`)),
        `${what}: no session cookie`,
      );
    }

    async function token(fields: Record<string, string>) {
      const response = await fetch(`${server.url}/oauth2/token`, {
        method: "POST",
        headers: FORM,
        body: new URLSearchParams(fields),
      });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    }

    before(async () => {
      server = await startTestServer(kind, { clock });
      spa = await createApplication(server, "spa");
    });
    after(async () => server?.close());

    // --- CSRF ---------------------------------------------------------------------------------------

    it("POST without a CSRF token → 403 and no session", async () => {
      const user = await createUser(server);
      const browser = new UserAgent(server.url);
      const { hidden } = await openSignIn(browser);
      const result = await submit(browser, {
        request: hidden.request!,
        email: user.email,
        password: user.password,
      });
      refused(result, browser, 403, "no csrf");
    });

    it("POST with a wrong CSRF token → 403 and no session", async () => {
      const user = await createUser(server);
      const browser = new UserAgent(server.url);
      const { hidden } = await openSignIn(browser);
      for (const csrf of [
        randomBytes(32).toString("base64url"),
        `${hidden.csrf}x`,
        hidden.csrf!.slice(0, -1),
        " ",
      ]) {
        const result = await submit(browser, {
          request: hidden.request!,
          csrf,
          email: user.email,
          password: user.password,
        });
        refused(result, browser, 403, `csrf ${csrf}`);
      }
      // Control: the same form with the right token signs in.
      const ok = await submit(browser, { ...hidden, email: user.email, password: user.password });
      assert.equal(ok.response.status, 303, ok.html.slice(0, 200));
    });

    it("a cross-site POST (CSRF token from the form but no CSRF cookie) → 403 and no session", async () => {
      const user = await createUser(server);
      const victim = new UserAgent(server.url);
      const { hidden } = await openSignIn(new UserAgent(server.url)); // attacker's own browser
      const result = await submit(victim, { ...hidden, email: user.email, password: user.password });
      refused(result, victim, 403, "no cookie");
    });

    it("the sign-up form checks CSRF too, and creates nobody without it", async () => {
      const browser = new UserAgent(server.url);
      const { hidden } = await openSignIn(browser, "/auth/sign-up");
      const email = `csrf-${randomBytes(4).toString("hex")}@example.com`;
      const result = await submit(
        browser,
        { request: hidden.request!, csrf: "wrong", email, password: "a-long-password", given_name: "X" },
        "/auth/sign-up",
      );
      refused(result, browser, 403, "sign-up wrong csrf");
      assert.equal(await server.services.users.store.findByEmail(email), undefined);
    });

    // --- Enumeration --------------------------------------------------------------------------------

    it("wrong password, unknown email and a suspended account look the same", async () => {
      const user = await createUser(server);
      const suspended = await createUser(server);
      await server.services.users.store.update(
        (await server.services.users.store.findByEmail(suspended.email))!.id,
        { is_suspended: 1 },
      );
      const outcomes: { status: number; error: string | undefined }[] = [];
      for (const [email, password] of [
        [user.email, "wrong-password"],
        [`nobody-${randomBytes(4).toString("hex")}@example.com`, "wrong-password"],
        [`nobody-${randomBytes(4).toString("hex")}@example.com`, user.password],
        [suspended.email, suspended.password],
      ] as const) {
        const browser = new UserAgent(server.url);
        const { hidden } = await openSignIn(browser);
        const result = await submit(browser, { ...hidden, email, password });
        refused(result, browser, result.response.status, email);
        assert.ok(
          result.response.status >= 400 && result.response.status < 500,
          String(result.response.status),
        );
        outcomes.push({ status: result.response.status, error: formError(result.html) });
      }
      assert.ok(outcomes[0]!.error, "an error message is shown");
      for (const outcome of outcomes) assert.deepEqual(outcome, outcomes[0]);
    });

    // --- Throttling ---------------------------------------------------------------------------------

    it("after 10 failures the account is throttled (429) even with the right password, then recovers", async () => {
      const user = await createUser(server);
      const browser = new UserAgent(server.url);
      const { hidden } = await openSignIn(browser);
      // Variants of the same address count for the same account.
      const spellings = [user.email, user.email.toUpperCase(), ` ${user.email} `];
      for (let i = 0; i < 10; i++) {
        const result = await submit(browser, { ...hidden, email: spellings[i % 3]!, password: `wrong-${i}` });
        refused(result, browser, 401, `failure ${i + 1}`);
      }
      const throttled = await submit(browser, { ...hidden, email: user.email, password: user.password });
      refused(throttled, browser, 429, "right password while throttled");
      assert.match(throttled.response.headers.get("retry-after") ?? "", /^\d+$/);
      assert.ok(Number(throttled.response.headers.get("retry-after")) > 0);
      // Another browser (same account) is throttled too: the counter is per account.
      const other = new UserAgent(server.url);
      const { hidden: otherHidden } = await openSignIn(other);
      refused(
        await submit(other, { ...otherHidden, email: user.email, password: user.password }),
        other,
        429,
        "other browser",
      );

      offset += 15 * 60 + 1;
      try {
        // The pending request lives 30 minutes, so the same form still works once the window ends.
        const ok = await submit(browser, { ...hidden, email: user.email, password: user.password });
        assert.equal(ok.response.status, 303, ok.html.slice(0, 200));
        assert.ok(browser.cookie(SESSION_COOKIE));
      } finally {
        offset -= 15 * 60 + 1;
      }
    });

    it("an unknown email is throttled exactly like a real one (no enumeration through 429)", async () => {
      const email = `ghost-${randomBytes(4).toString("hex")}@example.com`;
      const browser = new UserAgent(server.url);
      const { hidden } = await openSignIn(browser);
      for (let i = 0; i < 10; i++)
        refused(await submit(browser, { ...hidden, email, password: "x-wrong-x" }), browser, 401, `${i}`);
      refused(await submit(browser, { ...hidden, email, password: "x-wrong-x" }), browser, 429, "11th");
    });

    // --- Replayed, expired and forged requests ------------------------------------------------------

    it("a completed sign-in form cannot be replayed to mint another code", async () => {
      const user = await createUser(server);
      const browser = new UserAgent(server.url);
      const { hidden } = await openSignIn(browser);
      const first = await submit(browser, { ...hidden, email: user.email, password: user.password });
      assert.equal(first.response.status, 303);
      const again = await submit(browser, { ...hidden, email: user.email, password: user.password });
      assert.equal(again.response.status, 400, again.html.slice(0, 200));
      assert.equal(again.response.headers.get("location"), null);
    });

    it("an unknown or expired authorization request → 400 page, no redirect", async () => {
      const user = await createUser(server);
      for (const id of ["", "nope", randomBytes(32).toString("base64url"), "x".repeat(500)]) {
        const page = await fetch(`${server.url}/auth/sign-in?request=${encodeURIComponent(id)}`, {
          redirect: "manual",
        });
        await page.text();
        assert.equal(page.status, 400, `GET ${id}`);
        assert.equal(page.headers.get("location"), null);
      }
      const browser = new UserAgent(server.url);
      const { hidden } = await openSignIn(browser);
      offset += 30 * 60 + 1;
      try {
        const page = await browser.request(`/auth/sign-in?request=${encodeURIComponent(hidden.request!)}`);
        await page.text();
        assert.equal(page.status, 400, "expired GET");
        refused(
          await submit(browser, { ...hidden, email: user.email, password: user.password }),
          browser,
          400,
          "expired POST",
        );
      } finally {
        offset -= 30 * 60 + 1;
      }
    });

    it("a fixated session cookie is replaced at sign-in; the session cookie is HttpOnly and SameSite", async () => {
      const user = await createUser(server);
      const browser = new UserAgent(server.url);
      const { hidden } = await openSignIn(browser);
      const fixated = randomBytes(32).toString("base64url");
      const response = await browser.request("/auth/sign-in", {
        method: "POST",
        headers: { ...FORM, cookie: `${SESSION_COOKIE}=${fixated}; latchkey_csrf=${hidden.csrf}` },
        body: new URLSearchParams({ ...hidden, email: user.email, password: user.password }),
      });
      await response.text();
      assert.equal(response.status, 303);
      const setCookie = response.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`));
      assert.ok(setCookie, "a new session cookie is set");
      assert.notEqual(setCookie.split(";")[0], `${SESSION_COOKIE}=${fixated}`);
      assert.match(setCookie, /;\s*HttpOnly/i);
      assert.match(setCookie, /;\s*SameSite=(Lax|Strict)/i);
    });

    it("garbage in the forms never causes a 5xx", async () => {
      const browser = new UserAgent(server.url);
      const { hidden } = await openSignIn(browser);
      const failures: string[] = [];
      const bodies: [string, string][] = [
        [
          "NUL email",
          new URLSearchParams({ ...hidden, email: "a\u0000@example.com", password: "x-wrong-x" }).toString(),
        ],
        [
          "NUL request",
          new URLSearchParams({
            ...hidden,
            request: "\u0000",
            email: "a@example.com",
            password: "x",
          }).toString(),
        ],
        [
          "huge email",
          new URLSearchParams({
            ...hidden,
            email: `${"a".repeat(20_000)}@example.com`,
            password: "x",
          }).toString(),
        ],
        [
          "huge password",
          new URLSearchParams({
            ...hidden,
            email: "b@example.com",
            password: "p".repeat(200_000),
          }).toString(),
        ],
        [
          "unicode",
          new URLSearchParams({ ...hidden, email: "üñí😀@例え.jp", password: "\ud800" }).toString(),
        ],
        ["arrays", `request=${hidden.request}&request=x&csrf=${hidden.csrf}&email=a&email=b&password=x`],
        ["broken encoding", `request=%zz&csrf=%E0%A4%A&email=%&password=%`],
      ];
      for (const [name, body] of bodies) {
        for (const path of ["/auth/sign-in", "/auth/sign-up"]) {
          const response = await browser.request(path, { method: "POST", headers: FORM, body });
          await response.text();
          if (response.status >= 500) failures.push(`POST ${path} ${name} → ${response.status}`);
        }
      }
      for (const query of ["request=%00", "request=%ED%A0%80", `request=${"x".repeat(5000)}`]) {
        for (const path of ["/auth/sign-in", "/auth/sign-up"]) {
          const response = await fetch(`${server.url}${path}?${query}`);
          await response.text();
          if (response.status >= 500) failures.push(`GET ${path}?${query.slice(0, 30)} → ${response.status}`);
        }
      }
      assert.deepEqual(failures, []);
    });

    // --- Logout -------------------------------------------------------------------------------------

    it("/logout?redirect= to an unregistered URL → 400 page, no redirect, and the session stays", async () => {
      const user = await createUser(server);
      const browser = new UserAgent(server.url);
      await browser.authorize(authUrl().url, user);
      assert.ok(browser.cookie(SESSION_COOKIE));
      for (const target of [
        "https://evil.example/",
        `${LOGOUT}x`,
        `${LOGOUT}?next=https://evil.example`,
        "http://localhost:8081/",
        "https://localhost:8080/",
        "http://localhost:8080",
        "//evil.example",
        "javascript:alert(1)",
        CALLBACK, // a callback URL is not a logout URL
      ]) {
        for (const name of ["redirect", "post_logout_redirect_uri"]) {
          const response = await browser.request(`/logout?${name}=${encodeURIComponent(target)}`);
          const html = await response.text();
          assert.equal(response.status, 400, `${name}=${target}: ${html.slice(0, 200)}`);
          assert.equal(response.headers.get("location"), null, `${name}=${target}`);
          assert.match(response.headers.get("content-type") ?? "", /^text\/html/);
        }
      }
      // Refusing the redirect did not sign the user out (nothing happened at all).
      const silent = await browser.redirectFrom(authUrl({ prompt: "none" }).url);
      assert.ok(silent.searchParams.get("code"), silent.href);
    });

    it("/logout to a registered URL redirects there (control)", async () => {
      const response = await fetch(`${server.url}/logout?redirect=${encodeURIComponent(LOGOUT)}&state=abc`, {
        redirect: "manual",
      });
      await response.text();
      assert.equal(response.status, 302);
      const location = new URL(response.headers.get("location")!);
      assert.equal(`${location.origin}${location.pathname}`, LOGOUT);
      assert.equal(location.searchParams.get("state"), "abc");
    });

    it("logout revokes the session's refresh and access tokens and ends single sign-on", async () => {
      const user = await createUser(server);
      const browser = new UserAgent(server.url);
      const { url, verifier } = authUrl();
      const callback = await browser.authorize(url, user);
      const tokens = await token({
        grant_type: "authorization_code",
        client_id: spa.clientId,
        code: callback.searchParams.get("code") ?? "",
        redirect_uri: CALLBACK,
        code_verifier: verifier,
      });
      assert.equal(tokens.status, 200, JSON.stringify(tokens.json));
      // A second grant on the same session, rotated once, must die as well.
      const second = authUrl();
      const callback2 = await browser.authorize(second.url, user);
      const tokens2 = await token({
        grant_type: "authorization_code",
        client_id: spa.clientId,
        code: callback2.searchParams.get("code") ?? "",
        redirect_uri: CALLBACK,
        code_verifier: second.verifier,
      });
      const rotated = await token({
        grant_type: "refresh_token",
        client_id: spa.clientId,
        refresh_token: String(tokens2.json.refresh_token),
      });
      assert.equal(rotated.status, 200);

      // From the application's page the browser marks the navigation cross-site: confirm, then out.
      const form = await browser.openForm(`/logout?redirect=${encodeURIComponent(LOGOUT)}`);
      const logout = await browser.request("/logout", {
        method: "POST",
        headers: FORM,
        body: new URLSearchParams(form),
      });
      await logout.text();
      assert.equal(logout.status, 303);
      assert.equal(logout.headers.get("location"), LOGOUT);
      assert.equal(browser.cookie(SESSION_COOKIE), undefined, "session cookie cleared");

      for (const refreshToken of [tokens.json.refresh_token, rotated.json.refresh_token]) {
        const reply = await token({
          grant_type: "refresh_token",
          client_id: spa.clientId,
          refresh_token: String(refreshToken),
        });
        assert.equal(reply.status, 400, JSON.stringify(reply.json));
        assert.equal(reply.json.error, "invalid_grant");
      }
      for (const accessToken of [tokens.json.access_token, rotated.json.access_token]) {
        const info = await fetch(`${server.url}/oauth2/v2/user_profile`, {
          headers: { authorization: `Bearer ${accessToken}` },
        });
        await info.text();
        assert.equal(info.status, 401);
      }
      // No silent sign-in afterwards.
      const silent = await browser.redirectFrom(authUrl({ prompt: "none" }).url);
      assert.equal(silent.searchParams.get("error"), "login_required");
    });

    /** Signs `user` in on a new browser through the SPA and returns the browser and its ID token. */
    async function signedInWithIdToken(user: { email: string; password: string }) {
      const browser = new UserAgent(server.url);
      const { url, verifier } = authUrl();
      const callback = await browser.authorize(url, user);
      const tokens = await token({
        grant_type: "authorization_code",
        client_id: spa.clientId,
        code: callback.searchParams.get("code") ?? "",
        redirect_uri: CALLBACK,
        code_verifier: verifier,
      });
      assert.equal(tokens.status, 200, JSON.stringify(tokens.json));
      return {
        browser,
        idToken: String(tokens.json.id_token),
        accessToken: String(tokens.json.access_token),
      };
    }

    async function stillSignedIn(browser: UserAgent): Promise<boolean> {
      const silent = await browser.redirectFrom(authUrl({ prompt: "none" }).url);
      return silent.searchParams.get("code") !== null;
    }

    it("logout CSRF: a cross-site or unmarked GET /logout only asks, and the POST needs the CSRF token", async () => {
      const user = await createUser(server);
      const { browser } = await signedInWithIdToken(user);
      const query = `/logout?redirect=${encodeURIComponent(LOGOUT)}&state=s1`;
      // (A same-site request with a registered redirect signs out at once: logout.test.ts.)
      for (const [path, headers] of [
        [query, { "sec-fetch-site": "cross-site" }],
        [query, {}],
        ["/logout", { "sec-fetch-site": "same-site" }],
      ] as [string, Record<string, string>][]) {
        const asked = await browser.request(path, { headers });
        const html = await asked.text();
        assert.equal(asked.status, 200, JSON.stringify(headers));
        assert.match(html, /<h1>Sign out\?<\/h1>/);
        assert.equal(asked.headers.get("location"), null);
        assert.ok(browser.cookie(SESSION_COOKIE), "the session cookie is not cleared by asking");
      }
      assert.ok(await stillSignedIn(browser), "asking did not sign the user out");

      const form = await browser.openForm(query);
      assert.equal(form.redirect, LOGOUT);
      assert.equal(form.state, "s1");
      for (const csrf of [undefined, "", "x".repeat(43)]) {
        const fields = new URLSearchParams({ ...form });
        if (csrf === undefined) fields.delete("csrf");
        else fields.set("csrf", csrf);
        const forged = await browser.request("/logout", { method: "POST", headers: FORM, body: fields });
        await forged.text();
        assert.equal(forged.status, 403, `csrf=${csrf}`);
      }
      assert.ok(await stillSignedIn(browser), "a forged confirmation did not sign the user out");

      // The confirmation still refuses an unregistered redirect (no open redirect through POST).
      const evil = await browser.request("/logout", {
        method: "POST",
        headers: FORM,
        body: new URLSearchParams({ ...form, redirect: "https://evil.example/" }),
      });
      await evil.text();
      assert.equal(evil.status, 400);

      const confirmed = await browser.request("/logout", {
        method: "POST",
        headers: FORM,
        body: new URLSearchParams(form),
      });
      await confirmed.text();
      assert.equal(confirmed.status, 303, "after a POST, See Other (RFC 9110 §15.4.4)");
      assert.equal(confirmed.headers.get("location"), `${LOGOUT}?state=s1`);
      assert.equal(await stillSignedIn(browser), false);

      // No session, but a js-utils cookie session (its flag cookie is sent cross-site): another
      // site's GET only asks, and clears nothing.
      const flagged = await fetch(`${server.url}${query}`, {
        redirect: "manual",
        headers: { "sec-fetch-site": "cross-site", cookie: "_kbrte=1" },
      });
      assert.equal(flagged.status, 200);
      assert.match(await flagged.text(), /<h1>Sign out\?<\/h1>/);
      assert.deepEqual(
        flagged.headers.getSetCookie().filter((c) => /^(_kbrte|refresh_token)=;/.test(c)),
        [],
      );
    });

    it("an id_token_hint for the signed-in user signs out at once; another user's or a forged one only asks", async () => {
      const alice = await createUser(server);
      const bob = await createUser(server);
      const {
        browser,
        idToken: aliceIdToken,
        accessToken: aliceAccessToken,
      } = await signedInWithIdToken(alice);
      const { idToken: bobIdToken } = await signedInWithIdToken(bob);
      const [header, payload, signature] = aliceIdToken.split(".");
      const claims = JSON.parse(Buffer.from(payload!, "base64url").toString());
      const forged = [
        header,
        Buffer.from(JSON.stringify({ ...claims, sub: "kp_forged" })).toString("base64url"),
        signature,
      ].join(".");
      // Alice's access token names her too, but APIs hold it: it is not an ID token hint.
      for (const hint of [bobIdToken, forged, "not-a-jwt", `${aliceIdToken}x`, aliceAccessToken]) {
        const asked = await browser.request(
          `/logout?id_token_hint=${encodeURIComponent(hint)}&post_logout_redirect_uri=${encodeURIComponent(LOGOUT)}`,
          { headers: { "sec-fetch-site": "cross-site" } },
        );
        assert.match(await asked.text(), /<h1>Sign out\?<\/h1>/, hint.slice(0, 20));
        assert.equal(asked.status, 200);
      }
      assert.ok(await stillSignedIn(browser));

      const out = await browser.request(
        `/logout?id_token_hint=${encodeURIComponent(aliceIdToken)}&post_logout_redirect_uri=${encodeURIComponent(LOGOUT)}`,
        { headers: { "sec-fetch-site": "cross-site" } },
      );
      await out.text();
      assert.equal(out.status, 302);
      assert.equal(out.headers.get("location"), LOGOUT);
      assert.equal(await stillSignedIn(browser), false);
    });

    it("a session cookie kept after logout (stolen or replayed) no longer works", async () => {
      const user = await createUser(server);
      const browser = new UserAgent(server.url);
      await browser.authorize(authUrl().url, user);
      const stolen = browser.cookie(SESSION_COOKIE)!;
      const logout = await browser.request("/logout", { headers: { "sec-fetch-site": "same-origin" } });
      assert.match(await logout.text(), /You are signed out/);
      assert.equal(logout.status, 200);
      const replay = await fetch(authUrl({ prompt: "none" }).url, {
        redirect: "manual",
        headers: { cookie: `${SESSION_COOKIE}=${stolen}` },
      });
      await replay.text();
      const location = new URL(replay.headers.get("location")!, server.url);
      assert.equal(location.searchParams.get("error"), "login_required");
      assert.equal(location.searchParams.get("code"), null);
    });
  });
}
