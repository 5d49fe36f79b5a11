import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { resealAll } from "../src/crypto/reseal.js";
import { SecretBox } from "../src/crypto/secret-box.js";
import { createServices } from "../src/services.js";
import { databaseKinds } from "./helpers/databases.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

describe("SecretBox", () => {
  const box = new SecretBox(randomBytes(32));
  it("opens what it sealed, only with the same additional data, and detects tampering", () => {
    const sealed = box.seal("s3cret", "row:1");
    assert.equal(box.open(sealed, "row:1"), "s3cret");
    assert.throws(() => box.open(sealed, "row:2"), "a ciphertext moved to another row does not open");
    const [v, id, iv, tag, body] = sealed.split(".");
    const flipped = Buffer.from(body!, "base64url");
    flipped[0]! ^= 1;
    assert.throws(() => box.open([v, id, iv, tag, flipped.toString("base64url")].join("."), "row:1"));
    assert.notEqual(box.seal("s3cret", "row:1"), sealed, "a fresh IV every time");
  });
  it("names an unknown key clearly", () => {
    assert.throws(() => new SecretBox(randomBytes(32)).open(box.seal("x"), ""), /unknown master key/);
  });
});

for (const { kind, skip } of await databaseKinds()) {
  describe(`master key rotation (${kind})`, { skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(async () => server?.close());

    it("re-encrypts every stored secret under the new key, after which the old key is not needed", async () => {
      const { secret } = await server.services.applications.create({ name: "Rotating", type: "reg" });
      await server.services.connectedApps.create({
        key_code_ref: "rotating",
        provider: "github",
        client_id: "gh",
        client_secret: "gh-secret",
        callback_url: "https://app.example.com/cb",
      });
      const oldKey = server.config.masterKey!;
      const newKey = randomBytes(32);
      const during = new SecretBox(newKey, [oldKey]);
      const counts = await resealAll(server.storage.db, during);
      assert.ok((counts["applications.client_secret_sealed"] ?? 0) >= 2, JSON.stringify(counts));
      assert.ok((counts["signing_keys.private_key_sealed"] ?? 0) >= 1);
      assert.equal(counts["connected_apps.client_secret_sealed"], 1);
      assert.deepEqual(
        Object.values(await resealAll(server.storage.db, during)).filter((n) => n > 0),
        [],
        "idempotent",
      );

      // Only the new key from now on: every secret still opens.
      const onlyNew = createServices({
        db: server.storage.db,
        secretBox: new SecretBox(newKey),
        issuer: server.url,
      });
      const apps = await onlyNew.applications.store.list();
      const rotating = apps.find((a) => a.name === "Rotating")!;
      assert.equal(onlyNew.applications.revealSecret(rotating), secret);
      await onlyNew.keys.current();
    });
  });
}
