// Kinde's browser SDK core, @kinde/js-utils, unchanged in Chromium against Latchkey. To js-utils
// every domain but *.kinde.com is a "custom domain": it exchanges codes and refreshes with
// `credentials: "include"` and, after a page reload, refreshes through the httpOnly
// `refresh_token` cookie when it can read the `_kbrte` flag cookie. The front end here is served
// from the same host as Latchkey on another port (cookies are per host, not per port), as
// `REFRESH_COOKIE_DOMAIN` makes possible for auth.example.com and app.example.com.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "../helpers/browser.js";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication, createUser } from "../helpers/fixtures.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const JS_UTILS = readFileSync(
  new URL("../../node_modules/@kinde/js-utils/dist/js-utils.js", import.meta.url),
);

const PAGE = `<!doctype html><title>SPA</title><h1>SPA</h1>
<script type="module">
  import * as kinde from "/js-utils.js";
  kinde.setActiveStorage(new kinde.MemoryStorage());
  kinde.setInsecureStorage(new kinde.LocalStorage());
  window.kinde = kinde;
</script>`;

/** A single-page app's static server: its pages and the js-utils module, nothing else. */
async function startSpa(): Promise<{ origin: string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    if (request.url === "/js-utils.js") {
      response.writeHead(200, { "content-type": "text/javascript" }).end(JS_UTILS);
      return;
    }
    response
      .writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" })
      .end(PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface AuthResult {
  success: boolean;
  error?: string;
  accessToken?: string;
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`@kinde/js-utils with Chromium: cookie refresh on a custom domain (${kind})`, { skip }, () => {
    let server: TestServer;
    let browser: Browser;
    let spa: Awaited<ReturnType<typeof startSpa>>;
    let clientId: string;

    before(async () => {
      server = await startTestServer(kind);
      spa = await startSpa();
      clientId = (
        await createApplication(server, "spa", {
          callbackUrls: [`${spa.origin}/callback`],
          logoutUrls: [`${spa.origin}/`],
        })
      ).clientId;
      browser = await launchChromium();
    });
    after(async () => {
      await browser?.close();
      await spa?.close();
      await server?.close();
    });

    const ready = (page: Page) => page.waitForFunction("Boolean(window.kinde)");

    async function signIn(page: Page, user: { email: string; password: string }) {
      await page.goto(`${spa.origin}/`);
      await ready(page);
      const authUrl = await page.evaluate(
        `kinde.generateAuthUrl(${JSON.stringify(server.url)}, "login", {
          clientId: ${JSON.stringify(clientId)},
          redirectURL: ${JSON.stringify(`${spa.origin}/callback`)},
          scope: ["openid", "profile", "email", "offline"],
        }).then((r) => r.url.toString())`,
      );
      await page.goto(String(authUrl));
      await page.getByLabel("Email").fill(user.email);
      await page.getByLabel("Password").fill(user.password);
      await Promise.all([
        page.waitForURL(/\/callback\?/),
        page.getByRole("button", { name: "Sign in" }).click(),
      ]);
      await ready(page);
      return (await page.evaluate(
        `kinde.exchangeAuthCode({
          urlParams: new URLSearchParams(location.search),
          domain: ${JSON.stringify(server.url)},
          clientId: ${JSON.stringify(clientId)},
          redirectURL: ${JSON.stringify(`${spa.origin}/callback`)},
        })`,
      )) as AuthResult;
    }

    const checkAuth = (page: Page) =>
      page.evaluate(
        `kinde.checkAuth({ domain: ${JSON.stringify(server.url)}, clientId: ${JSON.stringify(clientId)} })`,
      ) as Promise<AuthResult>;

    it("signs in, survives page reloads through the httpOnly cookie, and logout ends it", async () => {
      const user = await createUser(server);
      const context = await browser.newContext();
      const page = await context.newPage();
      try {
        const exchanged = await signIn(page, user);
        assert.equal(exchanged.success, true, exchanged.error);

        const cookies = await context.cookies();
        const refresh = cookies.find((c) => c.name === "refresh_token");
        assert.ok(refresh, "refresh_token cookie set");
        assert.equal(refresh.httpOnly, true);
        assert.equal(refresh.path, "/oauth2/token");
        const visible = (await page.evaluate("document.cookie")) as string;
        assert.match(visible, /(^|; )_kbrte=1/);
        assert.doesNotMatch(visible, /refresh_token/, "scripts never see the refresh token");

        // A reload forgets everything in memory: js-utils sees _kbrte and refreshes by cookie.
        let lastAccessToken = "";
        for (let reload = 0; reload < 2; reload++) {
          await page.reload();
          await ready(page);
          const result = await checkAuth(page);
          assert.equal(result.success, true, result.error);
          const accessToken = String(
            await page.evaluate(`kinde.getActiveStorage().getSessionItem("accessToken")`),
          );
          assert.notEqual(accessToken, lastAccessToken, "a fresh access token each time");
          lastAccessToken = accessToken;
          const profile = await fetch(`${server.url}/oauth2/v2/user_profile`, {
            headers: { authorization: `Bearer ${accessToken}` },
          });
          assert.equal(((await profile.json()) as { email: string }).email, user.email);
        }

        // Signing out at Latchkey clears both cookies; the next reload is signed out.
        await page.goto(`${server.url}/logout?redirect=${encodeURIComponent(`${spa.origin}/`)}`);
        await page.waitForURL(`${spa.origin}/`);
        assert.equal((await context.cookies()).filter((c) => /refresh_token|_kbrte/.test(c.name)).length, 0);
        await ready(page);
        assert.equal((await checkAuth(page)).success, false);
      } finally {
        await context.close();
      }
    });

    it("the cookie is spent only by the registered front end's origin; a body token wins; reuse is refused", async () => {
      const user = await createUser(server);
      const context = await browser.newContext();
      const page = await context.newPage();
      try {
        const exchanged = await signIn(page, user);
        assert.equal(exchanged.success, true, exchanged.error);
        const cookie = (await context.cookies()).find((c) => c.name === "refresh_token")!.value;
        const form = (extra: Record<string, string> = {}) =>
          new URLSearchParams({ grant_type: "refresh_token", client_id: clientId, ...extra });
        const post = (headers: Record<string, string>, body: URLSearchParams) =>
          fetch(`${server.url}/oauth2/token`, {
            method: "POST",
            headers: {
              "content-type": "application/x-www-form-urlencoded",
              cookie: `refresh_token=${cookie}`,
              ...headers,
            },
            body,
          });

        // A cross-site form post (another origin, or none) cannot use the cookie.
        for (const headers of [{ origin: "https://evil.example" }, {} as Record<string, string>]) {
          const refused = await post(headers, form());
          assert.equal(refused.status, 400);
          assert.equal(((await refused.json()) as { error: string }).error, "invalid_request");
        }
        // Another registered front end (allowed for CORS) cannot spend this app's cookie either.
        await createApplication(server, "spa", { callbackUrls: ["https://other-app.example/callback"] });
        const sibling = await post({ origin: "https://other-app.example" }, form());
        assert.equal(sibling.status, 400);
        assert.equal(sibling.headers.get("access-control-allow-origin"), "https://other-app.example");
        assert.equal(((await sibling.json()) as { error: string }).error, "invalid_request");
        // A refresh token in the body is used even when a cookie is present (js-utils'
        // useInsecureForRefreshToken); a bogus one fails without touching the cookie's.
        const bogus = await post({ origin: spa.origin }, form({ refresh_token: "bogus" }));
        assert.equal(bogus.status, 400);
        assert.equal(((await bogus.json()) as { error: string }).error, "invalid_grant");

        const rotated = await post({ origin: spa.origin }, form());
        assert.equal(rotated.status, 200);
        assert.ok(
          rotated.headers
            .getSetCookie()
            .some((c) => c.startsWith("refresh_token=") && !c.startsWith("refresh_token=;")),
        );

        // Replaying the spent cookie is reuse (RFC 9700 §4.14.2): refused, and the cookies cleared.
        const replay = await post({ origin: spa.origin }, form());
        assert.equal(replay.status, 400);
        assert.equal(((await replay.json()) as { error: string }).error, "invalid_grant");
        const cleared = replay.headers.getSetCookie();
        assert.ok(
          cleared.some((c) => /^refresh_token=;/.test(c)),
          cleared.join(" | "),
        );
        assert.ok(
          cleared.some((c) => /^_kbrte=;/.test(c)),
          cleared.join(" | "),
        );
      } finally {
        await context.close();
      }
    });
  });
}
