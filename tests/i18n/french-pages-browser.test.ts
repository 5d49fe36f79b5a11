// Issue 20 beyond the sign-in: the device pages, the invitation (its e-mail, its link's pages) and
// /account speak French in Chromium, each page with <html lang="fr"> and axe passing, on SQLite
// and PostgreSQL. The invitation is written in the inviter's language (InvitationsService's
// locale), and its link carries that language over an English browser.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { InvitationsService } from "../../src/invitations/invitations.service.js";
import { mailBodyAad } from "../../src/mail/mail.store.js";
import { totpCodeAt } from "../../src/mfa/totp.js";
import { assertAccessible } from "../dashboard/dashboard-browser.js";
import { launchChromium } from "../helpers/browser.js";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication, createUser } from "../helpers/fixtures.js";
import { callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const FRENCH = { extraHTTPHeaders: { "accept-language": "fr-FR,fr;q=0.9" } };
const ENGLISH = { extraHTTPHeaders: { "accept-language": "en-US,en;q=0.9" } };

for (const { kind, skip } of await databaseKinds()) {
  describe(`device, invitation and account pages in French in Chromium (${kind})`, { skip }, () => {
    let server: TestServer;
    let browser: Browser;
    let deviceClientId: string;

    before(async () => {
      server = await startTestServer(kind);
      await server.services.mfa.store.setEnvironmentSettings({ policy: "optional" });
      deviceClientId = (
        await createApplication(server, "device", {
          name: "Téléviseur du salon",
          callbackUrls: [],
          logoutUrls: [],
        })
      ).clientId;
      browser = await launchChromium();
    });
    after(async () => {
      await browser?.close();
      await server?.close();
    });

    /** The page is in French: its language attribute, its heading, no English left in its text; axe. */
    async function inFrench(page: Page, heading: string | RegExp, what: string) {
      await page
        .getByRole("heading", { name: heading, exact: typeof heading === "string" })
        .first()
        .waitFor();
      assert.equal(await page.locator("html").getAttribute("lang"), "fr", `${what}: <html lang>`);
      const text = await page.locator("body").innerText();
      // Words the English pages use and no French sentence of these pages does.
      assert.doesNotMatch(
        text,
        /\b(the|your|sign in|you|code from|enter)\b/i,
        `${what}: English left in\n${text}`,
      );
      await assertAccessible(page, `${what} (fr)`);
    }

    async function signInInFrench(page: Page, user: { email: string; password: string }) {
      await inFrench(page, "Connexion", "the sign-in page");
      await page.getByLabel("Adresse e-mail").fill(user.email);
      await page.getByLabel("Mot de passe").fill(user.password);
      await page.getByRole("button", { name: "Se connecter", exact: true }).click();
    }

    it("answers a device's code in French: entry, confirmation and done pages", async () => {
      const user = await createUser(server);
      const started = (await (
        await fetch(`${server.url}/oauth2/device/auth`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ client_id: deviceClientId, scope: "openid offline" }),
        })
      ).json()) as { user_code: string; verification_uri_complete: string };
      const context = await browser.newContext(FRENCH);
      const page = await context.newPage();
      try {
        await page.goto(started.verification_uri_complete);
        await page.waitForURL(/\/auth\/sign-in\?/);
        await signInInFrench(page, user);
        // The optional policy offers an authenticator app; the person declines, in French.
        await page.getByRole("button", { name: "Pas maintenant" }).click();
        await page.waitForURL(/\/device\?user_code=/);
        await inFrench(page, "Vous connecter sur votre appareil ?", "the device confirmation page");
        const text = await page.locator("main").innerText();
        assert.match(text, /Téléviseur du salon demande à vous connecter/);
        assert.ok(text.includes(started.user_code), text);
        assert.match(text, /Garder l’accès/);
        assert.match(text, new RegExp(`Connecté en tant que ${user.email.replace(/[.+]/g, "\\$&")}`));
        await page.getByRole("button", { name: "Autoriser" }).click();
        await inFrench(page, "Votre appareil est connecté", "the device done page");

        // The entry page, and a wrong code refused in French.
        await page.goto(`${server.url}/device`);
        await inFrench(page, "Connecter un appareil", "the device entry page");
        await page.getByLabel("Code").fill("BCDF-GHJK");
        await page.getByRole("button", { name: "Continuer" }).click();
        await page.getByRole("alert").waitFor();
        assert.match((await page.getByRole("alert").textContent()) ?? "", /Ce code n’est pas valide/);
        await inFrench(page, "Connecter un appareil", "the device entry page with an error");
      } finally {
        await context.close();
      }
    });

    it("writes the invitation in the inviter's French, and its link's pages follow over an English browser", async () => {
      const tag = randomBytes(3).toString("hex");
      const orgCode = (
        await callApi<{ organization: { code: string } }>(server, "POST", "/api/v1/organization", {
          body: { name: `Équipe ${tag}` },
        })
      ).body.organization.code;
      const email = `invitee-${tag}@example.com`;
      const invitations = new InvitationsService(
        server.services.db,
        server.services.clock,
        server.services.mail,
        server.services.oauth.issuer,
      );
      const created = await invitations.create({
        orgCode,
        email,
        firstName: null,
        lastName: null,
        roleKeys: [],
        sendEmail: true,
        locale: "fr",
      });
      assert.ok(created.ok);

      const row = await server.storage.db
        .selectFrom("mail_messages")
        .select(["id", "subject", "body_sealed"])
        .where("to_address", "=", email)
        .executeTakeFirstOrThrow();
      const body = JSON.parse(server.secretBox.open(row.body_sealed!, mailBodyAad(row.id))) as {
        text: string;
        html: string;
      };
      assert.equal(row.subject, `Vous êtes invité à rejoindre Équipe ${tag} sur Latchkey`);
      assert.match(body.text, /Accepter l’invitation/);
      assert.match(body.text, /L’invitation expire dans 7 jours\./);
      assert.doesNotMatch(body.text, /\b(you|the|invitation expires)\b/i, body.text);
      assert.match(body.html, /<html lang="fr">/);
      const link = /https?:\/\/\S+team_invitation\?code=\S+/.exec(body.text)?.[0];
      assert.ok(link?.endsWith("&lang=fr"), link);

      const context = await browser.newContext(ENGLISH);
      const page = await context.newPage();
      try {
        await page.goto(link!);
        await page.waitForURL(/\/auth\/sign-up\?/);
        await inFrench(page, "Créer votre compte", "the invitation's sign-up page");
        await page.getByLabel("Prénom").fill("Ada");
        await page.getByLabel("Nom", { exact: true }).fill("Lovelace");
        await page.getByLabel("Mot de passe").fill(`Pw-${randomBytes(9).toString("hex")}`);
        await page.getByRole("button", { name: "Créer le compte" }).click();
        // The invitation proves the address (no code); the optional policy offers an app, declined.
        await inFrench(page, "Activer la validation en deux étapes", "the invitation's authenticator offer");
        await page.getByRole("button", { name: "Pas maintenant" }).click();
        await page.waitForURL(/\/team_invitation\/callback/);
        await inFrench(page, `Vous avez rejoint Équipe ${tag}`, "the invitation accepted page");

        // The used link, opened again: refused in French (its lang=fr).
        await page.goto(link!);
        await inFrench(page, "Invitation indisponible", "the used invitation page");
        assert.match(await page.locator("main").innerText(), /déjà été utilisée/);
      } finally {
        await context.close();
      }
    });

    it("shows /account in French: profile, sessions, two-step and the authenticator set-up", async () => {
      const user = await createUser(server, { givenName: "Ada" });
      const context = await browser.newContext(FRENCH);
      const page = await context.newPage();
      try {
        await page.goto(`${server.url}/account`);
        await page.waitForURL(/\/auth\/sign-in\?/);
        await signInInFrench(page, user);
        await page.getByRole("button", { name: "Pas maintenant" }).click();
        await page.waitForURL((url) => url.pathname === "/account");
        await inFrench(page, "Votre compte", "the account page");
        for (const heading of [
          "Profil",
          "Mot de passe",
          "Validation en deux étapes",
          "Où vous êtes connecté",
        ])
          assert.equal(await page.getByRole("heading", { name: heading, exact: true }).count(), 1, heading);
        assert.match(await page.locator("#sessions").innerText(), /\(ce navigateur\)/);
        assert.match(await page.locator("#sessions").innerText(), /Depuis le \d/);

        await page.getByLabel("Prénom").fill("Adèle");
        await page.getByRole("button", { name: "Enregistrer le nom" }).click();
        await page.getByRole("status").first().waitFor();
        assert.match(await page.locator("main").innerText(), /Votre nom est enregistré\./);
        await inFrench(page, "Votre compte", "the account page after saving");

        await page.getByRole("button", { name: "Configurer une application d’authentification" }).click();
        await inFrench(
          page,
          "Configurer une application d’authentification",
          "the authenticator set-up page",
        );
        await page.getByLabel("Code de l’application").fill("000000");
        await page.getByRole("button", { name: "Activer la validation en deux étapes" }).click();
        await page.getByRole("alert").waitFor();
        const secret = await page.locator("#totp-secret").getAttribute("data-secret");
        assert.ok(secret);
        await page
          .getByLabel("Code de l’application")
          .fill(totpCodeAt(secret, Math.floor(Date.now() / 1000)));
        await page.getByRole("button", { name: "Activer la validation en deux étapes" }).click();
        await inFrench(page, "Conservez vos codes de récupération", "the account's recovery codes page");
      } finally {
        await context.close();
      }
    });
  });
}
