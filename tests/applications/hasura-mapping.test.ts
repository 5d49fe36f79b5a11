// Issue 19: Kinde's Hasura mode (is_hasura_mapping_enabled on PATCH /api/v1/applications/{id}/tokens)
// is real: the application's access and ID tokens carry Kinde's claims under x-hasura- names — read
// back by @kinde/js-utils' own getters, which fall back to them — on refresh too, and plain names
// again once it is off. On SQLite and PostgreSQL.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import * as kinde from "@kinde/js-utils";
import { decodeJwt } from "jose";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication, createUser } from "../helpers/fixtures.js";
import { callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";
import { backEndClient, type Json, type Tokens } from "../organizations/client.js";

type Errors = { errors: { code: string }[] };

for (const { kind, skip } of await databaseKinds()) {
  describe(`Hasura mode (${kind})`, { skip }, () => {
    let server: TestServer;
    let app: { clientId: string; clientSecret?: string };
    before(async () => {
      server = await startTestServer(kind);
      app = await createApplication(server, "reg");
    });
    after(async () => server?.close());

    const api = <T = Json>(method: string, path: string, body?: unknown) =>
      callApi<T>(server, method, path, body === undefined ? {} : { body });
    const { authorizeUrl, token, exchange } = backEndClient(
      () => server,
      () => app,
    );
    const hasura = (on: unknown) =>
      api("PATCH", `/api/v1/applications/${app.clientId}/tokens`, { is_hasura_mapping_enabled: on });

    it("renames Kinde's claims in both tokens while on, and js-utils reads them", async () => {
      const tag = randomBytes(3).toString("hex");
      const org = (
        await api<{ organization: { code: string } }>("POST", "/api/v1/organization", { name: `Org ${tag}` })
      ).body.organization.code;
      assert.equal(
        (await api("POST", "/api/v1/permissions", { key: `read-${tag}`, name: "Read" })).status,
        201,
      );
      const permissions = (
        await api<{ permissions: { id: string; key: string }[] }>("GET", "/api/v1/permissions?page_size=500")
      ).body.permissions;
      const role = (
        await api<{ role: { id: string } }>("POST", "/api/v1/roles", { key: `staff-${tag}`, name: "Staff" })
      ).body.role.id;
      await api("PATCH", `/api/v1/roles/${role}/permissions`, {
        permissions: [{ id: permissions.find((p) => p.key === `read-${tag}`)!.id }],
      });
      assert.equal(
        (
          await api("POST", "/api/v1/feature_flags", {
            key: `plan_${tag}`,
            name: "Plan",
            type: "str",
            default_value: "gold",
          })
        ).status,
        201,
      );
      const user = await createUser(server);
      await api("POST", `/api/v1/organizations/${org}/users`, {
        users: [{ id: user.id, roles: [`staff-${tag}`] }],
      });

      // Bad values are refused; nothing at all is no update.
      assert.equal((await hasura("yes")).status, 400);
      const nothing = await api<Errors>("PATCH", `/api/v1/applications/${app.clientId}/tokens`, {});
      assert.equal(nothing.body.errors[0]!.code, "NO_FIELDS_TO_UPDATE");

      assert.equal((await hasura(true)).status, 200);
      const shown = await api<{ application: Json }>("GET", `/api/v1/applications/${app.clientId}`);
      assert.equal(shown.body.application.is_hasura_mapping_enabled, true);

      const tokens = await exchange(
        await new UserAgent(server.url).authorize(authorizeUrl({ org_code: org }), user),
      );
      const access = decodeJwt(tokens.access_token);
      const id = decodeJwt(tokens.id_token);
      for (const plain of ["permissions", "org_code", "org_name", "roles", "feature_flags"])
        assert.equal(access[plain], undefined, `access token still carries ${plain}`);
      assert.deepEqual(access["x-hasura-permissions"], [`read-${tag}`]);
      assert.equal(access["x-hasura-org-code"], org);
      assert.equal(access["x-hasura-org-name"], `Org ${tag}`);
      assert.deepEqual(
        (access["x-hasura-roles"] as { key: string }[]).map((r) => r.key),
        [`staff-${tag}`],
      );
      assert.deepEqual((access["x-hasura-feature-flags"] as Json)[`plan_${tag}`], { t: "s", v: "gold" });
      // The protocol's own claims keep their names.
      assert.equal(access.sub, user.id);
      assert.equal(id.sub, user.id);
      assert.equal(id.org_codes, undefined);
      assert.ok((id["x-hasura-org-codes"] as string[]).includes(org));
      assert.ok((id["x-hasura-organizations"] as { id: string }[]).some((o) => o.id === org));

      // Kinde's browser SDK core finds them under the Hasura names.
      const storage = new kinde.MemoryStorage();
      kinde.setActiveStorage(storage);
      await storage.setSessionItem(kinde.StorageKeys.accessToken, tokens.access_token);
      await storage.setSessionItem(kinde.StorageKeys.idToken, tokens.id_token);
      assert.deepEqual(await kinde.getPermissions(), { orgCode: org, permissions: [`read-${tag}`] });
      assert.equal(await kinde.getCurrentOrganization(), org);
      assert.ok((await kinde.getUserOrganizations())?.includes(org));
      assert.equal(await kinde.getFlag(`plan_${tag}`), "gold");
      kinde.clearActiveStorage();

      // Refreshed tokens too; and once off, the plain names come back.
      const refreshed = await token({ grant_type: "refresh_token", refresh_token: tokens.refresh_token });
      assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
      const again = refreshed.body as unknown as Tokens;
      assert.equal(decodeJwt(again.access_token)["x-hasura-org-code"], org);
      assert.equal((await hasura(false)).status, 200);
      const plain = await token({ grant_type: "refresh_token", refresh_token: again.refresh_token });
      assert.equal(plain.status, 200, JSON.stringify(plain.body));
      const plainAccess = decodeJwt((plain.body as unknown as Tokens).access_token);
      assert.equal(plainAccess.org_code, org);
      assert.equal(plainAccess["x-hasura-org-code"], undefined);
      assert.deepEqual(plainAccess.permissions, [`read-${tag}`]);
    });
  });
}
