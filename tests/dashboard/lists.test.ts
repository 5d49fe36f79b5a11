// Issue 20, the dashboard's long lists in Chromium: users newest first with a count, paged by
// keyset, searched by prefix and ordered on request — all kept in the address, so reload and Back
// show the same page and search; the same for organizations and applications; each fits 390 px
// and passes axe.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { bulkLoadUsers } from "../helpers/bulk-users.js";
import { databaseKinds } from "../helpers/databases.js";
import { callApi, managementToken } from "../helpers/management.js";
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

/** The user ids the users table shows, in order (from each row's link). */
async function shownIds(page: Page, prefix: string): Promise<string[]> {
  const hrefs = await page
    .locator("tbody tr td:first-child a")
    .evaluateAll((links) => links.map((a) => a.getAttribute("href") ?? ""));
  return hrefs.map((href) => href.slice(prefix.length));
}

/** Waits until the table's first row is the user `id` (the page drawn for the new address). */
async function firstRowIs(page: Page, id: string | undefined): Promise<void> {
  await page.locator(`tbody tr:first-child td:first-child a[href="/admin/users/${id}"]`).waitFor();
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`dashboard lists keep their place in the address (${kind})`, { skip }, () => {
    const dashboard = signedInDashboard(kind);
    let token: string;
    const apiIds = async (query: Record<string, string>) => {
      const response = await callApi<{ users: { id: string }[]; next_token?: string }>(
        dashboard.server,
        "GET",
        `/api/v1/users?${new URLSearchParams({ page_size: "25", ...query })}`,
        { token },
      );
      return { ids: response.body.users.map((u) => u.id), next: response.body.next_token };
    };

    before(async () => {
      await bulkLoadUsers(dashboard.server.storage.db, 80);
      token = await managementToken(dashboard.server);
    });

    it("pages users newest first; reload and Back keep the page", async () => {
      const { server, page } = dashboard;
      await page.goto(`${server.url}/admin/users`);
      await heading(page, "Users");
      const rows = page.locator("tbody tr");
      await rows.nth(24).waitFor();
      // 80 loaded and the administrator, exactly counted (81 is far below any estimate).
      await page.getByText("81 users", { exact: true }).waitFor();
      const first = await apiIds({ sort: "created_on_desc" });
      assert.deepEqual(await shownIds(page, "/admin/users/"), first.ids);
      assert.equal(await rows.first().locator("td").nth(1).textContent(), ADMIN.email);

      await page.getByRole("button", { name: "Next page" }).click();
      await page.getByText("Page 2").waitFor();
      const url = new URL(page.url());
      assert.equal(url.searchParams.get("page"), "2");
      assert.equal(url.searchParams.get("after"), first.next);
      const second = await apiIds({ sort: "created_on_desc", next_token: first.next! });
      await firstRowIs(page, second.ids[0]);
      assert.deepEqual(await shownIds(page, "/admin/users/"), second.ids);

      await page.reload();
      await page.getByText("Page 2").waitFor();
      await rows.first().waitFor();
      assert.deepEqual(await shownIds(page, "/admin/users/"), second.ids);

      // Previous goes back to page 1 after the reload too (the tab remembers the way back).
      await page.getByRole("button", { name: "Previous page" }).click();
      await page.getByText("Page 1").waitFor();
      assert.equal(new URL(page.url()).search, "");
      await page.getByRole("button", { name: "Next page" }).click();
      await page.getByText("Page 2").waitFor();
      await page.getByRole("button", { name: "Next page" }).click();
      await page.getByText("Page 3").waitFor();
      await page.goBack();
      await page.getByText("Page 2").waitFor();
      await firstRowIs(page, second.ids[0]);
      assert.deepEqual(await shownIds(page, "/admin/users/"), second.ids);
      await page.goBack();
      await page.getByText("Page 1").waitFor();
      await assertAccessible(page, "users list, paged");
    });

    it("searches users by prefix and orders them oldest first; reload and Back keep both", async () => {
      const { server, page } = dashboard;
      await page.goto(`${server.url}/admin/users`);
      await heading(page, "Users");
      await page.getByLabel("Find a user").fill("Grace");
      await page.getByRole("button", { name: "Search" }).click();
      await page.waitForURL((url) => url.searchParams.get("q") === "Grace");
      const grace = await apiIds({ sort: "created_on_desc", starts_with: "Grace" });
      assert.ok(grace.ids.length > 0);
      await page.getByText(`${grace.ids.length} users`, { exact: true }).waitFor();
      assert.deepEqual(await shownIds(page, "/admin/users/"), grace.ids);

      await page.getByLabel("Order").selectOption("created_on_asc");
      await page.waitForURL((url) => url.searchParams.get("sort") === "created_on_asc");
      const oldest = await apiIds({ sort: "created_on_asc", starts_with: "Grace" });
      await firstRowIs(page, oldest.ids[0]);
      assert.deepEqual(await shownIds(page, "/admin/users/"), oldest.ids);

      await page.reload();
      await page.locator("tbody tr").first().waitFor();
      assert.equal(await page.getByLabel("Find a user").inputValue(), "Grace");
      assert.equal(await page.getByLabel("Order").inputValue(), "created_on_asc");
      assert.deepEqual(await shownIds(page, "/admin/users/"), oldest.ids);

      await page.goBack();
      await page.waitForURL(
        (url) => url.searchParams.get("sort") === null && url.searchParams.get("q") === "Grace",
      );
      await firstRowIs(page, grace.ids[0]);
      await page.getByLabel("Find a user").fill("nobody-like-this");
      await page.getByRole("button", { name: "Search" }).click();
      await page.getByText("No user matches").waitFor();
      await assertAccessible(page, "users list, searched");
    });

    it("pages, searches and counts organizations and applications the same way", async () => {
      const { server, page } = dashboard;
      for (const name of ["Northwind", "Northstar", "Contoso"]) {
        const created = await callApi(server, "POST", "/api/v1/organization", { token, body: { name } });
        assert.equal(created.status, 200);
        const app = await callApi(server, "POST", "/api/v1/applications", {
          token,
          body: { name: `${name} web`, type: "reg" },
        });
        assert.ok(app.status < 300);
      }
      for (const [path, title, label] of [
        ["organizations", "Organizations", "Find an organization"],
        ["applications", "Applications", "Find an application"],
      ] as const) {
        await page.goto(`${server.url}/admin/${path}`);
        await heading(page, title);
        await page.locator("tbody tr").first().waitFor();
        await page.getByLabel(label).fill("north");
        await page.getByRole("button", { name: "Search" }).click();
        await page.waitForURL((url) => url.searchParams.get("q") === "north");
        await page.getByText(`2 ${path}`, { exact: true }).waitFor();
        assert.equal(await page.locator("tbody tr").count(), 2);
        await page.reload();
        await page.getByText(`2 ${path}`, { exact: true }).waitFor();
        assert.equal(await page.getByLabel(label).inputValue(), "north");
        await page.goBack();
        await page.waitForURL((url) => !url.searchParams.has("q"));
        await page.locator("tbody tr").nth(2).waitFor();
        await assertAccessible(page, `${path} list`);
      }
    });

    it("fits 390 px wide and passes axe on each list", async () => {
      const { server, browser } = dashboard;
      const phone = await openDashboardPage(browser, PHONE);
      await signInToDashboard(phone.page, server.url, ADMIN);
      for (const [path, title] of [
        ["users?q=grace&sort=created_on_asc", "Users"],
        ["organizations?q=north", "Organizations"],
        ["applications", "Applications"],
      ] as const) {
        await phone.page.goto(`${server.url}/admin/${path}`);
        await heading(phone.page, title);
        await phone.page.locator("tbody tr").first().waitFor();
        await assertFitsPhone(phone.page, title);
        await assertAccessible(phone.page, `${title} at 390 px`);
      }
      await phone.context.close();
    });
  });
}
