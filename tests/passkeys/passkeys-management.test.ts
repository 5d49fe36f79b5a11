// Issue 22, administrators list and remove a user's passkeys through the Management API (Latchkey
// extensions under Kinde's user-MFA scopes), on SQLite and PostgreSQL: the list shows what the
// user registered, removal ends the user's sessions and records passkey.removed, another user's
// passkey id is a 404, scopes are enforced, and a machine cannot remove an administrator's.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { callApi, narrowMachineToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { authorizationUrl, signedInUserAgent } from "../helpers/user-agent.js";

interface PasskeysBody {
  passkeys: {
    id: string;
    name: string;
    device_type: string;
    is_backed_up: boolean;
    last_used_on: string | null;
  }[];
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`a user's passkeys in the Management API (${kind})`, { skip }, () => {
    let server: TestServer;
    let spa: { clientId: string };

    before(async () => {
      server = await startTestServer(kind);
      spa = await createApplication(server, "spa");
    });
    after(async () => server?.close());

    /** A stored credential as registration leaves it (the ceremony has its own tests). */
    const addPasskey = (userId: string, name: string) =>
      server.services.passkeys.store.insert({
        userId,
        credentialId: randomBytes(16).toString("base64url"),
        publicKey: randomBytes(77).toString("base64url"),
        signCount: 0,
        transports: ["internal"],
        deviceType: "multiDevice",
        backedUp: true,
        aaguid: null,
        name,
      });

    it("lists and removes a user's passkeys; removal signs the user out and is an event", async () => {
      const user = await createUser(server);
      const laptop = await addPasskey(user.id, "Laptop");
      await addPasskey(user.id, "Phone");
      const listed = await callApi<PasskeysBody>(server, "GET", `/api/v1/users/${user.id}/passkeys`);
      assert.equal(listed.status, 200);
      // Both added within one second: oldest first cannot tell them apart, so compare as a set.
      assert.deepEqual(
        listed.body.passkeys.map((p) => [p.name, p.device_type, p.is_backed_up, p.last_used_on]).sort(),
        [
          ["Laptop", "multiDevice", true, null],
          ["Phone", "multiDevice", true, null],
        ],
      );
      const browser = await signedInUserAgent(server, spa.clientId, CALLBACK, user);
      const removed = await callApi(server, "DELETE", `/api/v1/users/${user.id}/passkeys/${laptop.id}`);
      assert.equal(removed.status, 200);
      const silent = await browser.redirectFrom(
        authorizationUrl(server, spa.clientId, CALLBACK, { prompt: "none" }),
      );
      assert.equal(silent.searchParams.get("error"), "login_required", "signed out everywhere");
      const after = await callApi<PasskeysBody>(server, "GET", `/api/v1/users/${user.id}/passkeys`);
      assert.deepEqual(
        after.body.passkeys.map((p) => p.name),
        ["Phone"],
      );
      const events = await server.storage.db
        .selectFrom("events")
        .select("type")
        .where("user_id", "=", user.id)
        .where("type", "=", "passkey.removed")
        .execute();
      assert.equal(events.length, 1);
      const again = await callApi<{ errors: { code: string }[] }>(
        server,
        "DELETE",
        `/api/v1/users/${user.id}/passkeys/${laptop.id}`,
      );
      assert.equal(again.status, 404);
      assert.equal(again.body.errors[0]?.code, "PASSKEY_NOT_FOUND");
    });

    it("answers 404 for another user's passkey and enforces scopes and the administrator rule", async () => {
      const owner = await createUser(server);
      const other = await createUser(server);
      const key = await addPasskey(owner.id, "Key");
      const crossed = await callApi(server, "DELETE", `/api/v1/users/${other.id}/passkeys/${key.id}`);
      assert.equal(crossed.status, 404);
      const reader = await narrowMachineToken(server, ["read:user_mfa"]);
      assert.equal(
        (await callApi(server, "GET", `/api/v1/users/${owner.id}/passkeys`, { token: reader.token })).status,
        200,
      );
      assert.equal(
        (
          await callApi(server, "DELETE", `/api/v1/users/${owner.id}/passkeys/${key.id}`, {
            token: reader.token,
          })
        ).status,
        403,
      );
      const writer = await narrowMachineToken(server, ["delete:user_mfa"]);
      assert.equal(
        (await callApi(server, "GET", `/api/v1/users/${owner.id}/passkeys`, { token: writer.token })).status,
        403,
      );
      const admin = await server.services.users.create({
        email: `admin-${randomBytes(3).toString("hex")}@example.com`,
        password: "an administrator's long password",
        emailVerified: true,
        isAdmin: true,
      });
      const adminKey = await addPasskey(admin.id, "Admin key");
      const refused = await callApi(server, "DELETE", `/api/v1/users/${admin.id}/passkeys/${adminKey.id}`, {
        token: writer.token,
      });
      assert.equal(refused.status, 403);
      assert.equal((await server.services.passkeys.store.list(admin.id)).length, 1);
    });
  });
}
