// Issue 20, a user's page in Chromium: the profile is edited (names, picture, provided ID — checked
// through the Management API and after a reload), an e-mail address is added to a user who had
// none, the organizations they belong to are listed with their roles, and a missing user shows a
// clear "not found" page; at 390 px wide the page fits and passes axe.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
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

for (const { kind, skip } of await databaseKinds()) {
  describe(`a user's page (${kind})`, { skip }, () => {
    const dashboard = signedInDashboard(kind);
    let token: string;
    let userId: string;
    let orgCode: string;

    before(async () => {
      const { server } = dashboard;
      token = await managementToken(server);
      const user = await callApi<{ id: string }>(server, "POST", "/api/v1/user", {
        token,
        body: {
          profile: { given_name: "Ada", family_name: "Byron" },
          identities: [{ type: "email", is_verified: true, details: { email: "ada@example.com" } }],
        },
      });
      userId = user.body.id;
      const org = await callApi<{ organization: { code: string } }>(server, "POST", "/api/v1/organization", {
        token,
        body: { name: "Analytical Engines" },
      });
      orgCode = org.body.organization.code;
      const role = await callApi(server, "POST", "/api/v1/roles", {
        token,
        body: { name: "Engineer", key: "engineer" },
      });
      assert.ok(role.status < 300, JSON.stringify(role.body));
      const added = await callApi(server, "POST", `/api/v1/organizations/${orgCode}/users`, {
        token,
        body: { users: [{ id: userId, roles: ["engineer"] }] },
      });
      assert.ok(added.status < 300, JSON.stringify(added.body));
    });

    it("lists the user's organizations with their roles", async () => {
      const { server, page } = dashboard;
      await page.goto(`${server.url}/admin/users/${userId}`);
      await heading(page, "Ada Byron");
      const row = page.getByRole("row", { name: /Analytical Engines/ });
      await row.waitFor();
      assert.equal(await row.locator("td").nth(1).textContent(), "Engineer");
      assert.equal(
        await row.getByRole("link", { name: "Analytical Engines" }).getAttribute("href"),
        `/admin/organizations/${orgCode}`,
      );
      await assertAccessible(page, "user page");
    });

    it("edits the profile, which the API and a reload then show", async () => {
      const { server, page } = dashboard;
      await page.getByLabel("Last name").fill("Lovelace");
      await page.getByLabel("Provided ID (optional)").fill("ext-1815");
      await page.getByLabel("Picture URL (optional)").fill("http://not-https.example.com/p.png");
      await page.getByRole("button", { name: "Save profile" }).click();
      await page.getByText("Use an https:// address").waitFor();
      await page.getByLabel("Picture URL (optional)").fill("https://example.com/ada.png");
      await page.getByRole("button", { name: "Save profile" }).click();
      await heading(page, "Ada Lovelace");
      const user = await callApi<{ last_name: string; provided_id: string; picture: string }>(
        server,
        "GET",
        `/api/v1/user?id=${userId}`,
        { token },
      );
      assert.deepEqual(
        [user.body.last_name, user.body.provided_id, user.body.picture],
        ["Lovelace", "ext-1815", "https://example.com/ada.png"],
      );
      await page.reload();
      await heading(page, "Ada Lovelace");
      assert.equal(await page.getByLabel("Provided ID (optional)").inputValue(), "ext-1815");
      // An address is changed through identities: a user who has one is not offered the field.
      assert.equal(await page.getByLabel("Email (none yet)").count(), 0);
    });

    it("adds an email address to a user who has none", async () => {
      const { server, page } = dashboard;
      const created = await callApi<{ id: string }>(server, "POST", "/api/v1/user", {
        token,
        body: { identities: [{ type: "username", details: { username: "charles" } }] },
      });
      await page.goto(`${server.url}/admin/users/${created.body.id}`);
      await heading(page, "charles");
      await page.getByRole("heading", { name: "Organizations" }).waitFor();
      await page.getByLabel("Email (none yet)").fill("not-an-address");
      await page.getByRole("button", { name: "Save profile" }).click();
      await page.getByText("Enter an email address like name@example.com").waitFor();
      await page.getByLabel("Email (none yet)").fill("Charles@Example.com");
      await page.getByRole("button", { name: "Save profile" }).click();
      await page.getByRole("cell", { name: "charles@example.com" }).first().waitFor();
      const user = await callApi<{ preferred_email: string }>(
        server,
        "GET",
        `/api/v1/user?id=${created.body.id}`,
        {
          token,
        },
      );
      assert.equal(user.body.preferred_email, "charles@example.com");
    });

    it("shows a missing user as not found", async () => {
      const { server, page } = dashboard;
      await page.goto(`${server.url}/admin/users/kp_0000000000000000000000000000dead`);
      await heading(page, "User not found");
      await page.getByRole("link", { name: /users/i }).first().waitFor();
    });

    it("fits 390 px wide and passes axe", async () => {
      const { server, browser } = dashboard;
      const phone = await openDashboardPage(browser, PHONE);
      await signInToDashboard(phone.page, server.url, ADMIN);
      await phone.page.goto(`${server.url}/admin/users/${userId}`);
      await heading(phone.page, "Ada Lovelace");
      await phone.page.getByRole("row", { name: /Analytical Engines/ }).waitFor();
      await assertFitsPhone(phone.page, "user page");
      await assertAccessible(phone.page, "user page at 390 px");
      await phone.context.close();
    });
  });
}
