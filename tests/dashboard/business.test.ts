// Issue 6, Settings › Business in Chromium, on SQLite and PostgreSQL (the PostgreSQL run doubles
// as the smoke walk of the dashboard on a server database): the business name, which the hosted
// sign-in page then shows; a signing-key rotation behind a confirmation, published in the JWKS;
// the audit log naming the administrator's changes. Every main screen opens without an error.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import {
  assertAccessible,
  heading,
  openDashboardPage,
  screenshot,
  signedInDashboard,
} from "./dashboard-browser.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`admin dashboard: business settings (${kind})`, { skip }, () => {
    const dashboard = signedInDashboard(kind);
    let token: string;

    before(async () => {
      token = await managementToken(dashboard.server);
    });

    it("opens every section from the navigation", async () => {
      const { page } = dashboard;
      for (const [link, title] of [
        ["Applications", "Applications"],
        ["APIs", "APIs"],
        ["Users", "Users"],
        ["Connected apps", "Connected apps"],
        ["Business", "Business"],
      ] as const) {
        await page
          .getByRole("navigation", { name: "Dashboard" })
          .getByRole("link", { name: link, exact: true })
          .click();
        await heading(page, title);
        assert.equal(
          await page.getByRole("link", { name: link, exact: true }).getAttribute("aria-current"),
          "page",
        );
        // Focus moves to the new screen's heading for keyboard and screen-reader users — once the
        // screen has loaded its data, which may be after its heading shows.
        await page.locator("h1:focus").waitFor({ timeout: 5_000 });
      }
    });

    it("renames the business, and the sign-in page shows the new name", async () => {
      const { server, page, browser } = dashboard;
      await page
        .getByRole("cell", { name: /^[A-Za-z0-9_-]{6,}$/ })
        .first()
        .waitFor();
      await page.getByLabel("Business name").fill("");
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByText("Business name is required").waitFor();
      await page.getByLabel("Business name").fill("Acme Rockets");
      await page.getByLabel("Privacy policy URL (optional)").fill("ftp://acme.example.com/privacy");
      await page.getByText("Must be an http or https URL").waitFor();
      await page.getByLabel("Privacy policy URL (optional)").fill("https://acme.example.com/privacy");
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByRole("status").getByText("Business details saved").waitFor();
      const read = await callApi<{ business: { name: string; privacy_url: string } }>(
        server,
        "GET",
        "/api/v1/business",
        {
          token,
        },
      );
      assert.equal(read.body.business.name, "Acme Rockets");
      assert.equal(read.body.business.privacy_url, "https://acme.example.com/privacy");

      const spa = await createApplication(server, "spa");
      const visitor = await openDashboardPage(browser);
      try {
        const url = new URL("/oauth2/auth", server.url);
        url.search = new URLSearchParams({
          response_type: "code",
          client_id: spa.clientId,
          redirect_uri: "http://localhost:8080/callback",
          scope: "openid",
          code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
          code_challenge_method: "S256",
        }).toString();
        await visitor.page.goto(url.href);
        await visitor.page.getByText("Acme Rockets").first().waitFor();
      } finally {
        await visitor.context.close();
      }
    });

    it("rotates the signing key after confirmation; the new key is published before it signs", async () => {
      const { server, page } = dashboard;
      const rows = page.locator("table").first().locator("tbody tr");
      assert.equal(await rows.count(), 1);
      await page.getByRole("button", { name: "Rotate signing key" }).click();
      const dialog = page.getByRole("dialog", { name: "Rotate the signing key?" });
      await dialog.getByText("starts signing tokens in 5 minutes").waitFor();
      await dialog.getByRole("button", { name: "Rotate key" }).click();
      await page.getByRole("cell", { name: "Published, signs soon" }).waitFor();
      assert.equal(await rows.count(), 2);
      const kid = (await rows.first().locator("td").first().textContent())!;
      const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as {
        keys: { kid: string }[];
      };
      assert.ok(jwks.keys.some((k) => k.kid === kid));
    });

    it("shows the administrator's changes in the audit log", async () => {
      const { page } = dashboard;
      await page.reload();
      await heading(page, "Business");
      const log = page.getByRole("table", { name: "Audit log" });
      await log.getByRole("cell", { name: "PATCH /api/v1/business" }).waitFor();
      await log.getByRole("cell", { name: "POST /api/v1/signing_keys/rotate" }).waitFor();
      assert.ok((await log.getByRole("cell", { name: /^Administrator kp_/ }).count()) >= 2);
      await assertAccessible(page, "business settings");
      if (kind === "sqlite") await screenshot(page, "business");
      assert.deepEqual(dashboard.problems, []);
    });
  });
}
