// Issue 20, the audit log screen in Chromium on SQLite and PostgreSQL: reached from the menu, it
// says what happened in sentences naming people and applications; its filters (who, action, dates)
// live in the address and survive a reload; a sentence's actor link filters by them; "Older"
// pages by keyset; "Export CSV" downloads (Playwright's download event) the rows the filters
// select; at 390 px the page does not scroll sideways; axe passes.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { dashboardToken } from "../helpers/dashboard.js";
import { databaseKinds } from "../helpers/databases.js";
import { callApi } from "../helpers/management.js";
import {
  ADMIN,
  assertAccessible,
  assertFitsPhone,
  heading,
  openDashboardPage,
  PHONE,
  signedInDashboard,
  signInToDashboard,
} from "./dashboard-browser.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`admin dashboard: audit log (${kind})`, { skip }, () => {
    let machineName: string;
    const dashboard = signedInDashboard(kind, {
      // The administrator is named before signing in, as the sentences name them.
      beforeSignIn: async ({ server }) => {
        const db = server.storage.db;
        await db
          .updateTable("users")
          .set({ given_name: "Ada", family_name: "Lovelace" })
          .where("email", "=", ADMIN.email)
          .execute();
        machineName = (
          await db
            .selectFrom("applications")
            .select("name")
            .where("id", "=", server.management.clientId)
            .executeTakeFirstOrThrow()
        ).name;
      },
    });

    it("shows sentences, keeps its filters through a reload, pages, and exports CSV", async () => {
      const { server, page } = dashboard;
      // Ada creates an application with the dashboard's token; a machine creates a role and users.
      const ada = await dashboardToken(server, ADMIN, "openid create:applications");
      const created = await callApi(server, "POST", "/api/v1/applications", {
        token: ada.access_token,
        body: { name: "Acme Web", type: "reg" },
      });
      assert.equal(created.status, 201);
      assert.equal(
        (
          await callApi(server, "POST", "/api/v1/roles", {
            body: { name: "Lamp keeper", key: "lamp-keeper" },
          })
        ).status,
        201,
      );
      for (let i = 0; i < 55; i++)
        assert.equal(
          (
            await callApi(server, "POST", "/api/v1/user", {
              body: { profile: { given_name: "Grace", family_name: `Hopper ${i}` } },
            })
          ).status,
          200,
        );

      await page.getByRole("link", { name: "Audit log", exact: true }).click();
      await heading(page, "Audit log");
      const table = page.getByRole("table", { name: "Audit log" });
      const cell = (text: string) => table.locator("td", { hasText: text }).first();
      await cell(`${machineName} created user Grace Hopper 54`).waitFor();
      assert.equal(await table.locator("tbody tr").count(), 50);
      await assertAccessible(page, "audit log");

      // 57 entries, 50 a page, newest first: "Older" shows the rest, the first ones at the end.
      await page.getByRole("link", { name: "Older" }).click();
      await cell("Ada Lovelace created application Acme Web").waitFor();
      await cell(`${machineName} created role Lamp keeper`).waitFor();
      assert.equal(await table.locator("tbody tr").count(), 57 - 50);
      await page.getByRole("link", { name: "Newest" }).click();
      await cell(`${machineName} created user Grace Hopper 54`).waitFor();

      // Filters go into the address and survive a reload.
      await page.getByLabel("Action").selectOption({ label: "Create application" });
      const today = new Date().toISOString().slice(0, 10);
      await page.getByLabel("From (optional)").fill(today);
      await page.getByRole("button", { name: "Apply filters" }).click();
      await page.waitForURL((url) => url.searchParams.get("action") === "application.created");
      assert.equal(new URL(page.url()).searchParams.get("from"), today);
      await page.reload();
      await heading(page, "Audit log");
      await cell("Ada Lovelace created application Acme Web").waitFor();
      assert.equal(await table.locator("tbody tr").count(), 1);
      assert.equal(await page.getByLabel("Action").inputValue(), "application.created");
      assert.equal(await page.getByLabel("From (optional)").inputValue(), today);

      // The CSV holds what the filters select.
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        page.getByRole("button", { name: "Export CSV" }).click(),
      ]);
      assert.match(download.suggestedFilename(), /^latchkey-audit-log-\d{4}-\d{2}-\d{2}\.csv$/);
      const csv = await readFile((await download.path())!, "utf8");
      const lines = csv.trimEnd().split("\r\n");
      assert.equal(lines.length, 2, csv);
      assert.match(lines[1]!, /,Ada Lovelace created application Acme Web,application\.created,application,/);

      // A date range with nothing in it says so; the actor link shows only that actor.
      await page.goto(`${server.url}/admin/audit-log?to=2001-01-01`);
      await page.getByText("Nothing matches").waitFor();
      await page.goto(`${server.url}/admin/audit-log`);
      await table.getByRole("link", { name: machineName }).first().click();
      await page.waitForURL((url) => url.searchParams.get("actor") === server.management.clientId);
      await cell(`${machineName} created user Grace Hopper 54`).waitFor();
      assert.equal(await page.getByLabel("Who (optional)").inputValue(), server.management.clientId);
      assert.equal(await table.locator("tbody tr").count(), 50);
      assert.equal(await table.getByText("Ada Lovelace").count(), 0);
      const [all] = await Promise.all([
        page.waitForEvent("download"),
        page.getByRole("button", { name: "Export CSV" }).click(),
      ]);
      const allLines = (await readFile((await all.path())!, "utf8")).trimEnd().split("\r\n");
      assert.equal(allLines.length, 1 + 56, "the export is not limited to the page shown");
      assert.deepEqual(dashboard.problems, []);
    });

    it("fits 390 px and passes axe there", async () => {
      const { server, browser } = dashboard;
      await callApi(server, "POST", "/api/v1/applications", {
        body: { name: "a-rather-long-application-name-without-any-spaces-to-break-it-anywhere", type: "spa" },
      });
      const phone = await openDashboardPage(browser, PHONE);
      await signInToDashboard(phone.page, server.url, ADMIN);
      await phone.page.goto(`${server.url}/admin/audit-log?action=application.created`);
      await heading(phone.page, "Audit log");
      await phone.page.getByRole("table", { name: "Audit log" }).waitFor();
      const offenders = (await phone.page.evaluate(`(() => {
        const offenders = [];
        const scrolls = (el) => { for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) if (/(auto|scroll|hidden)/.test(getComputedStyle(a).overflowX)) return true; return false; };
        for (const el of document.body.querySelectorAll("*")) {
          const box = el.getBoundingClientRect();
          if (box.width && box.height && getComputedStyle(el).position !== "fixed" && box.right > innerWidth + 0.5 && !scrolls(el)) offenders.push(el.tagName + "." + el.className);
        }
        return offenders.slice(0, 5);
      })()`)) as string[];
      assert.deepEqual(offenders, []);
      await assertFitsPhone(phone.page, "audit log at 390 px");
      await assertAccessible(phone.page, "audit log at 390 px");
      await phone.context.close();
    });
  });
}
