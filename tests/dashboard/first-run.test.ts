// Issue 20, first run in the browser, in Chromium on SQLite and PostgreSQL: `/` is a small page in
// the hosted pages' style, without script, linking to the dashboard, the discovery document and the
// health check, and — only while nobody can sign in to the dashboard — saying how to make the first
// administrator; someone signed in who is not an administrator gets one page that says what they
// can do (their own account, the command that promotes them, sign out), wherever in the dashboard
// they arrived. axe passes on both pages, in light and dark.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "../helpers/browser.js";
import { databaseKinds } from "../helpers/databases.js";
import { createUser } from "../helpers/fixtures.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import {
  assertAccessible,
  type DashboardPage,
  heading,
  openDashboardPage,
  PHONE,
  screenshot,
  signInToDashboard,
} from "./dashboard-browser.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`first run in the browser (${kind})`, { skip }, () => {
    let server: TestServer;
    let browser: Browser;

    before(async () => {
      server = await startTestServer(kind);
      browser = await launchChromium();
    });

    after(async () => {
      await browser?.close();
      await server?.close();
    });

    it("serves `/` as a page of links, saying how to make the first administrator", async () => {
      const response = await fetch(`${server.url}/`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type") ?? "", /^text\/html/);
      assert.match(response.headers.get("content-security-policy") ?? "", /default-src 'none'/);
      const text = await response.text();
      assert.doesNotMatch(text, /<script/i);

      const { page, context, problems } = await openDashboardPage(browser);
      try {
        await page.goto(`${server.url}/`);
        await heading(page, "Latchkey is running");
        await page.getByRole("status").getByText("No administrator can sign in yet").waitFor();
        await page.getByText("latchkey admins create", { exact: false }).first().waitFor();
        for (const [name, path] of [
          ["Admin dashboard", "/admin/"],
          ["OpenID Connect discovery", "/.well-known/openid-configuration"],
          ["Health", "/health/ready"],
          ["Your account", "/account"],
        ] as const) {
          const link = page.getByRole("link", { name, exact: true });
          assert.equal(await link.getAttribute("href"), path);
        }
        await assertAccessible(page, "home page");
        await screenshot(page, "home-first-run");
        // The links lead where they say: discovery names this issuer, health is ready.
        await page.getByRole("link", { name: "OpenID Connect discovery" }).click();
        await page.waitForURL(`${server.url}/.well-known/openid-configuration`);
        assert.match((await page.textContent("body")) ?? "", new RegExp(`"issuer":"${server.url}"`));
        await page.goBack();
        await page.getByRole("link", { name: "Health" }).click();
        await page.waitForURL(`${server.url}/health/ready`);
        assert.match((await page.textContent("body")) ?? "", /"status":"ready"/);
        assert.deepEqual(problems, []);

        // Dark mode: the same page passes axe too.
        await page.emulateMedia({ colorScheme: "dark" });
        await page.goto(`${server.url}/`);
        await heading(page, "Latchkey is running");
        await assertAccessible(page, "home page (dark)");
      } finally {
        await context.close();
      }
    });

    it("stops saying it once an administrator exists; a suspended one does not count", async () => {
      const admin = await server.services.users.create({
        email: "first-admin@example.com",
        password: "first-admin-password-1",
        isAdmin: true,
        emailVerified: true,
      });
      assert.doesNotMatch(await (await fetch(`${server.url}/`)).text(), /No administrator can sign in/);
      await server.storage.db
        .updateTable("users")
        .set({ is_suspended: 1 })
        .where("id", "=", admin.id)
        .execute();
      assert.match(await (await fetch(`${server.url}/`)).text(), /No administrator can sign in/);
      await server.storage.db
        .updateTable("users")
        .set({ is_suspended: 0 })
        .where("id", "=", admin.id)
        .execute();
    });

    it("shows someone who is not an administrator one page with ways forward", async () => {
      const person = await createUser(server, { email: "not-admin@example.com" });
      const visitor: DashboardPage = await openDashboardPage(browser, PHONE);
      const page: Page = visitor.page;
      try {
        await signInToDashboard(page, server.url, person);
        await heading(page, "This account is not an administrator");
        await page.getByText("not-admin@example.com is signed in, but only administrators").waitFor();
        assert.equal(
          await page.getByRole("link", { name: "Manage your own account" }).getAttribute("href"),
          "/account",
        );
        await page.getByText("latchkey admins grant --email not-admin@example.com").waitFor();
        // No dashboard behind it: no menu, no screen.
        assert.equal(await page.locator("nav.sidebar").count(), 0);
        await assertAccessible(page, "not an administrator");
        await screenshot(page, "not-administrator-phone");

        // Any other address of the dashboard ends on the same page, not on a broken screen.
        await page.goto(`${server.url}/admin/users`);
        await heading(page, "This account is not an administrator");
        assert.equal(await page.getByRole("heading", { level: 1 }).count(), 1);
        assert.equal(await page.locator("nav.sidebar").count(), 0);

        await page.getByRole("button", { name: "Sign out" }).click();
        await heading(page, "You have signed out");
        assert.deepEqual(visitor.problems, []);
      } finally {
        await visitor.context.close();
      }
    });
  });
}
