// Issue 16, Settings › E-mail › Outbox in Chromium, on SQLite and PostgreSQL: on a fresh server the
// empty outbox explains itself; messages enqueued through the server's mail service (the test
// server keeps mail in the outbox, as development does without SMTP_URL) list newest first, "Show
// message" reveals the code, "Load more" follows next_token; a subject carrying HTML (from the
// business name) is shown as text, never parsed; axe passes. A server sending over a real SMTP
// server lists the delivered message without its text and says why.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import type { MailTemplate } from "../../src/mail/templates.js";
import { databaseKinds } from "../helpers/databases.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { startSmtpPeer } from "../helpers/smtp.js";
import {
  ADMIN,
  assertAccessible,
  heading,
  openDashboardPage,
  screenshot,
  signedInDashboard,
  signInToDashboard,
} from "./dashboard-browser.js";

const ADMIN_ENV = { BOOTSTRAP_ADMIN_EMAIL: ADMIN.email, BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password };
const HOSTILE = `Acme <img src=x onerror="window.__xss=1">`;
const EMPTY_TEXT =
  "In development, without SMTP_URL, Latchkey keeps every e-mail here instead of sending it.";

/** Waits until the clock's second turns, so the next message is strictly newer (created_at is in seconds). */
async function nextSecond(): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  while (Math.floor(Date.now() / 1000) === now) await new Promise((resolve) => setTimeout(resolve, 20));
}

function enqueue(server: TestServer, idempotencyKey: string, to: string, template: MailTemplate) {
  return server.services.mail.enqueue(server.storage.db, { idempotencyKey, to, template });
}

async function openOutbox(page: Page): Promise<void> {
  await page
    .getByRole("navigation", { name: "Dashboard" })
    .getByRole("link", { name: "E-mail", exact: true })
    .click();
  await heading(page, "E-mail");
  await page.getByRole("heading", { level: 2, name: "Outbox" }).waitFor();
}

