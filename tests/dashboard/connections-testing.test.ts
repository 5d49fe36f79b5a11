// Issue 17 in the dashboard, in Chromium on SQLite and PostgreSQL:
// - "Test connection": an administrator opens the single-use test link from a connection's entry,
//   signs in once at a real OpenID provider (oidc-provider, started by the test) in a new tab, and
//   sees the claims it sent — while no user, identity or session is made and the dashboard stays
//   signed in as it was; the link does not work twice. axe on the dialog and the claims page.
// - An organization's page, Connections: until a connection is ticked the organization offers its
//   applications' connections (and says so); ticking one enables it for the organization (the
//   server's list, and its sign-in page then offers only that one); unticking the last leaves it
//   none, which the page says again after a reload. axe.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication } from "../helpers/fixtures.js";
import { type OidcProviderHandle, startOidcProvider } from "../helpers/oauth-provider.js";
import type { TestServer } from "../helpers/server.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";
import { assertAccessible, heading, signedInDashboard } from "./dashboard-browser.js";

async function counts(server: TestServer) {
  const db = server.storage.db;
  const count = async (table: "users" | "external_identities" | "browser_sessions") =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as("n"))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return {
    users: await count("users"),
    identities: await count("external_identities"),
    sessions: await count("browser_sessions"),
  };
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`admin dashboard: testing connections, and connections per organization (${kind})`, {
    skip,
  }, () => {
    const dashboard = signedInDashboard(kind, {
      server: { env: { CONNECTED_APPS_ALLOW_PRIVATE_NETWORKS: "true" } },
    });
    let op: OidcProviderHandle;
    let storefront: string;
    let acme: string;
    let other: string;

    before(async () => {
      const { server } = dashboard;
      op = await startOidcProvider({
        redirectUri: `${server.url}/auth/connections/callback`,
        accountId: "tester-at-acme",
        scopes: ["profile", "email"],
      });
      storefront = (await createApplication(server, "spa", { name: "Storefront" })).clientId;
      const create = async (displayName: string) =>
        (
          await server.services.connections.create({
            name: displayName.toLowerCase().replace(/\W+/g, "-"),
            displayName,
            strategy: "oidc:custom",
            options: { client_id: op.clientId, client_secret: op.clientSecret, issuer: op.issuer },
            enabledApplications: [storefront],
          })
        ).id;
      acme = await create("Acme SSO");
      other = await create("Other IdP");
    });

    after(async () => {
      await op?.close();
    });

    it("tests a connection: signs in once at the provider in a new tab and shows the claims, changing nothing", async () => {
      const { server, page } = dashboard;
      await page.goto(`${server.url}/admin/settings/authentication`);
      await heading(page, "Authentication");
      const entry = page.locator(`section[data-connection="${acme}"]`);
      await entry.getByRole("button", { name: "Test connection" }).click();
      const dialog = page.getByRole("dialog", { name: "Test Acme SSO" });
      await dialog.waitFor();
      await assertAccessible(page, "test connection dialog");
      const link = dialog.getByRole("link", { name: "Open the test sign-in" });
      assert.equal(await link.getAttribute("target"), "_blank");
      const href = (await link.getAttribute("href"))!;
      assert.match(href, /\/auth\/connections\/test\?ticket=/);

      const before = await counts(server);
      const [result] = await Promise.all([page.context().waitForEvent("page"), link.click()]);
      await result.waitForURL((url) => url.pathname === "/auth/connections/callback");
      await result.getByRole("heading", { level: 1, name: "Acme SSO works" }).waitFor();
      const claims = result.locator("table.claims");
      assert.equal(
        await claims.getByRole("row", { name: /^sub tester-at-acme$/ }).count(),
        1,
        "the provider's sub is shown",
      );
      await claims.getByRole("cell", { name: "tester-at-acme@provider.test", exact: true }).waitFor();
      await result.getByText("nobody was signed in").waitFor();
      await assertAccessible(result, "connection test result");
      assert.deepEqual(await counts(server), before, "no user, identity or session");

      // The link worked once.
      await result.goto(href);
      await result.getByText("This test link has expired or was already used").waitFor();
      await result.close();

      // The dashboard is still signed in as it was.
      await dialog.getByRole("button", { name: "Done" }).click();
      await page.reload();
      await heading(page, "Authentication");
      await page.locator(`section[data-connection="${acme}"]`).waitFor();
      assert.deepEqual(dashboard.problems, []);
    });

    it("enables connections for an organization from its page, and says what its sign-in offers", async () => {
      const { server, page } = dashboard;
      const org = await server.services.organizations.create({ name: "Acme Corp" });
      await page.goto(`${server.url}/admin/organizations/${org.code}`);
      await heading(page, "Acme Corp");
      const section = page.locator("section", {
        has: page.getByRole("heading", { level: 2, name: "Connections", exact: true }),
      });
      await section.getByText("offers the connections its applications offer").waitFor();
      const acmeBox = section.getByRole("checkbox", { name: "Acme SSO", exact: true });
      const otherBox = section.getByRole("checkbox", { name: "Other IdP", exact: true });
      assert.equal(await acmeBox.isChecked(), false);
      await assertAccessible(page, "organization connections");

      await acmeBox.check();
      await section.getByText("offers only the connections ticked here").waitFor();
      await page.getByText("Acme SSO enabled for this organization").waitFor();
      assert.deepEqual(
        (await server.services.connections.forOrganization(org.code)).map((c) => c.id),
        [acme],
      );
      assert.equal(await otherBox.isChecked(), false);
      // Its sign-in now offers only that one.
      const agent = new UserAgent(server.url);
      const signIn = await agent.redirectFrom(
        authorizationUrl(server, storefront, CALLBACK, { org_code: org.code }),
      );
      const html = await (await agent.request(signIn)).text();
      assert.match(html, /Continue with Acme SSO/);
      assert.doesNotMatch(html, /Continue with Other IdP/);

      await acmeBox.uncheck();
      await section.getByText("offers none").waitFor();
      assert.deepEqual(await server.services.connections.forOrganization(org.code), []);
      await page.reload();
      await heading(page, "Acme Corp");
      await section.getByText("offers none").waitFor();
      assert.equal(await acmeBox.isChecked(), false);
      assert.ok(other);
      assert.deepEqual(dashboard.problems, []);
    });
  });
}
