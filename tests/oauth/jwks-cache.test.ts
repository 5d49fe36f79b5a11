// The public metadata documents (JWKS, discovery) are served pre-serialized with a strong ETag:
// a client revalidating with If-None-Match gets 304 without the body until the document changes,
// and a key rotation — even one made by another process — changes the JWKS and its ETag.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { runCli } from "../helpers/process.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`JWKS and discovery caching (${kind})`, { skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(async () => server?.close());

    const get = (path: string, headers: Record<string, string> = {}) =>
      fetch(`${server.url}${path}`, { headers });

    it("answers the JWKS with a strong ETag and Cache-Control, the same on both paths", async () => {
      const json = await get("/.well-known/jwks.json");
      const plain = await get("/.well-known/jwks");
      assert.equal(json.status, 200);
      const etag = json.headers.get("etag");
      assert.match(etag ?? "", /^"[A-Za-z0-9_-]{43}"$/, "a strong entity tag (no W/)");
      assert.equal(plain.headers.get("etag"), etag);
      assert.equal(json.headers.get("cache-control"), "public, max-age=120");
      assert.equal(json.headers.get("access-control-allow-origin"), "*");
      assert.match(json.headers.get("content-type") ?? "", /^application\/json/);
      const body = (await json.json()) as { keys: { kid: string }[] };
      assert.deepEqual(await plain.json(), body);
      assert.equal(body.keys.length, 1);
    });

    it("answers If-None-Match with 304 and no body while the document is unchanged", async () => {
      const first = await get("/.well-known/jwks");
      const etag = first.headers.get("etag")!;
      await first.arrayBuffer();
      for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
        const again = await get("/.well-known/jwks", { "if-none-match": ifNoneMatch });
        assert.equal(again.status, 304, ifNoneMatch);
        assert.equal(again.headers.get("etag"), etag);
        assert.equal(again.headers.get("cache-control"), "public, max-age=120");
        assert.equal(await again.text(), "");
      }
      const other = await get("/.well-known/jwks", { "if-none-match": '"something-else"' });
      assert.equal(other.status, 200);
      assert.equal(((await other.json()) as { keys: unknown[] }).keys.length, 1);
    });

    it("serves discovery the same way at both well-known paths", async () => {
      const oidc = await get("/.well-known/openid-configuration");
      const rfc8414 = await get("/.well-known/oauth-authorization-server");
      const etag = oidc.headers.get("etag");
      assert.match(etag ?? "", /^"[A-Za-z0-9_-]{43}"$/);
      assert.equal(rfc8414.headers.get("etag"), etag);
      assert.equal(oidc.headers.get("cache-control"), "public, max-age=300");
      const metadata = (await oidc.json()) as { issuer: string; jwks_uri: string };
      assert.equal(metadata.issuer, server.url);
      assert.deepEqual(await rfc8414.json(), metadata);
      const revalidated = await get("/.well-known/openid-configuration", { "if-none-match": etag! });
      assert.equal(revalidated.status, 304);
      assert.equal(await revalidated.text(), "");
    });

    it("changes the JWKS and its ETag when `latchkey keys rotate` runs in another process", async () => {
      const before = await get("/.well-known/jwks");
      const oldEtag = before.headers.get("etag")!;
      const oldKids = ((await before.json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
      const target = server.database.target;
      const rotate = runCli(["keys", "rotate", "--activate-in", "300"], {
        env: {
          DATABASE_URL: target.kind === "sqlite" ? `sqlite:${target.path}` : target.url,
          LATCHKEY_MASTER_KEY: server.config.masterKey!.toString("base64"),
          ISSUER_URL: server.url,
        },
      });
      assert.equal((await rotate.exited).code, 0, rotate.output());
      const { kid } = JSON.parse(rotate.output().slice(rotate.output().search(/^\{/m))) as { kid: string };

      const stale = await get("/.well-known/jwks", { "if-none-match": oldEtag });
      assert.equal(stale.status, 200, "the old ETag no longer matches");
      const newEtag = stale.headers.get("etag");
      assert.notEqual(newEtag, oldEtag);
      const kids = ((await stale.json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid).sort();
      assert.deepEqual(kids, [...oldKids, kid].sort(), "the new key is published before it signs");
      const fresh = await get("/.well-known/jwks.json", { "if-none-match": newEtag! });
      assert.equal(fresh.status, 304);
    });
  });
}
