// Issue 8, the dashboard's organizations, roles & permissions and feature flags in Chromium: create
// an organization (paged list), add a member by email, create a role and a permission, attach the
// permission to the role and give the role to the member, create a boolean flag and override it for
// the organization, protect the default organization and delete another — each change checked
// through the Management API, each screen with axe-core. Also Latchkey's list of flag definitions
// (GET /api/v1/feature_flags, which the screens need and Kinde's API lacks) on both databases.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { databaseKinds } from "../helpers/databases.js";
import { createUser } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { assertAccessible, heading, PHONE, screenshot, signedInDashboard } from "./dashboard-browser.js";

interface FlagDefinition {
  key: string;
  name: string;
  type: string;
  allow_override_level: string;
  default_value: string;
  environment_value: string | null;
}

describe("admin dashboard: organizations, roles and feature flags (sqlite)", () => {
  const admin = signedInDashboard("sqlite");
  let server: TestServer;
  let page: Page;
  let token: string;
  let ada: { id: string; email: string };
  let orgCode: string;
  let roleId: string;

  const get = async <T>(path: string) => {
    const response = await callApi<T>(server, "GET", path, { token });
    assert.equal(response.status, 200, `GET ${path}: ${JSON.stringify(response.body)}`);
    return response.body;
  };
  const status = (text: string | RegExp) => page.getByRole("status").getByText(text).waitFor();

  before(async () => {
    ({ server, page } = admin);
    token = await managementToken(server);
    ada = await createUser(server, { email: "ada@example.com" });
  });

  it("creates an organization, validating as it is typed", async () => {
    await page
      .getByRole("navigation", { name: "Dashboard" })
      .getByRole("link", { name: "Organizations", exact: true })
      .click();
    await heading(page, "Organizations");
    await page.getByRole("link", { name: "Default Organization" }).waitFor();
    await page.getByRole("button", { name: "Add organization" }).click();
    const dialog = page.getByRole("dialog", { name: "Add an organization" });
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.getByText("Name is required").waitFor();
    await dialog.getByLabel("Name").fill("Acme Rockets");
    await dialog.getByLabel("Handle (optional)").fill("acme rockets");
    await dialog.getByText("Use no spaces").waitFor();
    await dialog.getByLabel("Handle (optional)").fill("acme");
    await assertAccessible(page, "create organization dialog");
    await dialog.getByRole("button", { name: "Save" }).click();
    await heading(page, "Acme Rockets");
    orgCode = new URL(page.url()).pathname.split("/").pop()!;
    assert.match(orgCode, /^org_[0-9a-f]{11}$/);
    const org = await get<{ name: string; handle: string; is_default: boolean }>(
      `/api/v1/organization?code=${orgCode}`,
    );
    assert.deepEqual([org.name, org.handle, org.is_default], ["Acme Rockets", "acme", false]);
    // A second organization with the same handle is refused, in words.
    await page.getByRole("link", { name: "← Organizations" }).click();
    await heading(page, "Organizations");
    await page.getByRole("button", { name: "Add organization" }).click();
    const again = page.getByRole("dialog", { name: "Add an organization" });
    await again.getByLabel("Name").fill("Acme again");
    await again.getByLabel("Handle (optional)").fill("acme");
    await again.getByRole("button", { name: "Save" }).click();
    await again.getByRole("alert").getByText("An organization with this handle already exists").waitFor();
    assert.deepEqual(
      admin.problems.splice(0).map((p) => p.split(" ")[0]),
      ["409"],
    );
    await again.getByRole("button", { name: "Cancel" }).click();
  });

  it("pages through organizations with next_token", async () => {
    for (let i = 1; i <= 25; i += 1) {
      const created = await callApi(server, "POST", "/api/v1/organization", {
        token,
        body: { name: `Team ${String(i).padStart(2, "0")}` },
      });
      assert.equal(created.status, 200);
    }
    await page.reload();
    await heading(page, "Organizations");
    const rows = page.locator("tbody tr");
    await rows.nth(24).waitFor();
    assert.equal(await rows.count(), 25);
    // Newest first by default; by name on request (the order is kept in the address).
    await page.getByLabel("Order").selectOption("name_asc");
    await page.waitForURL((url) => url.searchParams.get("sort") === "name_asc");
    await page.getByRole("cell", { name: "Acme Rockets", exact: true }).waitFor();
    // Sorted by name: Acme Rockets, Default Organization, Team 01… — 27 in all.
    assert.equal(await rows.first().locator("td").first().textContent(), "Acme Rockets");
    await page.getByRole("button", { name: "Next page" }).click();
    await page.getByText("Page 2").waitFor();
    assert.equal(await rows.count(), 2);
    assert.equal(await page.getByRole("button", { name: "Next page" }).isDisabled(), true);
    await page.getByRole("button", { name: "Previous page" }).click();
    await page.getByText("Page 1").waitFor();
    await page.getByRole("cell", { name: /^Default Organization\s*Default$/ }).waitFor();
    await assertAccessible(page, "organizations list");
    await screenshot(page, "organizations");
  });

  it("renames the organization and adds a member by email", async () => {
    await page.getByRole("link", { name: "Acme Rockets" }).click();
    await heading(page, "Acme Rockets");
    await page.getByText("No members yet").waitFor();
    await page.getByLabel("Name", { exact: true }).fill("Acme Rocket Co");
    await page.getByRole("button", { name: "Save details" }).click();
    await status("Organization saved");
    await heading(page, "Acme Rocket Co");
    assert.equal(
      (await get<{ name: string }>(`/api/v1/organization?code=${orgCode}`)).name,
      "Acme Rocket Co",
    );

    const who = page.getByLabel("User ID or email");
    await who.fill("not an id");
    await page.getByText("Enter a user ID (kp_…) or an email address").waitFor();
    await who.fill("nobody@example.com");
    await page.getByRole("button", { name: "Add member" }).click();
    await page.getByText("No user has the email address nobody@example.com").waitFor();
    await who.fill(ada.email);
    await page.getByRole("button", { name: "Add member" }).click();
    await status(`${ada.email} added to Acme Rocket Co`);
    await page.getByRole("cell", { name: ada.email }).waitFor();
    const members = await get<{ organization_users: { id: string }[] }>(
      `/api/v1/organizations/${orgCode}/users`,
    );
    assert.deepEqual(
      members.organization_users.map((m) => m.id),
      [ada.id],
    );
  });

  it("creates a role and a permission, and attaches the permission to the role", async () => {
    await page.getByRole("link", { name: "Roles & permissions" }).click();
    await heading(page, "Roles & permissions");
    await page.getByText("No roles yet").waitFor();
    await page.getByText("No permissions yet").waitFor();
    await assertAccessible(page, "roles & permissions (empty)");

    const name = page.getByLabel("Name", { exact: true });
    const key = page.getByLabel("Key", { exact: true });
    await name.fill("Read invoices");
    assert.equal(await key.inputValue(), "read:invoices");
    await key.fill("read invoices");
    await page.getByText("Use 1-128 letters, digits or _ : . - / (no spaces or commas)").waitFor();
    await key.fill("read:invoices");
    await page.getByLabel("Description (optional)").fill("See the invoices of the organization");
    await page.getByRole("button", { name: "Add permission" }).click();
    await page.getByRole("cell", { name: "read:invoices", exact: true }).waitFor();
    const permissions = await get<{ permissions: { id: string; key: string; name: string }[] }>(
      "/api/v1/permissions",
    );
    const permission = permissions.permissions.find((p) => p.key === "read:invoices");
    assert.equal(permission?.name, "Read invoices");

    await page.getByRole("button", { name: "Add role", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "Add a role" });
    await dialog.getByLabel("Name").fill("Billing admin");
    assert.equal(await dialog.getByLabel("Key").inputValue(), "billing-admin");
    await dialog.getByRole("button", { name: "Save" }).click();
    await heading(page, "Billing admin");
    roleId = new URL(page.url()).pathname.split("/").pop()!;

    await page.getByRole("checkbox", { name: "Read invoices" }).check();
    await status("Billing admin grants read:invoices");
    const granted = await get<{ permissions: { key: string }[] }>(`/api/v1/roles/${roleId}/permissions`);
    assert.deepEqual(
      granted.permissions.map((p) => p.key),
      ["read:invoices"],
    );

    await page.getByLabel("Description (optional)").fill("Pays the bills");
    await page.getByRole("checkbox", { name: "Give this role to new members" }).check();
    await page.getByRole("button", { name: "Save role" }).click();
    await status("Role saved");
    const { role } = await get<{ role: { description: string; is_default_role: boolean; key: string } }>(
      `/api/v1/roles/${roleId}`,
    );
    assert.deepEqual(
      [role.key, role.description, role.is_default_role],
      ["billing-admin", "Pays the bills", true],
    );
    await assertAccessible(page, "role details");
    await screenshot(page, "role-details");

    await page.getByRole("link", { name: "← Roles & permissions" }).click();
    await heading(page, "Roles & permissions");
    await page.getByRole("link", { name: "Billing admin" }).waitFor();
    await assertAccessible(page, "roles & permissions");
    await screenshot(page, "roles");
  });

  it("gives the member the role in the organization, with its permission", async () => {
    await page.goto(`${server.url}/admin/organizations/${orgCode}`);
    await heading(page, "Acme Rocket Co");
    await page.getByRole("button", { name: "Roles of Ada Lovelace" }).click();
    const dialog = page.getByRole("dialog", { name: "Roles of Ada Lovelace" });
    await dialog.getByRole("checkbox", { name: "Billing admin" }).check();
    await status("Ada Lovelace now has the role Billing admin");
    await assertAccessible(page, "member roles dialog");
    await dialog.getByRole("button", { name: "Done" }).click();
    await page.getByRole("cell", { name: "Billing admin", exact: true }).waitFor();
    const roles = await get<{ roles: { key: string }[] }>(
      `/api/v1/organizations/${orgCode}/users/${ada.id}/roles`,
    );
    assert.deepEqual(
      roles.roles.map((r) => r.key),
      ["billing-admin"],
    );
    const held = await get<{ permissions: { key: string }[] }>(
      `/api/v1/organizations/${orgCode}/users/${ada.id}/permissions`,
    );
    assert.deepEqual(
      held.permissions.map((p) => p.key),
      ["read:invoices"],
    );
  });

  it("creates, edits and deletes feature flags, checking values by type", async () => {
    await page.getByRole("link", { name: "Feature flags" }).click();
    await heading(page, "Feature flags");
    await page.getByText("No feature flags yet").waitFor();
    await assertAccessible(page, "feature flags (empty)");

    await page.getByRole("button", { name: "Add feature flag" }).click();
    let dialog = page.getByRole("dialog", { name: "Add a feature flag" });
    await dialog.getByLabel("Name").fill("New billing");
    assert.equal(await dialog.getByLabel("Key", { exact: true }).inputValue(), "new_billing");
    await dialog.getByRole("radio", { name: "Integer" }).check();
    await dialog.getByLabel("Default value").fill("ten");
    await dialog.getByText("Enter a whole number, e.g. 10 or -3").waitFor();
    await dialog.getByRole("radio", { name: "Boolean" }).check();
    await dialog.getByLabel("Default value").selectOption("false");
    await assertAccessible(page, "create feature flag dialog");
    await dialog.getByRole("button", { name: "Save" }).click();
    await status("Feature flag new_billing created");
    await page.getByRole("cell", { name: /New billing\s*new_billing/ }).waitFor();

    await page.getByRole("button", { name: "Add feature flag" }).click();
    dialog = page.getByRole("dialog", { name: "Add a feature flag" });
    await dialog.getByLabel("Name").fill("Seats");
    await dialog.getByRole("radio", { name: "Integer" }).check();
    await dialog.getByLabel("Default value").fill("5");
    await dialog.getByRole("button", { name: "Save" }).click();
    await status("Feature flag seats created");

    await page.getByRole("button", { name: "Edit seats" }).click();
    dialog = page.getByRole("dialog", { name: "Edit seats" });
    await dialog.getByLabel("Default value").fill("5.5");
    await dialog.getByText("Enter a whole number").waitFor();
    await dialog.getByLabel("Default value").fill("10");
    await dialog.getByRole("button", { name: "Save" }).click();
    await status("Feature flag seats saved");
    await page.getByRole("cell", { name: "10", exact: true }).waitFor();
    let flags = await get<{ feature_flags: FlagDefinition[] }>("/api/v1/feature_flags");
    assert.deepEqual(
      flags.feature_flags.map((f) => [f.key, f.name, f.type, f.default_value, f.allow_override_level]),
      [
        ["new_billing", "New billing", "bool", "false", "org"],
        ["seats", "Seats", "int", "10", "org"],
      ],
    );
    await assertAccessible(page, "feature flags");
    await screenshot(page, "feature-flags");

    await page.getByRole("button", { name: "Delete seats" }).click();
    await page
      .getByRole("dialog", { name: "Delete the flag seats?" })
      .getByRole("button", { name: "Delete flag" })
      .click();
    await status("Feature flag seats deleted");
    flags = await get<{ feature_flags: FlagDefinition[] }>("/api/v1/feature_flags");
    assert.deepEqual(
      flags.feature_flags.map((f) => f.key),
      ["new_billing"],
    );
  });

  it("overrides the boolean flag for the organization", async () => {
    await page.goto(`${server.url}/admin/organizations/${orgCode}`);
    await heading(page, "Acme Rocket Co");
    const value = page.getByLabel("Value of new_billing for this organization");
    assert.equal(await value.inputValue(), "false");
    await value.selectOption("true");
    await page.getByRole("button", { name: "Save the value of new_billing" }).click();
    await status("new_billing is true (on) for Acme Rocket Co");
    await page.getByText("Own value", { exact: true }).waitFor();
    const org = await get<{ feature_flags: Record<string, { type: string; value: string }> }>(
      `/api/v1/organizations/${orgCode}/feature_flags`,
    );
    assert.deepEqual(org.feature_flags.new_billing, { type: "bool", value: "true" });
    // Other organizations keep the default.
    const env = await get<{ feature_flags: Record<string, { value: string }> }>(
      "/api/v1/environment/feature_flags",
    );
    assert.equal(env.feature_flags.new_billing?.value, "false");
    await page.reload();
    await heading(page, "Acme Rocket Co");
    assert.equal(await page.getByLabel("Value of new_billing for this organization").inputValue(), "true");
    await page.getByRole("cell", { name: "Billing admin", exact: true }).waitFor();
    await assertAccessible(page, "organization details");
    await screenshot(page, "organization-details");
  });

  it("shows organization details at phone width", async () => {
    const phone = await admin.context.newPage();
    await phone.setViewportSize(PHONE);
    await phone.goto(`${server.url}/admin/organizations/${orgCode}`);
    await heading(phone, "Acme Rocket Co");
    await phone.getByRole("cell", { name: ada.email }).waitFor();
    await assertAccessible(phone, "organization details on a phone");
    await screenshot(phone, "organization-details-phone");
    await phone.close();
  });

  it("keeps the default organization; removes the member and deletes the other after confirmation", async () => {
    const list = await get<{ organizations: { code: string; is_default: boolean }[] }>(
      "/api/v1/organizations?page_size=100",
    );
    const fallback = list.organizations.find((o) => o.is_default)!;
    await page.goto(`${server.url}/admin/organizations/${fallback.code}`);
    await heading(page, "Default Organization");
    await page.getByText("This is the default organization").waitFor();
    assert.equal(await page.getByRole("button", { name: "Delete organization" }).count(), 0);

    await page.goto(`${server.url}/admin/organizations/${orgCode}`);
    await heading(page, "Acme Rocket Co");
    await page.getByRole("button", { name: "Remove Ada Lovelace" }).click();
    await page
      .getByRole("dialog", { name: "Remove Ada Lovelace from Acme Rocket Co?" })
      .getByRole("button", { name: "Remove member" })
      .click();
    await page.getByText("No members yet").waitFor();
    const members = await get<{ organization_users: unknown[] }>(`/api/v1/organizations/${orgCode}/users`);
    assert.deepEqual(members.organization_users, []);

    await page.getByRole("button", { name: "Delete organization" }).click();
    const dialog = page.getByRole("dialog", { name: "Delete Acme Rocket Co?" });
    await dialog.getByText("This cannot be undone").waitFor();
    await dialog.getByRole("button", { name: "Delete organization" }).click();
    await heading(page, "Organizations");
    const gone = await callApi(server, "GET", `/api/v1/organization?code=${orgCode}`, { token });
    assert.equal(gone.status, 404);
    assert.deepEqual(admin.problems, []);
  });
});

