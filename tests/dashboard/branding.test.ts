// Settings › Branding and an organization's Branding block, in Chromium at 390 px: a logo is
// uploaded (the real multipart call) and shown, a colour typed redraws the live preview before
// anything is saved (button text turns black on a light brand colour), a bad colour is refused
// before it is sent, saving reaches GET /api/v1/environment and the business's privacy link, and an
// organization's colour is saved through PATCH /organization. No sideways scrolling; axe passes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Page } from "playwright-core";
import { PNG_1PX } from "../branding/logo-upload.js";
import { databaseKinds } from "../helpers/databases.js";
import { callApi } from "../helpers/management.js";
import { assertAccessible, assertFitsPhone, PHONE, signedInDashboard } from "./dashboard-browser.js";

const previewStyle = (page: Page, scheme: string, part: string, property: string) =>
  page.evaluate(
    `getComputedStyle(document.querySelector('.brand-preview[data-scheme="${scheme}"] .brand-preview-${part}'))["${property}"]`,
  ) as Promise<string>;

for (const { kind, skip } of await databaseKinds()) {
  describe(`dashboard: branding (${kind})`, { skip }, () => {
    const dashboard = signedInDashboard(kind, { viewport: PHONE });

    it("uploads a logo, previews and saves colours and links", async () => {
      const { server, page } = dashboard;
      await page.goto(`${server.url}/admin/settings/branding`);
      await page.getByRole("heading", { name: "Branding", level: 1 }).waitFor();
      await page.getByText("None yet.").first().waitFor();

      await page.getByLabel(/Choose a light logo/).setInputFiles({
        name: "acme.png",
        mimeType: "image/png",
        buffer: PNG_1PX,
      });
      await page.getByRole("button", { name: "Upload light logo" }).click();
      await page.getByRole("img", { name: "Current light logo" }).waitFor();
      const logos = await callApi<{ logos: { type: string; file_name: string }[] }>(
        server,
        "GET",
        "/api/v1/environment/logos",
      );
      assert.deepEqual(logos.body.logos, [{ type: "light", file_name: "acme.png" }]);

      const light = page.getByRole("group", { name: "Light colours" });
      await light.getByLabel("Button (optional)", { exact: true }).fill("#ffd43b");
      // The preview follows at once, before saving, with readable text.
      assert.equal(await previewStyle(page, "light", "button", "backgroundColor"), "rgb(255, 212, 59)");
      assert.equal(await previewStyle(page, "light", "button", "color"), "rgb(0, 0, 0)");
      await light.getByLabel("Background (optional)", { exact: true }).fill("red;}");
      await page.getByText("Use a hex colour such as #0055ff").first().waitFor();
      await page.getByRole("button", { name: "Save", exact: true }).click();
      const untouched = await callApi<{ environment: Record<string, unknown> }>(
        server,
        "GET",
        "/api/v1/environment",
      );
      assert.equal(untouched.body.environment.button_color, null);

      await light.getByLabel("Background (optional)", { exact: true }).fill("#f8f9fa");
      await page.getByLabel("Theme").selectOption("light");
      await page.getByLabel("Privacy policy URL (optional)").fill("https://example.com/privacy");
      await assertFitsPhone(page, "branding");
      await assertAccessible(page, "branding");
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByRole("status").getByText("Branding saved").waitFor();

      const env = await callApi<{ environment: Record<string, { hex: string } | string | null> }>(
        server,
        "GET",
        "/api/v1/environment",
      );
      assert.equal((env.body.environment.button_color as { hex: string }).hex, "#ffd43b");
      assert.equal((env.body.environment.background_color as { hex: string }).hex, "#f8f9fa");
      assert.equal(env.body.environment.theme_code, "light");
      const business = await callApi<{ business: { privacy_url: string } }>(
        server,
        "GET",
        "/api/v1/business",
      );
      assert.equal(business.body.business.privacy_url, "https://example.com/privacy");
    });

    it("sets an organization's colour on its page", async () => {
      const { server, page } = dashboard;
      const org = await server.services.organizations.create({ name: "Acme" });
      await page.goto(`${server.url}/admin/organizations/${org.code}`);
      const block = page.locator("section", { has: page.getByRole("heading", { name: "Branding" }) }).last();
      const light = block.getByRole("group", { name: "Light colours" });
      await light.getByLabel("Button (optional)", { exact: true }).fill("#c2255c");
      await block.getByLabel("Theme").selectOption("dark");
      await assertFitsPhone(page, "organization with Branding");
      await assertAccessible(page, "organization with Branding");
      await block.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByRole("status").getByText("Branding saved").waitFor();
      const saved = await callApi<{ button_color: { hex: string }; theme_code: string }>(
        server,
        "GET",
        `/api/v1/organization?code=${org.code}`,
      );
      assert.equal(saved.body.button_color.hex, "#c2255c");
      assert.equal(saved.body.theme_code, "dark");
      assert.deepEqual(dashboard.problems, []);
    });
  });
}
