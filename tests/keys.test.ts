import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { decodeProtectedHeader } from "jose";
import { databaseKinds } from "./helpers/databases.js";
import { managementToken } from "./helpers/management.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

const machineToken = (server: TestServer) => managementToken(server, "read:users");

async function introspect(server: TestServer, token: string): Promise<{ active: boolean }> {
  const response = await fetch(`${server.url}/oauth2/introspect`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      token,
      client_id: server.management.clientId,
      client_secret: server.management.clientSecret,
    }),
  });
  return (await response.json()) as { active: boolean };
}

async function jwksKids(server: TestServer): Promise<string[]> {
  const { keys } = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as {
    keys: { kid: string }[];
  };
  return keys.map((k) => k.kid);
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`signing keys (${kind})`, { skip }, () => {
    let server: TestServer;
    let now = Math.floor(Date.now() / 1000);
    before(async () => {
      server = await startTestServer(kind, { clock: { now: () => now } });
    });
    after(async () => server?.close());

    it("publishes a Kinde-compatible JWKS on both paths", async () => {
      const json = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as {
        keys: Record<string, string>[];
      };
      const plain = await (await fetch(`${server.url}/.well-known/jwks`)).json();
      assert.deepEqual(plain, json);
      assert.equal(json.keys.length, 1);
      const [key] = json.keys;
      assert.equal(key!.kty, "RSA");
      assert.equal(key!.use, "sig");
      assert.equal(key!.alg, "RS256");
      assert.ok(key!.n && key!.e && key!.kid);
      assert.equal(key!.d, undefined, "no private material");
      // @kinde/jwt-validator decodes the header with atob(): no base64url-only characters.
      assert.doesNotMatch((await machineToken(server)).split(".")[0]!, /[-_]/);
    });

    it("rotates without downtime: published before it signs, old key kept until its tokens expire", async () => {
      const [oldKid] = await jwksKids(server);
      const oldToken = await machineToken(server);

      const rotated = await server.services.keys.rotate(300, 86_400);
      assert.deepEqual(
        (await jwksKids(server)).sort(),
        [oldKid!, rotated.kid].sort(),
        "new key published at once",
      );
      assert.equal(
        decodeProtectedHeader(await machineToken(server)).kid,
        oldKid,
        "old key still signs until activation",
      );

      now += 301;
      const newToken = await machineToken(server);
      assert.equal(decodeProtectedHeader(newToken).kid, rotated.kid, "new key signs after activation");
      assert.equal((await introspect(server, newToken)).active, true);
      assert.equal(
        (await introspect(server, oldToken)).active,
        true,
        "tokens the retired key signed still verify",
      );

      now += 86_400;
      assert.deepEqual(
        await jwksKids(server),
        [rotated.kid],
        "retired key leaves the JWKS once its tokens expired",
      );
      assert.equal((await introspect(server, await machineToken(server))).active, true);
    });
  });
}
