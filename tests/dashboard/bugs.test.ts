// Issue 20's bugs in the dashboard's sign-in and navigation, in Chromium on SQLite and PostgreSQL:
// Back from the sign-in page offers to sign in (it is not a refused token), while a token refused
// right after it was issued still says so instead of looping; signing in to the dashboard skips the
// connected-app offer other applications' sign-ins show; an address with no screen and an item
// that does not exist each get a page that says so, under the address asked for, with the way on;
// the hosted pages' favicon requests are answered with an icon, not a 404.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { Response } from "playwright-core";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";
import {
  ADMIN,
  assertAccessible,
  heading,
  openDashboardPage,
  screenshot,
  signedInDashboard,
  signInToDashboard,
} from "./dashboard-browser.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`dashboard bugs: sign-in and navigation (${kind})`, { skip }, () => {
    const dashboard = signedInDashboard(kind);
    let token: string;

    before(async () => {
      token = await managementToken(dashboard.server);
    });

    it("Back from the sign-in page offers to sign in; nothing was refused", async () => {
      const { server, browser } = dashboard;
      const visitor = await openDashboardPage(browser);
      const { page } = visitor;
      try {
        await page.goto(`${server.url}/admin/users`);
        await page.waitForURL((url) => url.pathname === "/auth/sign-in");
        await page.goBack();
        await heading(page, "Sign in to the dashboard");
        assert.equal(await page.getByText("did not accept the dashboard's token").count(), 0);
        assert.equal(new URL(page.url()).pathname, "/admin/users");
        await assertAccessible(page, "sign in to the dashboard");
        // Still on this page a moment later: Back is not bounced to the sign-in page again.
        await page.waitForTimeout(500);
        assert.equal(new URL(page.url()).pathname, "/admin/users");

        await page.getByRole("button", { name: "Sign in" }).click();
        await page.waitForURL((url) => url.pathname === "/auth/sign-in");
        await page.locator('input[name="email"]').fill(ADMIN.email);
        await page.locator('input[name="password"]').fill(ADMIN.password);
        await page.getByRole("button", { name: "Sign in", exact: true }).click();
        // Back where Back had left them.
        await heading(page, "Users");
        assert.equal(new URL(page.url()).pathname, "/admin/users");
        assert.deepEqual(visitor.problems, []);
      } finally {
        await visitor.context.close();
      }
    });

    it("says so, instead of looping, when a token just issued is refused", async () => {
      const { server, browser } = dashboard;
      const visitor = await openDashboardPage(browser);
      const { page } = visitor;
      try {
        // The server refusing the dashboard's first call (a wrong clock or ISSUER_URL does this).
        await page.route("**/api/v1/business", (route) =>
          route.fulfill({
            status: 401,
            contentType: "application/json",
            body: JSON.stringify({
              errors: [{ code: "INVALID_CREDENTIALS", message: "Invalid credentials" }],
            }),
          }),
        );
        await signInToDashboard(page, server.url, ADMIN);
        await heading(page, "Signing in did not work");
        await page.getByText("Latchkey did not accept the dashboard's token").waitFor();
        await page.getByRole("button", { name: "Try again" }).waitFor();
      } finally {
        await visitor.context.close();
      }
    });

    it("signs an administrator in to the dashboard without the connected-app offer", async () => {
      const { server, browser } = dashboard;
      const configured = await callApi(server, "POST", "/api/v1/connected_apps", {
        token,
        body: {
          key_code_ref: "github",
          provider: "github",
          client_id: "gh-client-id",
          client_secret: "gh-client-secret",
          callback_url: "https://app.example.com/connected",
          offer_at_sign_in: true,
        },
      });
      assert.equal(configured.status, 201, JSON.stringify(configured.body));

      // Another application's sign-in shows the offer: it is there to be skipped.
      const spa = await createApplication(server, "spa");
      const agent = new UserAgent(server.url);
      const form = await agent.openForm(
        await agent.redirectFrom(authorizationUrl(server, spa.clientId, CALLBACK)),
      );
      const offer = await agent.request("/auth/sign-in", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ ...form, email: ADMIN.email, password: ADMIN.password }),
      });
      assert.equal(offer.status, 200);
      assert.match(await offer.text(), /Skip for now/);

      // The dashboard's goes straight back to the dashboard.
      const fresh = await openDashboardPage(browser);
      try {
        const seen: string[] = [];
        fresh.page.on("response", (response: Response) => {
          if (response.request().isNavigationRequest()) seen.push(new URL(response.url()).pathname);
        });
        await signInToDashboard(fresh.page, server.url, ADMIN);
        await heading(fresh.page, "Home");
        assert.equal(await fresh.page.getByText("Skip for now").count(), 0);
        assert.ok(seen.includes("/admin/callback"), seen.join(" "));
        assert.ok(!seen.some((p) => p.startsWith("/connected_apps")), seen.join(" "));
        assert.deepEqual(fresh.problems, []);
      } finally {
        await fresh.context.close();
      }
    });

    it("shows a page that says so at an address with no screen", async () => {
      const { server, page } = dashboard;
      await page.goto(`${server.url}/admin/nonsense/here`);
      await heading(page, "Page not found");
      assert.equal(new URL(page.url()).pathname, "/admin/nonsense/here");
      await page.getByText("The dashboard has no page at /admin/nonsense/here").waitFor();
      // The layout is there, with no menu item claiming the page.
      assert.equal(await page.locator("nav.sidebar a[aria-current]").count(), 0);
      await assertAccessible(page, "page not found");
      await screenshot(page, "not-found");
      await page.getByRole("link", { name: "The dashboard's home" }).click();
      await heading(page, "Home");
    });

    it("shows a missing user, or application, as not found with the way back to the list", async () => {
      const { server, page } = dashboard;
      await page.goto(`${server.url}/admin/users/kp_00000000000000000000000000000000`);
      await heading(page, "User not found");
      assert.equal(new URL(page.url()).pathname, "/admin/users/kp_00000000000000000000000000000000");
      await assertAccessible(page, "user not found");
      await page.getByRole("link", { name: "All users" }).click();
      await heading(page, "Users");
      assert.equal(new URL(page.url()).pathname, "/admin/users");

      // Kinde answers a missing application with 400 APPLICATION_NOT_FOUND: still "not found".
      await page.goto(`${server.url}/admin/applications/0123456789abcdef0123456789abcdef`);
      await heading(page, "Application not found");
      await page.getByRole("link", { name: "All applications" }).waitFor();
      // The API's own answers aside (the 404 and the 400 the pages were built from), nothing failed.
      assert.deepEqual(
        dashboard.problems.filter((p) => !/^40[04] GET .*\/api\/v1\/(user|applications)/.test(p)),
        [],
      );
    });

    it("answers the hosted pages' favicon requests with an icon", async () => {
      const { server, browser } = dashboard;
      const ico = await fetch(`${server.url}/favicon.ico`);
      assert.equal(ico.status, 200);
      assert.equal(ico.headers.get("content-type"), "image/x-icon");
      const bytes = Buffer.from(await ico.arrayBuffer());
      assert.deepEqual([...bytes.subarray(0, 6)], [0, 0, 1, 0, 1, 0], "an ICO with one image");
      assert.equal(bytes[6], 32);
      const svg = await fetch(`${server.url}/favicon.svg`);
      assert.equal(svg.headers.get("content-type"), "image/svg+xml");

      const visitor = await openDashboardPage(browser);
      const { page } = visitor;
      const icons: { url: string; status: number }[] = [];
      page.on("response", (response: Response) => {
        if (/\/favicon\.(ico|svg)$/.test(new URL(response.url()).pathname))
          icons.push({ url: response.url(), status: response.status() });
      });
      try {
        // The sign-in page and `/`, in the hosted layout, which names /favicon.svg.
        await page.goto(`${server.url}/admin/`);
        await page.waitForURL((url) => url.pathname === "/auth/sign-in");
        await page.goto(`${server.url}/`);
        await heading(page, "Latchkey is running");
        await page.waitForTimeout(300);
        // Chromium decodes what /favicon.ico serves as a 32×32 image.
        await page.goto(`${server.url}/favicon.ico`);
        const size = await page.evaluate(
          '(() => { const img = document.querySelector("img"); return img ? [img.naturalWidth, img.naturalHeight] : []; })()',
        );
        assert.deepEqual(size, [32, 32]);
      } finally {
        await visitor.context.close();
      }
      assert.ok(icons.length > 0, "Chromium asked for no favicon");
      assert.deepEqual(
        icons.filter((i) => i.status !== 200),
        [],
      );
    });
  });
}
