// Issue 18, Settings › Webhooks in Chromium, on SQLite and PostgreSQL, against a real receiver on
// 127.0.0.1 (WEBHOOKS_ALLOW_PRIVATE_NETWORKS=true) and the server's own delivery worker: the empty
// screen; adding an endpoint (a missing event and the server's refusal of a URL shown at their
// fields); a test event delivered and shown in the deliveries table, its event shown, resent and
// delivered again with the same webhook-id; Load more; disabling (confirmed) and enabling; an
// endpoint the worker disables after 72 hours of failures (a second instance on the same database
// with its clock 73 hours ahead makes the attempt that gives up) warned of on the endpoint and on
// other screens, then re-enabled and its waiting delivery sent; editing the events; deleting;
// a phone-width layout; axe on each state.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, describe, it } from "node:test";
import { createRemoteJWKSet, jwtVerify } from "jose";
import type { Locator, Page } from "playwright-core";
import { databaseKinds } from "../helpers/databases.js";
import { startSecondInstance, type TestServer } from "../helpers/server.js";
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

const FAILED_WARNING =
  "Deliveries to this endpoint failed for 72 hours; it receives nothing until you re-enable it.";

interface Receiver {
  url: string;
  /** What each POST carried: the webhook-id header and the body (a JWT). */
  received: { webhookId: string; contentType: string; body: string }[];
  /** The status the receiver answers with. */
  status: number;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const receiver: Receiver = {
    url: "",
    received: [],
    status: 200,
    close: async () => {},
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      receiver.received.push({
        webhookId: String(request.headers["webhook-id"] ?? ""),
        contentType: String(request.headers["content-type"] ?? ""),
        body: Buffer.concat(chunks).toString("utf8"),
      });
      response.writeHead(receiver.status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  receiver.url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/hooks/latchkey`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

async function waitUntil(what: string, check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `timed out waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The delivery rows of an endpoint's table (each has a hidden detail row after it). */
function deliveryRows(panel: Locator): Locator {
  return panel.locator("table.deliveries > tbody > tr:not(.delivery-detail)");
}

async function cells(row: Locator): Promise<string[]> {
  return (await row.locator("td").allInnerTexts()).map((t) => t.trim());
}

function isFocused(locator: Locator): Promise<boolean> {
  return locator.evaluate((el) => el === el.ownerDocument.activeElement);
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`admin dashboard: webhooks (${kind})`, { skip }, () => {
    const admin = signedInDashboard(kind, { server: { env: { WEBHOOKS_ALLOW_PRIVATE_NETWORKS: "true" } } });
    let server: TestServer;
    let receiver: Receiver;
    let page: Page;
    let panel: Locator;
    let webhookId: string;

    before(async () => {
      ({ server, page } = admin);
      receiver = await startReceiver();
      panel = page.locator("section[data-webhook]").first();
    });

    after(async () => {
      await receiver?.close();
    });

    it("explains the empty screen", async () => {
      await page
        .getByRole("navigation", { name: "Dashboard" })
        .getByRole("link", { name: "Webhooks", exact: true })
        .click();
      await heading(page, "Webhooks");
      assert.equal(
        await page.getByRole("link", { name: "Webhooks", exact: true }).getAttribute("aria-current"),
        "page",
      );
      await page.getByRole("heading", { level: 3, name: "No endpoints yet" }).waitFor();
      assert.equal(await page.getByRole("button", { name: "Add endpoint" }).count(), 1);
      await assertAccessible(page, "webhooks (empty)");
      if (kind === "sqlite") await screenshot(page, "webhooks-empty");
    });

    it("adds an endpoint: a missing event and a refused URL are shown at their fields", async () => {
      await page.getByRole("button", { name: "Add endpoint" }).click();
      const dialog = page.getByRole("dialog", { name: "Add an endpoint" });
      await dialog.waitFor();
      for (const group of ["User events", "Organization events", "Role events", "Permission events"])
        await dialog.getByRole("group", { name: group }).waitFor();
      const userEvents = dialog.getByRole("group", { name: "User events" });
      assert.equal(await userEvents.getByRole("checkbox").count(), 5);

      // Nothing filled in: the first problem has focus, and nothing is sent.
      await dialog.getByRole("button", { name: "Add endpoint" }).click();
      await dialog.getByText("Name is required").waitFor();
      assert.equal(await isFocused(dialog.getByLabel("Name", { exact: true })), true);

      await dialog.getByLabel("Name", { exact: true }).fill("Billing service");
      // Credentials in the URL pass the page's check (an absolute https URL) and are refused by
      // the server, whose message appears at the URL field.
      await dialog.getByLabel("Endpoint URL").fill("https://user:secret@hooks.example.com/latchkey");
      await dialog.getByRole("button", { name: "Add endpoint" }).click();
      await dialog.getByText("Choose at least one event").waitFor();
      assert.equal(await isFocused(userEvents.getByRole("checkbox").first()), true);

      await userEvents.getByRole("checkbox", { name: "User created" }).check();
      assert.equal(await dialog.getByText("Choose at least one event").count(), 0);
      await dialog
        .getByRole("group", { name: "Organization events" })
        .getByRole("checkbox", { name: "Organization created" })
        .check();
      await dialog.getByLabel("Description (optional)").fill("Keeps invoices in step");
      await dialog.getByRole("button", { name: "Add endpoint" }).click();
      await dialog.getByText("The endpoint must not contain a user name or password").waitFor();
      const url = dialog.getByLabel("Endpoint URL");
      assert.equal(await url.getAttribute("aria-invalid"), "true");
      assert.equal(await isFocused(url), true);
      assert.deepEqual(await server.services.webhooks.store.list(), [], "nothing was created");
      await assertAccessible(page, "add endpoint dialog with errors");
      if (kind === "sqlite") await screenshot(page, "webhooks-add-errors");

      await url.fill(receiver.url);
      await dialog.getByRole("button", { name: "Add endpoint" }).click();
      await dialog.waitFor({ state: "detached" });
      await page.getByRole("heading", { level: 2, name: "Billing service" }).waitFor();
      assert.equal(
        await isFocused(page.getByRole("heading", { level: 2, name: "Billing service" })),
        true,
        "focus goes to the new endpoint",
      );
      const [stored] = await server.services.webhooks.store.list();
      assert.ok(stored);
      webhookId = stored.id;
      assert.equal(stored.endpoint, receiver.url);
      assert.equal(stored.description, "Keeps invoices in step");
      assert.deepEqual(stored.event_types, ["organization.created", "user.created"]);
      assert.deepEqual((await panel.locator("ul.event-list code").allInnerTexts()).sort(), [
        "organization.created",
        "user.created",
      ]);
      assert.ok((await panel.innerText()).includes(receiver.url));
      await panel.getByText("No deliveries yet. Send a test event to try the endpoint.").waitFor();
    });

    it("sends a test event, shows it delivered, shows the event, and resends it", async () => {
      await panel.getByRole("button", { name: "Send test event" }).click();
      // The screen follows the delivery until the worker has sent it.
      await page.getByRole("status").getByText("The test event was delivered (HTTP 200)").waitFor();
      const rows = deliveryRows(panel);
      assert.equal(await rows.count(), 1);
      const [type, status, attempts, response, duration, error] = await cells(rows.first());
      assert.deepEqual(
        [type, status, attempts, response, error],
        ["webhook.test", "Delivered", "1", "200", "—"],
      );
      assert.match(duration ?? "", /^\d+ ms$/);

      assert.equal(receiver.received.length, 1);
      const [first] = receiver.received;
      assert.equal(first?.contentType, "application/jwt");
      const { payload } = await jwtVerify(
        first!.body,
        createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`)),
      );
      assert.equal(payload.type, "webhook.test");
      assert.equal(payload.event_id, first?.webhookId);

      // Show event: the event as sent, as text.
      const show = rows.first().getByRole("button", { name: /^Show event webhook\.test/ });
      assert.equal(await show.getAttribute("aria-expanded"), "false");
      await show.click();
      const body = panel.locator("tr.delivery-detail:not([hidden]) pre.event-body");
      await body.waitFor();
      const shown = JSON.parse(await body.innerText()) as { type: string; event_id: string };
      assert.equal(shown.type, "webhook.test");
      assert.equal(shown.event_id, first?.webhookId);
      await assertAccessible(page, "webhooks with a delivery");
      if (kind === "sqlite") await screenshot(page, "webhooks-delivered");

      const resend = rows.first().getByRole("button", { name: /^Resend webhook\.test/ });
      await resend.click();
      await page.getByRole("status").getByText("The webhook.test event was delivered (HTTP 200)").waitFor();
      assert.deepEqual((await cells(rows.first())).slice(0, 4), ["webhook.test", "Delivered", "2", "200"]);
      assert.equal(receiver.received.length, 2);
      assert.equal(receiver.received[1]?.webhookId, first?.webhookId, "the same webhook-id, to de-duplicate");
      // The table was redrawn; focus is back on the row's Resend button, and the event still shown.
      assert.equal(await isFocused(rows.first().getByRole("button", { name: /^Resend/ })), true);
      assert.equal(await body.isVisible(), true);
    });

    it("pages the deliveries with Load more", async () => {
      for (let i = 0; i < 11; i++) assert.ok(await server.services.webhooks.sendTest(webhookId));
      await waitUntil("12 deliveries delivered", () => receiver.received.length === 13);
      await panel.getByRole("button", { name: "Refresh deliveries" }).click();
      const rows = deliveryRows(panel);
      await waitUntil("a page of 10", async () => (await rows.count()) === 10);
      await panel.getByRole("button", { name: "Load more" }).click();
      await page.getByRole("status").getByText("2 older deliveries loaded").waitFor();
      assert.equal(await rows.count(), 12);
      assert.equal(await panel.getByRole("button", { name: "Load more" }).count(), 0);
      assert.equal(await isFocused(rows.nth(10).getByRole("button", { name: /^Show/ })), true);
      // Oldest last: the first test event, delivered twice.
      assert.equal((await cells(rows.nth(11)))[2], "2");
    });

    it("disables after a confirmation, and enables again", async () => {
      await panel.getByRole("button", { name: "Disable" }).click();
      const confirm = page.getByRole("dialog", { name: "Disable Billing service?" });
      await confirm.getByText("Events that happen while it is disabled are not sent to it").waitFor();
      await confirm.getByRole("button", { name: "Cancel" }).click();
      assert.equal((await server.services.webhooks.find(webhookId))?.disabled_at, null);

      await panel.getByRole("button", { name: "Disable" }).click();
      await confirm.getByRole("button", { name: "Disable endpoint" }).click();
      await panel
        .getByText("Disabled by an administrator: it receives nothing until you enable it again.")
        .waitFor();
      await panel.getByRole("heading", { level: 2, name: "Billing service Disabled" }).waitFor();
      const enable = panel.getByRole("button", { name: "Enable" });
      assert.equal(await isFocused(enable), true);
      const stored = await server.services.webhooks.find(webhookId);
      assert.equal(stored?.disabled_reason, "disabled by an administrator");
      // Nothing on other screens: only endpoints disabled by failures are warned of.
      assert.equal(await page.locator(".webhook-alert").count(), 0);
      await assertAccessible(page, "webhooks with a disabled endpoint");

      await enable.click();
      await panel.getByRole("button", { name: "Disable" }).waitFor();
      assert.equal(await isFocused(panel.getByRole("button", { name: "Disable" })), true);
      assert.equal(await panel.getByText("Disabled by an administrator").count(), 0);
      assert.equal((await server.services.webhooks.find(webhookId))?.disabled_at, null);
    });

    it("warns of an endpoint disabled after 72 hours of failures, here and on other screens", async () => {
      receiver.status = 500;
      const before = receiver.received.length;
      await panel.getByRole("button", { name: "Send test event" }).click();
      await page
        .getByRole("status")
        .getByText(/^The test event was not delivered: .*500/)
        .waitFor();
      assert.equal(receiver.received.length, before + 1);
      const rows = deliveryRows(panel);
      assert.deepEqual((await cells(rows.first())).slice(0, 4), ["webhook.test", "Retrying", "1", "500"]);
      assert.equal((await cells(rows.first()))[5], "the endpoint answered 500");

      // 72 hours cannot pass in a test: a second instance on the same database, its clock 73
      // hours ahead, finds the endpoint due and makes the attempt after which its worker gives up.
      const later = await startSecondInstance(server, {
        env: { WEBHOOKS_ALLOW_PRIVATE_NETWORKS: "true" },
        clock: { now: () => Math.floor(Date.now() / 1000) + 73 * 3600 },
      });
      try {
        await waitUntil("the worker disables the endpoint", async () =>
          Boolean((await server.services.webhooks.find(webhookId))?.disabled_at),
        );
      } finally {
        await later.close();
      }
      assert.equal(
        (await server.services.webhooks.find(webhookId))?.disabled_reason,
        "deliveries failed for 72 hours",
      );

      await page.getByRole("button", { name: "Refresh", exact: true }).click();
      await heading(page, "Webhooks");
      await panel.getByText(FAILED_WARNING).waitFor();
      await page
        .getByText(
          "Billing service is disabled: its deliveries failed for 72 hours. Fix the receiver, then choose Enable on it.",
        )
        .waitFor();
      await assertAccessible(page, "webhooks with an endpoint disabled by failures");
      if (kind === "sqlite") await screenshot(page, "webhooks-disabled-by-failures");

      // Every other screen says so under its heading, with a link here.
      await page.getByRole("navigation", { name: "Dashboard" }).getByRole("link", { name: "Users" }).click();
      await heading(page, "Users");
      const alert = page.locator(".webhook-alert");
      await alert.waitFor();
      assert.match(
        await alert.innerText(),
        /A webhook endpoint is disabled: its deliveries failed for 72 hours/,
      );
      await assertAccessible(page, "users screen with the webhook alert");
      await alert.getByRole("link", { name: "Review webhooks" }).click();
      await heading(page, "Webhooks");

      // Fixed receiver, Enable: the waiting delivery goes at once, and the warnings go.
      receiver.status = 200;
      const failedAttempts = receiver.received.length;
      assert.equal(failedAttempts, before + 2, "one attempt by each instance");
      await panel.getByRole("button", { name: "Enable" }).click();
      await panel.getByRole("button", { name: "Disable" }).waitFor();
      assert.equal(await page.getByText(FAILED_WARNING).count(), 0);
      await waitUntil("the waiting delivery is sent", () => receiver.received.length === failedAttempts + 1);
      assert.equal(receiver.received.at(-1)?.webhookId, receiver.received[before]?.webhookId);
      await panel.getByRole("button", { name: "Refresh deliveries" }).click();
      await waitUntil(
        "shown delivered",
        async () => (await cells(deliveryRows(panel).first()))[1] === "Delivered",
      );
      await page.getByRole("navigation", { name: "Dashboard" }).getByRole("link", { name: "Users" }).click();
      await heading(page, "Users");
      assert.equal(await page.locator(".webhook-alert").count(), 0);
      await page
        .getByRole("navigation", { name: "Dashboard" })
        .getByRole("link", { name: "Webhooks" })
        .click();
      await heading(page, "Webhooks");
    });

    it("edits the events, and works at phone width", async () => {
      await panel.getByRole("button", { name: "Edit" }).click();
      const dialog = page.getByRole("dialog", { name: "Edit Billing service" });
      await dialog.waitFor();
      assert.equal(await dialog.getByLabel("Endpoint URL").count(), 0, "the URL cannot change");
      assert.equal(await dialog.getByRole("checkbox", { name: "User created" }).isChecked(), true);
      await dialog.getByRole("checkbox", { name: "User created" }).uncheck();
      await dialog.getByRole("checkbox", { name: "Organization created" }).uncheck();
      await dialog.getByRole("button", { name: "Save" }).click();
      await dialog.getByText("Choose at least one event").waitFor();
      await dialog.getByRole("checkbox", { name: "Role deleted" }).check();
      await dialog.getByRole("checkbox", { name: "User deleted" }).check();
      await dialog.getByRole("button", { name: "Save" }).click();
      await dialog.waitFor({ state: "detached" });
      await page.getByRole("status").getByText("Endpoint Billing service saved").waitFor();
      assert.deepEqual((await server.services.webhooks.find(webhookId))?.event_types, [
        "role.deleted",
        "user.deleted",
      ]);
      assert.deepEqual(await panel.locator("ul.event-list code").allInnerTexts(), [
        "role.deleted",
        "user.deleted",
      ]);
      assert.equal(await isFocused(panel.getByRole("button", { name: "Edit" })), true);

      const phone = await openDashboardPage(admin.browser, PHONE);
      try {
        await signInToDashboard(phone.page, server.url, ADMIN);
        await phone.page.goto(`${server.url}/admin/settings/webhooks`);
        await heading(phone.page, "Webhooks");
        await deliveryRows(phone.page.locator("section[data-webhook]")).first().waitFor();
        // The page itself never scrolls sideways (the deliveries table scrolls in its own box).
        await assertFitsPhone(phone.page, "webhooks on a phone");
        await assertAccessible(phone.page, "webhooks on a phone");
        if (kind === "sqlite") await screenshot(phone.page, "webhooks-phone");
        assert.deepEqual(phone.problems, []);
      } finally {
        await phone.context.close();
      }
    });

    it("deletes an endpoint after a confirmation", async () => {
      await panel.getByRole("button", { name: "Delete" }).click();
      const confirm = page.getByRole("dialog", { name: "Delete Billing service?" });
      await confirm.getByText("its delivery log is deleted with it").waitFor();
      await confirm.getByRole("button", { name: "Delete endpoint" }).click();
      await page.getByRole("heading", { level: 3, name: "No endpoints yet" }).waitFor();
      assert.equal(await isFocused(page.getByRole("heading", { level: 1, name: "Webhooks" })), true);
      assert.equal(await server.services.webhooks.find(webhookId), undefined);
      // The one failed response the page saw is the refusal of the URL with credentials.
      assert.deepEqual(
        admin.problems.filter((p) => !/^400 POST .*\/api\/v1\/webhooks$/.test(p)),
        [],
      );
      assert.equal(admin.problems.length, 1);
    });
  });
}
