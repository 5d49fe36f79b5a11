// Hosted forms accept only posts from Latchkey's own pages (Fetch Metadata first, then Origin),
// beside the double-submit CSRF token: a sibling host on the same site can plant the CSRF cookie
// (no __Host- prefix on http, and cookies ignore ports) — login CSRF — which only the browser's
// own marking of the post reveals. Judged by plain HTTP requests with each header a browser might
// send, and by Chromium posting a real form from Latchkey's page and from another origin.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { type AppServer, launchChromium, startAppServer } from "../helpers/browser.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser, LOGOUT } from "../helpers/fixtures.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";

const SESSION_COOKIE = "latchkey_session";
const FORM = { "content-type": "application/x-www-form-urlencoded" };
const REFUSED_HEADING = /<h1>This form came from another site<\/h1>/;

for (const { kind, skip } of await databaseKinds()) {
  describe(`hosted forms refuse posts from other origins (${kind})`, { skip }, () => {
    let server: TestServer;
    let spa: { clientId: string };
    let user: { id: string; email: string; password: string };

    before(async () => {
      server = await startTestServer(kind);
      spa = await createApplication(server, "spa");
      user = await createUser(server);
    });
    after(async () => server?.close());

    /** A new browser with the sign-in form of a new authorization request open: its hidden fields. */
    async function openSignIn(page = "/auth/sign-in") {
      const browser = new UserAgent(server.url);
      const next = await browser.redirectFrom(authorizationUrl(server, spa.clientId, CALLBACK));
      const hidden = await browser.openForm(new URL(`${page}${next.search}`, server.url));
      assert.ok(hidden.request && hidden.csrf, JSON.stringify(hidden));
      return { browser, hidden };
    }

    async function post(
      browser: UserAgent,
      path: string,
      fields: Record<string, string>,
      headers: Record<string, string>,
    ) {
      const response = await browser.request(path, {
        method: "POST",
        headers: { ...FORM, ...headers },
        body: new URLSearchParams(fields),
      });
      return { response, html: await response.text() };
    }

    function assertRefused(result: { response: Response; html: string }, what: string) {
      assert.equal(result.response.status, 403, `${what}: ${result.html.slice(0, 300)}`);
      assert.match(result.response.headers.get("content-type") ?? "", /^text\/html/, what);
      assert.match(result.html, REFUSED_HEADING, what);
      assert.equal(result.response.headers.get("location"), null, `${what}: must not redirect`);
    }

    const foreign = (): Record<string, string>[] => [
      { "sec-fetch-site": "cross-site" },
      // A sibling host (shared hosting) can plant the CSRF cookie: same-site is not good enough.
      { "sec-fetch-site": "same-site" },
      { "sec-fetch-site": "cross-site", origin: "null" },
      { "sec-fetch-site": "cross-site", origin: server.url },
      { "sec-fetch-site": "same-origin, cross-site" },
      // Browsers without Fetch Metadata: the Origin decides.
      { origin: "https://evil.example" },
      { origin: server.url.replace("127.0.0.1", "localhost") },
      { origin: `http://127.0.0.1:${Number(new URL(server.url).port) + 1}` },
      { origin: "not a url" },
    ];

    it("a sign-in form posted from another origin or site → 403 page, no session; the same form then works", async () => {
      const { browser, hidden } = await openSignIn();
      const fields = { ...hidden, email: user.email, password: user.password };
      for (const headers of foreign()) {
        const result = await post(browser, "/auth/sign-in", fields, headers);
        assertRefused(result, JSON.stringify(headers));
        assert.equal(browser.cookie(SESSION_COOKIE), undefined, JSON.stringify(headers));
      }
      // The refusals consumed nothing: the same form from Latchkey's own page signs in.
      const ok = await post(browser, "/auth/sign-in", fields, {
        "sec-fetch-site": "same-origin",
        origin: "null",
      });
      assert.equal(ok.response.status, 303, ok.html.slice(0, 300));
      assert.ok(ok.response.headers.get("location")?.startsWith(`${CALLBACK}?code=`));
    });

    it("same-origin posts pass, including Chromium's Origin: null under Referrer-Policy: no-referrer", async () => {
      for (const headers of [
        { "sec-fetch-site": "same-origin", origin: "null" },
        { "sec-fetch-site": "same-origin", origin: server.url },
        // Typed or bookmarked (a reload re-posting the form): no site started it.
        { "sec-fetch-site": "none" },
        { origin: server.url },
        // Browsers without Fetch Metadata send `null` under no-referrer too; the CSRF token guards.
        { origin: "null" },
        // Neither header (old clients, curl): the CSRF token guards.
        {},
      ] as Record<string, string>[]) {
        const { browser, hidden } = await openSignIn();
        const result = await post(
          browser,
          "/auth/sign-in",
          { ...hidden, email: user.email, password: user.password },
          headers,
        );
        assert.equal(result.response.status, 303, `${JSON.stringify(headers)}: ${result.html.slice(0, 300)}`);
        assert.ok(browser.cookie(SESSION_COOKIE), JSON.stringify(headers));
      }
    });

    it("sign-up, the connect offer, the logout confirmation and the connected-app sign-in refuse cross-site posts", async () => {
      const crossSite = { "sec-fetch-site": "cross-site" };
      const { browser, hidden } = await openSignIn("/auth/sign-up");
      const email = `cross-${randomBytes(4).toString("hex")}@example.com`;
      const signUp = { ...hidden, email, password: `pw-${randomBytes(8).toString("hex")}` };
      assertRefused(await post(browser, "/auth/sign-up", signUp, crossSite), "sign-up");
      assert.equal(await server.services.users.store.findByEmail(email), undefined, "nobody was created");

      // Refused before the body is read: one that no parser takes is not even looked at (else 415).
      const unread = await browser.request("/auth/sign-in", {
        method: "POST",
        headers: { "content-type": "application/x-unknown", ...crossSite },
        body: "x",
      });
      assertRefused({ response: unread, html: await unread.text() }, "unreadable body");

      for (const path of ["/auth/continue", "/auth/connect", "/connected_apps/start"]) {
        assertRefused(
          await post(browser, path, { ...hidden, token: "t", key_code_ref: "k" }, crossSite),
          path,
        );
      }

      // The logout confirmation, CSRF token and all: the session stays.
      const signedIn = await openSignIn();
      const signIn = { ...signedIn.hidden, email: user.email, password: user.password };
      assert.equal((await post(signedIn.browser, "/auth/sign-in", signIn, {})).response.status, 303);
      const confirm = await signedIn.browser.openForm(`/logout?redirect=${encodeURIComponent(LOGOUT)}`);
      assert.ok(confirm.csrf, "the confirmation page");
      assertRefused(await post(signedIn.browser, "/logout", confirm, crossSite), "logout");
      const silent = await signedIn.browser.redirectFrom(
        authorizationUrl(server, spa.clientId, CALLBACK, { prompt: "none" }),
      );
      assert.ok(silent.searchParams.get("code"), `still signed in: ${silent.href}`);
      const out = await post(signedIn.browser, "/logout", confirm, { "sec-fetch-site": "same-origin" });
      assert.equal(out.response.status, 303, out.html.slice(0, 300));
    });

    it("what other sites may still do: link to the pages, and POST the authorization request (OIDC Core §3.1.2.1)", async () => {
      const { browser } = await openSignIn();
      const next = await browser.redirectFrom(authorizationUrl(server, spa.clientId, CALLBACK), {
        headers: { "sec-fetch-site": "cross-site" },
      });
      const page = await browser.request(next, { headers: { "sec-fetch-site": "cross-site" } });
      await page.text();
      assert.equal(page.status, 200);

      const authorization = authorizationUrl(server, spa.clientId, CALLBACK);
      const posted = await browser.request("/oauth2/auth", {
        method: "POST",
        headers: { ...FORM, "sec-fetch-site": "cross-site", origin: "https://app.example" },
        body: authorization.searchParams,
      });
      await posted.text();
      assert.ok([302, 303].includes(posted.status), `POST /oauth2/auth answered ${posted.status}`);
      assert.match(posted.headers.get("location") ?? "", /^\/auth\/sign-in\?request=/);
    });
  });

  describe(`hosted forms in Chromium (${kind})`, { skip }, () => {
    let server: TestServer;
    let browser: Browser;
    let rp: AppServer;
    let app: { clientId: string };
    let user: { id: string; email: string; password: string };
    const pages: Record<string, string> = {};
    const contexts: BrowserContext[] = [];

    before(async () => {
      server = await startTestServer(kind);
      browser = await launchChromium();
      rp = await startAppServer({ pages });
      app = await createApplication(server, "spa", {
        callbackUrls: [`${rp.origin}/callback`, `${rp.sameSiteOrigin}/callback`],
        logoutUrls: [`${rp.sameSiteOrigin}/signed-out`],
      });
      user = await createUser(server);
    });
    after(async () => {
      for (const context of contexts) await context.close().catch(() => {});
      await browser?.close();
      await rp?.close();
      await server?.close();
    });

    async function newPage(): Promise<Page> {
      const context = await browser.newContext();
      contexts.push(context);
      return context.newPage();
    }

    it("a real sign-in on Latchkey's page (Origin: null, Sec-Fetch-Site: same-origin) still succeeds", async () => {
      const page = await newPage();
      const callback = `${rp.origin}/callback`;
      await page.goto(authorizationUrl(server, app.clientId, callback).href);
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      await page.locator('input[name="email"]').fill(user.email);
      await page.locator('input[name="password"]').fill(user.password);
      const [request] = await Promise.all([
        page.waitForRequest((r) => r.method() === "POST" && r.url() === `${server.url}/auth/sign-in`),
        page.waitForURL((url) => url.href.startsWith(callback)),
        page.getByRole("button", { name: "Sign in" }).click(),
      ]);
      // The premise of deciding by Sec-Fetch-Site first: the Origin of our own post is opaque.
      const headers = await request.allHeaders();
      assert.equal(headers["sec-fetch-site"], "same-origin");
      assert.equal(headers.origin, "null");
      assert.ok(new URL(page.url()).searchParams.get("code"), page.url());
    });

    /**
     * Another origin's page that plants a CSRF cookie it chose (a sibling host can: cookies ignore
     * ports, and on http there is no __Host- prefix) and auto-submits the attacker's own
     * credentials to Latchkey — login CSRF. Returns Latchkey's answer to that post.
     */
    async function attack(attackerOrigin: string) {
      const next = await new UserAgent(server.url).redirectFrom(
        authorizationUrl(server, app.clientId, `${rp.origin}/callback`),
      );
      const requestId = next.searchParams.get("request")!;
      const csrf = randomBytes(32).toString("base64url");
      const attacker = await createUser(server);
      const path = `/attack-${randomBytes(4).toString("hex")}`;
      pages[path] = `<!doctype html><title>Win a prize</title>
<form method="post" action="${server.url}/auth/sign-in">
<input type="hidden" name="request" value="${requestId}">
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="email" value="${attacker.email}">
<input type="hidden" name="password" value="${attacker.password}">
</form>
<script>document.cookie = "latchkey_csrf=${csrf}; path=/"; document.forms[0].submit();</script>`;
      const page = await newPage();
      const [response] = await Promise.all([
        page.waitForResponse(
          (r) => r.request().method() === "POST" && r.url() === `${server.url}/auth/sign-in`,
        ),
        page.goto(`${attackerOrigin}${path}`),
      ]);
      const fetchSite = (await response.request().allHeaders())["sec-fetch-site"];
      // A redirect (the attack worked) has no body to read.
      const html = response.status() >= 400 ? await response.text() : "";
      return { response, fetchSite, html, page };
    }

    it("a form auto-submitted from a sibling host on the same site (CSRF cookie planted) → 403", async () => {
      const { response, fetchSite, html, page } = await attack(rp.sameSiteOrigin);
      assert.equal(fetchSite, "same-site");
      assert.equal(response.status(), 403, html.slice(0, 300));
      assert.match(html, REFUSED_HEADING);
      const cookies = await page.context().cookies(server.url);
      assert.equal(
        cookies.find((c) => c.name === SESSION_COOKIE),
        undefined,
        "no session for the attacker",
      );
    });

    it("a form auto-submitted from another site → 403", async () => {
      const { response, fetchSite, html } = await attack(rp.origin);
      assert.equal(fetchSite, "cross-site");
      assert.equal(response.status(), 403, html.slice(0, 300));
      assert.match(html, REFUSED_HEADING);
    });
  });
}
