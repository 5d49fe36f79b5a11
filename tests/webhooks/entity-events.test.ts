// Organization, role and permission events, and user.updated for membership changes, written to the
// events outbox in the transaction of the Management API change that causes them (issue 18): each
// operation leaves exactly its event (type, source "api" for a machine token, Kinde's data shape,
// checked against the schema GET /api/v1/event_types publishes); a refused write leaves none, and a
// rolled-back transaction takes its event with it. Both databases.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Ajv } from "ajv";
import { EVENT_TYPES } from "../../src/events/event-types.js";
import { databaseKinds } from "../helpers/databases.js";
import { createUser } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

type Json = Record<string, unknown>;

interface StoredEvent {
  id: string;
  type: string;
  source: string;
  data: Json;
  userId: string | null;
}

const unique = () => randomBytes(4).toString("hex");

const ajv = new Ajv({ strict: false });
const validators = new Map(EVENT_TYPES.map((t) => [t.code as string, ajv.compile(t.schema)]));

/** The member's entry in a user.updated payload. */
function organizationOf(event: StoredEvent, orgCode: string): Json | undefined {
  const user = event.data.user as { organizations: Json[] };
  return user.organizations.find((o) => o.code === orgCode);
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`Organization, role and permission events (${kind})`, { skip }, () => {
    let server: TestServer;
    let token: string;

    before(async () => {
      server = await startTestServer(kind);
      token = await managementToken(server);
    });
    after(async () => server?.close());

    const api = <T = Json>(method: string, path: string, body?: unknown) =>
      callApi<T>(server, method, path, body === undefined ? { token } : { token, body });

    /** The newest event's id: events recorded later sort after it. */
    async function mark(): Promise<string> {
      const row = await server.storage.db
        .selectFrom("events")
        .select("id")
        .orderBy("id", "desc")
        .limit(1)
        .executeTakeFirst();
      return row?.id ?? "";
    }

    /** Every event recorded after `since`, oldest first, each checked against its type's schema. */
    async function eventsAfter(since: string): Promise<StoredEvent[]> {
      const rows = await server.storage.db
        .selectFrom("events")
        .selectAll()
        .where("id", ">", since)
        .orderBy("id")
        .execute();
      return rows.map((row) => {
        const data = (typeof row.data === "string" ? JSON.parse(row.data) : row.data) as Json;
        const validate = validators.get(row.type);
        assert.ok(validate, `${row.type} is in the catalogue`);
        assert.ok(
          validate(data),
          `${row.type} data ${JSON.stringify(data)}: ${ajv.errorsText(validate.errors)}`,
        );
        return { id: row.id, type: row.type, source: row.source, data, userId: row.user_id };
      });
    }

    /** Runs `operation` and returns the one event it recorded (failing on none or several). */
    async function onlyEvent(operation: () => Promise<unknown>): Promise<StoredEvent> {
      const since = await mark();
      await operation();
      const events = await eventsAfter(since);
      assert.equal(events.length, 1, `exactly one event, got ${JSON.stringify(events.map((e) => e.type))}`);
      return events[0]!;
    }

    /** Runs `operation` and asserts that it recorded nothing. */
    async function noEvent(operation: () => Promise<unknown>): Promise<void> {
      const since = await mark();
      await operation();
      assert.deepEqual(
        (await eventsAfter(since)).map((e) => e.type),
        [],
      );
    }

    async function createOrg(body: Json): Promise<string> {
      const created = await api<{ organization: { code: string } }>("POST", "/api/v1/organization", body);
      assert.equal(created.status, 200, JSON.stringify(created.body));
      return created.body.organization.code;
    }

    async function createRole(key: string): Promise<string> {
      const created = await api<{ role: { id: string } }>("POST", "/api/v1/roles", {
        key,
        name: `Role ${key}`,
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      return created.body.role.id;
    }

    async function createPermission(key: string): Promise<string> {
      const created = await api("POST", "/api/v1/permissions", { key, name: `Can ${key}` });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      return (await server.services.roles.store.permissionsByKey([key]))[0]!.id;
    }

    it("organization.created, organization.updated and organization.deleted", async () => {
      const handle = `acme-${unique()}`;
      const externalId = `ext-${unique()}`;
      let code = "";
      const created = await onlyEvent(async () => {
        code = await createOrg({
          name: "Acme",
          handle,
          external_id: externalId,
          is_allow_registrations: true,
        });
      });
      assert.equal(created.type, "organization.created");
      assert.equal(created.source, "api");
      assert.equal(created.userId, null);
      assert.deepEqual(created.data, {
        organization: { code, name: "Acme", handle, external_id: externalId, is_allow_registrations: true },
      });

      const updated = await onlyEvent(async () => {
        const patched = await api("PATCH", `/api/v1/organization/${code}`, {
          name: "Acme Corp",
          is_allow_registrations: false,
        });
        assert.equal(patched.status, 200, JSON.stringify(patched.body));
      });
      assert.equal(updated.type, "organization.updated");
      assert.equal(updated.source, "api");
      assert.deepEqual(updated.data, {
        organization: {
          code,
          name: "Acme Corp",
          handle,
          external_id: externalId,
          is_allow_registrations: false,
        },
      });

      // Refused writes record nothing: a taken handle (create and update), nothing to update, the
      // default organization, an unknown one.
      const other = await createOrg({ name: "Other" });
      await noEvent(async () => {
        assert.equal((await api("POST", "/api/v1/organization", { name: "Copy", handle })).status, 409);
        assert.equal((await api("PATCH", `/api/v1/organization/${other}`, { handle })).status, 409);
        assert.equal((await api("PATCH", `/api/v1/organization/${other}`, {})).status, 400);
        const fallback = (await server.services.organizations.store.findDefault())!.code;
        assert.equal((await api("DELETE", `/api/v1/organization/${fallback}`)).status, 400);
        assert.equal((await api("DELETE", "/api/v1/organization/org_00000000000")).status, 404);
      });

      const deleted = await onlyEvent(async () => {
        assert.equal((await api("DELETE", `/api/v1/organization/${code}`)).status, 200);
      });
      assert.equal(deleted.type, "organization.deleted");
      assert.equal(deleted.source, "api");
      assert.deepEqual(deleted.data, { organization: { code } });
    });

    it("role.created, role.updated and role.deleted; a taken key writes no event", async () => {
      const key = `analyst-${unique()}`;
      let id = "";
      const created = await onlyEvent(async () => {
        const response = await api<{ role: { id: string } }>("POST", "/api/v1/roles", {
          key,
          name: "Analyst",
          description: "Reads reports",
          is_default_role: false,
        });
        assert.equal(response.status, 201, JSON.stringify(response.body));
        id = response.body.role.id;
      });
      assert.equal(created.type, "role.created");
      assert.equal(created.source, "api");
      assert.equal(created.userId, null);
      assert.deepEqual(created.data, {
        role: { id, key, name: "Analyst", description: "Reads reports", is_default_role: false },
      });

      const otherKey = `other-${unique()}`;
      const other = await createRole(otherKey);
      await noEvent(async () => {
        const duplicate = await api("POST", "/api/v1/roles", { key, name: "Again" });
        assert.equal(duplicate.status, 409);
        assert.equal((duplicate.body.errors as Json[])[0]!.code, "ROLE_EXISTS");
        const taken = await api("PATCH", `/api/v1/roles/${other}`, { key, name: "Taken" });
        assert.equal(taken.status, 409);
        assert.equal((await api("DELETE", "/api/v1/roles/00000000-0000-4000-8000-000000000000")).status, 404);
      });

      const newKey = `lead-${unique()}`;
      const updated = await onlyEvent(async () => {
        const response = await api("PATCH", `/api/v1/roles/${id}`, {
          key: newKey,
          name: "Lead analyst",
          description: "Reads and signs reports",
          is_default_role: true,
        });
        assert.equal(response.status, 201, JSON.stringify(response.body));
      });
      assert.equal(updated.type, "role.updated");
      assert.equal(updated.source, "api");
      assert.deepEqual(updated.data, {
        role: {
          id,
          key: newKey,
          name: "Lead analyst",
          description: "Reads and signs reports",
          is_default_role: true,
        },
      });

      const deleted = await onlyEvent(async () => {
        assert.equal((await api("DELETE", `/api/v1/roles/${id}`)).status, 200);
      });
      assert.equal(deleted.type, "role.deleted");
      assert.equal(deleted.source, "api");
      assert.deepEqual(deleted.data, { role: { id } });
      assert.equal(await server.services.roles.store.findRole(id), undefined);
    });

    it("permission.created, permission.updated and permission.deleted; a taken key writes no event", async () => {
      const key = `read:reports-${unique()}`;
      const created = await onlyEvent(async () => {
        const response = await api("POST", "/api/v1/permissions", {
          key,
          name: "Read reports",
          description: "Every report",
        });
        assert.equal(response.status, 201, JSON.stringify(response.body));
      });
      // Kinde answers without the id; the event carries it (the one stored under the key).
      const id = (await server.services.roles.store.permissionsByKey([key]))[0]!.id;
      assert.equal(created.type, "permission.created");
      assert.equal(created.source, "api");
      assert.equal(created.userId, null);
      assert.deepEqual(created.data, {
        permission: { id, key, name: "Read reports", description: "Every report" },
      });

      const other = await createPermission(`other-${unique()}`);
      await noEvent(async () => {
        const duplicate = await api("POST", "/api/v1/permissions", { key });
        assert.equal(duplicate.status, 409);
        assert.equal((duplicate.body.errors as Json[])[0]!.code, "PERMISSION_EXISTS");
        assert.equal((await api("PATCH", `/api/v1/permissions/${other}`, { key })).status, 409);
        assert.equal((await api("PATCH", `/api/v1/permissions/${other}`, {})).status, 400);
        assert.equal((await api("DELETE", "/api/v1/permissions/perm_unknown")).status, 404);
      });

      const updated = await onlyEvent(async () => {
        const response = await api("PATCH", `/api/v1/permissions/${id}`, { name: "Read every report" });
        assert.equal(response.status, 200, JSON.stringify(response.body));
      });
      assert.equal(updated.type, "permission.updated");
      assert.equal(updated.source, "api");
      assert.deepEqual(updated.data, {
        permission: { id, key, name: "Read every report", description: "Every report" },
      });

      const deleted = await onlyEvent(async () => {
        assert.equal((await api("DELETE", `/api/v1/permissions/${id}`)).status, 200);
      });
      assert.equal(deleted.type, "permission.deleted");
      assert.equal(deleted.source, "api");
      assert.deepEqual(deleted.data, { permission: { id } });
    });

    it("user.updated when a member is added or removed, or their roles and permissions change", async () => {
      const org = await createOrg({ name: `Members ${unique()}` });
      const roleKey = `editor-${unique()}`;
      const role = await createRole(roleKey);
      const permissionKey = `publish-${unique()}`;
      const permission = await createPermission(permissionKey);
      const ada = await createUser(server);
      const grace = await createUser(server);

      const checkUser = (event: StoredEvent, userId: string) => {
        assert.equal(event.type, "user.updated");
        assert.equal(event.source, "api");
        assert.equal(event.userId, userId);
        assert.equal((event.data.user as Json).id, userId);
      };

      // Added with a role and a permission: one user.updated carrying both.
      const added = await onlyEvent(async () => {
        const response = await api<{ users_added: string[] }>("POST", `/api/v1/organizations/${org}/users`, {
          users: [{ id: ada.id, roles: [roleKey], permissions: [permissionKey] }],
        });
        assert.equal(response.status, 200, JSON.stringify(response.body));
        assert.deepEqual(response.body.users_added, [ada.id]);
      });
      checkUser(added, ada.id);
      assert.deepEqual(organizationOf(added, org), {
        code: org,
        roles: [roleKey],
        permissions: [{ id: permission, key: permissionKey }],
      });

      // Adding again what is already there changes nothing, so tells nobody; nor does a refused
      // add (an unknown role key: all or nothing) or a member route for a non-member.
      await noEvent(async () => {
        const again = await api<{ users_added: string[] }>("POST", `/api/v1/organizations/${org}/users`, {
          users: [{ id: ada.id, roles: [roleKey] }],
        });
        assert.equal(again.status, 200);
        assert.deepEqual(again.body.users_added, []);
        const unknown = await api("POST", `/api/v1/organizations/${org}/users`, {
          users: [{ id: grace.id, roles: ["no-such-role"] }],
        });
        assert.equal(unknown.status, 404);
        assert.equal(
          (await api("POST", `/api/v1/organizations/${org}/users/${ada.id}/roles`, { role_id: role })).status,
          200,
        );
        assert.equal(
          (await api("POST", `/api/v1/organizations/${org}/users/${grace.id}/roles`, { role_id: role }))
            .status,
          404,
        );
      });
      assert.equal(await server.services.organizations.store.isMember(org, grace.id), false);

      // A role taken away, then given back through the member's roles route.
      const roleRemoved = await onlyEvent(async () => {
        const response = await api("DELETE", `/api/v1/organizations/${org}/users/${ada.id}/roles/${role}`);
        assert.equal(response.status, 200, JSON.stringify(response.body));
      });
      checkUser(roleRemoved, ada.id);
      assert.deepEqual(organizationOf(roleRemoved, org)?.roles, []);
      await noEvent(async () => {
        // Not held any more: nothing to remove.
        const response = await api("DELETE", `/api/v1/organizations/${org}/users/${ada.id}/roles/${role}`);
        assert.equal(response.status, 200);
      });
      const roleAdded = await onlyEvent(async () => {
        const response = await api("POST", `/api/v1/organizations/${org}/users/${ada.id}/roles`, {
          role_id: role,
        });
        assert.equal(response.status, 200, JSON.stringify(response.body));
      });
      checkUser(roleAdded, ada.id);
      assert.deepEqual(organizationOf(roleAdded, org)?.roles, [roleKey]);

      // The same for a permission given directly.
      const permissionRemoved = await onlyEvent(async () => {
        const response = await api(
          "DELETE",
          `/api/v1/organizations/${org}/users/${ada.id}/permissions/${permission}`,
        );
        assert.equal(response.status, 200, JSON.stringify(response.body));
      });
      checkUser(permissionRemoved, ada.id);
      assert.deepEqual(organizationOf(permissionRemoved, org)?.permissions, []);
      const permissionAdded = await onlyEvent(async () => {
        const response = await api("POST", `/api/v1/organizations/${org}/users/${ada.id}/permissions`, {
          permission_id: permission,
        });
        assert.equal(response.status, 200, JSON.stringify(response.body));
      });
      checkUser(permissionAdded, ada.id);
      assert.deepEqual(organizationOf(permissionAdded, org)?.permissions, [
        { id: permission, key: permissionKey },
      ]);

      // One PATCH removing one member and adding another: one user.updated for each.
      const since = await mark();
      const patched = await api<Json>("PATCH", `/api/v1/organizations/${org}/users`, {
        users: [
          { id: ada.id, operation: "delete" },
          { id: grace.id, roles: [roleKey] },
        ],
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.deepEqual(patched.body.users_removed, [ada.id]);
      assert.deepEqual(patched.body.users_added, [grace.id]);
      const events = await eventsAfter(since);
      assert.equal(events.length, 2, JSON.stringify(events));
      const forAda = events.find((e) => e.userId === ada.id)!;
      const forGrace = events.find((e) => e.userId === grace.id)!;
      checkUser(forAda, ada.id);
      checkUser(forGrace, grace.id);
      assert.equal(organizationOf(forAda, org), undefined, "Ada left the organization");
      assert.deepEqual(organizationOf(forGrace, org), { code: org, roles: [roleKey], permissions: [] });
      // Ada's other memberships are still in her payload (the default organization).
      const fallback = (await server.services.organizations.store.findDefault())!.code;
      assert.ok(organizationOf(forAda, fallback));

      // Removing a member through DELETE.
      const removed = await onlyEvent(async () => {
        const response = await api("DELETE", `/api/v1/organizations/${org}/users/${grace.id}`);
        assert.equal(response.status, 200, JSON.stringify(response.body));
      });
      checkUser(removed, grace.id);
      assert.equal(organizationOf(removed, org), undefined);
    });

    it("an event recorded in a transaction that rolls back leaves no row", async () => {
      const since = await mark();
      const key = `rolled-back-${unique()}`;
      const user = await createUser(server);
      const afterUser = await mark();
      let roleId = "";
      let orgCode = "";
      await assert.rejects(
        server.storage.db.transaction().execute(async (trx) => {
          const services = server.services.withDb(trx);
          roleId = (
            await services.roles.createRole({
              key,
              name: "Rolled back",
              description: null,
              isDefault: false,
              assignmentPermissionId: null,
            })
          ).id;
          orgCode = (await services.organizations.create({ name: "Rolled back" }, "api")).code;
          await services.organizations.addMembers(orgCode, [{ id: user.id, roles: [key] }], "api");
          // Inside the transaction the three events are there.
          const inside = await trx
            .selectFrom("events")
            .select("type")
            .where("id", ">", afterUser)
            .orderBy("id")
            .execute();
          assert.deepEqual(
            inside.map((e) => e.type),
            ["role.created", "organization.created", "user.updated"],
          );
          throw new Error("rollback");
        }),
        /rollback/,
      );
      assert.ok(roleId && orgCode);
      assert.equal(await server.services.roles.store.findRole(roleId), undefined);
      assert.equal(await server.services.organizations.store.find(orgCode), undefined);
      // Only the user.created of the user made before the transaction remains.
      assert.deepEqual(
        (await eventsAfter(since)).map((e) => e.type),
        ["user.created"],
      );
    });

    it("operators' tools record as admin, and an organization a user creates at sign-in as user", async () => {
      const direct = await onlyEvent(() =>
        server.services.roles.createPermission({ key: `tool-${unique()}`, name: "Tool", description: null }),
      );
      assert.equal(direct.type, "permission.created");
      assert.equal(direct.source, "admin");

      // Kinde's is_create_org: organization.created and the new member's user.updated, both "user".
      const user = await createUser(server);
      const since = await mark();
      const org = await server.services.organizations.createForUser(user.id, "Ada's team");
      const events = await eventsAfter(since);
      assert.deepEqual(
        events.map((e) => [e.type, e.source]),
        [
          ["organization.created", "user"],
          ["user.updated", "user"],
        ],
      );
      assert.equal((events[0]!.data.organization as Json).code, org.code);
      assert.equal(events[1]!.userId, user.id);
      assert.ok(organizationOf(events[1]!, org.code));
    });
  });
}
