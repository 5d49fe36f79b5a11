// Issue 19 in the admin dashboard, in Chromium on SQLite and PostgreSQL: an organization's page
// invites someone (with a role, by e-mail) and shows the link once — the link works until the
// invitation is withdrawn behind a confirmation, then it is refused and the invitation is listed as
// withdrawn on request; the API keys screen (reached from the menu) creates a key shown once that
// Latchkey's public verification accepts with its scope, rotates it (the old key refused, the new
// one accepted, the list showing the new key's last characters) and deletes it. axe passes on each
// screen and dialog. The phone width of both screens is in phone.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { callApi } from "../helpers/management.js";
import { assertAccessible, heading, screenshot, signedInDashboard } from "./dashboard-browser.js";

interface Invites {
  invites: { id: string; email: string; is_sent: boolean; is_revoked: boolean; roles: { key: string }[] }[];
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`admin dashboard: invitations and API keys (${kind})`, { skip }, () => {
    const dashboard = signedInDashboard(kind);

    const status = (text: string) => dashboard.page.getByRole("status").getByText(text).waitFor();

    /** Latchkey's public verification of an API key, as a customer's API calls it. */
    const verify = async (key: string) => {
      const response = await fetch(`${dashboard.server.url}/api/v1/api_keys/verify`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ api_key: key }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };

    it("invites someone from an organization's page, shows the link once, and withdraws it", async () => {
      const { server, page } = dashboard;
      const org = await server.services.organizations.create({ name: "Harbour Lights" });
      const role = await callApi(server, "POST", "/api/v1/roles", {
        body: { name: "Lamp keeper", key: "lamp-keeper" },
      });
      assert.equal(role.status, 201, JSON.stringify(role.body));
      const invites = (query = "") =>
        callApi<Invites>(server, "GET", `/api/v1/organization/${org.code}/invites${query}`);

      await page.goto(`${server.url}/admin/organizations/${org.code}`);
      await heading(page, "Harbour Lights");
      await page.getByRole("heading", { level: 2, name: "Invitations" }).waitFor();
      await page.getByText("No open invitations.").waitFor();

      await page.getByRole("button", { name: "Invite someone" }).click();
      const dialog = page.getByRole("dialog", { name: "Invite someone to Harbour Lights" });
      // An address that is not one is refused in the page, before any request.
      await dialog.getByLabel("Email address").fill("not-an-address");
      await dialog.getByRole("button", { name: "Invite" }).click();
      await dialog.getByText("Enter an email address like name@example.com").waitFor();
      assert.equal((await invites()).body.invites.length, 0);
      await dialog.getByLabel("Email address").fill("grace.darling@example.com");
      await dialog.getByLabel("First name (optional)").fill("Grace");
      await dialog.getByLabel("Last name (optional)").fill("Darling");
      await dialog.getByRole("checkbox", { name: "Lamp keeper" }).check();
      assert.equal(
        await dialog.getByRole("checkbox", { name: "Send the invitation by e-mail" }).isChecked(),
        true,
      );
      await assertAccessible(page, "invite dialog");
      await dialog.getByRole("button", { name: "Invite" }).click();

      const shown = page.getByRole("dialog", { name: "Invitation for grace.darling@example.com" });
      await shown.getByText("The invitation is on its way by e-mail").waitFor();
      const link = await shown.getByRole("textbox", { name: "Invitation link" }).inputValue();
      assert.match(link, new RegExp(`^${server.url}/team_invitation\\?code=`));
      await assertAccessible(page, "invitation link dialog");
      await shown.getByRole("button", { name: "Done" }).click();

      const table = page.getByRole("table", { name: "Invitations" });
      const row = table.getByRole("row", { name: /grace\.darling@example\.com/ });
      await row.waitFor();
      await row.getByRole("cell", { name: "Grace Darling" }).waitFor();
      await row.getByRole("cell", { name: "Lamp keeper" }).waitFor();
      await row.getByRole("cell", { name: "Sent by e-mail" }).waitFor();
      const stored = (await invites()).body.invites;
      assert.deepEqual(
        stored.map((i) => [i.email, i.is_sent, i.roles.map((r) => r.key)]),
        [["grace.darling@example.com", true, ["lamp-keeper"]]],
      );
      const mail = await server.services.db
        .selectFrom("mail_messages")
        .select("to_address")
        .where("to_address", "=", "grace.darling@example.com")
        .execute();
      assert.equal(mail.length, 1, "the invitation was written to the outbox");
      // The link shown is the invitation's: it leads to sign-in while the invitation is open.
      assert.equal((await fetch(link, { redirect: "manual" })).status, 302);
      await assertAccessible(page, "organization with an invitation");
      if (kind === "sqlite") await screenshot(page, "organization-invitations");

      // Cancelled: nothing happens.
      const withdraw = page.getByRole("button", {
        name: "Withdraw the invitation to grace.darling@example.com",
      });
      await withdraw.click();
      const question = page.getByRole("dialog", {
        name: "Withdraw the invitation to grace.darling@example.com?",
      });
      await question.getByRole("button", { name: "Cancel" }).click();
      assert.equal((await invites()).body.invites.length, 1);

      await withdraw.click();
      await question.getByRole("button", { name: "Withdraw invitation" }).click();
      await status("Invitation to grace.darling@example.com withdrawn");
      await page.getByText("No open invitations.").waitFor();
      assert.equal((await invites()).body.invites.length, 0);
      const all = await invites("?include_revoked=true");
      assert.deepEqual(
        all.body.invites.map((i) => [i.email, i.is_revoked]),
        [["grace.darling@example.com", true]],
      );
      assert.equal((await fetch(link, { redirect: "manual" })).status, 410, "the link no longer works");

      await page.getByRole("checkbox", { name: "Show accepted and withdrawn invitations" }).check();
      await row.getByRole("cell", { name: "Withdrawn" }).waitFor();
      assert.equal(await withdraw.count(), 0, "a withdrawn invitation cannot be withdrawn again");

      // Not sent by e-mail, the link exists only in the dialog: closing before copying it warns.
      await page.getByRole("button", { name: "Invite someone" }).click();
      await dialog.getByLabel("Email address").fill("ida.lewis@example.com");
      await dialog.getByRole("checkbox", { name: "Send the invitation by e-mail" }).uncheck();
      await dialog.getByRole("button", { name: "Invite" }).click();
      const unsent = page.getByRole("dialog", { name: "Invitation for ida.lewis@example.com" });
      await unsent.getByText("Send this link to the invitee").waitFor();
      await unsent.getByRole("button", { name: "Done" }).click();
      await unsent.getByRole("alert").getByText("Invitation link not copied yet").waitFor();
      await unsent.getByRole("button", { name: "Copy Invitation link" }).click();
      await unsent.getByRole("button", { name: "Done" }).click();
      await unsent.waitFor({ state: "detached" });
      assert.deepEqual(
        (await invites()).body.invites.map((i) => [i.email, i.is_sent]),
        [["ida.lewis@example.com", false]],
      );
      assert.deepEqual(dashboard.problems, []);
    });

    it("creates an API key shown once, rotates it and deletes it", async () => {
      const { server, page } = dashboard;
      const api = await server.services.apis.create({
        name: "Lighthouse API",
        audience: "https://lighthouse.example.com",
      });
      await server.services.apis.ensureScopes(api.id, ["read:beacons", "write:beacons"]);
      await page.goto(`${server.url}/admin/`);
      await heading(page, "Home");

      await page
        .getByRole("navigation", { name: "Dashboard" })
        .getByRole("link", { name: "API keys", exact: true })
        .click();
      await heading(page, "API keys");
      await page.getByText("No API keys yet").waitFor();
      assert.equal(
        await page
          .getByRole("navigation", { name: "Dashboard" })
          .getByRole("link", { name: "API keys" })
          .getAttribute("aria-current"),
        "page",
      );
      await assertAccessible(page, "API keys, empty");

      await page.getByRole("button", { name: "Create API key" }).click();
      const dialog = page.getByRole("dialog", { name: "Create API key" });
      await dialog.getByLabel("Name", { exact: true }).fill("Beacon reader");
      await dialog.getByRole("checkbox", { name: "read:beacons" }).check();
      // A user's key needs the user's ID: refused in the page, before any request.
      await dialog.getByRole("button", { name: "Create key" }).click();
      await dialog.getByText("Enter the user's ID (kp_…)").waitFor();
      await dialog.getByRole("radio", { name: "Your own services" }).check();
      await assertAccessible(page, "create API key dialog");
      await dialog.getByRole("button", { name: "Create key" }).click();

      const once = page.getByRole("dialog", { name: "Beacon reader: the key" });
      const key = await once.getByRole("textbox", { name: "API key" }).inputValue();
      assert.match(key, /^lk_[0-9a-f]{16}_[A-Za-z0-9]{43}$/);
      await assertAccessible(page, "API key shown once");
      // Not copied yet: Done, × and Escape stop on a warning instead of losing the key.
      const notCopied = once.getByRole("alert").filter({ hasText: "API key not copied yet" });
      await once.getByRole("button", { name: "Done" }).click();
      await notCopied.waitFor();
      await assertAccessible(page, "API key not copied yet");
      await once.getByRole("button", { name: "Back" }).click();
      await notCopied.waitFor({ state: "hidden" });
      await page.keyboard.press("Escape");
      await notCopied.waitFor();
      await once.getByRole("button", { name: "Close", exact: true }).click();
      assert.ok(await once.isVisible(), "still open");
      await once.getByRole("button", { name: "Copy API key" }).click();
      await status("API key copied to the clipboard");
      await notCopied.waitFor({ state: "hidden" });
      await once.getByRole("button", { name: "Done" }).click();
      await once.waitFor({ state: "detached" });

      const verified = await verify(key);
      assert.equal(verified.status, 200, JSON.stringify(verified.body));
      assert.deepEqual(verified.body.scopes, ["read:beacons"]);
      assert.deepEqual(verified.body.api_ids, [api.id]);
      assert.equal(verified.body.user_id, null);

      const table = page.getByRole("table", { name: "API keys" });
      const row = table.getByRole("row", { name: /Beacon reader/ });
      await row.getByText(`${key.slice(0, 19)}_…${key.slice(-4)}`).waitFor();
      await row.getByRole("cell", { name: "Your services" }).waitFor();
      await page.reload();
      await heading(page, "API keys");
      await row.getByRole("cell", { name: /from 127\.0\.0\.1/ }).waitFor();
      assert.equal(await page.getByText(key).count(), 0, "the key is never shown again");
      await assertAccessible(page, "API keys with a key");
      if (kind === "sqlite") await screenshot(page, "api-keys");

      await page.getByRole("button", { name: "Rotate Beacon reader" }).click();
      await page
        .getByRole("dialog", { name: "Rotate Beacon reader?" })
        .getByRole("button", { name: "Rotate key" })
        .click();
      const rotatedDialog = page.getByRole("dialog", { name: "Beacon reader: the key" });
      const rotated = await rotatedDialog.getByRole("textbox", { name: "API key" }).inputValue();
      assert.notEqual(rotated, key);
      // The warning's own button closes without copying (the test has read the key already).
      await rotatedDialog.getByRole("button", { name: "Done" }).click();
      await rotatedDialog.getByRole("button", { name: "Close without copying" }).click();
      await rotatedDialog.waitFor({ state: "detached" });
      await row.getByText(`${rotated.slice(0, 19)}_…${rotated.slice(-4)}`).waitFor();
      assert.equal((await verify(key)).status, 401, "the old key is refused");
      assert.equal((await verify(rotated)).status, 200, "the new key is accepted");

      await page.getByRole("button", { name: "Delete Beacon reader" }).click();
      await page
        .getByRole("dialog", { name: "Delete Beacon reader?" })
        .getByRole("button", { name: "Delete key" })
        .click();
      await status("Beacon reader deleted");
      await page.getByText("No API keys yet").waitFor();
      assert.equal((await verify(rotated)).status, 401, "a deleted key is refused");
      const listed = await callApi<{ api_keys: unknown[] }>(server, "GET", "/api/v1/api_keys");
      assert.deepEqual(listed.body.api_keys, []);
      assert.deepEqual(dashboard.problems, []);
    });
  });
}
