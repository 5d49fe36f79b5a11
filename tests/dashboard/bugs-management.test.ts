// Issue 20's bugs in the dashboard's settings, in Chromium on SQLite and PostgreSQL. Latchkey's
// Management API is never one tick away: a web app is not offered it (people's tokens reach it only
// through the dashboard); a machine-to-machine app gets it through a dialog that warns, starts with
// no scope chosen and grants exactly the scopes ticked; access is removed behind a confirmation,
// with its scopes; a web app authorised before this (through the API) can have it removed. Saving a
// connected app's settings says "configured": nobody's account is connected by it.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import { assertAccessible, heading, screenshot, signedInDashboard } from "./dashboard-browser.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`dashboard bugs: Management API access and connected-app copy (${kind})`, { skip }, () => {
    const dashboard = signedInDashboard(kind);
    let token: string;
    let managementApiId: string;

    const grantedKeys = async (clientId: string): Promise<string[]> => {
      const held = await callApi<{ scopes: { key: string }[] }>(
        dashboard.server,
        "GET",
        `/api/v1/apis/${managementApiId}/applications/${clientId}/scopes`,
        { token },
      );
      return held.body.scopes.map((s) => s.key).sort();
    };
    const authorised = async (clientId: string) =>
      dashboard.server.services.apis.store.isAuthorized(managementApiId, clientId);

    before(async () => {
      token = await managementToken(dashboard.server);
      managementApiId = (await dashboard.server.services.apis.store.findManagementApi())!.id;
    });

    it("does not offer a web app the Management API", async () => {
      const { server, page } = dashboard;
      const web = await createApplication(server, "reg", { name: "Acme Web" });
      await page.goto(`${server.url}/admin/applications/${web.clientId}`);
      await heading(page, "Acme Web");
      assert.equal(await page.getByRole("checkbox", { name: /Latchkey Management API/ }).count(), 0);
      assert.equal(await page.getByRole("button", { name: "Give Management API access…" }).count(), 0);
      await page
        .getByText("Not offered: people's tokens reach the Management API only through this dashboard")
        .waitFor();
    });

    it("gives a machine-to-machine app only the scopes chosen, after a warning", async () => {
      const { server, page } = dashboard;
      const worker = await createApplication(server, "m2m", { name: "Billing worker" });
      await page.goto(`${server.url}/admin/applications/${worker.clientId}`);
      await heading(page, "Billing worker");
      await page.getByText("No access. Give it only the scopes it needs").waitFor();
      await page.getByRole("button", { name: "Give Management API access…" }).click();
      const dialog = page.getByRole("dialog", { name: "Give Billing worker Management API access" });
      await dialog.getByText("The Management API controls all of Latchkey").waitFor();
      // Nothing chosen for the administrator, and nothing to send until they choose.
      assert.equal(await dialog.getByRole("checkbox", { checked: true }).count(), 0);
      const submit = dialog.getByRole("button", { name: "Choose at least one scope" });
      assert.equal(await submit.isDisabled(), true);
      await assertAccessible(page, "Management API access dialog");
      await screenshot(page, "management-access-dialog");

      await dialog.getByLabel("Filter scopes").fill("read:users");
      assert.equal(await dialog.getByRole("checkbox", { name: "read:organizations" }).isVisible(), false);
      await dialog.getByRole("checkbox", { name: "read:users", exact: true }).check();
      await dialog.getByLabel("Filter scopes").fill("read:roles");
      await dialog.getByRole("checkbox", { name: "read:roles", exact: true }).check();
      await dialog.getByText("2 of").waitFor();
      await dialog.getByRole("button", { name: "Authorise with 2 scopes" }).click();
      await dialog.waitFor({ state: "detached" });
      await page
        .getByRole("status")
        .getByText("Billing worker can call the Management API with 2 scopes")
        .waitFor();
      assert.equal(await authorised(worker.clientId), true);
      assert.deepEqual(await grantedKeys(worker.clientId), ["read:roles", "read:users"]);
      await page.getByText("Management API access", { exact: true }).waitFor();

      // The token it now gets carries exactly those.
      const tokenResponse = await fetch(`${server.url}/oauth2/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: worker.clientId,
          client_secret: worker.clientSecret!,
          audience: `${server.url}/api`,
        }),
      });
      const body = (await tokenResponse.json()) as { scope: string };
      assert.deepEqual(body.scope.split(" ").sort(), ["read:roles", "read:users"]);

      await page.getByRole("button", { name: "Remove access" }).click();
      const confirm = page.getByRole("dialog", { name: "Remove Billing worker's Management API access?" });
      await confirm.getByRole("button", { name: "Remove access" }).click();
      await page.getByText("No access. Give it only the scopes it needs").waitFor();
      assert.equal(await authorised(worker.clientId), false);
      assert.deepEqual(await grantedKeys(worker.clientId), []);
    });

    it("lists machine apps on the Management API's page, and lets a web app's old access go", async () => {
      const { server, page } = dashboard;
      const legacy = await createApplication(server, "spa", { name: "Old portal" });
      await server.services.apis.authorizeApplication(managementApiId, legacy.clientId);
      const offline = await createApplication(server, "reg", { name: "Unrelated site" });
      await page.goto(`${server.url}/admin/apis/${managementApiId}`);
      await heading(page, "Latchkey Management API");
      await page.getByText("Old portal", { exact: true }).waitFor();
      await page.getByText("it grants nothing. Remove it.").waitFor();
      assert.equal(
        await page.getByText("Unrelated site").count(),
        0,
        "web apps without access are not listed",
      );
      assert.equal(await page.getByRole("checkbox", { name: /Old portal|Billing worker/ }).count(), 0);
      await assertAccessible(page, "Management API's applications");
      const row = page.locator(".management-access", { hasText: "Old portal" });
      await row.getByRole("button", { name: "Remove access" }).click();
      await page
        .getByRole("dialog", { name: "Remove Old portal's Management API access?" })
        .getByRole("button", { name: "Remove access" })
        .click();
      await page.getByRole("status").getByText("Old portal no longer has Management API access").waitFor();
      assert.equal(await authorised(legacy.clientId), false);
      assert.equal(await authorised(offline.clientId), false);
    });

    it("says a connected app was configured, not connected", async () => {
      const { server, page } = dashboard;
      await page.goto(`${server.url}/admin/settings/connected-apps`);
      await heading(page, "Connected apps");
      await page.getByRole("button", { name: "Connect an app" }).first().click();
      const dialog = page.getByRole("dialog", { name: "Connect an app" });
      await dialog.getByRole("button", { name: /GitHub/ }).click();
      await dialog.getByLabel("Client ID").fill("gh-client-id");
      await dialog.getByLabel("Client secret").fill("gh-client-secret");
      await dialog.getByLabel("Callback URL for your app").fill("https://app.example.com/connected");
      await dialog.getByRole("button", { name: "Save" }).click();
      await dialog.waitFor({ state: "detached" });
      await page.getByRole("status").getByText("GitHub configured. Choose its permissions next.").waitFor();
      assert.equal(await page.getByText("GitHub connected").count(), 0);
      assert.deepEqual(dashboard.problems, []);
    });
  });
}
