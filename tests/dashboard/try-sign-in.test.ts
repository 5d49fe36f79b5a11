// Issue 20, "Try sign-in", in Chromium on SQLite and PostgreSQL: from an application's page the
// administrator signs in on the hosted page as a test user and sees the ID token's claims, with
// nothing added to the application's callback URLs. The try callback is Latchkey's own and is
// admitted only for a ticket minted for that application, in the browser it was minted for, once:
// replayed, opened in another browser, or paired with another application's code, it is refused,
// and the token endpoint never redeems a code sent to it.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication, createUser } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import type { TestServer } from "../helpers/server.js";
import { assertAccessible, heading, openDashboardPage, signedInDashboard } from "./dashboard-browser.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`dashboard: Try sign-in (${kind})`, { skip }, () => {
    const admin = signedInDashboard(kind);
    let server: TestServer;
    let page: Page;
    let web: { clientId: string };
    let spa: { clientId: string };
    let tester: { id: string; email: string; password: string };

    before(async () => {
      ({ server, page } = admin);
      web = await createApplication(server, "reg", { name: "Acme Web" });
      spa = await createApplication(server, "spa", { name: "Acme Portal" });
      tester = await createUser(server, { email: "tester@example.com", givenName: "Tess" });
    });

    /** Signs in as the test user on the hosted page that Try sign-in opened. */
    async function signInAsTester(on: Page): Promise<void> {
      await on.waitForURL((url) => url.pathname === "/auth/sign-in");
      await on.locator('input[name="email"]').fill(tester.email);
      await on.locator('input[name="password"]').fill(tester.password);
      await on.getByRole("button", { name: "Sign in", exact: true }).click();
    }

    /**
     * Runs Try sign-in for `clientId` up to the callback, which is recorded and not opened. Chromium
     * reaches it by a redirect, which page.route does not see: the sign-in's navigations are fetched
     * here without following redirects instead.
     */
    async function captureTry(clientId: string): Promise<string> {
      let resolve: (url: string) => void = () => {};
      const captured = new Promise<string>((r) => {
        resolve = r;
      });
      const signInPages = (url: URL) =>
        url.pathname.startsWith("/auth/") || url.pathname.startsWith("/oauth2/");
      await page.route(signInPages, async (route) => {
        if (!route.request().isNavigationRequest()) return route.continue();
        const response = await route.fetch({ maxRedirects: 0 });
        const location = response.headers().location;
        if (location && new URL(location, server.url).pathname === "/admin/try-callback") {
          resolve(new URL(location, server.url).href);
          return route.fulfill({ status: 200, contentType: "text/plain", body: "captured" });
        }
        return route.fulfill({ response });
      });
      try {
        await page.goto(`${server.url}/admin/applications/${clientId}`);
        await page.getByRole("button", { name: "Try sign-in" }).click();
        await signInAsTester(page);
        const timeout = new Promise<never>((_r, reject) =>
          setTimeout(() => reject(new Error(`no try callback; at ${page.url()}`)), 15_000).unref(),
        );
        return await Promise.race([captured, timeout]);
      } finally {
        await page.unroute(signInPages);
      }
    }

    async function redirectUrls(clientId: string): Promise<string[]> {
      const { body } = await callApi<{ redirect_urls: string[] }>(
        server,
        "GET",
        `/api/v1/applications/${clientId}/auth_redirect_urls`,
      );
      return body.redirect_urls;
    }

    it("signs in as a test user on the hosted page and shows the ID token's claims; a replay is refused", async () => {
      await page.goto(`${server.url}/admin/applications/${web.clientId}`);
      await heading(page, "Acme Web");
      // The quick starts are tabs with this application's values.
      await page.getByRole("tab", { name: "Express" }).click();
      const express = page.getByRole("tabpanel").filter({ hasText: "setupKinde" });
      assert.match((await express.textContent()) ?? "", new RegExp(`clientId: "${web.clientId}"`));
      await assertAccessible(page, "application page with quick starts");

      await page.getByRole("button", { name: "Try sign-in" }).click();
      await signInAsTester(page);
      await page.waitForURL((url) => url.pathname === "/admin/try-callback");
      await heading(page, "Signed in to Acme Web");
      const idClaims = page.getByRole("table", { name: "ID token claims" });
      const row = (claim: string) =>
        idClaims.getByRole("row").filter({ has: page.getByRole("rowheader", { name: claim, exact: true }) });
      assert.match((await row("sub").textContent()) ?? "", new RegExp(tester.id));
      assert.match((await row("email").textContent()) ?? "", /tester@example\.com/);
      assert.match((await row("aud").textContent()) ?? "", new RegExp(web.clientId));
      const accessClaims = page.getByRole("table", { name: "Access token claims" });
      assert.ok(await accessClaims.isVisible());
      // The try's access token is revoked once its claims are shown.
      const jti = await accessClaims
        .getByRole("row")
        .filter({ has: page.getByRole("rowheader", { name: "jti", exact: true }) })
        .getByRole("cell")
        .textContent();
      const recorded = await server.storage.db
        .selectFrom("access_tokens")
        .select("revoked_at")
        .where("jti", "=", (jti ?? "").trim().replace(/^"|"$/g, ""))
        .executeTakeFirst();
      assert.ok(recorded?.revoked_at, `access token ${jti} revoked`);
      assert.equal(
        await page
          .locator("body")
          .textContent()
          .then((t) => t?.includes("eyJ")),
        false,
        "no raw token",
      );
      await assertAccessible(page, "try sign-in result");
      // Nothing was added to the application's allowed callbacks.
      assert.deepEqual(await redirectUrls(web.clientId), ["http://localhost:8080/callback"]);

      const replay = await page.goto(page.url());
      assert.equal(replay?.status(), 400);
      await heading(page, "Try sign-in did not work");
    });

    it("a result opened in another browser is refused; the browser it was minted for still gets it", async () => {
      const callback = await captureTry(spa.clientId);
      const other = await openDashboardPage(admin.browser);
      const elsewhere = await other.page.goto(callback);
      assert.equal(elsewhere?.status(), 400);
      assert.match((await other.page.locator("main").textContent()) ?? "", /started in another browser/);
      await other.context.close();

      const here = await page.goto(callback);
      assert.equal(here?.status(), 200);
      await heading(page, "Signed in to Acme Portal");
    });

    it("a ticket for one application does not redeem another application's code", async () => {
      const forWeb = new URL(await captureTry(web.clientId));
      const forSpa = new URL(await captureTry(spa.clientId));
      const mixed = new URL(forSpa);
      mixed.searchParams.set("code", forWeb.searchParams.get("code")!);
      const response = await page.goto(mixed.href);
      assert.equal(response?.status(), 400);
      assert.match(
        (await page.locator("main").textContent()) ?? "",
        /Latchkey refused the code: .*another client/,
      );
    });

    it("the authorization endpoint admits the try callback only with that application's ticket; the token endpoint never", async () => {
      const callback = `${server.url}/admin/try-callback`;
      const authorize = (clientId: string, state: string) =>
        fetch(
          `${server.url}/oauth2/auth?${new URLSearchParams({
            client_id: clientId,
            redirect_uri: callback,
            response_type: "code",
            scope: "openid",
            state,
            code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWjciR3f5OFmQ",
            code_challenge_method: "S256",
          })}`,
          { redirect: "manual" },
        );
      const captured = new URL(await captureTry(spa.clientId));
      const spaState = captured.searchParams.get("state")!;
      // No ticket, a forged one, or another application's: the page says the address is not registered.
      for (const [clientId, state] of [
        [spa.clientId, "not-a-ticket"],
        [spa.clientId, `${spaState.slice(0, -4)}AAAA`],
        [web.clientId, spaState],
      ] as const) {
        const response = await authorize(clientId, state);
        assert.equal(response.status, 400, `${clientId} ${state.slice(0, 12)}`);
        assert.match(await response.text(), /not registered for this application/);
      }
      // Its own ticket is admitted (the hosted sign-in page follows).
      const admitted = await authorize(spa.clientId, spaState);
      assert.ok([200, 302, 303].includes(admitted.status), `admitted: ${admitted.status}`);

      // A code sent to the try callback cannot be redeemed at the token endpoint, PKCE or not.
      const token = await fetch(`${server.url}/oauth2/token`, {
        method: "POST",
        body: new URLSearchParams({
          grant_type: "authorization_code",
          code: captured.searchParams.get("code")!,
          redirect_uri: callback,
          client_id: spa.clientId,
          code_verifier: "a".repeat(43),
        }),
      });
      assert.equal(token.status, 400);
      assert.equal(((await token.json()) as { error: string }).error, "invalid_grant");
      assert.deepEqual(await redirectUrls(spa.clientId), ["http://localhost:8080/callback"]);
    });

    it("only an administrator's browser session mints a ticket, for an application people sign in to", async () => {
      const machine = await managementToken(server);
      const refused = await callApi(server, "POST", `/api/v1/applications/${web.clientId}/try_sign_in`, {
        token: machine,
      });
      assert.equal(refused.status, 403);
      const missing = await callApi(server, "POST", "/api/v1/applications/nope/try_sign_in", {
        token: machine,
      });
      assert.ok(missing.status === 403 || missing.status === 400);
      const noToken = await fetch(`${server.url}/api/v1/applications/${web.clientId}/try_sign_in`, {
        method: "POST",
      });
      assert.equal(noToken.status, 401);
      // The dashboard offers no Try sign-in to a machine-to-machine application.
      const m2m = await createApplication(server, "m2m", { name: "Nightly job" });
      await page.goto(`${server.url}/admin/applications/${m2m.clientId}`);
      await heading(page, "Nightly job");
      assert.equal(await page.getByRole("button", { name: "Try sign-in" }).count(), 0);
    });
  });
}
