// Kinde's connection options that act at sign-in (issue 17), on SQLite and PostgreSQL, through an
// oidc:custom connection backed by a provider whose ID tokens the test writes (claims-provider.ts):
// - is_create_missing_user false: a person with no account is refused with a page, nothing stored;
//   a person with an account (linked, or linked now by a trusted address) still signs in.
// - is_sync_user_profile_on_login: names and picture follow the provider at each later sign-in
//   (user.updated, source user), the e-mail never; off, nothing follows; a claim not sent, or a
//   picture that is not an http(s) URL, changes nothing.
// - is_auto_join_organization_enabled: a just-in-time user joins the organizations the connection
//   is enabled for (not suspended ones), even one closed to registrations when it is the request's;
//   without it the closed organization refuses and nobody joins.
// - is_force_show_sso_button: a connection with home-realm domains has no button but one "single
//   sign-on" entry that routes a work address to it (only among connections this application
//   offers); forced, its button shows.
// - Kinde's options Latchkey does not do cannot be turned on (400), and one stored on before that
//   rule still saves unchanged.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";
import { type ClaimsProvider, startClaimsProvider } from "./claims-provider.js";

type Json = Record<string, unknown>;

async function count(server: TestServer, table: "users" | "external_identities"): Promise<number> {
  const row = await server.storage.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function eventsOf(server: TestServer, type: string, userId: string) {
  return server.storage.db
    .selectFrom("events")
    .selectAll()
    .where("type", "=", type)
    .where("user_id", "=", userId)
    .execute();
}

async function membershipsOf(server: TestServer, userId: string): Promise<string[]> {
  const rows = await server.storage.db
    .selectFrom("organization_users")
    .select("org_code")
    .where("user_id", "=", userId)
    .execute();
  return rows.map((r) => r.org_code).sort();
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`connection options at sign-in (${kind})`, { skip }, () => {
    let server: TestServer;
    let provider: ClaimsProvider;
    let app: { clientId: string };

    const connect = async (options: Json = {}, enabledApplications = [app.clientId]) =>
      (
        await server.services.connections.create({
          name: `idp-${Math.random().toString(16).slice(2, 10)}`,
          displayName: "Acme SSO",
          strategy: "oidc:custom",
          options: {
            client_id: provider.clientId,
            client_secret: provider.clientSecret,
            issuer: provider.issuer,
            is_trusted: true,
            ...options,
          },
          enabledApplications,
        })
      ).id;

    /** One sign-in through the connection as `person`; Latchkey's answer to the provider's redirect. */
    const signIn = async (connectionId: string, person: Json, extra: Record<string, string> = {}) => {
      provider.person = person;
      const agent = new UserAgent(server.url);
      let next = authorizationUrl(server, app.clientId, CALLBACK, { connection_id: connectionId, ...extra });
      for (let hop = 0; hop < 3 && next.origin === server.url; hop++) next = await agent.redirectFrom(next);
      assert.equal(next.origin, provider.issuer, "the sign-in went to the provider");
      const response = await agent.request(await provider.authorize(next));
      const body = await response.text();
      const location = response.headers.get("location");
      return { status: response.status, body, location: location ? new URL(location, server.url) : null };
    };
    const signedIn = (outcome: { location: URL | null }) =>
      outcome.location !== null &&
      `${outcome.location.origin}${outcome.location.pathname}` === CALLBACK &&
      outcome.location.searchParams.has("code");

    before(async () => {
      server = await startTestServer(kind, { env: { CONNECTED_APPS_ALLOW_PRIVATE_NETWORKS: "true" } });
      app = await createApplication(server, "spa");
      provider = await startClaimsProvider({});
    });
    after(async () => {
      await provider?.close();
      await server?.close();
    });

    it("is_create_missing_user false: refuses a person with no account and stores nothing; people with accounts still sign in", async () => {
      const id = await connect({ is_create_missing_user: false });
      const users = await count(server, "users");
      const identities = await count(server, "external_identities");
      const stranger = { sub: "stranger", email: "stranger@acme.test", email_verified: true };
      const refused = await signIn(id, stranger);
      assert.equal(refused.status, 403);
      assert.match(refused.body, /You need an account first/);
      assert.match(refused.body, /only for people who already have an account here/);
      assert.equal(await count(server, "users"), users, "no user created");
      assert.equal(await count(server, "external_identities"), identities, "no identity stored");
      assert.equal(await server.services.users.store.findByEmail("stranger@acme.test"), undefined);

      // An account with the provider's (trusted, verified) address: linked and signed in.
      const member = await createUser(server, { email: "member@acme.test" });
      const linked = await signIn(id, { sub: "member", email: "member@acme.test", email_verified: true });
      assert.ok(signedIn(linked), `linked: ${linked.status} ${linked.body.slice(0, 200)}`);
      // Known from now on, whatever address the provider sends.
      const again = await signIn(id, { sub: "member", email: "moved@elsewhere.test", email_verified: true });
      assert.ok(signedIn(again));
      assert.equal(await count(server, "users"), users + 1, "only the account made by the test");
      assert.equal((await server.services.users.store.findById(member.id))?.email, "member@acme.test");

      // The default (absent) creates, and so does true.
      await server.services.connections.update(id, { options: { is_create_missing_user: true } });
      assert.ok(signedIn(await signIn(id, stranger)));
      assert.ok(await server.services.users.store.findByEmail("stranger@acme.test"));
    });

    it("is_sync_user_profile_on_login: names and picture follow the provider at each sign-in, the address never", async () => {
      const id = await connect({ is_sync_user_profile_on_login: true });
      const first = {
        sub: "syncer",
        email: "syncer@acme.test",
        email_verified: true,
        given_name: "Ada",
        family_name: "Byron",
        picture: "https://pictures.acme.test/ada-1.png",
      };
      assert.ok(signedIn(await signIn(id, first)));
      const created = (await server.services.users.store.findByEmail("syncer@acme.test"))!;
      assert.equal(created.given_name, "Ada");
      assert.equal((await eventsOf(server, "user.updated", created.id)).length, 0);

      const renamed = {
        ...first,
        email: "ada@new-address.test",
        given_name: "Augusta Ada",
        family_name: "King",
        picture: "https://pictures.acme.test/ada-2.png",
      };
      assert.ok(signedIn(await signIn(id, renamed)));
      let user = (await server.services.users.store.findById(created.id))!;
      assert.equal(user.given_name, "Augusta Ada");
      assert.equal(user.family_name, "King");
      assert.equal(user.picture, "https://pictures.acme.test/ada-2.png");
      assert.equal(user.email, "syncer@acme.test", "the address is never synced");
      const updated = await eventsOf(server, "user.updated", created.id);
      assert.equal(updated.length, 1);
      assert.equal(updated[0]!.source, "user");

      // The same claims again change nothing (no event); a claim not sent leaves its field alone,
      // and a picture that is no http(s) URL is not taken.
      assert.ok(signedIn(await signIn(id, renamed)));
      assert.equal((await eventsOf(server, "user.updated", created.id)).length, 1);
      const { family_name: _dropped, ...withoutFamily } = renamed;
      assert.ok(
        signedIn(await signIn(id, { ...withoutFamily, given_name: "Ada", picture: "javascript:alert(1)" })),
      );
      user = (await server.services.users.store.findById(created.id))!;
      assert.equal(user.given_name, "Ada");
      assert.equal(user.family_name, "King");
      assert.equal(user.picture, "https://pictures.acme.test/ada-2.png");

      // Off: the provider's names no longer follow.
      await server.services.connections.update(id, { options: { is_sync_user_profile_on_login: false } });
      assert.ok(signedIn(await signIn(id, { ...renamed, given_name: "Someone Else" })));
      assert.equal((await server.services.users.store.findById(created.id))!.given_name, "Ada");
    });

    it("is_auto_join_organization_enabled: a just-in-time user joins the organizations the connection is enabled for", async () => {
      const orgs = server.services.organizations;
      const closed = await orgs.create({ name: "Closed Corp", is_allow_registrations: false });
      const suspended = await orgs.create({ name: "Gone Corp", is_allow_registrations: true });
      await orgs.update(suspended, { is_suspended: true });
      const defaultOrg = (await orgs.store.findDefault())!.code;

      const plain = await connect();
      await server.services.connections.enableForOrganization(closed.code, plain);
      // Without auto-join: the closed organization takes nobody new, and no one joins it.
      const refused = await signIn(
        plain,
        { sub: "p1", email: "p1@acme.test", email_verified: true },
        { org_code: closed.code },
      );
      assert.equal(refused.status, 403);
      assert.match(refused.body, /does not accept new accounts/);
      assert.equal(await server.services.users.store.findByEmail("p1@acme.test"), undefined);
      assert.ok(signedIn(await signIn(plain, { sub: "p2", email: "p2@acme.test", email_verified: true })));
      const p2 = (await server.services.users.store.findByEmail("p2@acme.test"))!;
      assert.deepEqual(await membershipsOf(server, p2.id), [defaultOrg]);

      const joining = await connect({ is_auto_join_organization_enabled: true });
      await server.services.connections.enableForOrganization(closed.code, joining);
      await server.services.connections.enableForOrganization(suspended.code, joining);
      assert.ok(signedIn(await signIn(joining, { sub: "j1", email: "j1@acme.test", email_verified: true })));
      const j1 = (await server.services.users.store.findByEmail("j1@acme.test"))!;
      assert.deepEqual(await membershipsOf(server, j1.id), [closed.code, defaultOrg].sort());
      const createdEvent = (await eventsOf(server, "user.created", j1.id))[0]!;
      assert.match(createdEvent.data, new RegExp(closed.code), "user.created names the organization joined");

      // The request's own organization, closed to registrations, takes the connection's people.
      const inOrg = await signIn(
        joining,
        { sub: "j2", email: "j2@acme.test", email_verified: true },
        { org_code: closed.code },
      );
      assert.ok(signedIn(inOrg), `${inOrg.status} ${inOrg.body.slice(0, 200)}`);
      const j2 = (await server.services.users.store.findByEmail("j2@acme.test"))!;
      assert.ok((await membershipsOf(server, j2.id)).includes(closed.code));

      // Only accounts made just in time: an existing account linked through it joins nothing.
      const existing = await createUser(server, { email: "existing@acme.test" });
      assert.ok(
        signedIn(
          await signIn(joining, { sub: "existing", email: "existing@acme.test", email_verified: true }),
        ),
      );
      assert.deepEqual(await membershipsOf(server, existing.id), [defaultOrg]);
    });

    it("is_force_show_sso_button: a connection reached by its domains shows no button but the single sign-on entry, unless forced", async () => {
      const other = await createApplication(server, "spa");
      const routed = await connect({ home_realm_domains: ["routed.example"] });
      await connect({ home_realm_domains: ["elsewhere.example"] }, [other.clientId]);
      const agent = new UserAgent(server.url);
      const pageUrl = await agent.redirectFrom(authorizationUrl(server, app.clientId, CALLBACK));
      const requestId = pageUrl.searchParams.get("request")!;
      const page = await (await agent.request(pageUrl)).text();
      assert.doesNotMatch(page, new RegExp(`/auth/connections/${routed}\\?`), "no button of its own");
      assert.match(page, /href="\/auth\/connections\/sso\?request=[^"]+"/);
      assert.match(page, /Continue with single sign-on \(SSO\)/);

      // The entry: a work address in its domain goes to that connection, and on to its provider.
      const form = await agent.openForm(`/auth/connections/sso?request=${encodeURIComponent(requestId)}`);
      const routedTo = await agent.postForm("/auth/connections/sso", {
        ...form,
        email: "pat@ROUTED.example",
      });
      assert.equal(routedTo.status, 303);
      const start = new URL(routedTo.headers.get("location")!, server.url);
      assert.equal(start.pathname, `/auth/connections/${routed}`);
      assert.equal((await agent.redirectFrom(start)).origin, provider.issuer);
      // A domain no connection owns, or one owned by a connection this application does not offer.
      for (const email of ["pat@nowhere.example", "pat@elsewhere.example"]) {
        const response = await agent.postForm("/auth/connections/sso", { ...form, email });
        assert.equal(response.status, 400, email);
        assert.match(await response.text(), /Single sign-on is not set up for this address here/);
      }
      // Without the form's CSRF token nothing is routed.
      const forged = await agent.postForm("/auth/connections/sso", {
        request: requestId,
        csrf: "forged",
        email: "pat@routed.example",
      });
      assert.notEqual(forged.status, 303);

      // Forced: its own button, and no entry left for it.
      await server.services.connections.update(routed, { options: { is_force_show_sso_button: true } });
      const forcedPage = await (
        await agent.request(await agent.redirectFrom(authorizationUrl(server, app.clientId, CALLBACK)))
      ).text();
      assert.match(forcedPage, new RegExp(`href="/auth/connections/${routed}\\?request=`));
      assert.match(forcedPage, /Continue with Acme SSO/);
      assert.doesNotMatch(forcedPage, /single sign-on/);
      // login_hint in the domain still goes straight to the provider.
      const hinted = await agent.redirectFrom(
        authorizationUrl(server, app.clientId, CALLBACK, { login_hint: "pat@routed.example" }),
      );
      assert.equal(hinted.pathname, `/auth/connections/${routed}`);
    });

    it("refuses to turn on Kinde's options Latchkey does not do, and still saves one stored on before", async () => {
      const base = {
        name: "entra-unbuilt",
        display_name: "Entra",
        strategy: "oauth2:azure_ad",
        options: { client_id: "x", entra_id_domain: "contoso.example" },
      };
      for (const option of [
        "is_retrieve_provider_user_tokens",
        "is_retrieve_provider_user_groups",
        "is_extended_attributes_required",
      ]) {
        const refused = await callApi<{ errors: { code: string; message: string }[] }>(
          server,
          "POST",
          "/api/v1/connections",
          { body: { ...base, options: { ...base.options, [option]: true } } },
        );
        assert.equal(refused.status, 400, option);
        assert.equal(refused.body.errors[0]!.code, "INVALID_CONNECTION_OPTIONS");
        assert.match(refused.body.errors[0]!.message, new RegExp(`${option} cannot be true`));
      }
      const created = await callApi<{ connection: { id: string } }>(server, "POST", "/api/v1/connections", {
        body: { ...base, options: { ...base.options, is_retrieve_provider_user_groups: false } },
      });
      assert.equal(created.status, 201);
      const id = created.body.connection.id;
      const patched = await callApi(server, "PATCH", `/api/v1/connections/${id}`, {
        body: { options: { is_extended_attributes_required: true } },
      });
      assert.equal(patched.status, 400);
      // Stored on by an earlier version: a PUT of what GET reads saves.
      const row = await server.storage.db
        .selectFrom("sign_in_connections")
        .select("options")
        .where("id", "=", id)
        .executeTakeFirstOrThrow();
      await server.storage.db
        .updateTable("sign_in_connections")
        .set({
          options: JSON.stringify({ ...JSON.parse(row.options), is_retrieve_provider_user_groups: true }),
        })
        .where("id", "=", id)
        .execute();
      const read = await callApi<{ connection: { name: string; display_name: string; options: Json } }>(
        server,
        "GET",
        `/api/v1/connections/${id}`,
      );
      const put = await callApi(server, "PUT", `/api/v1/connections/${id}`, {
        body: {
          name: read.body.connection.name,
          display_name: "Entra ID",
          options: read.body.connection.options,
        },
      });
      assert.equal(put.status, 200);
    });
  });
}
