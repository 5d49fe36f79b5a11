// Accepting an invitation through the hosted pages (Kinde's invitation_code + is_invitation=true on
// /oauth2/auth), at the HTTP level with a cookie-keeping user agent: a new invitee signs up — into an
// organization that takes no sign-ups — and the tokens name the organization and the invited roles;
// an existing account signs in; the address is fixed and another account is refused; a code works
// once, not after expiry or revocation (checked again when the code is minted), and two acceptances
// racing give one membership; the e-mail's team_invitation link does the same on Latchkey's own
// invitations application. Both databases.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { decodeJwt } from "jose";
import { InvitationsService } from "../../src/invitations/invitations.service.js";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication, createUser } from "../helpers/fixtures.js";
import { messagesTo } from "../helpers/mail.js";
import { callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";
import { backEndClient, type Json } from "../organizations/client.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`Accepting an invitation at sign-in (${kind})`, { skip }, () => {
    let server: TestServer;
    let app: { clientId: string; clientSecret?: string };
    let orgCode: string;
    let roleKey: string;
    before(async () => {
      server = await startTestServer(kind);
      app = await createApplication(server, "reg");
      const tag = randomBytes(3).toString("hex");
      orgCode = (
        await callApi<{ organization: { code: string } }>(server, "POST", "/api/v1/organization", {
          body: { name: `Team ${tag}` },
        })
      ).body.organization.code;
      roleKey = `editor-${tag}`;
      await callApi(server, "POST", "/api/v1/roles", { body: { key: roleKey, name: "Editor" } });
    });
    after(async () => server?.close());

    const { authorizeUrl, exchange } = backEndClient(
      () => server,
      () => app,
    );
    const address = (name: string) => `${name}-${randomBytes(3).toString("hex")}@example.com`;

    async function invite(email: string): Promise<{ id: string; code: string }> {
      const { status, body } = await callApi<{ invite: { id: string; code: string } }>(
        server,
        "POST",
        `/api/v1/organization/${orgCode}/invites`,
        { body: { email, roles: [roleKey] } },
      );
      assert.equal(status, 201, JSON.stringify(body));
      return body.invite;
    }
    const invitationUrl = (code: string, extra: Record<string, string> = {}) =>
      authorizeUrl({ invitation_code: code, is_invitation: "true", ...extra });
    const isMember = (userId: string) => server.services.organizations.store.isMember(orgCode, userId);
    const accepted = async (id: string) =>
      (await callApi<Json>(server, "GET", `/api/v1/organization/${orgCode}/invites/${id}`)).body.accepted_on;
    const refusedWith = (callback: URL, fragment: RegExp) => {
      assert.equal(callback.searchParams.get("error"), "access_denied", callback.href);
      assert.match(callback.searchParams.get("error_description") ?? "", fragment);
    };

    /** Signs up on the page the invitation led to; the URL the browser is sent to after. */
    async function signUp(agent: UserAgent, page: URL, email: string): Promise<Response> {
      const form = await agent.openForm(page);
      return agent.postForm("/auth/sign-up", {
        ...form,
        email,
        password: `pw-${randomBytes(8).toString("hex")}`,
        given_name: "Grace",
        family_name: "Hopper",
      });
    }

    it("signs a new invitee up into an organization that takes no sign-ups, with the invited roles", async () => {
      const org = await callApi<Json>(server, "GET", `/api/v1/organization?code=${orgCode}`);
      assert.equal(org.body.is_allow_registrations, false);
      const email = address("grace");
      const invitation = await invite(email);
      const agent = new UserAgent(server.url);
      const page = await agent.redirectFrom(invitationUrl(invitation.code));
      assert.equal(page.pathname, "/auth/sign-up", "no account has the address yet");
      const html = await (await agent.request(page)).text();
      assert.match(html, new RegExp(`id="email"[^>]*value="${email}"[^>]*readonly`), "the address is fixed");
      assert.match(html, /to accept the invitation to join Team/);

      const response = await signUp(agent, page, email);
      assert.equal(response.status, 303, await response.text());
      const callback = new URL(response.headers.get("location")!);
      const tokens = await exchange(callback);
      const access = decodeJwt(tokens.access_token);
      assert.equal(access.org_code, orgCode);
      assert.ok(
        (access.roles as { key: string }[]).some((r) => r.key === roleKey),
        JSON.stringify(access.roles),
      );
      const user = await server.services.users.store.findByEmail(email);
      assert.ok(user && (await isMember(user.id)));
      assert.ok(await accepted(invitation.id), "the invitation is accepted");
    });

    it("lets an existing account sign in to accept, the address fixed", async () => {
      const user = await createUser(server, { email: address("existing") });
      const invitation = await invite(user.email);
      const agent = new UserAgent(server.url);
      const page = await agent.redirectFrom(invitationUrl(invitation.code));
      assert.equal(page.pathname, "/auth/sign-in");
      const html = await (await agent.request(page)).text();
      assert.match(html, new RegExp(`id="email"[^>]*value="${user.email}"[^>]*readonly`));
      const callback = await agent.authorize(invitationUrl(invitation.code), user);
      const access = decodeJwt((await exchange(callback)).access_token);
      assert.equal(access.org_code, orgCode);
      assert.ok((access.roles as { key: string }[]).some((r) => r.key === roleKey));
    });

    it("works once: a second use of the code is refused", async () => {
      const email = address("once");
      const invitation = await invite(email);
      const first = new UserAgent(server.url);
      const page = await first.redirectFrom(invitationUrl(invitation.code));
      assert.equal((await signUp(first, page, email)).status, 303);
      const again = await new UserAgent(server.url).redirectFrom(invitationUrl(invitation.code));
      refusedWith(again, /used already/);
    });

    it("refuses an expired invitation, and one that expires or is revoked while the person signs up", async () => {
      const expire = (id: string) =>
        server.storage.db
          .updateTable("organization_invitations")
          .set({ expires_at: 1 })
          .where("id", "=", id)
          .execute();

      const stale = await invite(address("stale"));
      await expire(stale.id);
      refusedWith(await new UserAgent(server.url).redirectFrom(invitationUrl(stale.code)), /expired/);

      // Checked again when the code is minted: the sign-up goes through, the invitation does not.
      const email = address("slow");
      const slow = await invite(email);
      const agent = new UserAgent(server.url);
      const page = await agent.redirectFrom(invitationUrl(slow.code));
      await expire(slow.id);
      const response = await signUp(agent, page, email);
      assert.equal(response.status, 303);
      refusedWith(new URL(response.headers.get("location")!), /expired/);
      const user = await server.services.users.store.findByEmail(email);
      assert.ok(user);
      assert.equal(await isMember(user.id), false, "no membership without the invitation");

      const withdrawn = await invite(address("withdrawn"));
      await callApi(server, "DELETE", `/api/v1/organization/${orgCode}/invites/${withdrawn.id}`);
      refusedWith(await new UserAgent(server.url).redirectFrom(invitationUrl(withdrawn.code)), /withdrawn/);
    });

    it("refuses another account: signing in as b@x with a@x's invitation, or signing up as someone else", async () => {
      const other = await createUser(server, { email: address("b") });
      const invitedEmail = address("a");
      const invitation = await invite(invitedEmail);
      const agent = new UserAgent(server.url);
      const page = await agent.redirectFrom(invitationUrl(invitation.code));
      const request = page.searchParams.get("request")!;
      const form = await agent.openForm(`/auth/sign-in?request=${encodeURIComponent(request)}`);
      const signIn = await agent.postForm("/auth/sign-in", {
        ...form,
        email: other.email,
        password: other.password,
      });
      const body = await signIn.text();
      assert.equal(signIn.status, 403, body);
      assert.match(body, new RegExp(`This invitation is for ${invitedEmail}`));
      assert.equal(await isMember(other.id), false);
      assert.equal(agent.cookie("latchkey_session"), undefined, "no session was started");

      const crafted = await signUp(agent, page, address("someone-else"));
      assert.equal(crafted.status, 403);
      assert.equal(await accepted(invitation.id), null, "the invitation stays open for its address");
    });

    it("refuses malformed codes, prompt=none, and an org_code other than the invitation's", async () => {
      const bad = await new UserAgent(server.url).redirectFrom(invitationUrl("inv_short"));
      assert.equal(bad.searchParams.get("error"), "invalid_request");
      const unknown = await new UserAgent(server.url).redirectFrom(invitationUrl(`inv_${"B".repeat(43)}`));
      refusedWith(unknown, /not valid/);
      const invitation = await invite(address("silent"));
      const silent = await new UserAgent(server.url).redirectFrom(
        invitationUrl(invitation.code, { prompt: "none" }),
      );
      assert.equal(silent.searchParams.get("error"), "login_required");
      const otherOrg = await new UserAgent(server.url).redirectFrom(
        invitationUrl(invitation.code, { org_code: "org_00000000000" }),
      );
      assert.equal(otherOrg.searchParams.get("error"), "invalid_request");
    });

    it("accepts through the e-mail's team_invitation link, on Latchkey's own invitations application", async () => {
      const email = address("linked");
      const { body } = await callApi<{ invite: { invite_link: string } }>(
        server,
        "POST",
        `/api/v1/organization/${orgCode}/invites`,
        { body: { email, roles: [roleKey], send_email: true } },
      );
      const [mail] = await messagesTo(server, email);
      const link = /https?:\/\/\S+team_invitation\?code=\S+/.exec(mail?.text ?? "")?.[0];
      assert.equal(link, body.invite.invite_link, mail?.text);

      const agent = new UserAgent(server.url);
      const authorize = await agent.redirectFrom(link!);
      assert.equal(authorize.pathname, "/oauth2/auth");
      assert.equal(authorize.searchParams.get("is_invitation"), "true");
      const page = await agent.redirectFrom(authorize);
      assert.equal(page.pathname, "/auth/sign-up");
      const signedUp = await signUp(agent, page, email);
      const callback = new URL(signedUp.headers.get("location")!);
      assert.equal(callback.pathname, "/team_invitation/callback");
      const joined = await agent.request(callback);
      const html = await joined.text();
      assert.equal(joined.status, 200, html);
      assert.match(html, /You have joined Team/);
      const user = await server.services.users.store.findByEmail(email);
      assert.ok(user && (await isMember(user.id)));
      // The answer works once: the same callback again is refused.
      assert.equal((await agent.request(callback)).status, 400);

      const used = await new UserAgent(server.url).request(link!);
      assert.equal(used.status, 410);
      assert.match(await used.text(), /used already/);
      const unknown = await new UserAgent(server.url).request(`/team_invitation?code=inv_${"C".repeat(43)}`);
      assert.equal(unknown.status, 404);
      const stranger = await new UserAgent(server.url).request(`${callback.pathname}${callback.search}`);
      assert.equal(stranger.status, 400, "another browser's answer");
    });

    it("gives one membership when two acceptances race", async () => {
      const user = await createUser(server, { email: address("race") });
      const invitation = await invite(user.email);
      const service = new InvitationsService(
        server.storage.db,
        server.services.clock,
        server.services.mail,
        server.url,
      );
      const outcomes = await Promise.all(
        [1, 2, 3].map(() => service.accept(invitation.id, { id: user.id, email: user.email })),
      );
      assert.equal(outcomes.filter((o) => o.ok).length, 1, JSON.stringify(outcomes));
      assert.ok(outcomes.some((o) => !o.ok && o.reason === "accepted"));
      assert.ok(await isMember(user.id));
    });
  });
}
