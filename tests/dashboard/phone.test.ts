// Issue 20, the dashboard on a phone, in Chromium at 390 px on SQLite and PostgreSQL: every screen
// — lists and item pages with long names, URLs and addresses in them, settings, the home, the
// not-found page, the open menu; a user's passkeys, an organization's invitations, API keys — fits the width: the page never scrolls sideways
// (document.scrollingElement.scrollWidth <= 390), and no element reaches past the viewport's edge
// unless it sits inside a box that scrolls on its own (a table's). axe passes on each screen.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication, createUser } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import type { TestServer } from "../helpers/server.js";
import {
  assertAccessible,
  assertFitsPhone,
  assertNothingPastEdge,
  openDashboardPage,
  PHONE,
  screenshot,
  signedInDashboard,
  signInToDashboard,
} from "./dashboard-browser.js";

const WIDTH = PHONE.width;
const LONG = "a-rather-long-name-without-any-spaces-to-break-it-anywhere-at-all";

async function assertFits(page: Page, screen: string): Promise<void> {
  await assertNothingPastEdge(page, screen);
  await assertFitsPhone(page, screen);
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`dashboard at phone width (${kind})`, { skip }, () => {
    const phone = signedInDashboard(kind, { viewport: PHONE });
    let server: TestServer;
    const screens: [string, string][] = [];

    before(async () => {
      server = phone.server;
      const token = await managementToken(server);
      // Content that pushes widths: long names, URLs, addresses and identifiers everywhere.
      const web = await createApplication(server, "reg", {
        name: `Customer portal ${LONG}`,
        callbackUrls: [`https://portal.example.com/auth/callback/${LONG}/${LONG}`],
      });
      const machine = await createApplication(server, "m2m", { name: `Billing worker ${LONG}` });
      const api = await server.services.apis.create({
        name: `Orders API ${LONG}`,
        audience: `https://orders.example.com/${LONG}`,
      });
      await server.services.apis.ensureScopes(api.id, [`read:orders-${LONG}`, "write:orders"]);
      await server.services.apis.authorizeApplication(api.id, machine.clientId);
      const person = await createUser(server, {
        email: "ada.lovelace.countess.of.lovelace@analytical-engine-society.example.com",
        familyName: LONG,
      });
      await server.services.passkeys.store.insert({
        userId: person.id,
        credentialId: "phone-test-credential",
        publicKey: "phone-test-public-key",
        signCount: 0,
        transports: ["internal"],
        deviceType: "multiDevice",
        backedUp: true,
        aaguid: null,
        name: `Passkey ${LONG}`,
      });
      const org = await server.services.organizations.create({ name: `Acme ${LONG}` });
      const role = await callApi<{ role: { id: string } }>(server, "POST", "/api/v1/roles", {
        token,
        body: { name: `Order desk ${LONG}`, key: "order-desk" },
      });
      assert.equal(role.status, 201, JSON.stringify(role.body));
      const flag = await callApi(server, "POST", "/api/v1/feature_flags", {
        token,
        body: { key: "theme", name: `Theme ${LONG}`, type: "str", default_value: LONG },
      });
      assert.equal(flag.status, 201, JSON.stringify(flag.body));
      const connected = await callApi(server, "POST", "/api/v1/connected_apps", {
        token,
        body: {
          key_code_ref: "github",
          provider: "github",
          client_id: `gh-${LONG}`,
          client_secret: "gh-client-secret",
          callback_url: `https://app.example.com/connected/${LONG}`,
        },
      });
      assert.equal(connected.status, 201, JSON.stringify(connected.body));
      const hook = await callApi(server, "POST", "/api/v1/webhooks", {
        token,
        body: {
          endpoint: `https://hooks.example.com/latchkey/${LONG}`,
          event_types: ["user.created"],
          name: `Receiver ${LONG}`,
        },
      });
      assert.equal(hook.status, 200, JSON.stringify(hook.body));
      const invite = await callApi(server, "POST", `/api/v1/organization/${org.code}/invites`, {
        token,
        body: {
          email: "augusta.ada.king.invited.member@analytical-engine-society.example.com",
          roles: ["order-desk"],
        },
      });
      assert.equal(invite.status, 201, JSON.stringify(invite.body));
      const scopes = await server.services.apis.store.scopes(api.id);
      const key = await callApi(server, "POST", "/api/v1/api_keys", {
        token,
        body: {
          name: `Key ${LONG}`,
          type: "environment",
          api_id: api.id,
          scope_ids: scopes.map((scope) => scope.id),
        },
      });
      assert.equal(key.status, 201, JSON.stringify(key.body));
      const managementApi = (await server.services.apis.store.findManagementApi())!;
      const dashboardId = (
        (await (await fetch(`${server.url}/admin/config.json`)).json()) as { clientId: string }
      ).clientId;

      screens.push(
        ["home", "/admin/"],
        ["applications", "/admin/applications"],
        ["application (web)", `/admin/applications/${web.clientId}`],
        ["application (machine)", `/admin/applications/${machine.clientId}`],
        ["application (dashboard)", `/admin/applications/${dashboardId}`],
        ["apis", "/admin/apis"],
        ["api", `/admin/apis/${api.id}`],
        ["api keys", "/admin/api-keys"],
        ["management api", `/admin/apis/${managementApi.id}`],
        ["users", "/admin/users"],
        ["user", `/admin/users/${person.id}`],
        ["organizations", "/admin/organizations"],
        ["organization", `/admin/organizations/${org.code}`],
        ["roles", "/admin/roles"],
        ["role", `/admin/roles/${role.body.role.id}`],
        ["feature flags", "/admin/feature-flags"],
        ["connected apps", "/admin/settings/connected-apps"],
        ["authentication", "/admin/settings/authentication"],
        ["business", "/admin/settings/business"],
        ["e-mail", "/admin/settings/email"],
        ["webhooks", "/admin/settings/webhooks"],
        ["not found", "/admin/no-such-screen"],
        ["missing user", "/admin/users/kp_00000000000000000000000000000000"],
      );
    });

    it("fits every screen in 390 px without sideways scrolling", async () => {
      const { page } = phone;
      for (const [name, path] of screens) {
        await page.goto(`${server.url}${path}`);
        await page.getByRole("heading", { level: 1 }).waitFor();
        await page.locator("main#main > p.loading").waitFor({ state: "detached" });
        await assertFits(page, name);
        await assertAccessible(page, `${name} (phone)`);
        if (kind === "sqlite") await screenshot(page, `phone-${name.replace(/[^a-z]+/g, "-")}`);
      }
    });

    it("opens the menu within the width, and it leads to a screen", async () => {
      const { page } = phone;
      await page.goto(`${server.url}/admin/`);
      await page.getByRole("heading", { level: 1, name: "Home" }).waitFor();
      const menu = page.getByRole("button", { name: "Menu" });
      await menu.click();
      assert.equal(await menu.getAttribute("aria-expanded"), "true");
      const nav = page.getByRole("navigation", { name: "Dashboard" });
      await nav.getByRole("link", { name: "Webhooks" }).waitFor();
      await assertFits(page, "open menu");
      const box = await nav.boundingBox();
      assert.ok(
        box && box.x >= 0 && box.x + box.width <= WIDTH,
        `the menu is off-screen: ${JSON.stringify(box)}`,
      );
      await assertAccessible(page, "open menu (phone)");
      await nav.getByRole("link", { name: "Users", exact: true }).click();
      await page.getByRole("heading", { level: 1, name: "Users" }).waitFor();
      assert.equal(await menu.getAttribute("aria-expanded"), "false");
    });

    it("fits the pages outside the layout: signed out, not an administrator", async () => {
      const visitor = await openDashboardPage(phone.browser, PHONE);
      try {
        const person = await createUser(server, {
          email: "charles.babbage.difference.engine@analytical-engine-society.example.com",
        });
        await signInToDashboard(visitor.page, server.url, person);
        await visitor.page
          .getByRole("heading", { level: 1, name: "This account is not an administrator" })
          .waitFor();
        await assertFits(visitor.page, "not an administrator");
        await visitor.page.getByRole("button", { name: "Sign out" }).click();
        await visitor.page.getByRole("heading", { level: 1, name: "You have signed out" }).waitFor();
        await assertFits(visitor.page, "signed out");
      } finally {
        await visitor.context.close();
      }
      assert.deepEqual(
        phone.problems.filter((p) => !/^404 GET .*\/api\/v1\/user\?/.test(p)),
        [],
      );
    });
  });
}
