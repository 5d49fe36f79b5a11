// Kinde's browser SDK core, @kinde/js-utils, unchanged in Chromium as its React and JavaScript SDKs
// run it: a front-end app signs in (PKCE, the cookie refresh of a custom domain) and then calls every
// function of js-utils 0.32 that reaches the Account API — getPermission(key, {forceApi}),
// getPermissions, getRoles and getFlag with forceApi (its getFlags is declared but not exported),
// has, hasPermissions, hasRoles and hasFeatureFlags with forceApi, hasBillingEntitlements,
// getEntitlements, getEntitlement, generatePortalUrl — and the ones that read tokens
// (getUserProfile, getCurrentOrganization, getUserOrganizations), checked against the Account
// API's own answers. More permissions and roles than a page holds make js-utils follow the pages.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { launchChromium } from "../helpers/browser.js";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication, createUser } from "../helpers/fixtures.js";
import { callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const JS_UTILS = readFileSync(
  new URL("../../node_modules/@kinde/js-utils/dist/js-utils.js", import.meta.url),
);
const PAGE = `<!doctype html><title>SPA</title><h1>SPA</h1>
<script type="module">
  import * as kinde from "/js-utils.js";
  kinde.setActiveStorage(new kinde.MemoryStorage());
  kinde.setInsecureStorage(new kinde.LocalStorage());
  window.kinde = kinde;
</script>`;

/** A single-page app's static server: its page and the js-utils module, nothing else. */
async function startSpa(): Promise<{ origin: string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    if (request.url === "/js-utils.js") {
      response.writeHead(200, { "content-type": "text/javascript" }).end(JS_UTILS);
      return;
    }
    response
      .writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" })
      .end(PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type Json = Record<string, unknown>;

for (const { kind, skip } of await databaseKinds()) {
  describe(`@kinde/js-utils's Account API calls in Chromium (${kind})`, { skip }, () => {
    let server: TestServer;
    let browser: Browser;
    let spa: Awaited<ReturnType<typeof startSpa>>;
    let clientId: string;

    before(async () => {
      server = await startTestServer(kind);
      spa = await startSpa();
      clientId = (
        await createApplication(server, "spa", {
          callbackUrls: [`${spa.origin}/callback`],
          logoutUrls: [`${spa.origin}/`],
        })
      ).clientId;
      browser = await launchChromium();
    });
    after(async () => {
      await browser?.close();
      await spa?.close();
      await server?.close();
    });

    it("answers every Account API function js-utils has, through its pages", async () => {
      const api = (method: string, path: string, body?: unknown) =>
        callApi(server, method, path, body === undefined ? {} : { body });
      const tag = randomBytes(3).toString("hex");
      const orgCode = (
        (await api("POST", "/api/v1/organization", { name: `Acme ${tag}` })).body as {
          organization: { code: string };
        }
      ).organization.code;
      // 12 permissions and 11 roles: more than the Account API's page of 10.
      const permissionKeys = Array.from(
        { length: 12 },
        (_, i) => `read:${String(i).padStart(2, "0")}-${tag}`,
      );
      for (const key of permissionKeys) await api("POST", "/api/v1/permissions", { key, name: key });
      const roleKeys = Array.from({ length: 11 }, (_, i) => `role-${String(i).padStart(2, "0")}-${tag}`);
      for (const key of roleKeys) await api("POST", "/api/v1/roles", { key, name: `Role ${key}` });
      await api("POST", "/api/v1/feature_flags", {
        key: `dark_mode_${tag}`,
        name: `Dark mode ${tag}`,
        type: "bool",
        default_value: "true",
      });
      await api("POST", "/api/v1/feature_flags", {
        key: `plan_${tag}`,
        name: `Plan ${tag}`,
        type: "str",
        default_value: "gold",
      });
      const user = await createUser(server, { givenName: "Ada", familyName: "Lovelace" });
      await api("POST", `/api/v1/organizations/${orgCode}/users`, {
        users: [{ id: user.id, roles: roleKeys, permissions: permissionKeys }],
      });

      const context = await browser.newContext();
      const page = await context.newPage();
      const accountApiCalls: URL[] = [];
      page.on("request", (request) => {
        const url = new URL(request.url());
        if (url.pathname.startsWith("/account_api/")) accountApiCalls.push(url);
      });
      try {
        await page.goto(`${spa.origin}/`);
        await page.waitForFunction("Boolean(window.kinde)");
        const authUrl = await page.evaluate(
          `kinde.generateAuthUrl(${JSON.stringify(server.url)}, "login", {
            clientId: ${JSON.stringify(clientId)},
            redirectURL: ${JSON.stringify(`${spa.origin}/callback`)},
            scope: ["openid", "profile", "email", "offline"],
            orgCode: ${JSON.stringify(orgCode)},
          }).then((r) => r.url.toString())`,
        );
        await page.goto(String(authUrl));
        await page.getByLabel("Email").fill(user.email);
        await page.getByLabel("Password").fill(user.password);
        await Promise.all([
          page.waitForURL(/\/callback\?/),
          page.getByRole("button", { name: "Sign in", exact: true }).click(),
        ]);
        await page.waitForFunction("Boolean(window.kinde)");
        const exchanged = (await page.evaluate(
          `kinde.exchangeAuthCode({
            urlParams: new URLSearchParams(location.search),
            domain: ${JSON.stringify(server.url)},
            clientId: ${JSON.stringify(clientId)},
            redirectURL: ${JSON.stringify(`${spa.origin}/callback`)},
          })`,
        )) as { success: boolean; error?: string };
        assert.equal(exchanged.success, true, exchanged.error);

        const results = (await page.evaluate(`(async () => {
          const settle = (promise) => promise.then((value) => ({ value }), (error) => ({ error: String(error) }));
          const keys = ${JSON.stringify(permissionKeys)};
          return {
            permission: await settle(kinde.getPermission(keys[11], { forceApi: true })),
            notHeld: await settle(kinde.getPermission("delete:everything", { forceApi: true })),
            permissions: await settle(kinde.getPermissions({ forceApi: true })),
            roles: await settle(kinde.getRoles({ forceApi: true })),
            // js-utils 0.32 looks a flag up by its name when it asks the API (by its key in the token).
            flagByName: await settle(kinde.getFlag(${JSON.stringify(`Plan ${tag}`)}, { forceApi: true })),
            flagFromToken: await settle(kinde.getFlag(${JSON.stringify(`plan_${tag}`)})),
            hasPermissions: await settle(kinde.hasPermissions({ permissions: [keys[0], keys[11]], forceApi: true })),
            lacksPermission: await settle(kinde.hasPermissions({ permissions: ["delete:everything"], forceApi: true })),
            hasRoles: await settle(kinde.hasRoles({ roles: [${JSON.stringify(roleKeys[10])}], forceApi: true })),
            hasFlags: await settle(kinde.hasFeatureFlags({
              featureFlags: [{ flag: ${JSON.stringify(`dark_mode_${tag}`)}, value: true }, ${JSON.stringify(`plan_${tag}`)}],
              forceApi: true,
            })),
            wrongFlagValue: await settle(kinde.hasFeatureFlags({
              featureFlags: [{ flag: ${JSON.stringify(`plan_${tag}`)}, value: "silver" }], forceApi: true,
            })),
            has: await settle(kinde.has({
              roles: [${JSON.stringify(roleKeys[0])}], permissions: [keys[5]], forceApi: true,
            })),
            hasEntitlement: await settle(kinde.hasBillingEntitlements({ billingEntitlements: ["pro"] })),
            entitlements: await settle(kinde.getEntitlements()),
            entitlement: await settle(kinde.getEntitlement("pro")),
            portal: await settle(kinde.generatePortalUrl({
              returnUrl: ${JSON.stringify(`${spa.origin}/settings`)}, subNav: "profile",
            }).then((r) => r.url.toString())),
            foreignPortal: await settle(kinde.generatePortalUrl({ returnUrl: "https://evil.example/" })),
            profile: await settle(kinde.getUserProfile()),
            currentOrganization: await settle(kinde.getCurrentOrganization()),
            userOrganizations: await settle(kinde.getUserOrganizations()),
            accessToken: await kinde.getRawToken(),
          };
        })()`)) as Record<string, { value?: unknown; error?: string }> & { accessToken: string };

        const value = (name: string) => {
          const result = results[name]!;
          assert.equal(result.error, undefined, `${name}: ${result.error}`);
          return result.value;
        };
        assert.deepEqual(value("permission"), {
          permissionKey: permissionKeys[11],
          orgCode,
          isGranted: true,
          data: {
            permission_key: permissionKeys[11],
            org_code: orgCode,
            is_granted: true,
            id: (value("permission") as Json & { data: Json }).data.id,
            name: permissionKeys[11],
            description: null,
          },
        });
        assert.equal((value("notHeld") as Json).isGranted, false);
        assert.deepEqual(value("permissions"), { orgCode, permissions: permissionKeys });
        assert.deepEqual(
          (value("roles") as Json[]).map((r) => r.key),
          roleKeys,
        );
        assert.equal(value("flagByName"), "gold");
        assert.equal(value("flagFromToken"), "gold");
        assert.equal(value("hasPermissions"), true);
        assert.equal(value("lacksPermission"), false);
        assert.equal(value("hasRoles"), true);
        assert.equal(value("hasFlags"), true);
        assert.equal(value("wrongFlagValue"), false);
        assert.equal(value("has"), true);
        assert.equal(value("hasEntitlement"), false);
        assert.deepEqual(value("entitlements"), { orgCode, plans: [], entitlements: [] });
        // No billing: an entitlement is not found (js-utils reports the status).
        assert.match(results.entitlement!.error ?? "", /404/);
        const portal = new URL(value("portal") as string);
        assert.equal(portal.origin + portal.pathname, `${server.url}/account`);
        assert.equal(portal.searchParams.get("return_url"), `${spa.origin}/settings`);
        assert.equal(portal.searchParams.get("subnav"), "profile");
        assert.match(results.foreignPortal!.error ?? "", /400/);

        // js-utils followed the pages of 10 (permissions and roles were more than a page).
        const paged = accountApiCalls
          .filter((u) => u.searchParams.has("starting_after"))
          .map((u) => u.pathname);
        assert.ok(paged.includes("/account_api/v1/permissions"), paged.join(" "));
        assert.ok(paged.includes("/account_api/v1/roles"), paged.join(" "));

        // What js-utils reads from the tokens agrees with the Account API's own answers.
        const accountApi = async (path: string) => {
          const response = await fetch(`${server.url}/account_api/v1/${path}`, {
            headers: { authorization: `Bearer ${results.accessToken}` },
          });
          assert.equal(response.status, 200, path);
          return (await response.json()) as { data: Json & Json[] };
        };
        const profile = value("profile") as Json;
        const apiProfile = (await accountApi("user_profile")).data;
        assert.deepEqual(
          {
            id: profile.id,
            givenName: profile.givenName,
            familyName: profile.familyName,
            email: profile.email,
          },
          {
            id: apiProfile.id,
            givenName: apiProfile.given_name,
            familyName: apiProfile.family_name,
            email: apiProfile.email,
          },
        );
        assert.equal(value("currentOrganization"), orgCode);
        assert.equal((await accountApi("current_organization")).data.code, orgCode);
        const apiOrganizations = (await accountApi("user_organizations")).data.map((o) => o.code);
        assert.deepEqual([...(value("userOrganizations") as string[])].sort(), [...apiOrganizations].sort());
        assert.ok(apiOrganizations.includes(orgCode));
      } finally {
        await context.close();
      }
    });
  });
}
