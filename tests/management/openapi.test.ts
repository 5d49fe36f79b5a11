import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../helpers/server.js";

describe("Management API OpenAPI document", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer("sqlite");
  });
  after(async () => server?.close());

  it("documents every /api/v1 operation with its scope, and nothing else", async () => {
    const response = await fetch(`${server.url}/api/v1/openapi.json`);
    assert.equal(response.status, 200);
    const doc = (await response.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { "x-scope"?: string; security?: unknown[] }>>;
      components: { securitySchemes: Record<string, unknown> };
    };
    assert.match(doc.openapi, /^3\./);
    assert.ok(doc.components.securitySchemes.kindeBearerAuth);
    const paths = Object.keys(doc.paths);
    assert.ok(paths.includes("/api/v1/applications"));
    assert.ok(paths.includes("/api/v1/applications/{app_id}/auth_redirect_urls"));
    assert.ok(
      paths.every((p) => p.startsWith("/api/v1/")),
      "OAuth and page routes are not documented here",
    );
    for (const [path, operations] of Object.entries(doc.paths)) {
      if (path === "/api/v1/openapi.json") continue;
      for (const [method, operation] of Object.entries(operations)) {
        // Public operations (Kinde's API key verification) say so: no token, no scope.
        if (Array.isArray(operation.security) && operation.security.length === 0) {
          assert.equal(operation["x-scope"], undefined, `${method.toUpperCase()} ${path} is public`);
          continue;
        }
        assert.match(
          operation["x-scope"] ?? "",
          /^[a-z_]+:[a-z_]+$/,
          `${method.toUpperCase()} ${path} names its scope`,
        );
      }
    }
    assert.equal(doc.paths["/api/v1/applications"]!.post!["x-scope"], "create:applications");
    assert.deepEqual(doc.paths["/api/v1/api_keys/verify"]!.post!.security, [], "the one public operation");
    assert.deepEqual(
      await (await fetch(`${server.url}/api/openapi.json`)).json(),
      doc,
      "served at /api/openapi.json too",
    );
  });

  it("serves an interactive reference page from its own assets", async () => {
    const page = await fetch(`${server.url}/api/docs/static/index.html`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /text\/html/);
    const html = await page.text();
    assert.doesNotMatch(html, /<script[^>]+src="https?:/, "no third-party scripts");
  });
});
