// Kinde's organization role users (list, count, active count), DeleteOrganizationHandle,
// UpdateOrganizationSessions and the application's authenticated_session_lifetime, through the
// Management API on both databases. What the session settings do at sign-in is judged in
// tests/sign-in/session-lifetimes.test.ts.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication, createUser } from "../helpers/fixtures.js";
import { callApi, narrowMachineToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";
import { backEndClient } from "./client.js";

type Json = Record<string, unknown>;
const errorCode = (body: unknown) => (body as { errors: { code: string }[] }).errors[0]!.code;

for (const { kind, skip } of await databaseKinds()) {
  describe(`Organization role users, handle and sessions (${kind})`, { skip }, () => {
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

    async function org(extra: Json = {}): Promise<string> {
      const tag = randomBytes(4).toString("hex");
      const { status, body } = await api<{ organization: { code: string } }>("POST", "/api/v1/organization", {
        name: `Org ${tag}`,
        ...extra,
      });
      assert.equal(status, 200, JSON.stringify(body));
      return body.organization.code;
    }
    async function role(): Promise<{ id: string; key: string }> {
      const key = `role-${randomBytes(4).toString("hex")}`;
      const { status, body } = await api<{ role: { id: string } }>("POST", "/api/v1/roles", {
        key,
        name: key,
      });
      assert.equal(status, 201, JSON.stringify(body));
      return { id: body.role.id, key };
    }
    async function addMembers(code: string, users: { id: string; roles?: string[] }[]) {
      const { status, body } = await api("POST", `/api/v1/organizations/${code}/users`, { users });
      assert.equal(status, 200, JSON.stringify(body));
    }

    it("lists a role's holders in one organization, paged by id, and counts them", async () => {
      const [code, other] = [await org(), await org()];
      const [reader, writer] = [await role(), await role()];
      const users = await Promise.all([1, 2, 3, 4, 5].map(() => createUser(server)));
      await addMembers(code, [
        ...users.slice(0, 3).map((u) => ({ id: u.id, roles: [reader.key] })),
        { id: users[3]!.id, roles: [writer.key] },
      ]);
      // The same role in another organization is not this organization's.
      await addMembers(other, [{ id: users[4]!.id, roles: [reader.key] }]);

      const expected = users
        .slice(0, 3)
        .map((u) => u.id)
        .sort();
      const seen: string[] = [];
      let next: string | null = null;
      let pages = 0;
      do {
        const query: string = next ? `page_size=2&next_token=${encodeURIComponent(next)}` : "page_size=2";
        const { status, body } = await api<{ users: { id: string }[]; next_token: string | null }>(
          "GET",
          `/api/v1/organizations/${code}/roles/${reader.id}/users?${query}`,
        );
        assert.equal(status, 200, JSON.stringify(body));
        assert.ok(body.users.length <= 2);
        seen.push(...body.users.map((u) => u.id));
        next = body.next_token;
        pages++;
      } while (next && pages < 5);
      assert.deepEqual(seen, expected);
      assert.equal(pages, 2);

      const count = await api<{ count: number }>(
        "GET",
        `/api/v1/organizations/${code}/roles/${reader.id}/users/count`,
      );
      assert.equal(count.status, 200);
      assert.equal(count.body.count, 3);
      const writers = await api<{ count: number }>(
        "GET",
        `/api/v1/organizations/${code}/roles/${writer.id}/users/count`,
      );
      assert.equal(writers.body.count, 1);
      const elsewhere = await api<{ users: { id: string }[] }>(
        "GET",
        `/api/v1/organizations/${other}/roles/${reader.id}/users`,
      );
      assert.deepEqual(
        elsewhere.body.users.map((u) => u.id),
        [users[4]!.id],
      );
    });

    it("answers unknown organizations, roles, forged tokens and page sizes with Kinde's errors", async () => {
      const code = await org();
      const reader = await role();
      const base = `/api/v1/organizations/${code}/roles/${reader.id}`;
      const missingRole = await api("GET", `/api/v1/organizations/${code}/roles/rol_${"0".repeat(32)}/users`);
      assert.equal(missingRole.status, 404);
      assert.equal(errorCode(missingRole.body), "ROLE_NOT_FOUND");
      const missingOrg = await api("GET", `/api/v1/organizations/org_nothere/roles/${reader.id}/users/count`);
      assert.equal(missingOrg.status, 404);
      assert.equal(errorCode(missingOrg.body), "ORGANIZATION_NOT_FOUND");
      const forged = await api("GET", `${base}/users?next_token=${"x".repeat(40)}`);
      assert.equal(forged.status, 400);
      assert.equal(errorCode(forged.body), "INVALID_NEXT_TOKEN");
      const forgedJson = await api(
        "GET",
        `${base}/users?next_token=${Buffer.from(JSON.stringify({ id: 42 })).toString("base64url")}`,
      );
      assert.equal(forgedJson.status, 400);
      const big = await api("GET", `${base}/users?page_size=501`);
      assert.equal(big.status, 400);
      assert.equal(errorCode(big.body), "PAGE_SIZE_LIMIT_EXCEEDED");
      const zero = await api("GET", `${base}/users?page_size=0`);
      assert.equal(zero.status, 400);
    });

    it("counts holders issued an access token within the window (inclusive, at most 3 days)", async () => {
      const code = await org();
      const reader = await role();
      const [active, idle] = [await createUser(server), await createUser(server)];
      await addMembers(code, [
        { id: active.id, roles: [reader.key] },
        { id: idle.id, roles: [reader.key] },
      ]);
      const { authorizeUrl, exchange } = backEndClient(
        () => server,
        () => app,
      );
      const before = Math.floor(Date.now() / 1000);
      await exchange(await new UserAgent(server.url).authorize(authorizeUrl(), active));
      const after = Math.floor(Date.now() / 1000);
      // Counted from the authentication log's token grants, written behind the requests.
      await server.services.authenticationLog.flush();
      const iso = (s: number) => new Date(s * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
      const url = (from: string, to: string) =>
        `/api/v1/organizations/${code}/roles/${reader.id}/active_users/count?date_time_from=${encodeURIComponent(from)}&date_time_to=${encodeURIComponent(to)}`;

      const now = await api<{ active_users_count: number; date_time_from: string; date_time_to: string }>(
        "GET",
        url(iso(before - 60), iso(after + 60)),
      );
      assert.equal(now.status, 200, JSON.stringify(now.body));
      assert.equal(now.body.active_users_count, 1);
      // Both bounds inclusive: a window of exactly the second(s) of the sign-in counts it.
      const exact = await api<{ active_users_count: number }>("GET", url(iso(before), iso(after)));
      assert.equal(exact.body.active_users_count, 1);
      const earlier = await api<{ active_users_count: number }>(
        "GET",
        url(iso(before - 7200), iso(before - 1)),
      );
      assert.equal(earlier.body.active_users_count, 0);

      // Fractions: from rounds down, to rounds up, and the echo says so.
      const rounded = await api<{ date_time_from: string; date_time_to: string }>(
        "GET",
        url("2026-07-01T00:00:00.900Z", "2026-07-01T10:00:00.100Z"),
      );
      assert.equal(rounded.status, 200);
      assert.equal(rounded.body.date_time_from, "2026-07-01T00:00:00Z");
      assert.equal(rounded.body.date_time_to, "2026-07-01T10:00:01Z");
      // Kinde's example of a full 3-day window, and one second more.
      const full = await api("GET", url("2026-07-01T00:00:00Z", "2026-07-03T23:59:59Z"));
      assert.equal(full.status, 200);
      const tooLong = await api("GET", url("2026-07-01T00:00:00Z", "2026-07-04T00:00:00Z"));
      assert.equal(tooLong.status, 400);
      assert.equal(errorCode(tooLong.body), "DATE_TIME_RANGE_TOO_LARGE");
      const roundedTooLong = await api("GET", url("2026-07-01T00:00:00Z", "2026-07-03T23:59:59.5Z"));
      assert.equal(errorCode(roundedTooLong.body), "DATE_TIME_RANGE_TOO_LARGE");
      for (const [from, to] of [
        ["2026-07-02T00:00:00Z", "2026-07-01T00:00:00Z"],
        ["2026-07-01T00:00:00+02:00", "2026-07-01T10:00:00Z"],
        ["2026-02-30T00:00:00Z", "2026-03-01T00:00:00Z"],
        ["yesterday", "2026-07-01T00:00:00Z"],
        ["99999-07-01T00:00:00Z", "2026-07-01T00:00:00Z"],
      ]) {
        const bad = await api("GET", url(from!, to!));
        assert.equal(bad.status, 400, `${from} … ${to}: ${JSON.stringify(bad.body)}`);
      }
      const missing = await api("GET", `/api/v1/organizations/${code}/roles/${reader.id}/active_users/count`);
      assert.equal(missing.status, 400);
    });

    it("needs read:organization_user_roles exactly", async () => {
      const code = await org();
      const reader = await role();
      const weak = await narrowMachineToken(server, ["read:organizations", "read:roles"]);
      const strong = await narrowMachineToken(server, ["read:organization_user_roles"]);
      for (const path of ["users", "users/count"]) {
        const url = `/api/v1/organizations/${code}/roles/${reader.id}/${path}`;
        assert.equal((await api("GET", url, undefined, weak.token)).status, 403);
        assert.equal((await api("GET", url, undefined, strong.token)).status, 200);
      }
    });

    it("deletes an organization's handle, freeing it for another organization", async () => {
      const handle = `h-${randomBytes(4).toString("hex")}`;
      const code = await org({ handle });
      const weak = await narrowMachineToken(server, ["update:organizations", "delete:organizations"]);
      assert.equal(
        (await api("DELETE", `/api/v1/organization/${code}/handle`, undefined, weak.token)).status,
        403,
      );
      const strong = await narrowMachineToken(server, ["delete:organization_handles"]);
      const deleted = await api("DELETE", `/api/v1/organization/${code}/handle`, undefined, strong.token);
      assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
      const read = await api<{ handle: string | null }>("GET", `/api/v1/organization?code=${code}`);
      assert.equal(read.body.handle, null);
      // Another organization may now take it; deleting again is harmless.
      await org({ handle });
      assert.equal((await api("DELETE", `/api/v1/organization/${code}/handle`)).status, 200);
      const missing = await api("DELETE", "/api/v1/organization/org_nothere/handle");
      assert.equal(missing.status, 404);
    });

    it("stores an organization's session settings, refusing overrides that would do nothing", async () => {
      const code = await org();
      const path = `/api/v1/organizations/${code}/sessions`;
      const initial = await api<Json>("GET", path);
      assert.equal(initial.status, 200);
      assert.equal(initial.body.is_use_org_sso_session_policy, false);
      assert.equal(initial.body.authenticated_session_lifetime, null);
      for (const body of [
        {},
        { authenticated_session_lifetime: 59 },
        { authenticated_session_lifetime: 15 * 86_400 },
        { authenticated_session_lifetime: "3600" },
        { sso_session_persistence_mode: "forever" },
        { is_use_org_authenticated_session_lifetime: true },
        { is_use_org_sso_session_policy: true },
      ]) {
        const { status } = await api("PATCH", path, body);
        assert.equal(status, 400, JSON.stringify(body));
      }
      const weak = await narrowMachineToken(server, ["read:organizations"]);
      assert.equal(
        (await api("PATCH", path, { authenticated_session_lifetime: 3600 }, weak.token)).status,
        403,
      );
      const set = await api("PATCH", path, {
        is_use_org_sso_session_policy: true,
        sso_session_persistence_mode: "non_persistent",
        is_use_org_authenticated_session_lifetime: true,
        authenticated_session_lifetime: 3600,
      });
      assert.equal(set.status, 200, JSON.stringify(set.body));
      const read = await api<Json>("GET", path);
      assert.deepEqual(
        {
          a: read.body.is_use_org_sso_session_policy,
          b: read.body.sso_session_persistence_mode,
          c: read.body.is_use_org_authenticated_session_lifetime,
          d: read.body.authenticated_session_lifetime,
        },
        { a: true, b: "non_persistent", c: true, d: 3600 },
      );
      // Switching an override off keeps its value for next time.
      await api("PATCH", path, { is_use_org_authenticated_session_lifetime: false });
      const off = await api<Json>("GET", path);
      assert.equal(off.body.is_use_org_authenticated_session_lifetime, false);
      assert.equal(off.body.authenticated_session_lifetime, 3600);
      assert.equal(
        (
          await api("PATCH", "/api/v1/organizations/org_nothere/sessions", {
            authenticated_session_lifetime: 60,
          })
        ).status,
        404,
      );
    });

    it("stores an application's authenticated_session_lifetime, at most the environment's 14 days", async () => {
      const web = await createApplication(server, "reg");
      const path = `/api/v1/applications/${web.clientId}`;
      const set = await api("PATCH", `${path}/tokens`, { authenticated_session_lifetime: 7200 });
      assert.equal(set.status, 200, JSON.stringify(set.body));
      const read = await api<{ application: Json }>("GET", path);
      assert.equal(read.body.application.authenticated_session_lifetime, 7200);
      for (const value of [59, 15 * 86_400, "1h"]) {
        const { status } = await api("PATCH", `${path}/tokens`, { authenticated_session_lifetime: value });
        assert.equal(status, 400, String(value));
      }
      assert.equal(
        (await api("PATCH", `${path}/tokens`, { authenticated_session_lifetime: null })).status,
        200,
      );
      const cleared = await api<{ application: Json }>("GET", path);
      assert.equal(cleared.body.application.authenticated_session_lifetime, null);
    });
  });
}
