// Issue 20, Connected apps in Chromium at 390 px, on SQLite and PostgreSQL: every provider of the
// "Connect an app" catalogue shows its mark as an <img alt=""> served by Latchkey itself
// (/assets/logos/v1/….svg, image/svg+xml) and nothing is asked of another site; choosing Google
// Drive offers its suggested scopes, and ticking two of them and saving stores exactly those two
// (read back through the Management API); Configure shows them ticked again. The page never
// scrolls sideways (Google's scopes are long URLs) and axe passes with the suggestions open.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { callApi, managementToken } from "../helpers/management.js";
import { assertAccessible, assertFitsPhone, heading, PHONE, signedInDashboard } from "./dashboard-browser.js";

const DRIVE = "https://www.googleapis.com/auth/";

interface ProvidersBody {
  providers: {
    id: string;
    logo: string | null;
    suggested_scopes: { scope: string; description: string }[];
  }[];
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`dashboard: connected-apps catalogue, marks and suggested scopes (${kind})`, { skip }, () => {
    const elsewhere: string[] = [];
    const phone = signedInDashboard(kind, {
      viewport: PHONE,
      // From the sign-in on, so that the hosted sign-in page is held to it too.
      beforeSignIn: ({ page, server }) => {
        page.on("request", (request) => {
          const url = new URL(request.url());
          if (url.protocol.startsWith("http") && url.origin !== new URL(server.url).origin)
            elsewhere.push(request.url());
        });
      },
    });
    let token: string;

    before(async () => {
      token = await managementToken(phone.server);
    });
    const storedDrive = () =>
      callApi<{ connected_app: { scopes: string[] } }>(
        phone.server,
        "GET",
        "/api/v1/connected_apps/google-drive",
        { token },
      );

    it("the catalogue endpoint names each provider's mark and suggested scopes", async () => {
      const { server } = phone;
      const read = await callApi<ProvidersBody>(server, "GET", "/api/v1/connected_apps/providers", { token });
      assert.equal(read.status, 200);
      const drive = read.body.providers.find((p) => p.id === "google-drive");
      assert.equal(drive?.logo, "/assets/logos/v1/google_drive.svg");
      assert.ok(drive?.suggested_scopes.some((s) => s.scope === `${DRIVE}drive.file` && s.description));
      const openapi = await callApi<Record<string, unknown>>(server, "GET", "/api/v1/openapi.json");
      assert.match(
        JSON.stringify(openapi.body),
        /"suggested_scopes"/,
        "the field is in the OpenAPI document",
      );
    });

    it("shows every provider's mark, served by Latchkey as image/svg+xml", async () => {
      const { server } = phone;
      const page = phone.page;
      await page.goto(`${server.url}/admin/settings/connected-apps`);
      await heading(page, "Connected apps");
      await page.getByRole("button", { name: "Connect an app" }).first().click();
      const dialog = page.getByRole("dialog", { name: "Connect an app" });
      const cards = dialog.locator(".catalog button");
      await cards.first().waitFor();
      const count = await cards.count();
      assert.ok(count >= 18, `${count} providers`);
      const sources = new Set<string>();
      for (let i = 0; i < count; i += 1) {
        const card = cards.nth(i);
        const name = (await card.textContent())?.trim();
        const img = card.locator("img");
        assert.equal(await img.count(), 1, `${name}: one mark`);
        assert.equal(await img.getAttribute("alt"), "", `${name}: the mark is decoration`);
        assert.ok(name, "the provider's name is written beside its mark");
        const src = (await img.getAttribute("src")) ?? "";
        assert.match(src, /^\/assets\/logos\/v1\/[a-z_]+\.svg$/, `${name}: ${src}`);
        sources.add(src);
      }
      // Every mark has rendered: decoded, with a size.
      const rendered = (await page.evaluate(`Promise.all([...document.querySelectorAll(".catalog img")].map(
        (img) => img.decode().then(() => img.naturalWidth > 0, () => false)))`)) as boolean[];
      assert.equal(rendered.length, count);
      assert.ok(rendered.every(Boolean), "every mark renders");
      for (const src of sources) {
        const response = await fetch(new URL(src, server.url));
        assert.equal(response.status, 200, src);
        assert.equal(response.headers.get("content-type"), "image/svg+xml", src);
        assert.doesNotMatch(await response.text(), /<script|href=|url\(/i, src);
      }
      // Distinct providers, distinct marks (Google's three products each have their own).
      assert.ok(sources.size >= count - 1, `${sources.size} marks for ${count} providers`);
      await assertFitsPhone(page, "connect an app");
      assert.deepEqual(elsewhere, [], "no request leaves Latchkey's origin");
    });

    it("offers Google Drive's scopes; two ticked are stored exactly", async () => {
      const page = phone.page;
      const dialog = page.getByRole("dialog", { name: "Connect an app" });
      await dialog.locator(".catalog button").filter({ hasText: "Google Drive" }).click();
      const suggestions = dialog.getByRole("group", { name: "Suggested scopes" });
      await suggestions.waitFor();
      const file = suggestions.getByRole("checkbox", { name: `${DRIVE}drive.file`, exact: true });
      const appdata = suggestions.getByRole("checkbox", { name: `${DRIVE}drive.appdata`, exact: true });
      assert.equal(await file.isChecked(), false, "nothing is ticked for the administrator");
      await suggestions.getByText("Files the app creates or the user opens with it").waitFor();
      assert.ok((await suggestions.getByRole("checkbox").count()) >= 3);
      await file.check();
      await appdata.check();
      await dialog.getByLabel("Client ID").fill("drive-client");
      await dialog.getByLabel("Client secret").fill("drive-secret");
      await dialog.getByLabel("Callback URL for your app").fill("https://app.example.com/connected");
      await assertFitsPhone(page, "connect Google Drive with suggestions");
      await assertAccessible(page, "connect Google Drive with suggestions");
      await dialog.getByRole("button", { name: "Save" }).click();
      await dialog.waitFor({ state: "detached" });

      const read = await storedDrive();
      assert.equal(read.status, 200);
      assert.deepEqual(read.body.connected_app.scopes, [`${DRIVE}drive.file`, `${DRIVE}drive.appdata`]);

      // The tile shows the provider's mark too.
      const tile = page.locator(".tile").filter({ hasText: "Google Drive" });
      assert.equal(await tile.locator("img.logo").getAttribute("src"), "/assets/logos/v1/google_drive.svg");
      await assertFitsPhone(page, "connected apps list");
    });

    it("Configure shows the stored scopes ticked and keeps a typed extra one", async () => {
      const page = phone.page;
      await page.getByRole("button", { name: "Configure" }).click();
      const dialog = page.getByRole("dialog", { name: "Configure Google Drive" });
      await dialog.getByRole("tab", { name: "Permissions" }).click();
      const suggestions = dialog.getByRole("group", { name: "Suggested scopes" });
      assert.equal(await suggestions.getByRole("checkbox", { name: `${DRIVE}drive.file` }).isChecked(), true);
      assert.equal(
        await suggestions.getByRole("checkbox", { name: `${DRIVE}drive.appdata` }).isChecked(),
        true,
      );
      assert.equal(
        await suggestions.getByRole("checkbox", { name: `${DRIVE}drive`, exact: true }).isChecked(),
        false,
      );
      assert.equal(await dialog.getByLabel("Other scopes").inputValue(), "");
      await suggestions.getByRole("checkbox", { name: `${DRIVE}drive.appdata` }).uncheck();
      await dialog.getByLabel("Other scopes").fill(`openid ${DRIVE}drive.file`);
      await assertFitsPhone(page, "configure: permissions");
      await assertAccessible(page, "configure: permissions with suggestions");
      await dialog.getByRole("button", { name: "Save" }).click();
      await dialog.waitFor({ state: "detached" });
      const read = await storedDrive();
      // A scope both ticked and typed is asked for once.
      assert.deepEqual(read.body.connected_app.scopes, [`${DRIVE}drive.file`, "openid"]);
      assert.deepEqual(phone.problems, []);
      assert.deepEqual(elsewhere, []);
    });
  });
}
