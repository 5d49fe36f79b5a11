// Which browser sessions a connected-app link (/connected_apps/start) takes for its user, on SQLite
// and PostgreSQL: the silent sign-in's rules that need no application (sign-in/session-admission.ts).
// A password session and a session made through a sign-in connection go straight to the provider;
// a connection session whose identity was unlinked since, and a session that does not meet the
// link's organization's MFA requirement, get the link's sign-in page instead. (The rule that a
// connection session counts only in applications its connection is enabled for cannot apply: a
// link names no application.)
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ExternalIdentitiesStore } from "../../src/users/external-identities.store.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { authorizationUrl, signedInUserAgent, UserAgent } from "../helpers/user-agent.js";
import { type ClaimsProvider, startClaimsProvider } from "./claims-provider.js";

const DRIVE = "https://drive.example.com";

for (const { kind, skip } of await databaseKinds()) {
  describe(`connected-app links and the browser's session (${kind})`, { skip }, () => {
    let server: TestServer;
    let token: string;
    let idp: ClaimsProvider;
    let app: { clientId: string };
    let connectionId: string;

    /** A link for the user (or the organization); where opening it in `agent` leads. */
    const open = async (agent: UserAgent, owner: string) => {
      const { body } = await callApi<{ url: string }>(
        server,
        "GET",
        `/api/v1/connected_apps/auth_url?key_code_ref=drive&${owner}`,
        { token },
      );
      const response = await agent.request(body.url);
      const page = await response.text();
      const location = response.headers.get("location");
      return { status: response.status, page, to: location ? new URL(location, server.url) : null };
    };

    /** A browser signed in through the connection as the provider's `sub`. */
    const signInThroughConnection = async (sub: string, email: string) => {
      idp.person = { sub, email, email_verified: true };
      const agent = new UserAgent(server.url);
      let next = authorizationUrl(server, app.clientId, CALLBACK, { connection_id: connectionId });
      for (let hop = 0; hop < 3 && next.origin === server.url; hop++) next = await agent.redirectFrom(next);
      const done = await agent.redirectFrom(await idp.authorize(next));
      assert.equal(`${done.origin}${done.pathname}`, CALLBACK);
      return agent;
    };

    before(async () => {
      server = await startTestServer(kind, { env: { CONNECTED_APPS_ALLOW_PRIVATE_NETWORKS: "true" } });
      token = await managementToken(server);
      const created = await callApi(server, "POST", "/api/v1/connected_apps", {
        token,
        body: {
          key_code_ref: "drive",
          provider: "oauth2",
          name: "Stand-in Drive",
          client_id: "drive-client",
          client_secret: "drive-secret",
          callback_url: "https://app.example.com/connected",
          scopes: ["read"],
          settings: { authorization_url: `${DRIVE}/authorize`, token_url: `${DRIVE}/token` },
        },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      app = await createApplication(server, "spa");
      idp = await startClaimsProvider({});
      connectionId = (
        await server.services.connections.create({
          name: "acme-sso",
          displayName: "Acme SSO",
          strategy: "oidc:custom",
          options: {
            client_id: idp.clientId,
            client_secret: idp.clientSecret,
            issuer: idp.issuer,
            is_trusted: true,
          },
          enabledApplications: [app.clientId],
        })
      ).id;
    });
    after(async () => {
      await idp?.close();
      await server?.close();
    });

    it("takes a password session and a connection session of the link's user", async () => {
      const user = await createUser(server);
      const byPassword = await signedInUserAgent(server, app.clientId, CALLBACK, user);
      const first = await open(byPassword, `user_id=${user.id}`);
      assert.equal(first.status, 302);
      assert.equal(first.to?.origin, DRIVE);

      const agent = await signInThroughConnection("social-1", "social-1@acme.test");
      const social = (await server.services.users.store.findByEmail("social-1@acme.test"))!;
      const through = await open(agent, `user_id=${social.id}`);
      assert.equal(through.status, 302);
      assert.equal(through.to?.origin, DRIVE);
    });

    it("refuses a connection session whose identity was unlinked since", async () => {
      const agent = await signInThroughConnection("social-2", "social-2@acme.test");
      const social = (await server.services.users.store.findByEmail("social-2@acme.test"))!;
      const identities = new ExternalIdentitiesStore(server.storage.db);
      const [identity] = await identities.ofUser(social.id);
      const unlinked = await callApi(server, "DELETE", `/api/v1/identities/${identity!.id}`, { token });
      assert.equal(unlinked.status, 200, JSON.stringify(unlinked.body));
      const refused = await open(agent, `user_id=${social.id}`);
      assert.equal(refused.status, 200, "the link's sign-in page, not the provider");
      assert.equal(refused.to, null);
      assert.match(refused.page, /Sign in again to connect Stand-in Drive/);
    });

    it("refuses a session that does not meet the MFA requirement of the link's organization", async () => {
      const user = await createUser(server);
      const org = await server.services.organizations.create({ name: "Strict Corp" });
      await server.services.organizations.addMembers(org.code, [{ id: user.id }]);
      const agent = await signedInUserAgent(server, app.clientId, CALLBACK, user);
      assert.equal((await open(agent, `org_code=${org.code}`)).status, 302, "before: the password is enough");
      await server.services.organizations.update(org, { is_enforce_mfa: true });
      const refused = await open(agent, `org_code=${org.code}`);
      assert.equal(refused.status, 200);
      assert.match(refused.page, /Sign in again to connect Stand-in Drive/);
    });
  });
}
