// Settings › Properties in the admin dashboard, in Chromium on SQLite and PostgreSQL: Kinde's
// built-ins listed per kind of owner (not deletable), a category and a property added through the
// page's dialogs (a reserved key refused in the page before any request), a property made public
// and deleted behind a confirmation — each change read back from the server. axe passes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PropertiesStore } from "../../src/properties/properties.store.js";
import { databaseKinds } from "../helpers/databases.js";
import { assertAccessible, heading, screenshot, signedInDashboard } from "./dashboard-browser.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`admin dashboard: properties (${kind})`, { skip }, () => {
    const dashboard = signedInDashboard(kind);

    const status = (text: string) => dashboard.page.getByRole("status").getByText(text).waitFor();
    const stored = async (context: "usr" | "org" | "app", key: string) => {
      const store = new PropertiesStore(dashboard.server.services.db);
      return store.findByKey(context, key);
    };

    it("lists the built-ins, adds a category and a property, makes it public and deletes it", async () => {
      const { page } = dashboard;
      await page.getByRole("link", { name: "Properties" }).click();
      await heading(page, "Properties");
      const table = page.getByRole("table", { name: "Properties of users" });
      await table.getByText("kp_usr_city").waitFor();
      await table.getByText("utm_source").waitFor();
      assert.equal(
        await page.getByRole("button", { name: "Delete kp_usr_city" }).count(),
        0,
        "built-ins cannot be deleted",
      );
      await page.getByLabel("Properties of").selectOption("org");
      await page
        .getByRole("table", { name: "Properties of organizations" })
        .getByText("kp_org_city")
        .waitFor();
      await assertAccessible(page, "properties");
      await screenshot(page, "properties");

      await page.getByRole("button", { name: "Add category" }).click();
      const categoryDialog = page.getByRole("dialog", { name: "Add a category" });
      await categoryDialog.getByLabel("Name").fill("Billing");
      await categoryDialog.getByLabel("For properties kept on").selectOption("app");
      await categoryDialog.getByRole("button", { name: "Save" }).click();
      await status("Category Billing created");

      await page.getByRole("button", { name: "Add property" }).click();
      const dialog = page.getByRole("dialog", { name: "Add a property" });
      await dialog.getByLabel("Name").fill("Region");
      await dialog.getByLabel("Key").fill("kp_region");
      await dialog.getByLabel("Kept on").selectOption("app");
      await dialog.getByLabel("Category").selectOption({ label: "Billing" });
      await dialog.getByRole("button", { name: "Save" }).click();
      await dialog.getByText("Keys starting with kp_ are kept for built-in properties").waitFor();
      assert.equal(await stored("app", "kp_region"), undefined, "refused in the page, nothing sent");
      await dialog.getByLabel("Key").fill("region");
      await dialog.getByRole("button", { name: "Save" }).click();
      await status("Property region created");
      const region = await stored("app", "region");
      assert.ok(region);
      assert.equal(region.is_private, 1, "private unless asked");
      const apps = page.getByRole("table", { name: "Properties of applications" });
      await apps.getByText("region", { exact: true }).waitFor();

      await page.getByRole("button", { name: "Edit region" }).click();
      const edit = page.getByRole("dialog", { name: "Edit region" });
      await edit.getByLabel("Private").uncheck();
      await edit.getByLabel("Description (optional)").fill("Where the app's data lives");
      await edit.getByRole("button", { name: "Save" }).click();
      await status("Property region saved");
      const saved = await stored("app", "region");
      assert.equal(saved?.is_private, 0);
      assert.equal(saved?.description, "Where the app's data lives");
      await apps.getByText("Yes (public)").waitFor();

      await page.getByRole("button", { name: "Delete region" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Delete property" }).click();
      await status("Property region deleted");
      assert.equal(await stored("app", "region"), undefined);
      assert.deepEqual(dashboard.problems, []);
    });
  });
}
