// The brand beyond the sign-in form (issue 20), in Chromium: with an environment logo, colours and
// privacy/terms links set, the logout confirmation (and the signed-out page after it), the device
// pages, the page an invitation leads to, /account after signing in, and an expired-link error page
// show the logo, the brand's button colour (computed styles) and the footer links. An
// organization's colours win on the invitation into it; axe passes on two pages in dark scheme.
// On both databases.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { assertAccessible } from "../dashboard/dashboard-browser.js";
import { launchChromium } from "../helpers/browser.js";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication, createUser } from "../helpers/fixtures.js";
import { callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { PNG_1PX, uploadLogo } from "./logo-upload.js";

const LIGHT_BUTTON = "rgb(24, 100, 171)"; // #1864ab
const DARK_BUTTON = "rgb(165, 216, 255)"; // #a5d8ff
const ORG_BUTTON = "rgb(194, 37, 92)"; // #c2255c

const styleOf = (page: Page, selector: string, property: string) =>
  page.evaluate(
    `getComputedStyle(document.querySelector(${JSON.stringify(selector)}))[${JSON.stringify(property)}]`,
  ) as Promise<string>;

/** The page wears the brand: its logo, its button colour on `button` and its policy links. */
async function assertBranded(
  page: Page,
  what: string,
  expected: { button: string; buttonSelector?: string; logoOwner?: string },
) {
  const src = (await page.locator("img.logo").first().getAttribute("src")) ?? "";
  assert.match(src, new RegExp(`^/logos/${expected.logoOwner ?? "environment"}/`), `${what}: logo`);
  assert.ok(
    Number(await page.evaluate(`document.querySelector("img.logo").naturalWidth`)) > 0,
    `${what}: the logo loads`,
  );
  if (expected.buttonSelector === undefined) {
    // A page without a button still carries the brand's button colour for the ones it would have.
    const value = (await page.evaluate(
      `getComputedStyle(document.documentElement).getPropertyValue("--button").trim()`,
    )) as string;
    assert.notEqual(value, "", `${what}: --button`);
    const probe = await page.evaluate(`(() => {
      const b = document.createElement("button");
      document.querySelector("main").append(b);
      const colour = getComputedStyle(b).backgroundColor;
      b.remove();
      return colour;
    })()`);
    assert.equal(probe, expected.button, `${what}: button colour`);
  } else {
    assert.equal(
      await styleOf(page, expected.buttonSelector, "backgroundColor"),
      expected.button,
      `${what}: button colour`,
    );
  }
  const links = page.locator("footer.legal a");
  assert.equal(await links.count(), 2, `${what}: footer links`);
  assert.equal(await links.nth(0).getAttribute("href"), "https://example.com/privacy", what);
  assert.equal(await links.nth(1).getAttribute("href"), "https://example.com/terms", what);
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`The brand on every hosted page in Chromium (${kind})`, { skip }, () => {
    let server: TestServer;
    let browser: Browser;

    before(async () => {
      server = await startTestServer(kind);
      browser = await launchChromium();
      const patched = await callApi(server, "PATCH", "/api/v1/business", {
        body: {
          button_color: "#1864ab",
          button_color_dark: "#a5d8ff",
          background_color_dark: "#101418",
          theme_code: "user_preference",
          privacy_url: "https://example.com/privacy",
          terms_url: "https://example.com/terms",
        },
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      const logo = await uploadLogo(server, "PUT", "/api/v1/environment/logos/light", { data: PNG_1PX });
      assert.equal(logo.status, 200);
    });
    after(async () => {
      await browser?.close();
      await server?.close();
    });

    const at = (path: string) => (url: URL) => url.origin === server.url && url.pathname === path;

    async function signIn(page: Page, user: { email: string; password: string }) {
      await page.getByLabel("Email").fill(user.email);
      await page.getByLabel("Password").fill(user.password);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
    }

    it("brands /account after signing in, the logout confirmation and the signed-out page", async () => {
      const user = await createUser(server);
      const context = await browser.newContext();
      const page = await context.newPage();
      try {
        await page.goto(`${server.url}/account`);
        await page.waitForURL(at("/auth/sign-in"));
        await signIn(page, user);
        await page.waitForURL(at("/account"));
        await page.getByRole("heading", { name: "Your account" }).waitFor();
        await assertBranded(page, "/account", {
          button: LIGHT_BUTTON,
          buttonSelector: "main button[type=submit]:not(.secondary)",
        });
        // The account pages keep their own stylesheet inside the hosted pages' layout.
        assert.equal(await page.locator("main.card.account").count(), 1);
        assert.equal(await page.locator('link[href="/assets/account.css"]').count(), 1);

        // A sign-out started by another site (a data: URL's opaque origin here) is confirmed first.
        await page.goto(`data:text/html,<a id="out" href="${server.url}/logout">Sign out</a>`);
        await page.click("#out");
        await page.waitForURL(at("/logout"));
        await page.getByRole("button", { name: "Sign out" }).waitFor();
        await assertBranded(page, "logout confirmation", {
          button: LIGHT_BUTTON,
          buttonSelector: "button[type=submit]",
        });
        await page.getByRole("button", { name: "Sign out" }).click();
        await page.waitForURL(at("/logout"));
        await page.locator("h1").waitFor();
        assert.equal(await page.getByRole("button", { name: "Sign out" }).count(), 0);
        await assertBranded(page, "signed out", { button: LIGHT_BUTTON });
      } finally {
        await context.close();
      }
    });

    it("brands the device pages, in dark scheme too (axe passes)", async () => {
      const { clientId } = await createApplication(server, "device", {
        name: "Living-room TV",
        callbackUrls: [],
        logoutUrls: [],
      });
      const started = await fetch(`${server.url}/oauth2/device/auth`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ client_id: clientId, scope: "openid" }),
      });
      assert.equal(started.status, 200);
      const { verification_uri_complete: complete } = (await started.json()) as {
        verification_uri_complete: string;
      };
      const user = await createUser(server);
      const context = await browser.newContext({ colorScheme: "dark" });
      const page = await context.newPage();
      try {
        await page.goto(complete);
        await page.waitForURL(/\/auth\/sign-in\?/);
        await signIn(page, user);
        await page.waitForURL(/\/device\?user_code=/);
        await page.getByRole("heading", { name: "Sign in on your device?" }).waitFor();
        await assertBranded(page, "device confirmation (dark)", {
          button: DARK_BUTTON,
          buttonSelector: "button[value=approve]",
        });
        assert.equal(await styleOf(page, "body", "backgroundColor"), "rgb(16, 20, 24)");
        await assertAccessible(page, "branded device confirmation (dark)");

        await page.goto(`${server.url}/device`);
        await page.getByLabel(/code/i).first().waitFor();
        await assertBranded(page, "device code entry (dark)", {
          button: DARK_BUTTON,
          buttonSelector: "button[type=submit]",
        });
      } finally {
        await context.close();
      }
    });

    it("brands an expired-link error page (axe passes in dark scheme)", async () => {
      const context = await browser.newContext({ colorScheme: "dark" });
      const page = await context.newPage();
      try {
        const answer = await page.goto(`${server.url}/auth/sign-in?request=${"x".repeat(43)}`);
        assert.equal(answer?.status(), 400);
        await page.getByRole("alert").waitFor();
        await assertBranded(page, "expired link (dark)", { button: DARK_BUTTON });
        await assertAccessible(page, "branded expired link (dark)");
      } finally {
        await context.close();
      }
    });

    it("lets the organization's colours win on the page its invitation leads to", async () => {
      const org = await server.services.organizations.create({ name: "Acme" });
      const patched = await callApi(server, "PATCH", `/api/v1/organization/${org.code}`, {
        body: { button_color: "#c2255c", theme_code: "light" },
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      const invited = await callApi<{ invite: { invite_link: string } }>(
        server,
        "POST",
        `/api/v1/organization/${org.code}/invites`,
        { body: { email: `invited-${Date.now()}@example.com`, roles: [] } },
      );
      assert.equal(invited.status, 201, JSON.stringify(invited.body));

      const context = await browser.newContext({ colorScheme: "dark" });
      const page = await context.newPage();
      try {
        await page.goto(invited.body.invite.invite_link);
        await page.waitForURL(/\/auth\/sign-(up|in)\?/);
        // The organization's forced light theme and button; its logo unset, so the environment's.
        assert.equal(await page.getAttribute("html", "data-theme"), "light");
        await assertBranded(page, "invitation", {
          button: ORG_BUTTON,
          buttonSelector: "button[type=submit]",
        });

        // A link naming no invitation names no organization: the environment's brand (dark here).
        await page.goto(`${server.url}/team_invitation?code=inv_${"C".repeat(43)}`);
        await page.getByRole("alert").waitFor();
        assert.equal(await page.getAttribute("html", "data-theme"), "auto");
        await assertBranded(page, "unknown invitation", { button: DARK_BUTTON });
      } finally {
        await context.close();
      }
    });
  });
}
