// Issue 6, the admin dashboard in Chromium: APIs (create with name and audience, add scopes,
// authorise a machine-to-machine application and grant it a scope, which its next token carries)
// and users (create, page through with next_token, search, suspend — checked through the
// Management API and at sign-in — set a password, revoke sessions, delete).
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { createApplication, createUser } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import type { TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";
import { assertAccessible, heading, PHONE, screenshot, signedInDashboard } from "./dashboard-browser.js";

describe("admin dashboard: APIs and users (sqlite)", () => {
  const admin = signedInDashboard("sqlite");
  let server: TestServer;
  let page: Page;
  let token: string;
  let m2m: { clientId: string; clientSecret?: string };
  let apiId: string;
  let userId: string;

  before(async () => {
    ({ server, page } = admin);
    token = await managementToken(server);
    m2m = await createApplication(server, "m2m", { name: "Nightly export" });
  });

  it("lists APIs with an empty state saying what to do", async () => {
    await page.getByRole("link", { name: "APIs", exact: true }).click();
    await heading(page, "APIs");
    await page.getByText("No APIs of your own yet").waitFor();
    await page.getByRole("link", { name: "Latchkey Management API" }).waitFor();
    await assertAccessible(page, "APIs list");
  });

  it("creates an API, validating the audience as it is typed", async () => {
    await page.getByRole("button", { name: "Add API" }).click();
    const dialog = page.getByRole("dialog", { name: "Add an API" });
    await dialog.getByLabel("Name").fill("Orders API");
    await dialog.getByLabel("Audience").fill("https://orders.example.com/#frag");
    await dialog.getByText("Must not contain a fragment").waitFor();
    await dialog.getByLabel("Audience").fill("https://orders.example.com");
    await dialog.getByRole("button", { name: "Save" }).click();
    await heading(page, "Orders API");
    apiId = new URL(page.url()).pathname.split("/").pop()!;
    await page.getByText("No scopes yet").waitFor();
  });

  it("adds scopes, refusing reserved ones in words", async () => {
    const scope = page.getByLabel("Scope", { exact: true });
    await scope.fill("openid");
    await page.getByText("openid is reserved for OpenID Connect").waitFor();
    await scope.fill("read:orders");
    await page.getByLabel("Description (optional)").fill("Read orders");
    await page.getByRole("button", { name: "Add scope" }).click();
    await page.getByRole("cell", { name: "read:orders", exact: true }).waitFor();
    await scope.fill("write:orders");
    await page.getByRole("button", { name: "Add scope" }).click();
    await page.getByRole("cell", { name: "write:orders", exact: true }).waitFor();
    // A duplicate is refused by the server, and the page says so.
    await scope.fill("read:orders");
    await page.getByRole("button", { name: "Add scope" }).click();
    await page
      .getByRole("alert")
      .getByText(/already exists/)
      .waitFor();
    assert.deepEqual(
      admin.problems.splice(0).map((p) => p.split(" ")[0]),
      ["409"],
    );
    const scopes = await callApi<{ scopes: { key: string }[] }>(
      server,
      "GET",
      `/api/v1/apis/${apiId}/scopes`,
      {
        token,
      },
    );
    assert.deepEqual(scopes.body.scopes.map((s) => s.key).sort(), ["read:orders", "write:orders"]);
  });

  it("authorises a machine-to-machine app and grants it one scope, which its token then carries", async () => {
    await page.getByRole("checkbox", { name: "Nightly export" }).check();
    await page.getByRole("status").getByText("Nightly export authorised").waitFor();
    await page.getByText("Scopes of Orders API granted to Nightly export").click();
    await page.getByRole("checkbox", { name: "read:orders" }).check();
    await page.getByRole("status").getByText("Granted read:orders").waitFor();
    await assertAccessible(page, "API details");
    await screenshot(page, "api-details");

    const response = await fetch(`${server.url}/oauth2/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: m2m.clientId,
        client_secret: m2m.clientSecret!,
        audience: "https://orders.example.com",
      }),
    });
    const body = (await response.json()) as { scope: string };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body.scope, "read:orders");

    // The application's page shows the same grant.
    await page.goto(`${server.url}/admin/applications/${m2m.clientId}`);
    await heading(page, "Nightly export");
    assert.equal(await page.getByRole("checkbox", { name: "Authorised for Orders API" }).isChecked(), true);
    await page.getByText("Scopes of Orders API granted to Nightly export").click();
    assert.equal(await page.getByRole("checkbox", { name: "read:orders" }).isChecked(), true);
    assert.equal(await page.getByRole("checkbox", { name: "write:orders" }).isChecked(), false);
    await assertAccessible(page, "machine-to-machine application");
  });

  it("pages through users with next_token and finds one by exact email", async () => {
    for (let i = 0; i < 27; i += 1)
      await createUser(server, { email: `person${String(i).padStart(2, "0")}@example.com` });
    await page.getByRole("link", { name: "Users", exact: true }).click();
    await heading(page, "Users");
    const rows = page.locator("tbody tr");
    await rows.first().waitFor();
    assert.equal(await rows.count(), 25);
    await page.getByRole("button", { name: "Next page" }).click();
    await page.getByText("Page 2").waitFor();
    // 27 people plus the administrator: three left on page 2.
    assert.equal(await rows.count(), 3);
    assert.equal(await page.getByRole("button", { name: "Next page" }).isDisabled(), true);
    await page.getByRole("button", { name: "Previous page" }).click();
    await page.getByText("Page 1").waitFor();
    await page.getByLabel("Find a user").fill("person07@example.com");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("cell", { name: "person07@example.com" }).waitFor();
    assert.equal(await rows.count(), 1);
    await page.getByLabel("Find a user").fill("nobody@example.com");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByText("No user matches").waitFor();
    await page.getByLabel("Find a user").fill("");
    await page.getByRole("button", { name: "Search" }).click();
    await rows.nth(24).waitFor();
    await assertAccessible(page, "users list");
    await screenshot(page, "users");
  });

  it("creates a user with a password", async () => {
    await page.getByRole("button", { name: "Add user" }).click();
    const dialog = page.getByRole("dialog", { name: "Add a user" });
    await dialog.getByLabel("First name").fill("Grace");
    await dialog.getByLabel("Last name").fill("Hopper");
    await dialog.getByLabel("Email").fill("grace@");
    await dialog.getByText("Enter an email address like name@example.com").waitFor();
    await dialog.getByLabel("Email").fill("grace@example.com");
    await dialog.getByLabel("Password (optional)").fill("cobol-rules-1959");
    await assertAccessible(page, "create user dialog");
    await dialog.getByRole("button", { name: "Save" }).click();
    await heading(page, "Grace Hopper");
    userId = new URL(page.url()).pathname.split("/").pop()!;
    assert.match(userId, /^kp_/);
    // She can sign in with that password, which gives her a session to see here.
    const spa = await createApplication(server, "spa");
    const agent = new UserAgent(server.url);
    const url = new URL("/oauth2/auth", server.url);
    url.search = new URLSearchParams({
      response_type: "code",
      client_id: spa.clientId,
      redirect_uri: "http://localhost:8080/callback",
      scope: "openid",
      code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
      code_challenge_method: "S256",
    }).toString();
    const back = await agent.authorize(url, { email: "grace@example.com", password: "cobol-rules-1959" });
    assert.ok(back.searchParams.get("code"));
    await page.reload();
    await heading(page, "Grace Hopper");
    await page.getByRole("button", { name: "Sign out everywhere" }).waitFor();
    await assertAccessible(page, "user details");
    await screenshot(page, "user-details");
  });

  it("suspends the user behind a confirmation (and the Management API agrees)", async () => {
    await page.getByRole("button", { name: "Suspend user" }).click();
    const dialog = page.getByRole("dialog", { name: "Suspend Grace Hopper?" });
    await dialog.getByRole("button", { name: "Suspend user" }).click();
    await page.getByRole("button", { name: "Unsuspend user" }).waitFor();
    const read = await callApi<{ is_suspended: boolean }>(server, "GET", `/api/v1/user?id=${userId}`, {
      token,
    });
    assert.equal(read.body.is_suspended, true);
    await page.getByText("Suspended", { exact: true }).first().waitFor();
  });

  it("sets a password, revokes sessions and deletes the user", async () => {
    await page.getByRole("button", { name: "Set password" }).click();
    const dialog = page.getByRole("dialog", { name: "Set a password for Grace Hopper" });
    await dialog.getByLabel("New password", { exact: true }).fill("new-password-2024");
    await dialog.getByLabel("Repeat the password").fill("new-password-2025");
    await dialog.getByText("The passwords do not match").waitFor();
    await dialog.getByLabel("Repeat the password").fill("new-password-2024");
    await dialog.getByRole("button", { name: "Set password" }).click();
    await page.getByRole("status").getByText("Password set").waitFor();

    await page.getByRole("button", { name: "Sign out everywhere" }).click();
    await page
      .getByRole("dialog", { name: "Sign this user out everywhere?" })
      .getByRole("button", { name: "Revoke sessions" })
      .click();
    await page.getByText("No active sessions.").waitFor();
    const sessions = await callApi<{ sessions: unknown[] }>(
      server,
      "GET",
      `/api/v1/users/${userId}/sessions`,
      { token },
    );
    assert.deepEqual(sessions.body.sessions, []);

    await page.getByRole("button", { name: "Delete user" }).click();
    await page
      .getByRole("dialog", { name: "Delete Grace Hopper?" })
      .getByRole("button", { name: "Delete user" })
      .click();
    await heading(page, "Users");
    const gone = await callApi(server, "GET", `/api/v1/user?id=${userId}`, { token });
    assert.equal(gone.status, 404);
  });

  it("shows users at phone width", async () => {
    const phone = await admin.context.newPage();
    await phone.setViewportSize(PHONE);
    await phone.goto(`${server.url}/admin/users`);
    await heading(phone, "Users");
    await phone.locator("tbody tr").first().waitFor();
    await assertAccessible(phone, "users on a phone");
    await screenshot(phone, "users-phone");
    await phone.close();
    assert.deepEqual(admin.problems, []);
  });
});
