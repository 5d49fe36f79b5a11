// Issue 15 follow-up, in Chromium on SQLite and PostgreSQL: the Management API refuses every change
// to the dashboard's own application (403 DASHBOARD_APPLICATION_PROTECTED, administrators
// included), so the dashboard shows that application read-only — its URLs, APIs, token lifetimes
// and name as text, with one sentence saying why — and offers no switch for it on an API's page,
// while an ordinary application keeps every control.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import { assertAccessible, heading, screenshot, signedInDashboard } from "./dashboard-browser.js";

const MANAGED = /Latchkey manages this application from ISSUER_URL .*; it cannot be changed here\./;

/** Controls in the page's main area that change something (copy buttons and read-only boxes do not). */
async function changingControls(page: Page): Promise<string[]> {
  const main = page.locator("main");
  const fields = await main
    .locator('input:not([readonly]):not([type="hidden"]), textarea:not([readonly]), select')
    .evaluateAll((elements) =>
      elements.map((e) => `${e.tagName.toLowerCase()}[name=${e.getAttribute("name")}]`),
    );
  const buttons = await main
    .locator("button")
    .evaluateAll((elements) =>
      elements
        .map((e) => e.getAttribute("aria-label") ?? e.textContent ?? "")
        .filter((label) => !label.startsWith("Copy")),
    );
  return [...fields, ...buttons.map((b) => `button ${b}`)];
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`admin dashboard: its own application is read-only (${kind})`, { skip }, () => {
    const dashboard = signedInDashboard(kind);
    let token: string;
    let dashboardId: string;
    let portal: { clientId: string };

    before(async () => {
      const { server } = dashboard;
      token = await managementToken(server);
      portal = await createApplication(server, "spa", { name: "Customer portal" });
      const config = (await (await fetch(`${server.url}/admin/config.json`)).json()) as { clientId: string };
      dashboardId = config.clientId;
    });

    it("shows the dashboard's application without controls that would change it, saying why", async () => {
      const { server, page } = dashboard;
      // Sign-in lands on the home (issue 20); the application is listed under Applications.
      await page.getByRole("link", { name: "Applications", exact: true }).click();
      await page.getByRole("link", { name: /Latchkey dashboard/ }).click();
      await heading(page, "Latchkey dashboard");
      await page.getByText(MANAGED).waitFor();
      assert.deepEqual(await changingControls(page), []);
      assert.equal(await page.getByRole("checkbox").count(), 0);
      // What it holds is still shown, as text.
      await page.getByRole("cell", { name: `${server.url}/admin/callback`, exact: true }).waitFor();
      await page.getByRole("cell", { name: `${server.url}/admin/`, exact: true }).waitFor();
      await page.getByRole("cell", { name: "Latchkey Management API", exact: true }).waitFor();
      await page.getByRole("cell", { name: "Access token lifetime", exact: true }).waitFor();
      assert.equal(await page.getByLabel("Client ID", { exact: true }).inputValue(), dashboardId);
      await assertAccessible(page, "the dashboard's own application");
      await screenshot(page, "application-dashboard-read-only");
    });

    it("keeps every control for an ordinary application", async () => {
      const { server, page } = dashboard;
      await page.goto(`${server.url}/admin/applications/${portal.clientId}`);
      await heading(page, "Customer portal");
      assert.equal(await page.getByText(MANAGED).count(), 0);
      assert.equal(await page.getByLabel("Allowed callback URLs").inputValue(), CALLBACK);
      for (const name of ["Save URLs", "Save lifetimes", "Save name", "Delete application"])
        await page.getByRole("button", { name }).waitFor();
      // Except one: the Management API admits people's tokens only through the dashboard, so a
      // front-end app is not offered it (issue 20; tests/dashboard/bugs.test.ts).
      assert.equal(
        await page.getByRole("checkbox", { name: "Authorised for Latchkey Management API" }).count(),
        0,
      );
      await page
        .getByText("Not offered: people's tokens reach the Management API only through this dashboard")
        .waitFor();
    });

    it("offers no switch for the dashboard on the Management API's page", async () => {
      const { server, page } = dashboard;
      const { body } = await callApi<{ apis: { id: string; is_management_api: boolean }[] }>(
        server,
        "GET",
        "/api/v1/apis",
        { token },
      );
      const managementApi = body.apis.find((a) => a.is_management_api)!;
      await page.goto(`${server.url}/admin/apis/${managementApi.id}`);
      await heading(page, "Latchkey Management API");
      // Machine-to-machine applications only, none by a tick (issue 20): the bootstrap one holds access.
      await page.getByText("Latchkey Management (bootstrap)", { exact: true }).waitFor();
      assert.equal(await page.getByRole("checkbox", { name: "Customer portal" }).count(), 0);
      assert.equal(await page.getByRole("checkbox", { name: /Latchkey dashboard/ }).count(), 0);
      await page.getByText("Latchkey dashboard", { exact: true }).waitFor();
      await page.getByText(MANAGED).waitFor();
      await assertAccessible(page, "the Management API's applications");
      // Nothing was refused along the way: the dashboard sent no change the API would refuse.
      assert.deepEqual(dashboard.problems, []);
    });
  });
}
