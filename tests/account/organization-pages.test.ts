// Issue 19, an organization's self-service page in /account, on SQLite and PostgreSQL: what a
// member may do there is what their roles grant through Kinde's system permissions. A member whose
// role carries org:write:members sees the members, invites by e-mail (the invitations service: an
// invitation row and its e-mail) and removes a member, through the page's forms with the CSRF token;
// a member without it sees no members section and its forms answer 403 (nothing changed); someone
// outside the organization gets 404; renaming needs org:write:details. The Account API's portal_link
// with an organization subnav leads to the token's organization's page.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { systemPermissionId } from "../../src/system-permissions/catalogue.js";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication, createUser } from "../helpers/fixtures.js";
import { messagesTo } from "../helpers/mail.js";
import { callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";
import { backEndClient } from "../organizations/client.js";
import { hiddenFields, signInToAccount } from "./support.js";

type Person = { id: string; email: string; password: string };

for (const { kind, skip } of await databaseKinds()) {
  describe(`organization self-service page (${kind})`, { skip }, () => {
    let server: TestServer;
    let orgCode: string;
    let otherOrg: string;
    let manager: Person;
    let editor: Person;
    let plain: Person;
    let outsider: Person;
    let app: { clientId: string; clientSecret?: string };

    const tag = randomBytes(3).toString("hex");
    const page = (code = orgCode) => `/account/organizations/${encodeURIComponent(code)}`;

    async function role(key: string, permissions: string[]): Promise<void> {
      const created = await callApi<{ role: { id: string } }>(server, "POST", "/api/v1/roles", {
        body: { key, name: key },
      });
      assert.equal(created.status, 201);
      if (permissions.length === 0) return;
      const patched = await callApi(
        server,
        "PATCH",
        `/api/v1/roles/${created.body.role.id}/system_permissions`,
        {
          body: { system_permissions: permissions.map((k) => ({ id: systemPermissionId(k) })) },
        },
      );
      assert.equal(patched.status, 200);
    }

    async function join(code: string, person: Person, roles: string[]): Promise<void> {
      const added = await callApi(server, "POST", `/api/v1/organizations/${code}/users`, {
        body: { users: [{ id: person.id, roles }] },
      });
      assert.equal(added.status, 200, JSON.stringify(added.body));
    }

    before(async () => {
      server = await startTestServer(kind);
      app = await createApplication(server, "reg");
      const create = async (name: string) =>
        (
          await callApi<{ organization: { code: string } }>(server, "POST", "/api/v1/organization", {
            body: { name },
          })
        ).body.organization.code;
      orgCode = await create(`Acme ${tag}`);
      otherOrg = await create(`Other ${tag}`);
      await role(`managers_${tag}`, ["org:read:members", "org:write:members"]);
      await role(`editors_${tag}`, ["org:write:details"]);
      await role(`plain_${tag}`, ["org:read:billing"]);
      manager = await createUser(server, { givenName: "Mia", familyName: "Manager" });
      editor = await createUser(server, { givenName: "Eve", familyName: "Editor" });
      plain = await createUser(server, { givenName: "Pat", familyName: "Plain" });
      outsider = await createUser(server, { givenName: "Oz", familyName: "Outsider" });
      await join(orgCode, manager, [`managers_${tag}`]);
      await join(orgCode, editor, [`editors_${tag}`]);
      await join(orgCode, plain, [`plain_${tag}`]);
      // The manager's role in another organization gives nothing in this one, and the reverse.
      await join(otherOrg, outsider, [`managers_${tag}`]);
    });
    after(async () => server?.close());

    async function signedIn(person: Person): Promise<{ agent: UserAgent; csrf: string }> {
      const agent = new UserAgent(server.url);
      const { page: html } = await signInToAccount(server, agent, person);
      return { agent, csrf: hiddenFields(html).csrf! };
    }

    it("a manager sees the members, invites by e-mail and removes a member", async () => {
      const { agent, csrf } = await signedIn(manager);
      const view = await agent.request(page());
      const html = await view.text();
      assert.equal(view.status, 200, html.slice(0, 300));
      assert.match(html, /id="members"/);
      assert.match(html, /Pat Plain/);
      assert.match(html, /action="[^"]+\/members\/invite"/);
      assert.doesNotMatch(html, /action="[^"]+\/details"/, "no org:write:details: the name is not editable");

      const invitee = `invitee-${tag}@example.com`;
      const invited = await agent.postForm(`${page()}/members/invite`, { csrf, email: invitee });
      assert.equal(invited.status, 303, (await invited.text()).slice(0, 300));
      assert.equal(invited.headers.get("location"), `${page()}?done=invited`);
      const rows = await server.storage.db
        .selectFrom("organization_invitations")
        .selectAll()
        .where("org_code", "=", orgCode)
        .where("email", "=", invitee)
        .execute();
      assert.equal(rows.length, 1);
      assert.ok((await messagesTo(server, invitee)).some((m) => m.kind === "invitation"));

      const bad = await agent.postForm(`${page()}/members/invite`, { csrf, email: "not an address" });
      assert.equal(bad.status, 400);

      const removed = await agent.postForm(`${page()}/members/remove`, { csrf, user_id: plain.id });
      assert.equal(removed.status, 303);
      assert.equal(await server.services.organizations.store.isMember(orgCode, plain.id), false);
      const again = await agent.postForm(`${page()}/members/remove`, { csrf, user_id: plain.id });
      assert.equal(again.status, 404);
      const self = await agent.postForm(`${page()}/members/remove`, { csrf, user_id: manager.id });
      assert.equal(self.status, 400);
      assert.ok(await server.services.organizations.store.isMember(orgCode, manager.id));

      // Without the CSRF token nothing happens.
      const forged = await agent.postForm(`${page()}/members/remove`, { user_id: editor.id });
      assert.equal(forged.status, 403);
      assert.ok(await server.services.organizations.store.isMember(orgCode, editor.id));
      await join(orgCode, plain, [`plain_${tag}`]);
    });

    it("a member without the members permission sees no section and is refused with 403", async () => {
      const { agent, csrf } = await signedIn(plain);
      const view = await agent.request(page());
      const html = await view.text();
      assert.equal(view.status, 200);
      assert.match(html, /id="details"/);
      assert.doesNotMatch(html, /id="members"/);
      assert.doesNotMatch(html, /members\/invite/);
      const invitee = `refused-${tag}@example.com`;
      const invite = await agent.postForm(`${page()}/members/invite`, { csrf, email: invitee });
      assert.equal(invite.status, 403);
      assert.equal((await messagesTo(server, invitee)).length, 0);
      const remove = await agent.postForm(`${page()}/members/remove`, { csrf, user_id: editor.id });
      assert.equal(remove.status, 403);
      assert.ok(await server.services.organizations.store.isMember(orgCode, editor.id));
      const rename = await agent.postForm(`${page()}/details`, { csrf, name: "Hijacked" });
      assert.equal(rename.status, 403);
      assert.equal((await server.services.organizations.store.find(orgCode))?.name, `Acme ${tag}`);
    });

    it("renames with org:write:details", async () => {
      const { agent, csrf } = await signedIn(editor);
      const html = await (await agent.request(page())).text();
      assert.match(html, /action="[^"]+\/details"/);
      assert.doesNotMatch(html, /id="members"/);
      const blank = await agent.postForm(`${page()}/details`, { csrf, name: "   " });
      assert.equal(blank.status, 400);
      const renamed = await agent.postForm(`${page()}/details`, { csrf, name: `Acme Renamed ${tag}` });
      assert.equal(renamed.status, 303);
      assert.equal((await server.services.organizations.store.find(orgCode))?.name, `Acme Renamed ${tag}`);
    });

    it("someone outside the organization gets 404, whatever their roles elsewhere", async () => {
      const { agent, csrf } = await signedIn(outsider);
      assert.equal((await agent.request(page())).status, 404);
      assert.equal((await agent.request(page("no-such-org"))).status, 404);
      const invite = await agent.postForm(`${page()}/members/invite`, {
        csrf,
        email: `x-${tag}@example.com`,
      });
      assert.equal(invite.status, 404);
      const remove = await agent.postForm(`${page()}/members/remove`, { csrf, user_id: plain.id });
      assert.equal(remove.status, 404);
      assert.ok(await server.services.organizations.store.isMember(orgCode, plain.id));
      // Their own organization's page shows them its members.
      const own = await agent.request(page(otherOrg));
      assert.equal(own.status, 200);
      assert.match(await own.text(), /id="members"/);
    });

    it("portal_link's organization subnavs lead to the token's organization's page", async () => {
      const { authorizeUrl, exchange } = backEndClient(
        () => server,
        () => app,
      );
      const tokens = await exchange(
        await new UserAgent(server.url).authorize(authorizeUrl({ org_code: orgCode }), manager),
      );
      const link = async (subnav: string) => {
        const response = await fetch(`${server.url}/account_api/v1/portal_link?subnav=${subnav}`, {
          headers: { authorization: `Bearer ${tokens.access_token}` },
        });
        assert.equal(response.status, 200);
        return new URL(((await response.json()) as { url: string }).url);
      };
      const members = await link("organization_members");
      assert.equal(members.pathname, page());
      assert.equal(members.hash, "#members");
      const details = await link("organization_details");
      assert.equal(details.pathname, page());
      assert.equal((await link("profile")).pathname, "/account");

      // A browser following the link signs in to the account pages and lands on the page.
      const agent = new UserAgent(server.url);
      const start = await agent.redirectFrom(`${members.pathname}${members.search}`);
      const { page: html } = await signInToAccount(server, agent, manager, { start });
      assert.match(html, /id="members"/);
    });
  });
}
