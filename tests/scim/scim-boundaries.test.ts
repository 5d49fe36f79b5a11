// What a directory may not do (security review H1): provision or move an account to an address
// outside its organization's domains (the home-realm domains of its enterprise connection) — else a
// token holder pre-creates victim@gmail.com and takes the account over once its owner claims it —
// provision at all when the connection has no domains, change, suspend or delete an administrator,
// or delete an account that is more than the directory's (a password, another organization, an
// identity at another connection): DELETE then only ends the membership. Both databases.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import {
  assertScimError,
  createDirectory,
  type Directory,
  enterpriseConnection,
  type Json,
  organizationWithConnection,
  PATCH_SCHEMA,
  scim,
  USER_SCHEMA,
} from "./scim-helpers.js";

const user = (userName: string, email = userName) => ({
  schemas: [USER_SCHEMA],
  userName,
  name: { givenName: "Ada", familyName: "Lovelace" },
  emails: [{ primary: true, value: email, type: "work" }],
  active: true,
});

for (const { kind, skip } of await databaseKinds()) {
  describe(`SCIM directory boundaries (${kind})`, { skip }, () => {
    let server: TestServer;
    let directory: Directory;
    before(async () => {
      server = await startTestServer(kind);
      directory = await createDirectory(server);
    });
    after(async () => server?.close());

    const account = (id: string) => server.services.users.store.findById(id);
    const isMember = async (orgCode: string, userId: string) =>
      (await server.storage.db
        .selectFrom("organization_users")
        .select("user_id")
        .where("org_code", "=", orgCode)
        .where("user_id", "=", userId)
        .executeTakeFirst()) !== undefined;
    const provision = async (local: string): Promise<string> => {
      const created = await scim(directory, "POST", "/Users", { body: user(`${local}@${directory.domain}`) });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      return created.body.id as string;
    };

    it("refuses to create an account for an address outside the organization's domains", async () => {
      for (const body of [
        user("victim@gmail.com"),
        user(`ada@${directory.domain}`, "victim@gmail.com"),
        user("victim@gmail.com", `ada@${directory.domain}`),
        user(`victim@sub.${directory.domain}`),
        user(`victim@${directory.domain}.evil.example`),
      ]) {
        const response = await scim(directory, "POST", "/Users", { body });
        assertScimError(response, 400, "invalidValue");
        assert.match(String(response.body.detail), /domain/);
      }
      assert.equal(await server.services.users.store.findByEmail("victim@gmail.com"), undefined);
      // The domain in another spelling (upper case) is the same domain.
      const upper = await scim(directory, "POST", "/Users", {
        body: user(`Grace@${directory.domain.toUpperCase()}`),
      });
      assert.equal(upper.status, 201, JSON.stringify(upper.body));
    });

    it("refuses PUT and PATCH that move the address outside the domains", async () => {
      const id = await provision("moving");
      const patches: Json[] = [
        { op: "replace", path: 'emails[type eq "work"].value', value: "attacker@evil.example" },
        { op: "replace", path: "emails", value: [{ primary: true, value: "attacker@evil.example" }] },
        { op: "replace", path: "userName", value: "attacker@evil.example" },
      ];
      for (const operation of patches) {
        const response = await scim(directory, "PATCH", `/Users/${id}`, {
          body: { schemas: [PATCH_SCHEMA], Operations: [operation] },
        });
        assertScimError(response, 400, "invalidValue");
      }
      assertScimError(
        await scim(directory, "PUT", `/Users/${id}`, { body: user("attacker@evil.example") }),
        400,
        "invalidValue",
      );
      const after = (await account(id))!;
      assert.equal(after.email, `moving@${directory.domain}`);
      const inside = await scim(directory, "PATCH", `/Users/${id}`, {
        body: {
          schemas: [PATCH_SCHEMA],
          Operations: [
            { op: "replace", path: 'emails[type eq "work"].value', value: `moved@${directory.domain}` },
          ],
        },
      });
      assert.equal(inside.status, 200, JSON.stringify(inside.body));
      assert.equal((await account(id))!.email, `moved@${directory.domain}`);
    });

    it("cannot provision when its connection has no domains; the API refuses such a directory", async () => {
      const dir = await createDirectory(server);
      await server.storage.db
        .deleteFrom("sign_in_connection_domains")
        .where("connection_id", "=", dir.connectionId)
        .execute();
      const response = await scim(dir, "POST", "/Users", { body: user(`ada@${dir.domain}`) });
      assertScimError(response, 400, "invalidValue");
      assert.match(String(response.body.detail), /home realm domains/);

      const bare = (await server.services.organizations.create({ name: "No domains" })).code;
      await enterpriseConnection(server, bare);
      const refused = await callApi<{ errors: { code: string; message: string }[] }>(
        server,
        "POST",
        "/api/v1/directories",
        { body: { org_code: bare, directory_name: "D", provider_code: "okta" } },
      );
      assert.equal(refused.status, 400, JSON.stringify(refused.body));
      assert.equal(refused.body.errors[0]!.code, "INVALID_ENTERPRISE_CONNECTION");
      assert.match(refused.body.errors[0]!.message, /home realm domains/);
      const { orgCode } = await organizationWithConnection(server, ["fine.example"]);
      const made = await callApi(server, "POST", "/api/v1/directories", {
        body: { org_code: orgCode, directory_name: "D", provider_code: "okta" },
      });
      assert.equal(made.status, 201);
    });

    it("never changes, suspends or deletes an administrator", async () => {
      const id = await provision("boss");
      await server.storage.db.updateTable("users").set({ is_admin: 1 }).where("id", "=", id).execute();
      const suspend = await scim(directory, "PATCH", `/Users/${id}`, {
        body: { schemas: [PATCH_SCHEMA], Operations: [{ op: "replace", value: { active: false } }] },
      });
      assertScimError(suspend, 403);
      const rename = await scim(directory, "PUT", `/Users/${id}`, {
        body: { ...user(`boss@${directory.domain}`), name: { givenName: "Mallory" } },
      });
      assertScimError(rename, 403);
      assertScimError(await scim(directory, "DELETE", `/Users/${id}`), 403);
      const after = (await account(id))!;
      assert.equal(after.is_suspended, 0);
      assert.equal(after.given_name, "Ada");
      assert.ok(await isMember(directory.orgCode, id));
    });

    it("deletes only an account that is the directory's alone; otherwise ends the membership", async () => {
      const plain = await provision("plain");
      assert.equal((await scim(directory, "DELETE", `/Users/${plain}`)).status, 204);
      assert.equal(await account(plain), undefined);

      const withPassword = await provision("password");
      await server.storage.db
        .updateTable("users")
        .set({ password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA" })
        .where("id", "=", withPassword)
        .execute();
      const otherOrg = await provision("twoorgs");
      const second = await server.services.organizations.create({ name: "Second" });
      await server.services.organizations.addMembers(second.code, [{ id: otherOrg }]);
      const social = await provision("social");
      const elsewhere = await enterpriseConnection(server, directory.orgCode);
      await server.storage.db
        .insertInto("external_identities")
        .values({
          id: randomUUID(),
          user_id: social,
          connection_id: elsewhere,
          provider_subject: "sub-1",
          email: `social@${directory.domain}`,
          email_verified_by_provider: 1,
          claims: "{}",
          total_logins: 1,
          created_at: Date.now(),
          last_signed_in_at: null,
        })
        .execute();
      for (const id of [withPassword, otherOrg, social]) {
        assert.equal((await scim(directory, "DELETE", `/Users/${id}`)).status, 204);
        assert.ok(await account(id), "the account stays");
        assert.equal(await isMember(directory.orgCode, id), false, "it left the organization");
        assertScimError(await scim(directory, "GET", `/Users/${id}`), 404);
      }
    });
  });
}
