// The hosted sign-in page wears the brand (issue 20), in Chromium: the environment's logo, button,
// link and background colours (computed styles), button text chosen for contrast when the brand's
// would be unreadable, the privacy and terms links in the footer, the dark colours under
// prefers-color-scheme: dark, and an organization's own colours, theme and logo for a sign-in with
// its org_code. axe passes in both colour schemes. Hostile colour values never reach CSS. A change
// shows on the very next page (the configuration cache is told). On both databases.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { assertAccessible } from "../dashboard/dashboard-browser.js";
import { launchChromium } from "../helpers/browser.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication } from "../helpers/fixtures.js";
import { callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { PNG_1PX, uploadLogo } from "./logo-upload.js";

const styleOf = (page: Page, selector: string, property: string) =>
  page.evaluate(
    `getComputedStyle(document.querySelector(${JSON.stringify(selector)}))[${JSON.stringify(property)}]`,
  ) as Promise<string>;

for (const { kind, skip } of await databaseKinds()) {
  describe(`Branded hosted pages in Chromium (${kind})`, { skip }, () => {
    let server: TestServer;
    let browser: Browser;
    let clientId: string;
    before(async () => {
      server = await startTestServer(kind);
      browser = await launchChromium();
      clientId = (await createApplication(server, "reg")).clientId;
    });
    after(async () => {
      await browser?.close();
      await server?.close();
    });

    function authorizeUrl(orgCode?: string): string {
      const verifier = "v".repeat(50);
      const query = new URLSearchParams({
        client_id: clientId,
        redirect_uri: CALLBACK,
        response_type: "code",
        scope: "openid",
        state: "state-1234",
        code_challenge: createHash("sha256").update(verifier).digest("base64url"),
        code_challenge_method: "S256",
        ...(orgCode ? { org_code: orgCode } : {}),
      });
      return `${server.url}/oauth2/auth?${query}`;
    }

    async function signInPage(colorScheme: "light" | "dark", orgCode?: string): Promise<Page> {
      const page = await browser.newPage();
      await page.emulateMedia({ colorScheme });
      await page.goto(authorizeUrl(orgCode));
      assert.match(page.url(), /\/auth\/sign-in\?request=/);
      return page;
    }

    it("refuses colours that are not hex colours", async () => {
      for (const value of ["red;}body{display:none", "#12345", "url(x)", "#fff;"]) {
        const answer = await callApi(server, "PATCH", "/api/v1/business", { body: { button_color: value } });
        assert.equal(answer.status, 400, value);
      }
      const css = await fetch(
        `${server.url}/assets/brand.css?button_color=${encodeURIComponent("fff;}*{x")}`,
      );
      assert.equal(css.status, 400);
      await css.text();
    });

    it("shows the environment's logo, colours and policy links, light and dark", async () => {
      const patched = await callApi(server, "PATCH", "/api/v1/business", {
        body: {
          // Yellow: white text would fail WCAG AA, so the page picks black.
          button_color: "#ffd43b",
          button_text_color: "#ffffff",
          link_color: "#0b7285",
          background_color: "#f8f9fa",
          button_color_dark: "#1864ab",
          background_color_dark: "#101418",
          link_color_dark: "#74c0fc",
          theme_code: "user_preference",
          privacy_url: "https://example.com/privacy",
          terms_url: "https://example.com/terms",
        },
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.equal(
        (await uploadLogo(server, "PUT", "/api/v1/environment/logos/light", { data: PNG_1PX })).status,
        200,
      );

      const env = await callApi<{ environment: Record<string, { hex: string } | string | null> }>(
        server,
        "GET",
        "/api/v1/environment",
      );
      assert.equal((env.body.environment.button_color as { hex: string }).hex, "#ffd43b");
      assert.equal((env.body.environment.link_color_dark as { hex: string }).hex, "#74c0fc");

      const page = await signInPage("light");
      const logo = page.locator("img.logo");
      assert.match((await logo.getAttribute("src")) ?? "", /^\/logos\/environment\/light\?v=/);
      assert.ok(Number(await page.evaluate(`document.querySelector("img.logo").naturalWidth`)) > 0);
      assert.equal(await styleOf(page, "button[type=submit]", "backgroundColor"), "rgb(255, 212, 59)");
      assert.equal(await styleOf(page, "button[type=submit]", "color"), "rgb(0, 0, 0)");
      assert.equal(await styleOf(page, "body", "backgroundColor"), "rgb(248, 249, 250)");
      assert.equal(await styleOf(page, ".switch a", "color"), "rgb(11, 114, 133)");
      assert.equal(
        await page.locator("footer.legal a").first().getAttribute("href"),
        "https://example.com/privacy",
      );
      assert.equal(
        await page.locator("footer.legal a").nth(1).getAttribute("href"),
        "https://example.com/terms",
      );
      await assertAccessible(page, "branded sign-in (light)");
      await page.close();

      const dark = await signInPage("dark");
      assert.equal(await styleOf(dark, "button[type=submit]", "backgroundColor"), "rgb(24, 100, 171)");
      assert.equal(await styleOf(dark, "button[type=submit]", "color"), "rgb(255, 255, 255)");
      assert.equal(await styleOf(dark, "body", "backgroundColor"), "rgb(16, 20, 24)");
      assert.equal(await styleOf(dark, ".switch a", "color"), "rgb(116, 192, 252)");
      assert.ok(Number(await dark.evaluate(`document.querySelector("img.logo").naturalWidth`)) > 0);
      await assertAccessible(dark, "branded sign-in (dark)");
      await dark.close();
    });

    it("lets an organization's colours, theme and logo win for a sign-in with its org_code", async () => {
      const org = await server.services.organizations.create({ name: "Acme" });
      const patched = await callApi(server, "PATCH", `/api/v1/organization/${org.code}`, {
        body: { button_color: "#c2255c", theme_code: "light" },
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      const posted = await uploadLogo(server, "POST", `/api/v1/organizations/${org.code}/logos/light`, {
        data: PNG_1PX,
      });
      assert.equal(posted.status, 200);

      // Forced light: the OS's dark preference changes nothing.
      const page = await signInPage("dark", org.code);
      assert.equal(await page.getAttribute("html", "data-theme"), "light");
      assert.equal(await styleOf(page, "button[type=submit]", "backgroundColor"), "rgb(194, 37, 92)");
      assert.equal(await styleOf(page, "button[type=submit]", "color"), "rgb(255, 255, 255)");
      // What the organization leaves unset is the environment's.
      assert.equal(await styleOf(page, "body", "backgroundColor"), "rgb(248, 249, 250)");
      assert.match(
        (await page.locator("img.logo").getAttribute("src")) ?? "",
        new RegExp(`^/logos/${org.code}/light`),
      );
      await assertAccessible(page, "organization sign-in");
      await page.close();

      // Without org_code the environment's brand stays.
      const plain = await signInPage("light");
      assert.equal(await styleOf(plain, "button[type=submit]", "backgroundColor"), "rgb(255, 212, 59)");
      await plain.close();

      // A change shows on the next page, on every instance (the configuration generation moved).
      await callApi(server, "PATCH", `/api/v1/organization/${org.code}`, {
        body: { button_color: "#5f3dc4" },
      });
      const changed = await signInPage("light", org.code);
      assert.equal(await styleOf(changed, "button[type=submit]", "backgroundColor"), "rgb(95, 61, 196)");
      await changed.close();
    });
  });
}
