// Kinde's organization invitation operations (/api/v1/organization/{org_code}/invites): create
// (201, the accepting code and link shown once, kept only as a hash; the e-mail enqueued with the
// invitation), list (open ones by default, revoked and accepted on request, page_size + next_token,
// sorts), get and delete by id or code, scopes, bad bodies and 404s. Both databases.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { messagesTo } from "../helpers/mail.js";
import { callApi, narrowMachineToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

type Json = Record<string, unknown>;
interface Invite extends Json {
  id: string;
  email: string;
  roles: { key: string; name: string }[];
  is_revoked: boolean;
  accepted_on: string | null;
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`Organization invitations through the Management API (${kind})`, { skip }, () => {
    let server: TestServer;
    let orgCode: string;
    let roleKey: string;
    before(async () => {
      server = await startTestServer(kind);
      const tag = randomBytes(3).toString("hex");
      orgCode = (
        await callApi<{ organization: { code: string } }>(server, "POST", "/api/v1/organization", {
          body: { name: `Invites ${tag}` },
        })
      ).body.organization.code;
      roleKey = `manager-${tag}`;
      assert.equal(
        (await callApi(server, "POST", "/api/v1/roles", { body: { key: roleKey, name: "Manager" } })).status,
        201,
      );
    });
    after(async () => server?.close());

    const invites = (path = "") => `/api/v1/organization/${orgCode}/invites${path}`;
    const invite = async (body: Json) =>
      callApi<{ code: string; message: string; invite: Invite & { code: string; invite_link: string } }>(
        server,
        "POST",
        invites(),
        { body },
      );
    const list = async (query = "") =>
      (await callApi<{ invites: Invite[]; next_token: string | null }>(server, "GET", invites(query))).body;
    const address = (name: string) => `${name}-${randomBytes(3).toString("hex")}@example.com`;

    it("creates an invitation, shows its code and link once, stores only the code's hash and mails it", async () => {
      const email = address("Ada");
      const { status, body } = await invite({
        email,
        first_name: " Ada ",
        last_name: "Lovelace",
        roles: [roleKey],
        send_email: true,
      });
      assert.equal(status, 201, JSON.stringify(body));
      assert.equal(body.code, "INVITATION_CREATED");
      const created = body.invite;
      assert.match(created.id, /^inv_[0-9a-f]{32}$/);
      assert.match(created.code, /^inv_[A-Za-z0-9_-]{43}$/);
      assert.equal(created.invite_link, `${server.url}/team_invitation?code=${created.code}`);
      assert.equal(created.email, email.toLowerCase(), "kept canonical");
      assert.equal(created.full_name, "Ada Lovelace");
      assert.equal(created.first_name, "Ada");
      assert.equal(created.is_sent, true);
      assert.equal(created.is_revoked, false);
      assert.equal(created.accepted_on, null);
      assert.deepEqual(created.roles, [{ key: roleKey, name: "Manager" }]);

      const row = await server.storage.db
        .selectFrom("organization_invitations")
        .selectAll()
        .where("id", "=", created.id)
        .executeTakeFirstOrThrow();
      assert.ok(!Object.values(row).includes(created.code), "the code itself is not stored");
      assert.notEqual(row.code_hash, created.code);

      const [mail] = await messagesTo(server, email.toLowerCase());
      assert.equal(mail?.kind, "invitation");
      assert.ok(mail.text.includes(created.invite_link), mail.text);

      // Neither the code nor the link is shown again.
      const read = await callApi<Json>(server, "GET", invites(`/${created.id}`));
      assert.equal(read.status, 200);
      assert.equal(read.body.message, "Success");
      assert.equal(read.body.id, created.id);
      assert.equal(read.body.code, undefined);
      assert.equal(read.body.invite_link, undefined);
      // The code names it too (Kinde's path parameter is invite_code).
      const byCode = await callApi<Json>(server, "GET", invites(`/${created.code}`));
      assert.equal(byCode.body.id, created.id);
    });

    it("sends no e-mail unless asked, and refuses bad bodies with Kinde's codes", async () => {
      const email = address("quiet");
      const quiet = await invite({ email, roles: [] });
      assert.equal(quiet.status, 201);
      assert.equal(quiet.body.invite.is_sent, false);
      assert.deepEqual(await messagesTo(server, email), []);

      const refused = async (body: Json, status: number, code: string) => {
        const response = await invite(body);
        assert.equal(response.status, status, JSON.stringify(response.body));
        assert.equal((response.body as unknown as { errors: { code: string }[] }).errors[0]?.code, code);
      };
      await refused({ email: `${"a".repeat(250)}@example.com`, roles: [] }, 400, "EMAIL_TOO_LONG");
      await refused({ email: "not an address", roles: [] }, 400, "INVALID_EMAIL");
      await refused({ email, first_name: "x".repeat(65), roles: [] }, 400, "FIRST_NAME_TOO_LONG");
      await refused({ email, last_name: "x".repeat(65), roles: [] }, 400, "LAST_NAME_TOO_LONG");
      await refused({ email, roles: ["no-such-role"] }, 404, "ROLE_NOT_FOUND");
      await refused({ email }, 400, "INVALID_REQUEST");
      await refused({ email, roles: [], colour: "red" }, 400, "INVALID_REQUEST");
      await refused({ email, roles: "admin" }, 400, "INVALID_REQUEST");

      const unknownOrg = await callApi(server, "POST", "/api/v1/organization/org_00000000000/invites", {
        body: { email, roles: [] },
      });
      assert.equal(unknownOrg.status, 404);
    });

    it("lists open invitations, pages them and sorts them; revoked and accepted ones on request", async () => {
      const emails = ["c", "a", "b"].map(
        (letter) => `${letter}-${randomBytes(2).toString("hex")}@example.org`,
      );
      const ids: string[] = [];
      for (const email of emails) ids.push((await invite({ email, roles: [roleKey] })).body.invite.id);

      const firstPage = await list("?sort=email_asc&page_size=2");
      assert.equal(firstPage.invites.length, 2);
      assert.ok(firstPage.next_token);
      const everything: Invite[] = [...firstPage.invites];
      let token: string | null = firstPage.next_token;
      while (token) {
        const next = await list(`?sort=email_asc&page_size=2&next_token=${encodeURIComponent(token)}`);
        everything.push(...next.invites);
        token = next.next_token;
      }
      const listed = everything.map((i) => i.email);
      assert.deepEqual(listed, [...listed].sort(), "email order");
      for (const email of emails) assert.ok(listed.includes(email));
      assert.equal(new Set(everything.map((i) => i.id)).size, everything.length, "no repeats across pages");

      // Newest first by default (invitations made within one second tie, then go by id).
      await server.storage.db
        .updateTable("organization_invitations")
        .set({ created_at: 4_000_000_000 })
        .where("id", "=", ids[1]!)
        .execute();
      assert.equal((await list("?page_size=1")).invites[0]?.id, ids[1]);
      const oldest = await list("?page_size=1&sort=created_on_asc");
      assert.notEqual(oldest.invites[0]?.id, ids[1]);

      // Revoked: gone from the default list, back with include_revoked.
      const revoked = await callApi(server, "DELETE", invites(`/${ids[0]}`));
      assert.equal(revoked.status, 200);
      assert.ok(!(await list("?page_size=500")).invites.some((i) => i.id === ids[0]));
      const withRevoked = (await list("?page_size=500&include_revoked=true")).invites.find(
        (i) => i.id === ids[0],
      );
      assert.equal(withRevoked?.is_revoked, true);

      // Accepted (as a sign-in does): listed only with include_accepted.
      await server.storage.db
        .updateTable("organization_invitations")
        .set({ accepted_at: 1_700_000_000 })
        .where("id", "=", ids[1]!)
        .execute();
      assert.ok(!(await list("?page_size=500")).invites.some((i) => i.id === ids[1]));
      const accepted = (await list("?page_size=500&include_accepted=true")).invites.find(
        (i) => i.id === ids[1],
      );
      assert.equal(accepted?.accepted_on, new Date(1_700_000_000_000).toISOString());
      const deleteAccepted = await callApi(server, "DELETE", invites(`/${ids[1]}`));
      assert.equal(deleteAccepted.status, 400, "an accepted invitation is history");

      const badPage = await callApi(server, "GET", invites("?page_size=501"));
      assert.equal(badPage.status, 400);
      const badToken = await callApi(server, "GET", invites("?next_token=nonsense"));
      assert.equal(badToken.status, 400);
      const badSort = await callApi(server, "GET", invites("?sort=colour"));
      assert.equal(badSort.status, 400);
    });

    it("answers 404 for unknown invitations, other organizations' and unknown organizations", async () => {
      const created = (await invite({ email: address("x"), roles: [] })).body.invite;
      const other = (
        await callApi<{ organization: { code: string } }>(server, "POST", "/api/v1/organization", {
          body: { name: "Other" },
        })
      ).body.organization.code;
      for (const path of [
        invites("/inv_00000000000000000000000000000000"),
        invites(`/inv_${"A".repeat(43)}`),
        `/api/v1/organization/${other}/invites/${created.id}`,
        `/api/v1/organization/org_00000000000/invites/${created.id}`,
      ]) {
        for (const method of ["GET", "DELETE"]) {
          const response = await callApi<{ errors: { code: string }[] }>(server, method, path);
          assert.equal(response.status, 404, `${method} ${path}`);
          assert.match(response.body.errors[0]!.code, /^(INVITATION|ORGANIZATION)_NOT_FOUND$/);
        }
      }
      const unknownList = await callApi(server, "GET", "/api/v1/organization/org_00000000000/invites");
      assert.equal(unknownList.status, 404);
    });

    it("needs Kinde's scopes: read, create and delete:organization_invites", async () => {
      const reader = await narrowMachineToken(server, ["read:organization_invites"]);
      assert.equal((await callApi(server, "GET", invites(), { token: reader.token })).status, 200);
      const create = await callApi(server, "POST", invites(), {
        token: reader.token,
        body: { email: address("scope"), roles: [] },
      });
      assert.equal(create.status, 403);
      const made = (await invite({ email: address("scope"), roles: [] })).body.invite;
      assert.equal(
        (await callApi(server, "DELETE", invites(`/${made.id}`), { token: reader.token })).status,
        403,
      );
      const creator = await narrowMachineToken(server, ["create:organization_invites"]);
      assert.equal((await callApi(server, "GET", invites(), { token: creator.token })).status, 403);
      assert.equal(
        (
          await callApi(server, "POST", invites(), {
            token: creator.token,
            body: { email: address("scope"), roles: [] },
          })
        ).status,
        201,
      );
      const deleter = await narrowMachineToken(server, ["delete:organization_invites"]);
      assert.equal(
        (await callApi(server, "DELETE", invites(`/${made.id}`), { token: deleter.token })).status,
        200,
      );
      const anonymous = await fetch(`${server.url}${invites()}`);
      assert.equal(anonymous.status, 401);
    });
  });
}
