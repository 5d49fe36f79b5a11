// Issue 20, the dashboard's home at /admin/, on SQLite and PostgreSQL. GET /api/v1/overview (a
// Latchkey extension) counts users, sign-ins since a moment and the business's applications — not
// the ones Latchkey registers for its own pages — and reports the checklist's facts as they become
// true: an application people sign in to, its callback URL, a sign-in to it and who made it; it
// needs read:users, read:applications and read:audit_log, and refuses a `since` it cannot count.
// In Chromium the administrator lands on the home, whose checklist ticks off as the steps happen
// (the last once they open that person's page), with the counts, the version and the health.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createUser } from "../helpers/fixtures.js";
import { callApi, managementToken, narrowMachineToken } from "../helpers/management.js";
import type { TestServer } from "../helpers/server.js";
import { signedInUserAgent } from "../helpers/user-agent.js";
import {
  ADMIN,
  assertAccessible,
  heading,
  screenshot,
  signedInDashboard,
  signInToDashboard,
} from "./dashboard-browser.js";

const VERSION = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version;

interface Overview {
  version: string;
  users: { total: number };
  sign_ins: { since: string; count: number };
  applications: { total: number; active: number };
  getting_started: {
    application: { id: string; name: string; type: string } | null;
    callback_url_added: boolean;
    last_sign_in: { user_id: string | null; client_id: string; created_on: string } | null;
  };
}

/** The authentication log is written in batches within about a second: wait for `ready`. */
async function eventually<T>(read: () => Promise<T>, ready: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (ready(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`dashboard home and GET /api/v1/overview (${kind})`, { skip }, () => {
    // Signed in by a test: the installation is counted fresh first, then the landing is under test.
    const admin = signedInDashboard(kind, { signIn: false });
    let server: TestServer;
    let page: Page;
    let token: string;
    const overview = async (since?: string) => {
      const response = await callApi<Overview>(
        server,
        "GET",
        `/api/v1/overview${since ? `?since=${encodeURIComponent(since)}` : ""}`,
        { token },
      );
      assert.equal(response.status, 200, JSON.stringify(response.body));
      return response.body;
    };

    before(async () => {
      ({ server, page } = admin);
      token = await managementToken(server);
    });

    it("counts a fresh installation: Latchkey's own applications are not the business's", async () => {
      const fresh = await overview();
      assert.equal(fresh.version, VERSION);
      assert.equal(fresh.users.total, 1);
      // Only the bootstrap M2M application, which the operator uses; not the dashboard's own.
      assert.equal(fresh.applications.total, 1);
      assert.equal(fresh.applications.active, 0);
      assert.deepEqual(fresh.getting_started, {
        application: null,
        callback_url_added: false,
        last_sign_in: null,
      });
      // Without `since`: today in UTC.
      const midnight = new Date();
      midnight.setUTCHours(0, 0, 0, 0);
      assert.equal(fresh.sign_ins.since, midnight.toISOString());
    });

    it("needs every scope whose data it counts, and a `since` it can count from", async () => {
      const users = await narrowMachineToken(server, ["read:users", "read:applications"]);
      const refused = await callApi(server, "GET", "/api/v1/overview", { token: users.token });
      assert.equal(refused.status, 403);
      const noUsers = await narrowMachineToken(server, ["read:applications", "read:audit_log"]);
      assert.equal((await callApi(server, "GET", "/api/v1/overview", { token: noUsers.token })).status, 403);
      const all = await narrowMachineToken(server, ["read:users", "read:applications", "read:audit_log"]);
      assert.equal((await callApi(server, "GET", "/api/v1/overview", { token: all.token })).status, 200);
      for (const since of [
        "yesterday",
        "2001-01-01T00:00:00Z",
        new Date(Date.now() + 3_600_000).toISOString(),
      ]) {
        const response = await callApi(server, "GET", `/api/v1/overview?since=${encodeURIComponent(since)}`, {
          token,
        });
        assert.equal(response.status, 400, since);
      }
    });

    it("lands the administrator on the home, with nothing of the checklist done", async () => {
      await signInToDashboard(page, server.url, ADMIN);
      await heading(page, "Home");
      assert.equal(new URL(page.url()).pathname, "/admin/");
      await page.getByText("0 of 4 done").waitFor();
      await page.getByRole("link", { name: "Add an application" }).waitFor();
      assert.equal(await page.getByRole("link", { name: "Home" }).getAttribute("aria-current"), "page");
      await page.getByText(`Latchkey ${VERSION}`).waitFor();
      await page.getByText("Ready: the database answers").waitFor();
      await assertAccessible(page, "home");
      await screenshot(page, "home");
    });

    it("ticks the steps off as they happen, and counts the sign-ins", async () => {
      // The administrator's own sign-in to the dashboard is in the log first (written in batches).
      const before = await eventually(overview, (o) => o.sign_ins.count >= 1);
      assert.equal(before.sign_ins.count, 1);
      const { application } = await server.services.applications.create({
        name: "Acme Web",
        type: "reg",
      });
      let now = await overview();
      assert.deepEqual(now.getting_started.application, {
        id: application.id,
        name: "Acme Web",
        type: "reg",
      });
      assert.equal(now.getting_started.callback_url_added, false);
      assert.equal(now.applications.total, before.applications.total + 1);

      await server.services.applications.store.replaceUrls(application.id, "callback", [CALLBACK], 0);
      assert.equal((await overview()).getting_started.callback_url_added, true);

      const person = await createUser(server, { email: "ada@example.com", givenName: "Ada" });
      await signedInUserAgent(server, application.id, CALLBACK, person);
      now = await eventually(overview, (o) => o.getting_started.last_sign_in !== null);
      assert.equal(now.getting_started.last_sign_in?.user_id, person.id);
      assert.equal(now.getting_started.last_sign_in?.client_id, application.id);
      assert.equal(now.applications.active, 1);
      assert.equal(now.users.total, before.users.total + 1);
      assert.equal(now.sign_ins.count, before.sign_ins.count + 1);
      // A `since` after the sign-in counts none of it.
      await new Promise((r) => setTimeout(r, 1100));
      const later = await overview(new Date(Date.now() - (Date.now() % 1000)).toISOString());
      assert.equal(later.sign_ins.count, 0);
      assert.equal(later.applications.active, 0);

      await page.reload();
      await heading(page, "Home");
      await page.getByText("3 of 4 done").waitFor();
      const stat = (label: string) => page.locator(".stat", { hasText: label }).locator(".stat-value");
      assert.equal(await stat("Users").textContent(), String(now.users.total));
      assert.equal(await stat("Active applications").textContent(), "1");
      assert.ok(Number(await stat("Sign-ins today").textContent()) >= 2, "the admin's and Ada's sign-ins");

      await page.getByRole("link", { name: "Open their page" }).click();
      await heading(page, "Ada Lovelace");
      await page.getByRole("link", { name: "Home" }).click();
      await heading(page, "Home");
      await page.getByText("4 of 4 done").waitFor();
      await assertAccessible(page, "home, all done");
      await screenshot(page, "home-done");
      assert.deepEqual(admin.problems, []);
    });
  });
}
