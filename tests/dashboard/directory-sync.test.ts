// An organization's Directory sync block in Chromium, on SQLite and PostgreSQL: an administrator
// makes the organization's SCIM directory, copies its token once and the identity provider's
// requests work with it; ticks the roles its groups may grant (read back through the Management
// API); replaces the token (the old one is refused by the SCIM endpoint at once, the new one
// works); deletes it and the form to make one is back. axe on both states. A sign-in whose token
// lacks the directory scopes keeps the rest of the page and says how to get them.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import type { Page } from "playwright-core";
import { databaseKinds } from "../helpers/databases.js";
import { callApi, narrowMachineToken } from "../helpers/management.js";
import { assertScimError, organizationWithConnection, scim } from "../scim/scim-helpers.js";
import { assertAccessible, screenshot, signedInDashboard } from "./dashboard-browser.js";

/** The token and base URL the dialog shows once, then the dialog closed with Done once copied. */
async function tokenFromDialog(page: Page): Promise<{ token: string; baseUrl: string }> {
  const dialog = page.getByRole("dialog", { name: /: the token$/ });
  await dialog.waitFor();
  const token = await dialog.getByLabel("Secret token", { exact: true }).inputValue();
  const baseUrl = await dialog.getByLabel("SCIM base URL", { exact: true }).inputValue();
  // Copying the base URL is not copying the token: Done still warns.
  await dialog.getByRole("button", { name: "Copy SCIM base URL" }).click();
  await dialog.getByRole("button", { name: "Done" }).click();
  await dialog.getByRole("alert").getByText("Secret token not copied yet").waitFor();
  await dialog.getByRole("button", { name: "Copy Secret token" }).click();
  await dialog.getByRole("alert").waitFor({ state: "hidden" });
  await dialog.getByRole("button", { name: "Done" }).click();
  await dialog.waitFor({ state: "detached" });
  return { token, baseUrl };
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`dashboard: an organization's directory sync (${kind})`, { skip }, () => {
    const dashboard = signedInDashboard(kind);

    it("makes the directory, sets the roles its groups grant, replaces its token, deletes it", async () => {
      const { server, page } = dashboard;
      const tag = randomBytes(3).toString("hex");
      const { orgCode, connectionId } = await organizationWithConnection(server, [`dir-${tag}.example`]);
      const roleKey = `engineers-${tag}`;
      const role = await callApi(server, "POST", "/api/v1/roles", {
        body: { name: `Engineers ${tag}`, key: roleKey },
      });
      assert.equal(role.status, 201, JSON.stringify(role.body));

      await page.goto(`${server.url}/admin/organizations/${orgCode}`);
      const block = page.locator("section", { has: page.getByRole("heading", { name: "Directory sync" }) });
      await block.getByRole("button", { name: "Create directory" }).waitFor();
      const connection = block.getByLabel("Enterprise connection");
      await block.locator(`option[value="${connectionId}"]`).waitFor({ state: "attached" });
      assert.equal(await connection.inputValue(), connectionId);
      await assertAccessible(page, "organization without a directory");

      await block.getByRole("button", { name: "Create directory" }).click();
      await block.getByText("Directory name is required").waitFor();
      type Listed = { directories: { id: string; provider_code: string; assignable_role_keys: string[] }[] };
      const list = async () =>
        (await callApi<Listed>(server, "GET", `/api/v1/directories?organization_code=${orgCode}`)).body
          .directories;
      assert.deepEqual(await list(), [], "a refused form sends nothing");

      await block.getByLabel("Directory name").fill("Okta production");
      await block.getByLabel("Identity provider").selectOption("entra_id_azure_ad");
      await block.getByRole("button", { name: "Create directory" }).click();
      const first = await tokenFromDialog(page);
      assert.match(first.token, /^kstkn_[A-Za-z0-9]{48}$/);
      const [made] = await list();
      assert.equal(made?.provider_code, "entra_id_azure_ad");
      assert.equal((await scim(first, "GET", "/Users")).status, 200, "the identity provider gets in");
      await block.locator("dd", { hasText: "Microsoft Entra ID" }).waitFor();
      assert.equal(await block.getByLabel("SCIM base URL", { exact: true }).inputValue(), first.baseUrl);
      // Once its dialog is closed the token is nowhere in the page, as text or as a field's value.
      const shown = await page
        .locator("body")
        .evaluate(
          (body, token) =>
            body.innerHTML.includes(token) ||
            [...body.querySelectorAll("input")].some((input) => input.value === token),
          first.token,
        );
      assert.equal(shown, false, "the token is not on the page");
      await assertAccessible(page, "organization with a directory");

      await block.getByLabel(`Engineers ${tag}`).check();
      await block.getByRole("button", { name: "Save roles" }).click();
      await page.getByRole("status").getByText("Roles saved").waitFor();
      assert.deepEqual((await list())[0]?.assignable_role_keys, [roleKey]);
      await block.scrollIntoViewIfNeeded();
      await screenshot(page, "organization-directory");

      await block.getByRole("button", { name: "New token" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Replace token" }).click();
      const second = await tokenFromDialog(page);
      assert.notEqual(second.token, first.token);
      assert.equal(second.baseUrl, first.baseUrl, "the endpoint stays");
      assertScimError(await scim(first, "GET", "/Users"), 401);
      assert.equal((await scim(second, "GET", "/Users")).status, 200);

      await block.getByRole("button", { name: "Delete directory" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Delete directory" }).click();
      await block.getByRole("button", { name: "Create directory" }).waitFor();
      assert.deepEqual(await list(), []);
      assertScimError(await scim(second, "GET", "/Users"), 401);
      assert.deepEqual(dashboard.problems, []);
    });

    it("a sign-in without the directory scopes keeps the page and says how to get them", async () => {
      const { server, page } = dashboard;
      const { orgCode } = await organizationWithConnection(server, [
        `dir-${randomBytes(3).toString("hex")}.example`,
      ]);
      // The server's answer to a token signed in before the dashboard asked for these scopes.
      const { token } = await narrowMachineToken(server, ["read:organizations"]);
      const refusal = await callApi(server, "GET", `/api/v1/directories?organization_code=${orgCode}`, {
        token,
      });
      assert.equal(refusal.status, 403, JSON.stringify(refusal.body));
      await page.route("**/api/v1/directories?*", (route) =>
        route.fulfill({ status: 403, contentType: "application/json", body: JSON.stringify(refusal.body) }),
      );
      try {
        await page.goto(`${server.url}/admin/organizations/${orgCode}`);
        const block = page.locator("section", { has: page.getByRole("heading", { name: "Directory sync" }) });
        await block.getByRole("alert").getByText("does not allow managing directories yet").waitFor();
        assert.match(await block.innerText(), /Sign out and sign in again/);
        // The rest of the organization's page is there.
        await page.getByRole("heading", { name: "Connections" }).waitFor();
      } finally {
        await page.unroute("**/api/v1/directories?*");
      }
    });
  });
}
