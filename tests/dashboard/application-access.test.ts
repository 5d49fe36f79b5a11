// Issue 19 in the dashboard, in Chromium on SQLite and PostgreSQL, 390 px wide: an application's
// "Who may sign in" section switches Kinde's role-based access control and picks its access roles,
// each box saved as ticked; switching it on with no role chosen is refused and the box springs
// back. The page fits the phone without sideways scrolling and passes axe.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication } from "../helpers/fixtures.js";
import { callApi } from "../helpers/management.js";
import { assertAccessible, PHONE, signedInDashboard } from "./dashboard-browser.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`dashboard: an application's access roles (${kind})`, { skip }, () => {
    const dashboard = signedInDashboard(kind, { viewport: PHONE });

    const state = async (clientId: string) => {
      const shown = await callApi<{ application: { is_access_control_enabled: boolean } }>(
        dashboard.server,
        "GET",
        `/api/v1/applications/${clientId}`,
      );
      const roles = await callApi<{ roles: { key: string }[] }>(
        dashboard.server,
        "GET",
        `/api/v1/applications/${clientId}/access_roles`,
      );
      return {
        on: shown.body.application.is_access_control_enabled,
        roles: roles.body.roles.map((r) => r.key),
      };
    };
    const until = async (check: () => Promise<boolean>) => {
      for (let i = 0; i < 100 && !(await check()); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(await check(), "the change reached the server");
    };

    it("switches access control and picks roles, refusing it with no role", async () => {
      const { server, page } = dashboard;
      const app = await createApplication(server, "reg", { name: "Staff portal" });
      const role = await callApi<{ role: { id: string } }>(server, "POST", "/api/v1/roles", {
        body: { key: "staff", name: "Staff" },
      });
      assert.equal(role.status, 201);
      await page.goto(`${server.url}/admin/applications/${app.clientId}`);
      await page.getByRole("heading", { level: 2, name: "Who may sign in" }).waitFor();
      const control = page.getByRole("checkbox", {
        name: "Only people with one of the roles below may sign in",
      });
      const staff = page.getByRole("checkbox", { name: "Staff" });
      await staff.waitFor();

      // No role yet: the server says ACCESS_ROLES_REQUIRED and the box springs back.
      await control.check({ force: true }).catch(() => undefined);
      await page.getByText("Add at least one allowed role").waitFor();
      assert.equal(await control.isChecked(), false);
      assert.equal((await state(app.clientId)).on, false);

      await staff.check();
      await until(async () => (await state(app.clientId)).roles.includes("staff"));
      await control.check();
      await until(async () => (await state(app.clientId)).on);
      assert.deepEqual(await state(app.clientId), { on: true, roles: ["staff"] });

      // The section fits 390 px: nothing in it reaches past the viewport (the page's own width is
      // the quick-start code's business, quick-starts.ts), and the page passes axe.
      const wide = await page.evaluate(`[...document.querySelectorAll("section.panel")]
        .filter((s) => s.querySelector("h2")?.textContent === "Who may sign in")
        .flatMap((s) => [s, ...s.querySelectorAll("*")])
        .filter((e) => e.getBoundingClientRect().right > window.innerWidth)
        .map((e) => e.tagName + " " + (e.textContent ?? "").slice(0, 40))`);
      assert.deepEqual(wide, [], "parts of the section reach past 390 px");
      await assertAccessible(page, "application access roles");

      await staff.uncheck();
      await until(async () => (await state(app.clientId)).roles.length === 0);
      assert.equal((await state(app.clientId)).on, true);
      // The refused PATCH above is the one error response the page saw.
      assert.deepEqual(
        dashboard.problems.filter((p) => !/^400 PATCH .*\/api\/v1\/applications\//.test(p)),
        [],
      );
    });
  });
}
