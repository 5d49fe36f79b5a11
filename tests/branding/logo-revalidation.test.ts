// The public logo route answers a revalidation (If-None-Match with the current ETag) with 304
// without reading the logo's bytes (security review L2: up to 1 MiB per request otherwise). The
// route runs over the test server's real database through a Kysely plugin that only records which
// columns each query reads; a changed logo is still served whole, with its new ETag. Both databases.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Fastify from "fastify";
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs } from "kysely";
import { registerLogoFileRoutes } from "../../src/branding/logo-files.routes.js";
import { databaseKinds } from "../helpers/databases.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { PNG_1PX, uploadLogo } from "./logo-upload.js";

/** Records each query's syntax tree as JSON (and changes nothing). */
class QueryRecorder implements KyselyPlugin {
  readonly queries: string[] = [];
  transformQuery(args: PluginTransformQueryArgs) {
    this.queries.push(JSON.stringify(args.node));
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs) {
    return args.result;
  }
}

/** Whether a recorded query reads the logo's bytes: names the `data` column or selects all. */
const readsBytes = (query: string) => query.includes('"name":"data"') || query.includes("SelectAllNode");

for (const { kind, skip } of await databaseKinds()) {
  describe(`Logo revalidation (${kind})`, { skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(async () => server?.close());

    it("answers 304 without loading the bytes, and serves a new logo whole", async () => {
      const put = await uploadLogo(server, "PUT", "/api/v1/environment/logos/light", {
        data: PNG_1PX,
        name: "light.png",
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const recorder = new QueryRecorder();
      const app = Fastify();
      registerLogoFileRoutes(app, server.storage.db.withPlugin(recorder));
      try {
        const first = await app.inject({ method: "GET", url: "/logos/environment/light" });
        assert.equal(first.statusCode, 200);
        assert.deepEqual(first.rawPayload, PNG_1PX);
        const etag = first.headers.etag as string;
        assert.match(etag, /^"[0-9a-f]{64}"$/);

        recorder.queries.length = 0;
        const again = await app.inject({
          method: "GET",
          url: "/logos/environment/light",
          headers: { "if-none-match": etag },
        });
        assert.equal(again.statusCode, 304);
        assert.equal(again.headers.etag, etag);
        assert.ok(recorder.queries.length > 0, "the route looked the logo up");
        assert.equal(recorder.queries.filter(readsBytes).length, 0, recorder.queries.join("\n"));

        // Replaced: the old ETag no longer matches, the new bytes come whole.
        const svg =
          '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect width="1" height="1"/></svg>';
        const replaced = await uploadLogo(server, "PUT", "/api/v1/environment/logos/light", {
          data: svg,
          type: "image/svg+xml",
          name: "light.svg",
        });
        assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
        const changed = await app.inject({
          method: "GET",
          url: "/logos/environment/light",
          headers: { "if-none-match": etag },
        });
        assert.equal(changed.statusCode, 200);
        assert.equal(changed.headers["content-type"], "image/svg+xml");
        assert.equal(changed.body, svg);
        assert.notEqual(changed.headers.etag, etag);
      } finally {
        await app.close();
      }
    });
  });
}
