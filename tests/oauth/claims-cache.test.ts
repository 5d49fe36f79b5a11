// The claims cache of PostgreSQL's refreshes and code exchanges (migration 0045,
// token-redeem.store.ts): they use a user's cached claim parts while nothing they come from has
// changed, and the very next one after any change — through the Management API or an operator's
// SQL — computes them again.
// The proof that a row is used or not: a marker role written into the cached parts by hand shows
// in the next token while the row is current, and is gone once a change made it stale. On SQLite,
// which caches nothing, the same changes must show as well.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { decodeJwt } from "jose";
import { sql } from "kysely";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication, createUser } from "../helpers/fixtures.js";
import { callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";
import { backEndClient, type Json, type Tokens } from "../organizations/client.js";

const MARKER = { id: "cached", key: "cached-marker", name: "Cached" };

for (const { kind, skip } of await databaseKinds()) {
  describe(`claims cache of refreshes and code exchanges (${kind})`, { skip }, () => {
    let server: TestServer;
    let app: { clientId: string; clientSecret?: string };
    before(async () => {
      server = await startTestServer(kind);
      app = await createApplication(server, "reg");
    });
    after(async () => server?.close());

    const api = async (method: string, path: string, body?: unknown) => {
      const answer = await callApi<Json>(server, method, path, body === undefined ? {} : { body });
      assert.ok(answer.status < 300, `${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
      return answer.body;
    };
    const { authorizeUrl, token, exchangeCode, exchange } = backEndClient(
      () => server,
      () => app,
    );

    /** A sign-in into `orgCode` on a new browser, and its code exchanged. */
    const signIn = async (user: { email: string; password: string }, orgCode: string) =>
      exchange(await new UserAgent(server.url).authorize(authorizeUrl({ org_code: orgCode }), user));

    /** The user's tokens, signed into `orgCode`, each refresh rotating them. */
    async function session(user: { email: string; password: string }, orgCode: string) {
      let tokens: Tokens = await signIn(user, orgCode);
      return async () => {
        const { status, body } = await token({
          grant_type: "refresh_token",
          refresh_token: tokens.refresh_token,
        });
        assert.equal(status, 200, JSON.stringify(body));
        tokens = body as unknown as Tokens;
        return { access: decodeJwt(tokens.access_token), id: decodeJwt(tokens.id_token!) };
      };
    }

    /** Puts the marker role into the user's cached parts (PostgreSQL); false when no row is cached. */
    async function mark(userId: string, orgCode: string): Promise<boolean> {
      const row = await server.storage.db
        .selectFrom("claims_cache")
        .select("parts")
        .where("user_id", "=", userId)
        .where("org_code", "=", orgCode)
        .executeTakeFirst();
      if (!row) return false;
      const parts = JSON.parse(row.parts) as { claim_roles: unknown[] };
      parts.claim_roles = [...parts.claim_roles, MARKER];
      await server.storage.db
        .updateTable("claims_cache")
        .set({ parts: JSON.stringify(parts) })
        .where("user_id", "=", userId)
        .where("org_code", "=", orgCode)
        .execute();
      return true;
    }
    const marked = (access: Json) => (access.roles as { key: string }[]).some((r) => r.key === MARKER.key);

    it("uses the cached parts until anything they come from changes, by any writer", async () => {
      const tag = randomBytes(3).toString("hex");
      const orgCode = (
        (await api("POST", "/api/v1/organization", { name: `Cache ${tag}` })) as {
          organization: { code: string };
        }
      ).organization.code;
      const other = (
        (await api("POST", "/api/v1/organization", { name: `Other ${tag}` })) as {
          organization: { code: string };
        }
      ).organization.code;
      const roleId = (
        (await api("POST", "/api/v1/roles", { key: `role-${tag}`, name: "Role" })) as {
          role: { id: string };
        }
      ).role.id;
      await api("POST", "/api/v1/permissions", { key: `perm-${tag}`, name: "Perm" });
      await api("POST", "/api/v1/permissions", { key: `direct-${tag}`, name: "Direct" });
      const permissions = (
        (await api("GET", "/api/v1/permissions?page_size=500")) as {
          permissions: { id: string; key: string }[];
        }
      ).permissions;
      const permissionId = (key: string) => permissions.find((p) => p.key === key)!.id;
      const user = await createUser(server);
      await api("POST", `/api/v1/organizations/${orgCode}/users`, { users: [{ id: user.id }] });
      const refresh = await session(user, orgCode);
      await refresh(); // the code exchange before it computed the parts and, on PostgreSQL, cached them

      const cached = kind === "postgres";
      if (cached) {
        assert.ok(await mark(user.id, orgCode), "the parts are cached");
        assert.ok(marked((await refresh()).access), "a refresh with nothing changed uses the row");
      } else assert.equal(await mark(user.id, orgCode), false, "SQLite caches nothing");

      // Each change, then the next refresh: the change shows, and the marked row is not used.
      const changes: [string, () => Promise<unknown>, (t: { access: Json; id: Json }) => boolean][] = [
        [
          "a role given in the organization",
          () => api("POST", `/api/v1/organizations/${orgCode}/users/${user.id}/roles`, { role_id: roleId }),
          (t) => (t.access.roles as { key: string }[]).some((r) => r.key === `role-${tag}`),
        ],
        [
          "a permission added to that role",
          () =>
            api("PATCH", `/api/v1/roles/${roleId}/permissions`, {
              permissions: [{ id: permissionId(`perm-${tag}`) }],
            }),
          (t) => (t.access.permissions as string[]).includes(`perm-${tag}`),
        ],
        [
          "a permission given directly",
          () =>
            api("POST", `/api/v1/organizations/${orgCode}/users/${user.id}/permissions`, {
              permission_id: permissionId(`direct-${tag}`),
            }),
          (t) => (t.access.permissions as string[]).includes(`direct-${tag}`),
        ],
        [
          "another organization joined",
          () => api("POST", `/api/v1/organizations/${other}/users`, { users: [{ id: user.id }] }),
          (t) => (t.id.org_codes as string[]).includes(other),
        ],
        [
          "the other organization renamed",
          () => api("PATCH", `/api/v1/organization/${other}`, { name: `Renamed ${tag}` }),
          (t) => (t.id.organizations as { name: string }[]).some((o) => o.name === `Renamed ${tag}`),
        ],
        [
          "the other organization left",
          () => api("DELETE", `/api/v1/organizations/${other}/users/${user.id}`),
          (t) => !(t.id.org_codes as string[]).includes(other),
        ],
        [
          "a user property set",
          () =>
            api("PATCH", `/api/v1/users/${user.id}/properties`, {
              properties: { kp_usr_city: `City ${tag}` },
            }),
          (t) => JSON.stringify(t.access.user_properties).includes(`City ${tag}`),
        ],
        [
          "an organization property set",
          () =>
            api("PATCH", `/api/v1/organizations/${orgCode}/properties`, {
              properties: { kp_org_city: `Org ${tag}` },
            }),
          (t) => JSON.stringify(t.access.organization_properties).includes(`Org ${tag}`),
        ],
        [
          "a feature flag defined",
          () =>
            api("POST", "/api/v1/feature_flags", {
              key: `flag-${tag}`,
              name: "Flag",
              type: "str",
              default_value: "free",
              allow_override_level: "usr",
            }),
          (t) => JSON.stringify(t.access.feature_flags).includes(`"free"`),
        ],
        [
          "the flag overridden for the organization",
          () => api("PATCH", `/api/v1/organizations/${orgCode}/feature_flags/flag-${tag}?value=team`),
          (t) => JSON.stringify(t.access.feature_flags).includes(`"team"`),
        ],
        [
          "the flag overridden for the user",
          () => api("PATCH", `/api/v1/users/${user.id}/feature_flags/flag-${tag}?value=pro`),
          (t) => JSON.stringify(t.access.feature_flags).includes(`"pro"`),
        ],
        [
          "the role renamed",
          () => api("PATCH", `/api/v1/roles/${roleId}`, { name: `Renamed role ${tag}`, key: `role-${tag}` }),
          (t) => (t.access.roles as { name: string }[]).some((r) => r.name === `Renamed role ${tag}`),
        ],
        [
          "the role taken away by an operator's SQL",
          () =>
            sql`delete from organization_user_roles where user_id = ${user.id}`.execute(server.storage.db),
          (t) => !(t.access.roles as { key: string }[]).some((r) => r.key === `role-${tag}`),
        ],
      ];
      for (const [what, change, shows] of changes) {
        if (cached) assert.ok(await mark(user.id, orgCode), `${what}: a row to mark`);
        await change();
        const tokens = await refresh();
        assert.ok(shows(tokens), `${what}: shows in the next refresh ${JSON.stringify(tokens)}`);
        assert.ok(!marked(tokens.access), `${what}: the row cached before it is not used`);
      }

      // A row that does not parse (damaged by hand) is computed again, never a failed refresh.
      if (cached) {
        assert.ok(await mark(user.id, orgCode));
        await server.storage.db.updateTable("claims_cache").set({ parts: "{not json" }).execute();
        const repaired = await refresh();
        assert.ok(!marked(repaired.access));
        assert.ok((repaired.id.org_codes as string[]).includes(orgCode));
      }

      // Kinde's "refresh user claims and invalidate cache" drops the user's rows.
      if (cached) assert.ok(await mark(user.id, orgCode));
      await api("POST", `/api/v1/users/${user.id}/refresh_claims`);
      assert.ok(!marked((await refresh()).access), "refresh_claims: the row cached before is gone");

      // The organization suspended behind the API's back (no grant revoked): only the claims
      // can stop the refresh now, and they must not come from the row cached before.
      if (cached) assert.ok(await mark(user.id, orgCode));
      await sql`update organizations set is_suspended = 1 where code = ${orgCode}`.execute(server.storage.db);
      await assert.rejects(refresh(), /invalid_grant/);
    });

    it("a code exchange uses the row, and writes it when there is none", async () => {
      const tag = randomBytes(3).toString("hex");
      const orgCode = (
        (await api("POST", "/api/v1/organization", { name: `Exchange ${tag}` })) as {
          organization: { code: string };
        }
      ).organization.code;
      const user = await createUser(server);
      await api("POST", `/api/v1/organizations/${orgCode}/users`, { users: [{ id: user.id }] });
      const exchanged = async () => decodeJwt((await signIn(user, orgCode)).access_token);

      const first = await exchanged(); // no row yet: computed, and on PostgreSQL cached
      assert.ok(!marked(first));
      if (kind !== "postgres") return assert.equal(await mark(user.id, orgCode), false);
      assert.ok(await mark(user.id, orgCode), "the first exchange cached the parts");
      assert.ok(marked(await exchanged()), "a sign-in later, the exchange uses the row");

      // A change, then a sign-in: the exchange shows it and not the row cached before.
      assert.ok(await mark(user.id, orgCode));
      await api("PATCH", `/api/v1/users/${user.id}/properties`, {
        properties: { kp_usr_city: `City ${tag}` },
      });
      const changed = await exchanged();
      assert.ok(JSON.stringify(changed.user_properties).includes(`City ${tag}`), JSON.stringify(changed));
      assert.ok(!marked(changed), "the row cached before the change is not used");

      // Between the sign-in and its exchange, the organization suspended behind the API's back (by
      // SQL): the code's exchange must not take the organization from the row cached before.
      const callback = await new UserAgent(server.url).authorize(authorizeUrl({ org_code: orgCode }), user);
      assert.ok(await mark(user.id, orgCode));
      await sql`update organizations set is_suspended = 1 where code = ${orgCode}`.execute(server.storage.db);
      const refused = await exchangeCode(callback);
      assert.equal(refused.status, 400, JSON.stringify(refused.body));
      assert.equal(refused.body.error, "invalid_grant");
    });
  });
}
