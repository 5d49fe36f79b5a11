// Issue 19: Kinde's application access roles (GET/POST/DELETE …/applications/{id}/access_roles) and
// is_access_control_enabled — and that they are real: with access control on, only a person
// holding one of the roles in the organization signed in to gets a code (interactive, silent, no
// org_code), a refused person sees a 403 page or the client hears access_denied, and a role taken
// away later stops the refresh grant. On SQLite and PostgreSQL.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication, createUser } from "../helpers/fixtures.js";
import { callApi, narrowMachineToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";
import { backEndClient, type Json, type Tokens } from "../organizations/client.js";

type Roles = {
  roles: { id: string; key: string; name: string; description: string | null }[];
  has_more: boolean;
};
type Errors = { errors: { code: string; message: string }[] };

for (const { kind, skip } of await databaseKinds()) {
  describe(`Application access roles (${kind})`, { skip }, () => {
    let server: TestServer;
    let app: { clientId: string; clientSecret?: string };
    before(async () => {
      server = await startTestServer(kind);
      app = await createApplication(server, "reg");
    });
    after(async () => server?.close());

    const api = <T = Json>(method: string, path: string, body?: unknown, token?: string) =>
      callApi<T>(server, method, path, {
        ...(body === undefined ? {} : { body }),
        ...(token ? { token } : {}),
      });
    const code = (body: unknown) => (body as Errors).errors[0]!.code;
    const { authorizeUrl, token, exchange } = backEndClient(
      () => server,
      () => app,
    );

    const newRole = async (key: string) =>
      (await api<{ role: { id: string } }>("POST", "/api/v1/roles", { key, name: `Role ${key}` })).body.role
        .id;
    const newOrg = async (name: string) =>
      (await api<{ organization: { code: string } }>("POST", "/api/v1/organization", { name })).body
        .organization.code;
    const accessControl = async (on: boolean) =>
      api("PATCH", `/api/v1/applications/${app.clientId}`, { is_access_control_enabled: on });

    /** Posts the sign-in form of a fresh authorization request: the response, not followed. */
    async function signInForm(agent: UserAgent, user: { email: string; password: string }, extra = {}) {
      const fields = await agent.openSignIn(authorizeUrl(extra));
      return agent.postForm("/auth/sign-in", { ...fields, email: user.email, password: user.password });
    }

    it("lists, adds and removes access roles as Kinde's spec says, and refuses what it must", async () => {
      const tag = randomBytes(3).toString("hex");
      const path = `/api/v1/applications/${app.clientId}/access_roles`;
      const empty = await api<Roles>("GET", path);
      assert.equal(empty.status, 200);
      assert.deepEqual(empty.body, { code: "OK", message: "Success", roles: [], has_more: false });

      // Enabling needs a role first; nothing is changed by the refusal.
      const refused = await accessControl(true);
      assert.equal(refused.status, 400);
      assert.equal(code(refused.body), "ACCESS_ROLES_REQUIRED");
      const shown = await api<{ application: Json }>("GET", `/api/v1/applications/${app.clientId}`);
      assert.equal(shown.body.application.is_access_control_enabled, false);

      const ids = [];
      for (const n of [1, 2, 3]) ids.push(await newRole(`access-${n}-${tag}`));
      const firstCreated = ids[0];
      ids.sort();
      for (const id of ids) assert.equal((await api("POST", `${path}/${id}`)).status, 200);
      // Adding twice is no error and no duplicate.
      assert.equal((await api("POST", `${path}/${ids[0]}`)).status, 200);
      const all = await api<Roles>("GET", path);
      assert.deepEqual(
        all.body.roles.map((r) => r.id),
        ids,
      );
      const described = all.body.roles.find((r) => r.id === firstCreated)!;
      assert.deepEqual(described, {
        id: firstCreated,
        key: `access-1-${tag}`,
        name: `Role access-1-${tag}`,
        description: null,
      });
      assert.equal(all.body.has_more, false);

      const first = await api<Roles>("GET", `${path}?page_size=2`);
      assert.deepEqual(
        first.body.roles.map((r) => r.id),
        ids.slice(0, 2),
      );
      assert.equal(first.body.has_more, true);
      const next = await api<Roles>("GET", `${path}?page_size=2&starting_after=${ids[1]}`);
      assert.deepEqual(
        next.body.roles.map((r) => r.id),
        ids.slice(2),
      );
      assert.equal(next.body.has_more, false);
      const before = await api<Roles>("GET", `${path}?page_size=1&ending_before=${ids[2]}`);
      assert.deepEqual(
        before.body.roles.map((r) => r.id),
        [ids[1]],
      );
      assert.equal(before.body.has_more, true);

      const both = await api("GET", `${path}?starting_after=${ids[0]}&ending_before=${ids[2]}`);
      assert.equal(both.status, 400);
      assert.equal(code(both.body), "TOO_MANY_PARAMETERS");
      const big = await api("GET", `${path}?page_size=101`);
      assert.equal(big.status, 400);
      assert.equal(code(big.body), "PAGE_SIZE_LIMIT_EXCEEDED");
      assert.equal((await api("GET", `${path}?page_size=abc`)).status, 400);
      assert.equal((await api("POST", `${path}/${"r".repeat(101)}`)).status, 400);

      const unknownRole = await api("POST", `${path}/0192c16a-bb53-b442-77e5-97d31877ba5b`);
      assert.equal(unknownRole.status, 404);
      assert.equal(code(unknownRole.body), "ROLE_NOT_FOUND");
      const unknownApp = await api("GET", `/api/v1/applications/${"0".repeat(32)}/access_roles`);
      assert.equal(code(unknownApp.body), "APPLICATION_NOT_FOUND");
      const machine = await createApplication(server, "m2m");
      const m2mRole = await api("POST", `/api/v1/applications/${machine.clientId}/access_roles/${ids[0]}`);
      assert.equal(m2mRole.status, 400);
      assert.equal(code(m2mRole.body), "APPLICATION_TYPE_NOT_SUPPORTED");
      const m2mControl = await api("PATCH", `/api/v1/applications/${machine.clientId}`, {
        is_access_control_enabled: true,
      });
      assert.equal(m2mControl.status, 400);
      assert.equal(code(m2mControl.body), "ACCESS_CONTROL_NOT_SUPPORTED");
      assert.equal(
        (await api("PATCH", `/api/v1/applications/${app.clientId}`, { is_access_control_enabled: "yes" }))
          .status,
        400,
      );

      // Kinde's scopes: read:applications reads, update:applications changes.
      const reader = await narrowMachineToken(server, ["read:applications"]);
      assert.equal((await api("GET", path, undefined, reader.token)).status, 200);
      const denied = await api("DELETE", `${path}/${ids[2]}`, undefined, reader.token);
      assert.equal(denied.status, 403);

      // Removing does not switch access control; the roles go with a deleted role.
      assert.equal((await api("DELETE", `${path}/${ids[2]}`)).status, 200);
      assert.equal((await api("DELETE", `/api/v1/roles/${ids[1]}`)).status, 200);
      assert.deepEqual(
        (await api<Roles>("GET", path)).body.roles.map((r) => r.id),
        [ids[0]],
      );
      assert.equal((await api("DELETE", `${path}/${ids[0]}`)).status, 200);
      assert.equal((await api<Roles>("GET", path)).body.roles.length, 0);
    });

    it("admits to an application with access control only holders of an access role in the organization entered", async () => {
      const tag = randomBytes(3).toString("hex");
      const role = await newRole(`staff-${tag}`);
      const orgA = await newOrg(`A ${tag}`);
      const orgB = await newOrg(`B ${tag}`);
      const holder = await createUser(server);
      const stranger = await createUser(server);
      assert.equal(
        (
          await api("POST", `/api/v1/organizations/${orgA}/users`, {
            users: [
              { id: holder.id, roles: [`staff-${tag}`] },
              { id: stranger.id, roles: [] },
            ],
          })
        ).status,
        200,
      );
      assert.equal(
        (await api("POST", `/api/v1/organizations/${orgB}/users`, { users: [{ id: holder.id }] })).status,
        200,
      );
      assert.equal(
        (await api("POST", `/api/v1/applications/${app.clientId}/access_roles/${role}`)).status,
        200,
      );

      // Off: anybody signs in, and a role alone changes nothing.
      await exchange(await new UserAgent(server.url).authorize(authorizeUrl({ org_code: orgA }), stranger));

      assert.equal((await accessControl(true)).status, 200);
      const shown = await api<{ application: Json }>("GET", `/api/v1/applications/${app.clientId}`);
      assert.equal(shown.body.application.is_access_control_enabled, true);

      // The stranger: a 403 page, no code.
      const strangerPage = await signInForm(new UserAgent(server.url), stranger, { org_code: orgA });
      assert.equal(strangerPage.status, 403);
      assert.match(await strangerPage.text(), /does not have a role that may use this application/);
      // In French (Kinde's lang=fr), the same refusal in French (issue 20; pageSignInRefusal).
      const french = await signInForm(new UserAgent(server.url), stranger, { org_code: orgA, lang: "fr" });
      assert.equal(french.status, 403);
      const frenchText = await french.text();
      assert.match(frenchText, /<html lang="fr"[ >]/);
      assert.match(frenchText, /Votre compte n’a aucun rôle autorisé à utiliser cette application/);
      assert.doesNotMatch(frenchText, /does not have a role/);

      // The holder, in the organization where they hold it: tokens.
      const agent = new UserAgent(server.url);
      const tokens = await exchange(await agent.authorize(authorizeUrl({ org_code: orgA }), holder));
      // …but not as a member of B, where they do not: the 403 page, and silently no code either.
      const inB = await signInForm(new UserAgent(server.url), holder, { org_code: orgB });
      assert.equal(inB.status, 403);
      const silentB = await agent.redirectFrom(authorizeUrl({ org_code: orgB, prompt: "none" }));
      assert.equal(silentB.searchParams.get("code"), null);
      assert.ok(silentB.searchParams.get("error"), silentB.href);
      // Silently in A (and with no org_code: the one last entered, A): a code.
      const silentA = await agent.redirectFrom(authorizeUrl({ org_code: orgA, prompt: "none" }));
      assert.ok(silentA.searchParams.get("code"), silentA.href);
      const silentUsual = await agent.redirectFrom(authorizeUrl({ prompt: "none" }));
      assert.ok(silentUsual.searchParams.get("code"), silentUsual.href);

      // Entered B without asking for it (the organization they last signed in to, set here so no
      // two sign-ins in one second tie): past the sign-in pages, which see the role they hold in A,
      // the client hears access_denied (RFC 6749 §4.1.2.1).
      await server.services.db
        .updateTable("organization_users")
        .set({ last_accessed_at: server.services.clock.now() + 3600 })
        .where("org_code", "=", orgB)
        .where("user_id", "=", holder.id)
        .execute();
      const other = new UserAgent(server.url);
      const usualB = await other.authorize(authorizeUrl(), holder);
      assert.equal(usualB.searchParams.get("error"), "access_denied", usualB.href);
      assert.equal(usualB.searchParams.get("code"), null);

      // Refresh works while the role is held, and stops once it is taken away (RFC 6749 §6).
      const refreshed = await token({ grant_type: "refresh_token", refresh_token: tokens.refresh_token });
      assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
      const removed = await api("DELETE", `/api/v1/organizations/${orgA}/users/${holder.id}/roles/${role}`);
      assert.equal(removed.status, 200);
      const stopped = await token({
        grant_type: "refresh_token",
        refresh_token: (refreshed.body as unknown as Tokens).refresh_token,
      });
      assert.equal(stopped.status, 400);
      assert.equal(stopped.body.error, "invalid_grant");

      // Switched off again: the stranger signs in.
      assert.equal((await accessControl(false)).status, 200);
      await exchange(await new UserAgent(server.url).authorize(authorizeUrl({ org_code: orgA }), stranger));
    });
  });
}