/** The message rows of the outbox table (each has a hidden detail row after it). */
function messageRows(page: Page) {
  return page.locator("table.outbox > tbody > tr:not(.mail-detail)");
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`admin dashboard: e-mail outbox (${kind})`, { skip }, () => {
    const dashboard = signedInDashboard(kind);

    before(() => {
      assert.equal(
        dashboard.server.services.mail.transport,
        "outbox",
        "the test server keeps mail by default",
      );
    });

    it("explains the empty outbox on a fresh server", async () => {
      const { page } = dashboard;
      await openOutbox(page);
      assert.equal(
        await page.getByRole("link", { name: "E-mail", exact: true }).getAttribute("aria-current"),
        "page",
      );
      await page.getByRole("heading", { level: 3, name: "No messages yet" }).waitFor();
      // Read together: "No messages yet. In development, without SMTP_URL, …"
      assert.equal((await page.locator(".empty p").innerText()).trim(), EMPTY_TEXT);
      assert.equal(await page.getByRole("table", { name: "Outbox" }).count(), 0);
      await assertAccessible(page, "e-mail outbox (empty)");
      if (kind === "sqlite") await screenshot(page, "email-outbox-empty");
    });

    it("lists messages newest first; Show message reveals the code; Load more follows next_token", async () => {
      const { server, page } = dashboard;
      await server.services.business.update({ name: "Acme Rockets" });
      for (let i = 0; i < 21; i++)
        await enqueue(server, `outbox-test:bulk:${i}`, `bulk${i}@example.com`, { kind: "password_changed" });
      await nextSecond();
      await server.services.business.update({ name: HOSTILE });
      await enqueue(server, "outbox-test:hostile", "eve@example.com", {
        kind: "sign_in_code",
        code: "654321",
        expiresInSeconds: 600,
      });
      await server.services.business.update({ name: "Acme Rockets" });
      await nextSecond();
      await enqueue(server, "outbox-test:verify", "ann@example.com", {
        kind: "verification_code",
        code: "123456",
        expiresInSeconds: 7200,
      });

      await page.getByRole("button", { name: "Refresh" }).click();
      await heading(page, "E-mail");
      const table = page.getByRole("table", { name: "Outbox" });
      await table.waitFor();
      const rows = messageRows(page);
      assert.equal(await rows.count(), 20, "one page of 20");
      assert.ok(await page.getByText(`${EMPTY_TEXT.slice(0, -1)}: open a message`).isVisible());
      assert.equal(await page.getByText("Messages sent over SMTP").isVisible(), false);
      const cells = async (index: number) =>
        (await rows.nth(index).locator("td").allInnerTexts()).map((t) => t.trim());
      const [, to, subject, kindWords, status, attempts, button] = await cells(0);
      assert.deepEqual(
        [to, subject, kindWords, status, attempts, button],
        [
          "ann@example.com",
          "Verify your e-mail address for Acme Rockets",
          "Verification code",
          "Kept, not sent",
          "0",
          "Show message",
        ],
      );
      assert.equal((await cells(1))[1], "eve@example.com");
      assert.equal((await cells(2))[3], "Password changed");

      // The code shows only once the administrator asks for it.
      const body = page.locator("pre.mail-body").first();
      assert.equal(await body.isVisible(), false);
      const toggle = rows.first().getByRole("button");
      assert.equal(await toggle.getAttribute("aria-expanded"), "false");
      await rows.first().getByRole("button", { name: "Show message" }).click();
      await body.waitFor();
      assert.match(await body.innerText(), /^ {4}123456$/m);
      assert.equal(await toggle.getAttribute("aria-expanded"), "true");
      await rows.first().getByRole("button", { name: "Hide message" }).click();
      assert.equal(await toggle.getAttribute("aria-expanded"), "false");
      assert.equal(await body.isVisible(), false);

      await page.getByRole("button", { name: "Load more" }).click();
      await page.getByRole("status").getByText("3 older messages loaded").waitFor();
      assert.equal(await rows.count(), 23);
      assert.equal(await page.getByRole("button", { name: "Load more" }).count(), 0);
      // Focus stays in the list: on the first row that Load more brought.
      assert.equal(
        await rows
          .nth(20)
          .getByRole("button")
          .evaluate((el) => el === el.ownerDocument.activeElement),
        true,
      );
      assert.equal(new Set(await rows.locator("td:nth-child(2)").allInnerTexts()).size, 23);
    });

    it("shows a subject and body carrying HTML as text", async () => {
      const { page } = dashboard;
      const row = messageRows(page).nth(1);
      const subject = `Your sign-in code for ${HOSTILE}`;
      assert.equal((await row.locator("td").nth(2).innerText()).trim(), subject);
      await row.getByRole("button", { name: "Show message" }).click();
      const body = page.locator("tr.mail-detail:not([hidden]) pre.mail-body");
      await body.waitFor();
      assert.ok((await body.innerText()).includes(HOSTILE));
      assert.match(await body.innerText(), /^ {4}654321$/m);
      assert.equal(await page.locator("main img").count(), 0, "no element made from the subject or body");
      assert.equal(await page.evaluate("window.__xss"), undefined);
      await assertAccessible(page, "e-mail outbox");
      if (kind === "sqlite") await screenshot(page, "email-outbox");
      assert.deepEqual(dashboard.problems, []);
    });

    it("over SMTP, lists delivered messages without their text and says why", async () => {
      const { browser } = dashboard;
      const peer = await startSmtpPeer({ tls: "none" });
      const smtp = await startTestServer(kind, {
        env: { ...ADMIN_ENV, SMTP_URL: `smtp://127.0.0.1:${peer.port}`, SMTP_ALLOW_INSECURE: "true" },
      });
      const visitor = await openDashboardPage(browser);
      try {
        assert.equal(smtp.services.mail.transport, "smtp");
        await enqueue(smtp, "outbox-test:smtp", "bo@example.com", {
          kind: "sign_in_code",
          code: "271828",
          expiresInSeconds: 600,
        });
        await peer.waitFor(1);
        const deadline = Date.now() + 10_000;
        while ((await smtp.services.mail.list(1, undefined, true))[0]?.row.status !== "sent") {
          assert.ok(Date.now() < deadline, "the message is marked sent");
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await signInToDashboard(visitor.page, smtp.url, ADMIN);
        await openOutbox(visitor.page);
        await visitor.page
          .getByText(
            "Messages sent over SMTP show no text here: their codes and links are for the recipient only.",
          )
          .waitFor();
        assert.equal(await visitor.page.getByText("without SMTP_URL").isVisible(), false);
        const row = messageRows(visitor.page).first();
        assert.equal((await row.locator("td").nth(4).innerText()).trim(), "Sent");
        assert.equal((await row.locator("td").nth(5).innerText()).trim(), "1");
        assert.equal(await row.getByRole("button", { name: "Show message" }).count(), 0);
        await row.getByRole("button", { name: "Show details" }).click();
        await visitor.page
          .getByText("Delivered. Latchkey keeps no copy of the text of a message it has sent.")
          .waitFor();
        assert.equal(await visitor.page.getByText("271828").count(), 0);
        await assertAccessible(visitor.page, "e-mail outbox over SMTP");
        if (kind === "sqlite") await screenshot(visitor.page, "email-outbox-smtp");
        assert.deepEqual(visitor.problems, []);
      } finally {
        await visitor.context.close();
        await smtp.close();
        await peer.close();
      }
    });
  });
}
