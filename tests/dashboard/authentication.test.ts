// Issue 16, Settings › Authentication › Sign-in methods in Chromium, on SQLite and PostgreSQL: the
// two methods as the server has them, turning both off refused in the page before any request, a
// saved change the hosted sign-in page shows at once, and axe passes.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication } from "../helpers/fixtures.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";
import { assertAccessible, heading, screenshot, signedInDashboard } from "./dashboard-browser.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`admin dashboard: sign-in methods (${kind})`, { skip }, () => {
    const dashboard = signedInDashboard(kind);
    let spa: { clientId: string };

    before(async () => {
      spa = await createApplication(dashboard.server, "spa");
    });

    /** The hosted sign-in page a person would see now. */
    async function signInPageHtml(): Promise<string> {
      const { server } = dashboard;
      const agent = new UserAgent(server.url);
      const start = await agent.redirectFrom(authorizationUrl(server, spa.clientId, CALLBACK));
      return (await agent.request(start)).text();
    }

    it("shows both methods on, and refuses turning both off before asking the server", async () => {
      const { server, page } = dashboard;
      await page
        .getByRole("navigation", { name: "Dashboard" })
        .getByRole("link", { name: "Authentication", exact: true })
        .click();
      await heading(page, "Authentication");
      assert.equal(
        await page.getByRole("link", { name: "Authentication", exact: true }).getAttribute("aria-current"),
        "page",
      );
      await page.getByRole("heading", { level: 2, name: "Sign-in methods" }).waitFor();
      const password = page.getByRole("checkbox", { name: "Password" });
      const code = page.getByRole("checkbox", { name: "Code by email" });
      assert.equal(await password.isChecked(), true);
      assert.equal(await code.isChecked(), true);
      await assertAccessible(page, "authentication settings");
      if (kind === "sqlite") await screenshot(page, "authentication-sign-in-methods");

      let puts = 0;
      page.on("request", (request) => {
        if (request.method() === "PUT") puts++;
      });
      await password.uncheck();
      await code.uncheck();
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByText("Keep at least one method on, or nobody could sign in.").waitFor();
      assert.equal(await password.getAttribute("aria-invalid"), "true");
      assert.equal(
        await password.evaluate((el) => el === el.ownerDocument.activeElement),
        true,
        "focus goes to the methods",
      );
      assert.equal(puts, 0, "nothing was sent");
      assert.deepEqual(
        { ...(await server.services.business.signInMethods()) },
        {
          password: true,
          email_code: true,
        },
      );
      // Ticking one again clears the message.
      await code.check();
      assert.equal(await page.getByText("Keep at least one method on").count(), 0);
    });

    it("saves a change, which the sign-in page shows at once", async () => {
      const { server, page } = dashboard;
      const password = page.getByRole("checkbox", { name: "Password" });
      const code = page.getByRole("checkbox", { name: "Code by email" });
      await code.check();
      await password.uncheck();
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByText("Sign-in methods saved").waitFor();
      assert.deepEqual(
        { ...(await server.services.business.signInMethods()) },
        {
          password: false,
          email_code: true,
        },
      );
      assert.doesNotMatch(await signInPageHtml(), /type="password"/);

      // Reloaded, the screen shows what the server has.
      await page.reload();
      await heading(page, "Authentication");
      assert.equal(await page.getByRole("checkbox", { name: "Password" }).isChecked(), false);
      assert.equal(await page.getByRole("checkbox", { name: "Code by email" }).isChecked(), true);

      await page.getByRole("checkbox", { name: "Password" }).check();
      await page.getByRole("checkbox", { name: "Code by email" }).uncheck();
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByText("Sign-in methods saved").waitFor();
      const html = await signInPageHtml();
      assert.match(html, /type="password"/);
      assert.doesNotMatch(html, /Email me a sign-in code/);
      assert.deepEqual(dashboard.problems, []);
    });
  });
}
