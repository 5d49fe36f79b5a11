// Issue 20, Connected apps: choosing a provider in "Connect an app" brings its form into view and
// puts focus on its first field (the catalog is long; on a phone the form began below the fold),
// and saving says the app was configured, not connected. Chromium at 390 px on SQLite.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { heading, PHONE, signedInDashboard } from "./dashboard-browser.js";

describe("admin dashboard: connected app form in view (sqlite)", () => {
  const phone = signedInDashboard("sqlite", { viewport: PHONE });

  it("scrolls the chosen provider's form into view, focuses it, and says 'configured'", async () => {
    const page = phone.page;
    await page.goto(`${phone.server.url}/admin/settings/connected-apps`);
    await heading(page, "Connected apps");
    await page.getByRole("button", { name: "Connect an app" }).first().click();
    const dialog = page.getByRole("dialog", { name: "Connect an app" });
    const providers = dialog.locator(".catalog button");
    // The last provider of the catalog, whose form starts furthest down.
    await providers.last().click();
    const title = dialog.getByRole("heading", { level: 3, name: /^Connect / });
    await title.waitFor();
    const box = await title.boundingBox();
    assert.ok(box && box.y >= 0 && box.y + box.height <= PHONE.height, `form heading at ${box?.y}`);
    assert.equal(await page.evaluate(`document.activeElement?.getAttribute("name")`), "key_code_ref");

    await providers.filter({ hasText: "GitHub" }).click();
    await dialog.getByLabel("Client ID").fill("client-123");
    await dialog.getByLabel("Client secret").fill("secret-456");
    await dialog.getByLabel("Callback URL for your app").fill("https://app.example.com/connected");
    await dialog.getByRole("button", { name: "Save" }).click();
    const notice = page.locator("#notice");
    await notice.getByText("GitHub configured").waitFor();
    assert.doesNotMatch((await notice.textContent()) ?? "", /\bconnected\b/i);
    assert.deepEqual(phone.problems, []);
  });
});