for (const { kind, skip } of await databaseKinds()) {
  describe(`Management API: the list of feature flag definitions (${kind})`, { skip }, () => {
    let server: TestServer;

    before(async () => {
      server = await startTestServer(kind);
    });

    after(async () => {
      await server?.close();
    });

    it("lists every definition, paged, for a token with read:environment_feature_flags", async () => {
      const token = await managementToken(server);
      for (const body of [
        {
          key: "zeta",
          name: "Beta programme",
          type: "bool",
          default_value: "true",
          allow_override_level: "usr",
        },
        { key: "alpha", name: "Theme", type: "str", default_value: "light", description: "Colour theme" },
        { key: "seats", name: "Seats", type: "int", default_value: "3", allow_override_level: "env" },
      ]) {
        const created = await callApi(server, "POST", "/api/v1/feature_flags", { token, body });
        assert.equal(created.status, 201, JSON.stringify(created.body));
      }
      const env = await callApi(server, "PATCH", "/api/v1/environment/feature_flags/seats", {
        token,
        body: { value: "7" },
      });
      assert.equal(env.status, 200);

      const reader = await managementToken(server, "read:environment_feature_flags");
      const first = await callApi<{ feature_flags: FlagDefinition[]; next_token: string | null }>(
        server,
        "GET",
        "/api/v1/feature_flags?page_size=2",
        { token: reader },
      );
      assert.equal(first.status, 200);
      assert.ok(first.body.next_token);
      const second = await callApi<{ feature_flags: FlagDefinition[]; next_token: string | null }>(
        server,
        "GET",
        `/api/v1/feature_flags?page_size=2&next_token=${encodeURIComponent(first.body.next_token)}`,
        { token: reader },
      );
      assert.equal(second.body.next_token, null);
      // Sorted by name, then key.
      assert.deepEqual(
        [...first.body.feature_flags, ...second.body.feature_flags].map((f) => [
          f.key,
          f.type,
          f.default_value,
          f.allow_override_level,
          f.environment_value,
        ]),
        [
          ["zeta", "bool", "true", "usr", null],
          ["seats", "int", "3", "env", "7"],
          ["alpha", "str", "light", "org", null],
        ],
      );

      const other = await managementToken(server, "read:organizations");
      const refused = await callApi(server, "GET", "/api/v1/feature_flags", { token: other });
      assert.equal(refused.status, 403);
      const bad = await callApi(server, "GET", "/api/v1/feature_flags?next_token=nonsense", { token });
      assert.equal(bad.status, 400);
    });
  });
}
