// Issue 20 in a real browser: a whole sign-in in French, chosen by Kinde's `lang=fr` on the
// authorization URL, and again by the browser's Accept-Language alone. Every page of the flow
// (sign-in, sign-up, a refused password, authenticator set-up and a wrong code, recovery codes) is in French with
// <html lang="fr"> and passes axe; the code reaches the application and Kinde's SDK gets tokens.
// English stays the default for a language Latchkey does not serve.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { totpCodeAt } from "../../src/mfa/totp.js";
import { assertAccessible } from "../dashboard/dashboard-browser.js";
import { databaseKinds } from "../helpers/databases.js";
import { createUser } from "../helpers/fixtures.js";
import { idTokenAtCallback, kindeAppInChromium, kindeClient } from "../helpers/kinde-browser.js";
import { MapSessionManager } from "../helpers/kinde-session.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`the hosted pages in French in Chromium (${kind})`, { skip }, () => {
    const setup = kindeAppInChromium(kind);
    before(async () => {
      await setup.server.services.mfa.store.setEnvironmentSettings({
        policy: "required",
        enabledFactors: ["mfa:authenticator_app"],
        recoveryCodes: true,
      });
    });
    const client = () => kindeClient(setup);

    /** The page is in French: its language attribute and its heading. */
    async function inFrench(page: Page, heading: string, what: string) {
      await page.getByRole("heading", { name: heading, exact: true }).waitFor();
      assert.equal(await page.locator("html").getAttribute("lang"), "fr", `${what}: <html lang>`);
      await assertAccessible(page, `${what} (fr)`);
    }

    /** Sign-in with a wrong then the right password, the authenticator set-up, the codes: all in French. */
    async function signInInFrench(page: Page, user: { email: string; password: string }) {
      await inFrench(page, "Connexion", "the sign-in page");
      assert.equal(await page.getByText("Mot de passe oublié ?").count(), 1);
      // Sign-up is one link away, in French too, and back.
      await page.getByRole("link", { name: "Créez-en un" }).click();
      await inFrench(page, "Créer votre compte", "the sign-up page");
      assert.equal(await page.getByLabel("Prénom").count(), 1);
      await page.getByRole("link", { name: "Connectez-vous" }).click();
      await inFrench(page, "Connexion", "the sign-in page again");

      await page.getByLabel("Adresse e-mail").fill(user.email);
      await page.getByLabel("Mot de passe").fill("not the password");
      await page.getByRole("button", { name: "Se connecter" }).click();
      await page.getByRole("alert").waitFor();
      assert.equal(
        (await page.getByRole("alert").textContent())?.trim(),
        "Adresse e-mail ou mot de passe incorrect.",
      );
      assert.equal(await page.locator("html").getAttribute("lang"), "fr", "the refused form's page");

      await page.getByLabel("Mot de passe").fill(user.password);
      await page.getByRole("button", { name: "Se connecter" }).click();
      await inFrench(page, "Activer la validation en deux étapes", "the authenticator set-up page");
      const secret = await page.locator("#totp-secret").getAttribute("data-secret");
      assert.ok(secret);
      // A wrong code is refused in French too (MfaService names the reason; the page says it).
      const right = totpCodeAt(secret, Math.floor(Date.now() / 1000));
      await page.getByLabel("Code de l’application").fill(right === "000000" ? "999999" : "000000");
      await page.getByRole("button", { name: "Activer la validation en deux étapes" }).click();
      await page.getByRole("alert").waitFor();
      assert.equal(
        (await page.getByRole("alert").textContent())?.trim(),
        "Ce code n’est pas le bon. Vérifiez que l’horloge de l’application est à l’heure et saisissez le code actuel.",
      );
      await inFrench(page, "Activer la validation en deux étapes", "the refused set-up code's page");
      await page.getByLabel("Code de l’application").fill(totpCodeAt(secret, Math.floor(Date.now() / 1000)));
      await page.getByRole("button", { name: "Activer la validation en deux étapes" }).click();
      await inFrench(page, "Conservez vos codes de récupération", "the recovery codes page");
      await page.getByRole("button", { name: /Je les ai conservés/ }).click();
    }

    it("speaks French through the whole sign-in with lang=fr (over an English browser)", async () => {
      const { server, browser } = setup;
      const user = await createUser(server);
      const sdk = client();
      const session = new MapSessionManager();
      const context = await browser.newContext({ extraHTTPHeaders: { "accept-language": "en-US,en;q=0.9" } });
      const page = await context.newPage();
      const url = await sdk.login(session);
      url.searchParams.set("lang", "fr");
      await page.goto(url.href);
      await signInInFrench(page, user);
      const idToken = await idTokenAtCallback(setup, sdk, session, page);
      assert.equal(idToken.sub, user.id);
      await context.close();
    });

    it("speaks French from Accept-Language: fr-FR alone, and English for a language it does not serve", async () => {
      const { server, browser } = setup;
      const user = await createUser(server);
      const sdk = client();
      const session = new MapSessionManager();
      const context = await browser.newContext({ extraHTTPHeaders: { "accept-language": "fr-FR" } });
      const page = await context.newPage();
      const url = await sdk.login(session);
      assert.equal(url.searchParams.get("lang"), null);
      await page.goto(url.href);
      await signInInFrench(page, user);
      assert.equal((await idTokenAtCallback(setup, sdk, session, page)).sub, user.id);
      await context.close();

      const german = await browser.newContext({ extraHTTPHeaders: { "accept-language": "de-DE,de;q=0.9" } });
      const englishPage = await german.newPage();
      await englishPage.goto((await sdk.login(new MapSessionManager())).href);
      await englishPage.getByRole("heading", { name: "Sign in", exact: true }).waitFor();
      assert.equal(await englishPage.locator("html").getAttribute("lang"), "en");
      await german.close();
    });

    it("answers an expired sign-in page and a hostile lang in the browser's language, never an error", async () => {
      const { server } = setup;
      const expired = await fetch(`${server.url}/auth/sign-in?request=gone`, {
        headers: { "accept-language": "fr-CA" },
      });
      assert.equal(expired.status, 400);
      const body = await expired.text();
      assert.match(body, /<html lang="fr"[ >]/);
      assert.match(body, /Cette page de connexion a expiré/);

      const sdk = client();
      const url = await sdk.login(new MapSessionManager());
      url.searchParams.set("lang", `"><script>${"x".repeat(5000)}`);
      const hostile = await fetch(url, { redirect: "manual", headers: { "accept-language": "fr" } });
      assert.equal(hostile.status, 302);
      const signInPage = await fetch(new URL(hostile.headers.get("location")!, server.url), {
        headers: { "accept-language": "en" },
      });
      const page = await signInPage.text();
      assert.match(
        page,
        /<html lang="fr"[ >]/,
        "the stored choice holds: the browser's fr, the bad lang ignored",
      );
      assert.doesNotMatch(page, /<script>x/);
    });
  });
}
