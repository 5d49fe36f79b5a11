// Issue 17, Settings › Authentication › Connections in Chromium, on SQLite and PostgreSQL: the
// empty section with the callback URL to register; adding an OpenID Connect connection (a missing
// field refused in the page, the server's refusal of an http issuer shown at the issuer field);
// the secret written once and never shown (only "set"); enabling and disabling it per application
// (machine applications not offered; the dashboard's own application only after a confirmation);
// editing (a home-realm domain another connection owns refused at its field, the secret replaced,
// options the form does not show kept); a phone-width layout; deleting after a confirmation; axe.
// Creating an oidc:custom connection checks the issuer URL only (no discovery request), so
// https://idp.example.com needs no provider.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { Locator } from "playwright-core";
import { storedDashboardClientId } from "../../src/dashboard/dashboard-app.js";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication } from "../helpers/fixtures.js";
import {
  ADMIN,
  assertAccessible,
  assertFitsPhone,
  heading,
  openDashboardPage,
  PHONE,
  screenshot,
  signedInDashboard,
  signInToDashboard,
} from "./dashboard-browser.js";

const FIRST_SECRET = "first-secret-Qx7-never-shown";
const SECOND_SECRET = "second-secret-Zr4-never-shown";

function isFocused(locator: Locator): Promise<boolean> {
  return locator.evaluate((el) => el === el.ownerDocument.activeElement);
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`admin dashboard: connections (${kind})`, { skip }, () => {
    const dashboard = signedInDashboard(kind);
    let storefront: string;
    let backOffice: string;
    let dashboardId: string;
    let connectionId: string;

    const section = () => dashboard.page.locator("section.connections");
    const item = () => dashboard.page.locator("section[data-connection]").first();

    before(async () => {
      const { server } = dashboard;
      storefront = (await createApplication(server, "spa", { name: "Storefront" })).clientId;
      backOffice = (await createApplication(server, "reg", { name: "Back office" })).clientId;
      await createApplication(server, "m2m", { name: "Nightly job" });
      dashboardId = (await storedDashboardClientId(server.storage.db))!;
    });

    it("shows the callback URL to register, and explains the empty section", async () => {
      const { server, page } = dashboard;
      await page
        .getByRole("navigation", { name: "Dashboard" })
        .getByRole("link", { name: "Authentication", exact: true })
        .click();
      await heading(page, "Authentication");
      await page.getByRole("heading", { level: 2, name: "Connections" }).waitFor();
      await section().getByRole("heading", { level: 3, name: "No connections yet" }).waitFor();
      assert.equal(
        await section().getByRole("textbox", { name: "Callback URL" }).inputValue(),
        `${server.url}/auth/connections/callback`,
      );
      await section().getByRole("button", { name: "Copy Callback URL" }).waitFor();
      await assertAccessible(page, "connections (empty)");
      if (kind === "sqlite") await screenshot(page, "connections-empty");
    });

    it("adds an OpenID Connect connection: problems shown at their fields, the secret never again", async () => {
      const { server, page } = dashboard;
      await section().getByRole("button", { name: "Add connection" }).click();
      const dialog = page.getByRole("dialog", { name: "Add a connection" });
      await dialog.waitFor();
      assert.equal(await dialog.getByLabel("Provider").inputValue(), "oidc:custom");
      assert.equal(
        await dialog.getByRole("textbox", { name: "Callback URL" }).inputValue(),
        `${server.url}/auth/connections/callback`,
      );
      // A social provider asks for neither an issuer nor home-realm domains; its name is suggested.
      await dialog.getByLabel("Provider").selectOption("oauth2:github");
      assert.equal(await dialog.getByLabel("Display name").inputValue(), "GitHub");
      assert.equal(await dialog.getByLabel("Issuer URL").isVisible(), false);
      assert.equal(await dialog.getByLabel("Home-realm domains (optional)").isVisible(), false);
      // oauth2:custom asks for its endpoints and the userinfo mapping.
      await dialog.getByLabel("Provider").selectOption("oauth2:custom");
      await dialog.getByLabel("Token endpoint").waitFor();
      await dialog.getByRole("group", { name: "Userinfo mapping" }).waitFor();
      await dialog.getByLabel("Provider").selectOption("oidc:custom");
      assert.equal(await dialog.getByLabel("Display name").inputValue(), "", "the suggestion goes");
      assert.equal(await dialog.getByLabel("Token endpoint").isVisible(), false);

      let posts = 0;
      const countPosts = (request: { method(): string; url(): string }) => {
        if (request.method() === "POST" && request.url().endsWith("/api/v1/connections")) posts++;
      };
      page.on("request", countPosts);
      await dialog.getByRole("button", { name: "Add connection" }).click();
      await dialog.getByText("Display name is required").waitFor();
      assert.equal(await isFocused(dialog.getByLabel("Display name")), true);
      await dialog.getByLabel("Display name").fill("Acme SSO");
      assert.equal(await dialog.getByLabel("Name", { exact: true }).inputValue(), "acme-sso");
      await dialog.getByLabel("Client ID").fill("latchkey-client");
      await dialog.getByLabel("Client secret (optional)").fill(FIRST_SECRET);
      await dialog.getByRole("button", { name: "Add connection" }).click();
      await dialog.getByText("Issuer URL is required").waitFor();
      assert.equal(await isFocused(dialog.getByLabel("Issuer URL")), true);
      assert.equal(posts, 0, "nothing was sent");
      page.off("request", countPosts);

      // http passes the page's check (an absolute URL); the server refuses it, at the field.
      await dialog.getByLabel("Issuer URL").fill("http://idp.example.com");
      await dialog.getByLabel("Home-realm domains (optional)").fill("acme.example, ACME.example");
      await dialog.getByRole("checkbox", { name: "Trusted" }).check();
      await dialog.getByRole("button", { name: "Add connection" }).click();
      const issuer = dialog.getByLabel("Issuer URL");
      await dialog.locator('input[name="issuer"][aria-invalid="true"]').waitFor();
      assert.match(
        await dialog.locator('input[name="issuer"] ~ .field-error').innerText(),
        /^options\.issuer .*https/,
      );
      assert.equal(await isFocused(issuer), true);
      assert.equal((await server.services.connections.list({ limit: 10 })).connections.length, 0);
      await assertAccessible(page, "add connection dialog with an error");
      if (kind === "sqlite") await screenshot(page, "connections-add-error");

      await issuer.fill("https://idp.example.com");
      assert.equal(await issuer.getAttribute("aria-invalid"), null);
      await dialog.getByRole("button", { name: "Add connection" }).click();
      await dialog.waitFor({ state: "detached" });
      const title = page.getByRole("heading", { level: 3, name: "Acme SSO" });
      await title.waitFor();
      assert.equal(await isFocused(title), true, "focus goes to the new connection");

      const [stored] = (await server.services.connections.list({ limit: 10 })).connections;
      assert.ok(stored);
      connectionId = stored.id;
      assert.equal(stored.strategy, "oidc:custom");
      assert.equal(stored.name, "acme-sso");
      assert.equal(stored.displayName, "Acme SSO");
      assert.equal(stored.options.client_id, "latchkey-client");
      assert.equal(stored.options.issuer, "https://idp.example.com");
      assert.equal(stored.options.is_trusted, true);
      assert.deepEqual(stored.homeRealmDomains, ["acme.example"]);
      assert.equal(server.services.connections.openClientSecret(stored), FIRST_SECRET);

      const text = await item().innerText();
      assert.match(text, /OpenID Connect \(any provider\)/);
      assert.match(text, /Client secret\s+Set \(hidden\)/);
      assert.match(text, /acme\.example/);
      assert.ok(!(await page.content()).includes(FIRST_SECRET), "the secret is nowhere on the page");
    });

    it("enables it per application; the dashboard's own only after a confirmation", async () => {
      const { server, page } = dashboard;
      const apps = item().getByRole("group", { name: "Enabled for" });
      await apps.getByText("Not offered on any sign-in page yet").waitFor();
      const labels = (await apps.locator("label").allInnerTexts()).sort();
      assert.deepEqual(labels, ["Back office", "Latchkey dashboard (this dashboard)", "Storefront"]);
      await apps.getByText("Warning: this changes how administrators sign in to this dashboard.").waitFor();

      await apps.getByRole("checkbox", { name: "Storefront" }).check();
      await page.getByRole("status").getByText("Acme SSO enabled for Storefront").waitFor();
      assert.deepEqual(await server.services.connections.enabledApplications(connectionId), [storefront]);
      assert.equal(await apps.getByText("Not offered on any sign-in page yet").isVisible(), false);

      const dashboardBox = apps.getByRole("checkbox", { name: "Latchkey dashboard (this dashboard)" });
      await dashboardBox.click();
      const confirm = page.getByRole("dialog", { name: "Offer Acme SSO on the dashboard's sign-in?" });
      await confirm.getByText("a way into the admin dashboard").waitFor();
      await assertAccessible(page, "dashboard enablement confirmation");
      await confirm.getByRole("button", { name: "Cancel" }).click();
      await confirm.waitFor({ state: "detached" });
      // The box springs back once the answer to the question is in.
      await dashboardBox.and(page.locator(":not(:checked)")).waitFor();
      assert.deepEqual(await server.services.connections.enabledApplications(connectionId), [storefront]);

      await dashboardBox.click();
      await confirm.getByRole("button", { name: "Enable for the dashboard" }).click();
      await page.getByRole("status").getByText("Acme SSO enabled for Latchkey dashboard").waitFor();
      assert.deepEqual(
        (await server.services.connections.enabledApplications(connectionId)).sort(),
        [storefront, dashboardId].sort(),
      );
      await dashboardBox.click();
      await page
        .getByRole("dialog", { name: "Stop offering Acme SSO on the dashboard's sign-in?" })
        .getByRole("button", { name: "Disable for the dashboard" })
        .click();
      await page.getByRole("status").getByText("Acme SSO disabled for Latchkey dashboard").waitFor();
      assert.equal(await dashboardBox.isChecked(), false);
      assert.deepEqual(await server.services.connections.enabledApplications(connectionId), [storefront]);

      // Reloaded, the section shows what the server has.
      await page.reload();
      await heading(page, "Authentication");
      const again = item().getByRole("group", { name: "Enabled for" });
      assert.equal(await again.getByRole("checkbox", { name: "Storefront" }).isChecked(), true);
      assert.equal(await again.getByRole("checkbox", { name: "Back office" }).isChecked(), false);
      assert.ok(backOffice);
      await assertAccessible(page, "connections (one enabled)");
      if (kind === "sqlite") await screenshot(page, "connections-list");
    });

    it("edits it: a taken domain at its field, the secret replaced, other options kept", async () => {
      const { server, page } = dashboard;
      // An option this form does not show, and a domain owned by another connection.
      await server.services.connections.update(connectionId, {
        options: { is_sync_user_profile_on_login: true },
      });
      const other = await server.services.connections.create({
        name: "partner",
        displayName: "Partner IdP",
        strategy: "oidc:custom",
        options: {
          client_id: "partner",
          issuer: "https://partner.example.net",
          home_realm_domains: ["partner.example"],
        },
      });
      await page.reload();
      await heading(page, "Authentication");
      const acme = page.locator(`section[data-connection="${connectionId}"]`);
      await acme.getByRole("button", { name: "Edit" }).click();
      const dialog = page.getByRole("dialog", { name: "Edit Acme SSO" });
      await dialog.waitFor();
      assert.equal(await isFocused(dialog.getByLabel("Display name")), true);
      assert.equal(await dialog.getByLabel("Issuer URL").inputValue(), "https://idp.example.com");
      assert.equal(await dialog.getByLabel("Scopes (optional)").inputValue(), "openid profile email");
      assert.equal(await dialog.getByRole("checkbox", { name: "Trusted" }).isChecked(), true);
      await dialog.getByText("A client secret is set. It is never shown.").waitFor();
      assert.equal(await dialog.locator('input[name="client_secret"]').count(), 0);
      assert.equal(
        await dialog.getByRole("textbox", { name: "Callback URL" }).inputValue(),
        `${server.url}/auth/connections/callback`,
      );

      await dialog.getByLabel("Display name").fill("Acme Workforce");
      const domains = dialog.getByLabel("Home-realm domains (optional)");
      await domains.fill("acme.example, partner.example");
      await dialog.getByRole("button", { name: "Save" }).click();
      await dialog.getByText("partner.example already belongs to another connection").waitFor();
      assert.equal(await domains.getAttribute("aria-invalid"), "true");
      assert.equal(await isFocused(domains), true);
      assert.equal((await server.services.connections.find(connectionId))?.displayName, "Acme SSO");

      await domains.fill("acme.example");
      // Pointing it elsewhere without the secret that goes with it is refused in the page: the
      // server would drop the stored secret (it is never sent to a new place).
      const issuer = dialog.getByLabel("Issuer URL");
      await issuer.fill("https://login.acme.example");
      await dialog.getByRole("button", { name: "Save" }).click();
      await dialog.getByText("The client ID or the provider's address changed").waitFor();
      assert.equal(await isFocused(dialog.getByRole("button", { name: "Replace secret" })), true);
      await issuer.fill("https://idp.example.com");
      await dialog.getByRole("button", { name: "Replace secret" }).click();
      assert.equal(await dialog.getByText("The client ID or the provider's address changed").count(), 0);
      const secret = dialog.getByLabel("New client secret");
      assert.equal(await isFocused(secret), true);
      assert.equal(await secret.getAttribute("type"), "password");
      await dialog.getByRole("button", { name: "Save" }).click();
      await dialog.getByText("Enter the new secret, or cancel the replacement").waitFor();
      await secret.fill(SECOND_SECRET);
      await dialog.getByRole("button", { name: "Save" }).click();
      await dialog.waitFor({ state: "detached" });
      await page.getByRole("status").getByText("Connection Acme Workforce saved").waitFor();
      assert.equal(await isFocused(acme.getByRole("button", { name: "Edit" })), true);

      const stored = await server.services.connections.find(connectionId);
      assert.ok(stored);
      assert.equal(stored.displayName, "Acme Workforce");
      assert.equal(server.services.connections.openClientSecret(stored), SECOND_SECRET);
      assert.equal(stored.options.is_trusted, true);
      assert.equal(stored.options.is_sync_user_profile_on_login, true, "an option the form does not show");
      assert.deepEqual(stored.options.scopes, ["openid", "profile", "email"]);
      assert.deepEqual(stored.homeRealmDomains, ["acme.example"]);
      assert.deepEqual(await server.services.connections.enabledApplications(connectionId), [storefront]);
      assert.ok(!(await page.content()).includes(SECOND_SECRET), "the secret is nowhere on the page");

      assert.ok(await server.services.connections.delete(other.id));

      // Saving again without touching the secret keeps it.
      await acme.getByRole("button", { name: "Edit" }).click();
      const again = page.getByRole("dialog", { name: "Edit Acme Workforce" });
      await again.getByRole("button", { name: "Save" }).click();
      await again.waitFor({ state: "detached" });
      const kept = await server.services.connections.find(connectionId);
      assert.equal(server.services.connections.openClientSecret(kept!), SECOND_SECRET);
    });

    it("fits a phone's width", async () => {
      const { server, browser } = dashboard;
      const phone = await openDashboardPage(browser, PHONE);
      try {
        await signInToDashboard(phone.page, server.url, ADMIN);
        await phone.page.goto(`${server.url}/admin/settings/authentication`);
        await heading(phone.page, "Authentication");
        await phone.page.getByRole("heading", { level: 3, name: "Acme Workforce" }).waitFor();
        await assertFitsPhone(phone.page, "connections on a phone");
        await assertAccessible(phone.page, "connections on a phone");
        if (kind === "sqlite") await screenshot(phone.page, "connections-phone");
        await phone.page.getByRole("button", { name: "Edit" }).click();
        await phone.page.getByRole("dialog", { name: "Edit Acme Workforce" }).waitFor();
        await assertFitsPhone(phone.page, "a connection's dialog on a phone");
        assert.deepEqual(phone.problems, []);
      } finally {
        await phone.context.close();
      }
    });

    it("deletes it after a confirmation", async () => {
      const { server, page } = dashboard;
      await item().getByRole("button", { name: "Delete" }).click();
      const confirm = page.getByRole("dialog", { name: "Delete Acme Workforce?" });
      await confirm.getByText("This cannot be undone.").waitFor();
      await confirm.getByRole("button", { name: "Delete connection" }).click();
      await section().getByRole("heading", { level: 3, name: "No connections yet" }).waitFor();
      assert.equal(await isFocused(page.getByRole("heading", { level: 2, name: "Connections" })), true);
      assert.equal(await server.services.connections.find(connectionId), undefined);
      // The failed responses the page saw are the two refusals under test.
      assert.deepEqual(
        dashboard.problems.filter(
          (p) =>
            !/^400 POST .*\/api\/v1\/connections$/.test(p) &&
            !/^409 PUT .*\/api\/v1\/connections\/conn_[0-9a-f]{32}$/.test(p),
        ),
        [],
      );
      assert.equal(dashboard.problems.length, 2);
    });
  });
}
