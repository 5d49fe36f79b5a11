// Issue 6, Settings › Connected apps in Chromium, as in Kinde: "Connect an app" opens the catalog,
// Save adds the app; Configure has a Details tab (name, client ID, secret, reference key, the app's
// callback URL and the provider-to-Latchkey callback URL to copy) and a Permissions tab (scopes,
// offer at sign-in); the three-dots menu disconnects behind a confirmation saying tokens already
// granted are not revoked. Each change is checked through the Management API.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { callApi, managementToken } from "../helpers/management.js";
import type { TestServer } from "../helpers/server.js";
import { assertAccessible, heading, PHONE, screenshot, signedInDashboard } from "./dashboard-browser.js";

interface ConnectedAppBody {
  connected_app: {
    name: string;
    client_id: string;
    callback_url: string;
    scopes: string[];
    offer_at_sign_in: boolean;
    provider: string;
  };
}

describe("admin dashboard: connected apps (sqlite)", () => {
  const admin = signedInDashboard("sqlite");
  let server: TestServer;
  let page: Page;
  let token: string;

  before(async () => {
    ({ server, page } = admin);
    token = await managementToken(server);
  });

  it("starts empty, saying what to do", async () => {
    await page.getByRole("link", { name: "Connected apps" }).click();
    await heading(page, "Connected apps");
    await page.getByText("No connected apps yet").waitFor();
    await assertAccessible(page, "connected apps (empty)");
  });

  it("connects a catalog app from the Connect an app dialog", async () => {
    await page.getByRole("button", { name: "Connect an app" }).first().click();
    const dialog = page.getByRole("dialog", { name: "Connect an app" });
    await dialog.getByRole("button", { name: /Google Drive/ }).waitFor();
    // Saving before choosing says so.
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.getByRole("alert").getByText("Choose an app first.").waitFor();
    await dialog.getByRole("button", { name: /GitHub/ }).click();
    assert.equal(await dialog.getByRole("button", { name: /GitHub/ }).getAttribute("aria-pressed"), "true");
    assert.equal(await dialog.getByLabel("Reference key", { exact: true }).inputValue(), "github");
    assert.equal(
      await dialog.getByLabel("Provider-to-Latchkey callback URL", { exact: true }).inputValue(),
      `${server.url}/connected_apps/callback`,
    );
    await dialog.getByLabel("Client ID").fill("gh-client-id");
    await dialog.getByLabel("Client secret").fill("gh-client-secret");
    await dialog.getByLabel("Callback URL for your app").fill("http://example.com/connected");
    await dialog.getByText("must use https").waitFor();
    await dialog.getByLabel("Callback URL for your app").fill("https://app.example.com/connected");
    await assertAccessible(page, "connect an app dialog");
    await screenshot(page, "connected-apps-connect");
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.waitFor({ state: "detached" });
    await page.getByRole("heading", { level: 3, name: "GitHub" }).waitFor();
    const read = await callApi<ConnectedAppBody>(server, "GET", "/api/v1/connected_apps/github", { token });
    assert.equal(read.status, 200);
    assert.equal(read.body.connected_app.provider, "github");
    assert.equal(read.body.connected_app.client_id, "gh-client-id");
    assert.equal(read.body.connected_app.callback_url, "https://app.example.com/connected");
  });

  it("configures the Details and Permissions tabs", async () => {
    await page.getByRole("button", { name: "Configure" }).click();
    const dialog = page.getByRole("dialog", { name: "Configure GitHub" });
    const details = dialog.getByRole("tab", { name: "Details" });
    assert.equal(await details.getAttribute("aria-selected"), "true");
    assert.equal(await dialog.getByLabel("Reference key", { exact: true }).inputValue(), "github");
    assert.equal(
      await dialog.getByLabel("Provider-to-Latchkey callback URL", { exact: true }).inputValue(),
      `${server.url}/connected_apps/callback`,
    );
    // The secret is never sent back to the browser.
    assert.equal(await dialog.getByLabel("Client secret").inputValue(), "");
    await dialog.getByLabel("Name").fill("GitHub (engineering)");
    await dialog.getByLabel("Client ID").fill("gh-client-id-2");
    await assertAccessible(page, "configure: details");
    await screenshot(page, "connected-apps-configure-details");

    // Keyboard: the arrow key moves to the Permissions tab.
    await details.focus();
    await page.keyboard.press("ArrowRight");
    const permissions = dialog.getByRole("tab", { name: "Permissions" });
    assert.equal(await permissions.getAttribute("aria-selected"), "true");
    await dialog.getByLabel("Scopes").fill("repo read:user café");
    await dialog.getByText("café is not a valid scope").waitFor();
    await dialog.getByLabel("Scopes").fill("repo read:user");
    await dialog.getByLabel("Offer at sign-in").check();
    await assertAccessible(page, "configure: permissions");
    await screenshot(page, "connected-apps-configure-permissions");
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.waitFor({ state: "detached" });
    await page.getByText("Offered at sign-in").waitFor();

    const read = await callApi<ConnectedAppBody>(server, "GET", "/api/v1/connected_apps/github", { token });
    assert.equal(read.body.connected_app.name, "GitHub (engineering)");
    assert.equal(read.body.connected_app.client_id, "gh-client-id-2");
    assert.deepEqual(read.body.connected_app.scopes, ["repo", "read:user"]);
    assert.equal(read.body.connected_app.offer_at_sign_in, true);
    await assertAccessible(page, "connected apps list");
    await screenshot(page, "connected-apps");
  });

  it("works at phone width", async () => {
    const phone = await admin.context.newPage();
    await phone.setViewportSize(PHONE);
    await phone.goto(`${server.url}/admin/settings/connected-apps`);
    await heading(phone, "Connected apps");
    await phone.getByRole("heading", { level: 3, name: "GitHub (engineering)" }).waitFor();
    await assertAccessible(phone, "connected apps on a phone");
    await screenshot(phone, "connected-apps-phone");
    await phone.close();
  });

  it("disconnects from the three-dots menu, warning that granted tokens are not revoked", async () => {
    const more = page.getByRole("button", { name: "More actions for GitHub (engineering)" });
    await more.click();
    assert.equal(await more.getAttribute("aria-expanded"), "true");
    // Escape closes the menu and returns focus to its button.
    await page.keyboard.press("Escape");
    assert.equal(await more.getAttribute("aria-expanded"), "false");
    assert.equal(await more.evaluate((el) => el === el.ownerDocument.activeElement), true);
    await more.click();
    await page.getByRole("menuitem", { name: "Disconnect" }).click();
    const dialog = page.getByRole("dialog", { name: "Disconnect GitHub (engineering)?" });
    await dialog.getByText("This does not revoke tokens your users already granted at GitHub").waitFor();
    await assertAccessible(page, "disconnect confirmation");
    await screenshot(page, "connected-apps-disconnect");
    await dialog.getByRole("button", { name: "Disconnect" }).click();
    await page.getByText("No connected apps yet").waitFor();
    const gone = await callApi(server, "GET", "/api/v1/connected_apps/github", { token });
    assert.equal(gone.status, 404);
    assert.deepEqual(admin.problems, []);
  });
});
