// Issue 22 in the admin dashboard, in Chromium on SQLite and PostgreSQL: an organization's "Require
// MFA", a user's second factors reset one by one and all at once behind a confirmation (which signs
// the user out: the page's Sessions say so), a user's passkeys listed and removed behind a
// confirmation (which signs the user out too, recorded as passkey.removed), and Settings ›
// Authentication's MFA and passkey policies — a policy with no factor refused in the page before
// any request, saved changes read back from the server. axe passes on each screen.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { signedInUserAgent } from "../helpers/user-agent.js";
import { assertAccessible, heading, screenshot, signedInDashboard } from "./dashboard-browser.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`admin dashboard: MFA and passkeys (${kind})`, { skip }, () => {
    const dashboard = signedInDashboard(kind);

    const status = (text: string) => dashboard.page.getByRole("status").getByText(text).waitFor();

    it("requires MFA for an organization's members", async () => {
      const { server, page } = dashboard;
      const org = await server.services.organizations.create({ name: "Vault Works" });
      await page.goto(`${server.url}/admin/organizations/${org.code}`);
      await heading(page, "Vault Works");
      const required = page.getByRole("checkbox", { name: "Require MFA" });
      assert.equal(await required.isChecked(), false);
      await required.check();
      await status("MFA required for this organization");
      assert.equal((await server.services.mfa.store.organizationSettings(org.code))?.enforced, true);
      assert.equal((await server.services.mfa.settingsFor("kp_anyone", org.code)).policy, "required");
      await assertAccessible(page, "organization with MFA");

      await page.reload();
      await heading(page, "Vault Works");
      assert.equal(await page.getByRole("checkbox", { name: "Require MFA" }).isChecked(), true);
      await page.getByRole("checkbox", { name: "Require MFA" }).uncheck();
      await status("MFA no longer required for this organization");
      assert.equal((await server.services.mfa.store.organizationSettings(org.code))?.enforced, false);
    });

    it("shows a user's factors and resets one, then all, signing the user out", async () => {
      const { server, page } = dashboard;
      const user = await createUser(server, { givenName: "Ida", familyName: "Rhodes" });
      const { store } = server.services.mfa;
      await store.recordUse(user.id, "mfa:email", user.email);
      await store.saveFactor({
        userId: user.id,
        type: "mfa:authenticator_app",
        name: "Authenticator app",
        secretSealed: server.services.mfa.newSealedSecret(user.id).sealed,
        lastUsedStep: null,
      });
      const spa = await createApplication(server, "spa");
      await signedInUserAgent(server, spa.clientId, CALLBACK, user);

      await page.goto(`${server.url}/admin/users/${user.id}`);
      await heading(page, "Ida Rhodes");
      const factors = page.getByRole("table", { name: "Second factors" });
      await factors.getByRole("cell", { name: user.email }).waitFor();
      const appRow = factors.getByRole("row", { name: /Authenticator app/ });
      await appRow.waitFor();
      await page.getByRole("button", { name: "Sign out everywhere" }).waitFor();
      await assertAccessible(page, "user with factors");
      if (kind === "sqlite") await screenshot(page, "user-mfa-factors");

      // Cancelled: nothing happens.
      await page.getByRole("button", { name: "Reset Authenticator app" }).click();
      const cancelled = page.getByRole("dialog", { name: "Reset Authenticator app?" });
      await cancelled.getByRole("button", { name: "Cancel" }).click();
      assert.equal((await store.factors(user.id)).length, 2);

      await page.getByRole("button", { name: "Reset Authenticator app" }).click();
      await page
        .getByRole("dialog", { name: "Reset Authenticator app?" })
        .getByRole("button", { name: "Reset", exact: true })
        .click();
      await status("MFA reset; the user was signed out everywhere");
      await page.getByText("No active sessions.").waitFor();
      await factors.getByRole("cell", { name: user.email }).waitFor();
      assert.equal(await appRow.count(), 0);
      assert.deepEqual(
        (await store.factors(user.id)).map((f) => f.type),
        ["mfa:email"],
      );

      await page.getByRole("button", { name: "Reset all factors" }).click();
      await page
        .getByRole("dialog", { name: "Reset all of this user's factors?" })
        .getByRole("button", { name: "Reset", exact: true })
        .click();
      await page.getByText("No second factors set up.").waitFor();
      assert.deepEqual(await store.factors(user.id), []);
      const events = await server.services.db
        .selectFrom("events")
        .select("source")
        .where("type", "=", "user.updated")
        .where("user_id", "=", user.id)
        .execute();
      assert.deepEqual(
        events.map((e) => e.source),
        ["admin", "admin"],
        "each reset told webhook receivers, as the administrator's doing",
      );
    });

    it("lists a user's passkeys and removes one, then the other, behind a confirmation", async () => {
      const { server, page } = dashboard;
      const user = await createUser(server, { givenName: "Hedy", familyName: "Lamarr" });
      const { store } = server.services.passkeys;
      const addPasskey = (name: string, synced: boolean) =>
        store.insert({
          userId: user.id,
          credentialId: randomBytes(16).toString("base64url"),
          publicKey: randomBytes(77).toString("base64url"),
          signCount: 0,
          transports: synced ? ["internal", "hybrid"] : ["usb"],
          deviceType: synced ? "multiDevice" : "singleDevice",
          backedUp: synced,
          aaguid: null,
          name,
        });
      await addPasskey("Work laptop", true);
      await addPasskey("Security key", false);
      const spa = await createApplication(server, "spa");
      await signedInUserAgent(server, spa.clientId, CALLBACK, user);

      await page.goto(`${server.url}/admin/users/${user.id}`);
      await heading(page, "Hedy Lamarr");
      const passkeys = page.getByRole("table", { name: "Passkeys" });
      const laptop = passkeys.getByRole("row", { name: /Work laptop/ });
      await laptop.getByRole("cell", { name: "Synced" }).waitFor();
      await laptop.getByRole("cell", { name: "Never" }).waitFor();
      await passkeys
        .getByRole("row", { name: /Security key/ })
        .getByRole("cell", { name: "This device only" })
        .waitFor();
      await page.getByRole("button", { name: "Sign out everywhere" }).waitFor();
      await assertAccessible(page, "user with passkeys");
      if (kind === "sqlite") await screenshot(page, "user-passkeys");

      // Cancelled: nothing happens.
      await page.getByRole("button", { name: "Remove the passkey Work laptop" }).click();
      const question = page.getByRole("dialog", { name: "Remove the passkey Work laptop?" });
      await question.getByRole("button", { name: "Cancel" }).click();
      assert.equal((await store.list(user.id)).length, 2);

      await page.getByRole("button", { name: "Remove the passkey Work laptop" }).click();
      await question.getByRole("button", { name: "Remove passkey" }).click();
      await status("Passkey removed; the user was signed out everywhere");
      await page.getByText("No active sessions.").waitFor();
      await passkeys.getByRole("row", { name: /Security key/ }).waitFor();
      assert.equal(await laptop.count(), 0);
      assert.deepEqual(
        (await store.list(user.id)).map((p) => p.name),
        ["Security key"],
      );
      const events = await server.services.db
        .selectFrom("events")
        .select("source")
        .where("type", "=", "passkey.removed")
        .where("user_id", "=", user.id)
        .execute();
      assert.deepEqual(
        events.map((e) => e.source),
        ["admin"],
      );

      await page.getByRole("button", { name: "Remove the passkey Security key" }).click();
      await page
        .getByRole("dialog", { name: "Remove the passkey Security key?" })
        .getByRole("button", { name: "Remove passkey" })
        .click();
      await page.getByText("No passkeys.").waitFor();
      assert.deepEqual(await store.list(user.id), []);
      assert.deepEqual(dashboard.problems, []);
    });

    it("sets the environment's MFA and passkey policies under Settings › Authentication", async () => {
      const { server, page } = dashboard;
      await page
        .getByRole("navigation", { name: "Dashboard" })
        .getByRole("link", { name: "Authentication", exact: true })
        .click();
      await heading(page, "Authentication");
      await page.getByRole("heading", { level: 2, name: "Multi-factor authentication" }).waitFor();
      const policy = page.getByLabel("Policy", { exact: true });
      assert.equal(await policy.inputValue(), "off");
      const app = page.getByRole("checkbox", { name: "Authenticator app" });
      const email = page.getByRole("checkbox", { name: "Emailed code" });
      assert.equal(await app.isChecked(), true);
      assert.equal(await page.getByRole("checkbox", { name: "Recovery codes" }).isChecked(), true);
      await assertAccessible(page, "authentication settings with MFA");
      if (kind === "sqlite") await screenshot(page, "authentication-mfa");

      let puts = 0;
      page.on("request", (request) => {
        if (request.method() === "PUT") puts++;
      });
      await policy.selectOption("required");
      await app.uncheck();
      await page.getByRole("button", { name: "Update MFA settings" }).click();
      await page.getByText("Turn on at least one factor, or set the policy to Off.").waitFor();
      assert.equal(await app.getAttribute("aria-invalid"), "true");
      assert.equal(puts, 0, "nothing was sent");

      await policy.selectOption("optional");
      await email.check();
      await page.getByRole("checkbox", { name: "Recovery codes" }).uncheck();
      await page.getByRole("button", { name: "Update MFA settings" }).click();
      await status("MFA settings saved");
      assert.deepEqual(await server.services.mfa.store.environmentSettings(), {
        policy: "optional",
        enabledFactors: ["mfa:email"],
        recoveryCodes: false,
        passkeyPolicy: "optional",
      });

      await page.getByLabel("Passkey policy").selectOption("mandatory");
      await page.getByRole("button", { name: "Update passkey policy" }).click();
      await status("Passkey policy saved");
      assert.equal((await server.services.mfa.store.environmentSettings()).passkeyPolicy, "mandatory");

      await page.reload();
      await heading(page, "Authentication");
      await page.getByRole("heading", { level: 2, name: "Passkeys" }).waitFor();
      assert.equal(await page.getByLabel("Policy", { exact: true }).inputValue(), "optional");
      assert.equal(await page.getByRole("checkbox", { name: "Authenticator app" }).isChecked(), false);
      assert.equal(await page.getByRole("checkbox", { name: "Emailed code" }).isChecked(), true);
      assert.equal(await page.getByRole("checkbox", { name: "Recovery codes" }).isChecked(), false);
      assert.equal(await page.getByLabel("Passkey policy").inputValue(), "mandatory");
      assert.deepEqual(dashboard.problems, []);
    });
  });
}
