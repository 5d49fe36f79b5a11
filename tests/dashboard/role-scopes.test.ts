// Issue 15 follow-up, in Chromium on SQLite and PostgreSQL: a user's access token carries an API
// scope only when the user holds it through a role or directly in an organization, so the roles
// screen manages a role's API scopes (Kinde's role scopes: GET/POST /api/v1/roles/{role_id}/scopes,
// DELETE …/scopes/{scope_id}): choose an API, then one of its scopes; the role lists it with a
// remove button. Each change is checked through the Management API, the screen with axe-core.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { databaseKinds } from "../helpers/databases.js";
import { callApi, managementToken } from "../helpers/management.js";
import type { TestServer } from "../helpers/server.js";
import { assertAccessible, heading, screenshot, signedInDashboard } from "./dashboard-browser.js";

interface RoleScope {
  id: string;
  key: string;
  api_id: string;
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`admin dashboard: a role's API scopes (${kind})`, { skip }, () => {
    const admin = signedInDashboard(kind);
    let server: TestServer;
    let page: Page;
    let token: string;
    let apiId: string;
    let roleId: string;

    const roleScopes = async (): Promise<RoleScope[]> => {
      const response = await callApi<{ scopes: RoleScope[] }>(
        server,
        "GET",
        `/api/v1/roles/${roleId}/scopes`,
        {
          token,
        },
      );
      assert.equal(response.status, 200);
      return response.body.scopes;
    };
    const optionsOf = (label: string) =>
      page.getByLabel(label, { exact: true }).locator("option").allTextContents();
    const status = (text: string) => page.getByRole("status").getByText(text).waitFor();

    before(async () => {
      ({ server, page } = admin);
      token = await managementToken(server);
      const orders = await server.services.apis.create({
        name: "Orders API",
        audience: "https://orders.example.com",
      });
      apiId = orders.id;
      await server.services.apis.ensureScopes(apiId, ["read:orders", "write:orders"]);
      // An API without scopes has nothing to offer a role.
      await server.services.apis.create({ name: "Empty API", audience: "https://empty.example.com" });
      const created = await callApi<{ role: { id: string } }>(server, "POST", "/api/v1/roles", {
        token,
        body: { name: "Order desk", key: "order-desk" },
      });
      roleId = created.body.role.id;
    });

    it("adds an API scope to a role, choosing the API and then one of its scopes", async () => {
      await page.goto(`${server.url}/admin/roles/${roleId}`);
      await heading(page, "Order desk");
      await page.getByRole("heading", { level: 2, name: "API scopes" }).waitFor();
      await page.getByText("This role holds no API scopes yet.").waitFor();
      // Only APIs that define scopes, and never the Management API (user tokens cannot call it).
      assert.deepEqual(await optionsOf("API"), ["Orders API"]);
      assert.deepEqual(await optionsOf("Scope"), ["read:orders", "write:orders"]);
      await page.getByLabel("Scope", { exact: true }).selectOption({ label: "read:orders" });
      await page.getByRole("button", { name: "Add API scope" }).click();
      await status("Order desk holds read:orders of Orders API");
      await page.getByRole("cell", { name: "read:orders", exact: true }).waitFor();
      await page.getByRole("cell", { name: "Orders API", exact: true }).waitFor();
      assert.deepEqual(
        (await roleScopes()).map((s) => [s.key, s.api_id]),
        [["read:orders", apiId]],
      );
      // What the role holds is no longer offered.
      assert.deepEqual(await optionsOf("Scope"), ["write:orders"]);
      await assertAccessible(page, "role API scopes");
      await screenshot(page, "role-api-scopes");
    });

    it("lists the role's API scopes from the server", async () => {
      await page.reload();
      await heading(page, "Order desk");
      await page.getByRole("cell", { name: "read:orders", exact: true }).waitFor();
      assert.equal(await page.getByText("This role holds no API scopes yet.").isVisible(), false);
    });

    it("removes an API scope from the role", async () => {
      await page.getByRole("button", { name: "Remove read:orders of Orders API" }).click();
      await status("Order desk no longer holds read:orders of Orders API");
      await page.getByText("This role holds no API scopes yet.").waitFor();
      assert.deepEqual(await roleScopes(), []);
      assert.deepEqual(await optionsOf("Scope"), ["read:orders", "write:orders"]);
      await assertAccessible(page, "role API scopes (empty)");
      assert.deepEqual(admin.problems, []);
    });
  });
}
