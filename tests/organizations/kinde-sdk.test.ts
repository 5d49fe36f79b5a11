// Kinde's own TypeScript SDK (2.15.1, unchanged) reads a signed-in user's organization,
// organizations, permissions, feature flags and roles through its helpers — the user signs in
// through Latchkey's hosted page in a real Chromium — and sees changes made through the Management
// API after refresh_claims + refreshTokens.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { createKindeServerClient, GrantType } from "@kinde-oss/kinde-typescript-sdk";
import type { Browser } from "playwright-core";
import { type AppServer, launchChromium, startAppServer } from "../helpers/browser.js";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication, createUser } from "../helpers/fixtures.js";
import { MapSessionManager } from "../helpers/kinde-session.js";
import { callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`Kinde TypeScript SDK helpers for organizations, permissions, flags, roles (${kind})`, {
    skip,
  }, () => {
    let server: TestServer;
    let browser: Browser;
    let rp: AppServer;
    before(async () => {
      server = await startTestServer(kind);
      browser = await launchChromium();
      rp = await startAppServer();
    });
    after(async () => {
      await browser?.close();
      await rp?.close();
      await server?.close();
    });

    it("reads org, permissions, flags and roles, and sees changes after refresh_claims + refreshTokens", async () => {
      const api = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) =>
        callApi<T>(server, method, path, body === undefined ? {} : { body });
      const tag = randomBytes(3).toString("hex");
      const org = (
        await api<{ organization: { code: string } }>("POST", "/api/v1/organization", { name: "Acme" })
      ).body.organization.code;
      const other = (
        await api<{ organization: { code: string } }>("POST", "/api/v1/organization", { name: "Other" })
      ).body.organization.code;
      for (const key of ["read:reports", "write:reports", "other:secret"])
        assert.equal((await api("POST", "/api/v1/permissions", { key, name: key })).status, 201);
      const role = (
        await api<{ role: { id: string } }>("POST", "/api/v1/roles", { key: "analyst", name: "Analyst" })
      ).body.role.id;
      const permissions = (
        await api<{ permissions: { id: string; key: string }[] }>("GET", "/api/v1/permissions")
      ).body.permissions;
      const permission = (key: string) => permissions.find((p) => p.key === key)!.id;
      await api("PATCH", `/api/v1/roles/${role}/permissions`, {
        permissions: [{ id: permission("read:reports") }],
      });
      const flag = (key: string, type: string, value: string) =>
        api("POST", "/api/v1/feature_flags", {
          key,
          name: key,
          type,
          default_value: value,
          allow_override_level: "usr",
        });
      await flag("dark_mode", "bool", "false");
      await flag("theme", "str", "light");
      await flag("seats", "int", "3");

      const user = await createUser(server);
      await api("POST", `/api/v1/organizations/${org}/users`, {
        users: [{ id: user.id, roles: ["analyst"] }],
      });
      await api("POST", `/api/v1/organizations/${other}/users`, {
        users: [{ id: user.id, permissions: ["other:secret"] }],
      });
      await api("PATCH", `/api/v1/organizations/${other}/feature_flags/theme?value=other-theme`);
      await api("PATCH", `/api/v1/organizations/${org}/feature_flags/seats?value=25`);

      const app = await createApplication(server, "reg", { callbackUrls: [`${rp.origin}/callback`] });
      const client = createKindeServerClient(GrantType.AUTHORIZATION_CODE, {
        authDomain: server.url,
        clientId: app.clientId,
        clientSecret: app.clientSecret!,
        redirectURL: `${rp.origin}/callback`,
        logoutRedirectURL: `${rp.origin}/`,
      });
      const session = new MapSessionManager();
      const loginUrl = await client.login(session, { org_code: org });
      assert.equal(loginUrl.searchParams.get("org_code"), org);

      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await page.goto(loginUrl.href);
        await page.locator('input[name="email"]').fill(user.email);
        await page.locator('input[name="password"]').fill(user.password);
        await Promise.all([
          page.waitForURL((url) => url.origin === rp.origin && url.pathname === "/callback"),
          page.getByRole("button", { name: "Sign in" }).click(),
        ]);
        await client.handleRedirectToApp(session, new URL(page.url()));
      } finally {
        await context.close();
      }

      assert.deepEqual(await client.getOrganization(session), { orgCode: org });
      const organizations = await client.getUserOrganizations(session);
      assert.ok(organizations.orgCodes.includes(org) && organizations.orgCodes.includes(other));
      assert.deepEqual(await client.getPermissions(session), { permissions: ["read:reports"], orgCode: org });
      assert.deepEqual(await client.getPermission(session, "read:reports"), {
        orgCode: org,
        isGranted: true,
      });
      assert.deepEqual(await client.getPermission(session, "other:secret"), {
        orgCode: org,
        isGranted: false,
      });
      assert.equal(await client.getBooleanFlag(session, "dark_mode", true), false);
      assert.equal(
        await client.getStringFlag(session, "theme", "none"),
        "light",
        "Other's override stays there",
      );
      assert.equal(await client.getIntegerFlag(session, "seats", 0), 25);
      assert.deepEqual(await client.getFlag(session, "seats", 0, "i"), {
        is_default: false,
        value: 25,
        code: "seats",
        type: "number",
      });
      await assert.rejects(client.getStringFlag(session, "seats", "x"), /is of type number/);
      assert.equal(await client.getStringFlag(session, `missing-${tag}`, "fallback"), "fallback");
      assert.deepEqual(await client.getClaimValue(session, "roles"), [
        { id: role, key: "analyst", name: "Analyst" },
      ]);

      // Changes through the Management API show after refresh_claims + refreshTokens.
      await api("POST", `/api/v1/organizations/${org}/users/${user.id}/permissions`, {
        permission_id: permission("write:reports"),
      });
      await api("PATCH", `/api/v1/users/${user.id}/feature_flags/dark_mode?value=true`);
      await api("DELETE", `/api/v1/organizations/${org}/users/${user.id}/roles/${role}`);
      assert.equal((await api("POST", `/api/v1/users/${user.id}/refresh_claims`)).status, 200);
      await client.refreshTokens(session);
      assert.deepEqual(await client.getPermissions(session), {
        permissions: ["write:reports"],
        orgCode: org,
      });
      assert.equal(await client.getBooleanFlag(session, "dark_mode", false), true);
      assert.deepEqual(await client.getClaimValue(session, "roles"), []);
    });
  });
}
