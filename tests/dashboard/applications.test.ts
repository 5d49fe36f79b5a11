// Issue 6, the admin dashboard in Chromium: an administrator signs in through the hosted sign-in
// page (the dashboard is itself a PKCE front-end app of Latchkey), creates a back-end application,
// registers its callback (validated as they type), and a person then signs in to that application
// with openid-client; the secret is rotated behind a confirmation, lifetimes are saved, the app is
// deleted. Someone who is not an administrator is told so in words. Every screen passes axe-core
// and is photographed into artifacts/screenshots.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as client from "openid-client";
import type { Page } from "playwright-core";
import { findDashboardClientId } from "../../src/dashboard/dashboard-app.js";
import { type AppServer, startAppServer } from "../helpers/browser.js";
import { createUser } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import type { TestServer } from "../helpers/server.js";
import {
  ADMIN,
  assertAccessible,
  heading,
  openDashboardPage,
  PHONE,
  screenshot,
  signedInDashboard,
  signInToDashboard,
} from "./dashboard-browser.js";

describe("admin dashboard: sign-in and applications (sqlite)", () => {
  // Signed in by the test below: the sign-in through the hosted page is under test here.
  const admin = signedInDashboard("sqlite", { signIn: false });
  let server: TestServer;
  let rp: AppServer;
  let page: Page;
  let token: string;
  let appId: string;
  let secret: string;

  before(async () => {
    ({ server, page } = admin);
    rp = await startAppServer();
    token = await managementToken(server);
  });

  after(async () => {
    await rp?.close();
  });

  it("serves the dashboard's files with types, caching and no way out of its folder", async () => {
    const config = await fetch(`${server.url}/admin/config.json`);
    assert.equal(config.status, 200);
    const body = (await config.json()) as Record<string, string>;
    assert.deepEqual(body, {
      issuer: server.url,
      clientId: await findDashboardClientId(server.storage.db, server.url),
      audience: `${server.url}/api`,
    });
    const script = await fetch(`${server.url}/admin/js/main.js`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get("content-type") ?? "", /^text\/javascript/);
    assert.equal(script.headers.get("cache-control"), "no-cache");
    const etag = script.headers.get("etag");
    assert.ok(etag);
    const again = await fetch(`${server.url}/admin/js/main.js`, { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304);
    const css = await fetch(`${server.url}/admin/styles.css`);
    assert.match(css.headers.get("content-type") ?? "", /^text\/css/);
    // Any other page of the dashboard is the app itself, under the strict page CSP.
    const deep = await fetch(`${server.url}/admin/users/kp_123`);
    assert.equal(deep.status, 200);
    assert.match(deep.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(deep.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    assert.doesNotMatch(deep.headers.get("content-security-policy") ?? "", /unsafe-inline/);
    for (const sneaky of [
      "/admin/js/../../package.json",
      "/admin/js/%2e%2e/%2e%2e/package.json",
      "/admin/js/..%2f..%2fpackage.json",
      "/admin/..%2fpackage.json",
      "/admin/js/main.ts",
      "/admin/missing.css",
    ]) {
      const response = await fetch(`${server.url}${sneaky}`);
      const text = await response.text();
      assert.ok(!text.includes('"name": "latchkey"'), `${sneaky} leaked package.json`);
      assert.ok(response.status === 404 || /^text\/html/.test(response.headers.get("content-type") ?? ""));
    }
    assert.equal((await fetch(`${server.url}/admin/missing.css`)).status, 404);
  });

  it("signs the administrator in through the hosted sign-in page", async () => {
    await signInToDashboard(page, server.url, ADMIN);
    // The dashboard opens on its home (issue 20); Applications is one click away.
    await heading(page, "Home");
    assert.equal(new URL(page.url()).pathname, "/admin/");
    await page.getByRole("link", { name: "Applications", exact: true }).click();
    await heading(page, "Applications");
    assert.equal(new URL(page.url()).pathname, "/admin/applications");
    // The token is kept for the tab only, never in a URL or a cookie.
    const stored = (await page.evaluate('sessionStorage.getItem("latchkey.dashboard.session")')) as
      | string
      | null;
    assert.ok(stored && JSON.parse(stored).accessToken);
    assert.ok(!(await admin.context.cookies()).some((c) => c.value.includes(JSON.parse(stored).accessToken)));
    await page.getByRole("link", { name: /Latchkey dashboard/ }).waitFor();
    await assertAccessible(page, "applications list");
    await screenshot(page, "applications");
  });

  it("creates a back-end application, choosing its kind", async () => {
    await page.getByRole("button", { name: "Add application" }).click();
    const dialog = page.getByRole("dialog", { name: "Add an application" });
    await dialog.waitFor();
    // Each kind says when to use it.
    await dialog.getByText("can keep a secret").waitFor();
    await dialog.getByText("holds no secret").waitFor();
    await dialog.getByText("no person signing in").waitFor();
    await assertAccessible(page, "create application dialog");
    await screenshot(page, "applications-create");
    // Saving without a name says what is missing, in place.
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.getByText("Name is required").waitFor();
    await dialog.getByLabel("Name").fill("Customer portal");
    await dialog.getByLabel("Back-end web").check();
    await dialog.getByRole("button", { name: "Save" }).click();
    await heading(page, "Customer portal");
    appId = new URL(page.url()).pathname.split("/").pop()!;
    assert.match(appId, /^[0-9a-f]{32}$/);
    const read = await callApi<{ application: { type: string; name: string } }>(
      server,
      "GET",
      `/api/v1/applications/${appId}`,
      { token },
    );
    assert.equal(read.body.application.type, "reg");
  });

  it("shows the credentials, revealing the secret on demand", async () => {
    assert.equal(await page.getByLabel("Client ID", { exact: true }).inputValue(), appId);
    const secretInput = page.getByLabel("Client secret", { exact: true });
    assert.equal(await secretInput.getAttribute("type"), "password");
    await page.getByRole("button", { name: "Show" }).click();
    assert.equal(await secretInput.getAttribute("type"), "text");
    secret = await secretInput.inputValue();
    assert.match(secret, /^[A-Za-z0-9]{40,60}$/);
    await page.getByRole("button", { name: "Hide" }).click();
    assert.equal(await secretInput.getAttribute("type"), "password");
    // The quick-start snippets carry this application's values, not the secret.
    const snippets = await page.locator("pre").allTextContents();
    // A back-end application's tabs: Next.js, Express, the TypeScript SDK and openid-client.
    assert.equal(snippets.length, 4);
    assert.ok(snippets.every((s) => s.includes(appId) && s.includes(server.url) && !s.includes(secret)));
    assert.ok(snippets.some((s) => /createKindeServerClient\(GrantType\.AUTHORIZATION_CODE/.test(s)));
    assert.ok(snippets.some((s) => /client\.discovery/.test(s)));
  });

  it("validates callback URLs as they are typed, then saves them", async () => {
    const callbacks = page.getByLabel("Allowed callback URLs");
    await callbacks.fill("http://example.com/callback");
    await page.getByText("must use https (http is only allowed for localhost)").waitFor();
    assert.equal(await callbacks.getAttribute("aria-invalid"), "true");
    await page.getByRole("button", { name: "Save URLs" }).click();
    // Nothing was sent while the field is wrong.
    const unchanged = await callApi<{ redirect_urls: string[] }>(
      server,
      "GET",
      `/api/v1/applications/${appId}/auth_redirect_urls`,
      { token },
    );
    assert.deepEqual(unchanged.body.redirect_urls, []);
    await callbacks.fill(`${rp.origin}/callback\nhttps://app.example.com/callback#x`);
    await page.getByText("Line 2: https://app.example.com/callback#x must not contain a fragment").waitFor();
    await callbacks.fill(`${rp.origin}/callback`);
    assert.equal(await callbacks.getAttribute("aria-invalid"), null);
    await page.getByLabel("Allowed logout redirect URLs").fill(`${rp.origin}/`);
    await page.getByRole("button", { name: "Save URLs" }).click();
    await page.getByRole("status").getByText("URLs saved").waitFor();
    const saved = await callApi<{ redirect_urls: string[] }>(
      server,
      "GET",
      `/api/v1/applications/${appId}/auth_redirect_urls`,
      { token },
    );
    assert.deepEqual(saved.body.redirect_urls, [`${rp.origin}/callback`]);
    await assertAccessible(page, "application details");
    await screenshot(page, "application-details");
  });

  it("lets a person sign in to the new application (openid-client redeems the code)", async () => {
    const person = await createUser(server);
    const config = await client.discovery(new URL(server.url), appId, secret, undefined, {
      execute: [client.allowInsecureRequests],
    });
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: `${rp.origin}/callback`,
      scope: "openid email",
      state,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
    });
    const visitor = await openDashboardPage(admin.browser);
    try {
      await visitor.page.goto(url.href);
      await visitor.page.locator('input[name="email"]').fill(person.email);
      await visitor.page.locator('input[name="password"]').fill(person.password);
      await Promise.all([
        visitor.page.waitForURL((u) => u.href.startsWith(`${rp.origin}/callback`)),
        visitor.page.getByRole("button", { name: "Sign in" }).click(),
      ]);
      const tokens = await client.authorizationCodeGrant(config, new URL(visitor.page.url()), {
        pkceCodeVerifier: verifier,
        expectedState: state,
      });
      assert.equal(tokens.claims()?.sub, person.id);
      assert.equal(tokens.claims()?.email, person.email);
    } finally {
      await visitor.context.close();
    }
  });

  it("rotates the secret only after confirmation; the old one stops working", async () => {
    await page.getByRole("button", { name: "Rotate" }).click();
    let dialog = page.getByRole("dialog", { name: "Rotate the client secret?" });
    await dialog.getByText("stops working at once").waitFor();
    await assertAccessible(page, "rotate confirmation");
    // Escape closes it and nothing changes.
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    assert.equal(await page.getByLabel("Client secret", { exact: true }).inputValue(), secret);
    await page.getByRole("button", { name: "Rotate" }).click();
    dialog = page.getByRole("dialog", { name: "Rotate the client secret?" });
    await dialog.getByRole("button", { name: "Rotate secret" }).click();
    await page
      .getByRole("status")
      .getByText(/Client secret rotated/)
      .waitFor();
    const rotated = await page.getByLabel("Client secret", { exact: true }).inputValue();
    assert.notEqual(rotated, secret);
    const basic = (s: string) => `Basic ${Buffer.from(`${appId}:${s}`).toString("base64")}`;
    const attempt = (s: string) =>
      fetch(`${server.url}/oauth2/token`, {
        method: "POST",
        headers: { authorization: basic(s), "content-type": "application/x-www-form-urlencoded" },
        body: "grant_type=authorization_code&code=nothing&redirect_uri=x",
      }).then((r) => r.json() as Promise<{ error: string }>);
    assert.equal((await attempt(secret)).error, "invalid_client");
    assert.equal((await attempt(rotated)).error, "invalid_grant");
  });

  it("saves token lifetimes, refusing values out of range in place", async () => {
    const access = page.getByLabel("Access token lifetime");
    await access.fill("30");
    await page.getByText("Between 60 seconds and 365 days").waitFor();
    await access.fill("7200");
    await page.getByRole("button", { name: "Save lifetimes" }).click();
    await page.getByRole("status").getByText("Token lifetimes saved").waitFor();
    const read = await callApi<{ application: { access_token_lifetime: number } }>(
      server,
      "GET",
      `/api/v1/applications/${appId}`,
      { token },
    );
    assert.equal(read.body.application.access_token_lifetime, 7200);
  });

  it("works at phone width with a menu", async () => {
    const phone = await admin.context.newPage();
    await phone.setViewportSize(PHONE);
    await phone.goto(`${server.url}/admin/applications/${appId}`);
    await heading(phone, "Customer portal");
    const menu = phone.getByRole("button", { name: "Menu" });
    assert.equal(await phone.getByRole("navigation", { name: "Dashboard" }).isVisible(), false);
    await menu.click();
    assert.equal(await menu.getAttribute("aria-expanded"), "true");
    await phone.getByRole("link", { name: "Applications", exact: true }).click();
    await heading(phone, "Applications");
    await assertAccessible(phone, "applications on a phone");
    await screenshot(phone, "applications-phone");
    await phone.close();
  });

  it("deletes the application behind a confirmation", async () => {
    await page.goto(`${server.url}/admin/applications/${appId}`);
    await heading(page, "Customer portal");
    await page.getByRole("button", { name: "Delete application" }).click();
    const dialog = page.getByRole("dialog", { name: "Delete Customer portal?" });
    await dialog.getByText("cannot be undone").waitFor();
    await dialog.getByRole("button", { name: "Delete application" }).click();
    await heading(page, "Applications");
    const gone = await callApi<{ errors: { code: string }[] }>(
      server,
      "GET",
      `/api/v1/applications/${appId}`,
      {
        token,
      },
    );
    assert.equal(gone.body.errors[0]?.code, "APPLICATION_NOT_FOUND");
    assert.deepEqual(admin.problems, []);
  });

  it("tells someone who is not an administrator so, in words, and signs them out", async () => {
    const person = await createUser(server);
    const visitor = await openDashboardPage(admin.browser);
    try {
      await signInToDashboard(visitor.page, server.url, person);
      await heading(visitor.page, "This account is not an administrator");
      await visitor.page.getByText(`${person.email} is signed in, but only administrators`).waitFor();
      await assertAccessible(visitor.page, "not an administrator");
      await screenshot(visitor.page, "not-administrator");
      await visitor.page.getByRole("button", { name: "Sign out" }).click();
      await heading(visitor.page, "You have signed out");
      assert.ok(!(await visitor.context.cookies()).some((c) => c.name.includes("session")));
    } finally {
      await visitor.context.close();
    }
  });
});
