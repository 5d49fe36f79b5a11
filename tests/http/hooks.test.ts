// The request-wide hooks run as callbacks (no promise per request), the OpenAPI document and its
// reference are built on first use, and the schema compilers load lazily: none of it may change
// what a client sees.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Fastify from "fastify";
import { lazySerializers } from "../../src/http/lazy-serializers.js";
import { managementToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

describe("request-wide hooks and lazily built documentation (sqlite)", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer("sqlite");
  });
  after(async () => server?.close());

  const get = (path: string, init: RequestInit = {}) =>
    fetch(`${server.url}${path}`, { redirect: "manual", ...init });

  it("refuses a NUL in the query string or a path parameter, and only a real NUL", async () => {
    const nul = await get("/oauth2/v2/user_profile?x=%00");
    assert.equal(nul.status, 400);
    assert.equal(((await nul.json()) as { error: string }).error, "invalid_request");
    // Percent-encoded "%00" is the text "%00", not a NUL: it reaches the handler (no bearer: 401).
    const text = await get("/oauth2/v2/user_profile?x=%2500");
    assert.equal(text.status, 401);
    await text.arrayBuffer();
    const param = await get("/api/v1/applications/ab%00cd", {
      headers: { authorization: `Bearer ${await managementToken(server)}` },
    });
    assert.equal(param.status, 400);
    assert.equal(((await param.json()) as { errors: { code: string }[] }).errors[0]?.code, "INVALID_REQUEST");
  });

  it("puts the security headers and the request id on every answer, 304s included", async () => {
    const jwks = await get("/.well-known/jwks", { headers: { "x-request-id": "trace-123" } });
    const etag = jwks.headers.get("etag")!;
    await jwks.arrayBuffer();
    const revalidated = await get("/.well-known/jwks", { headers: { "if-none-match": etag } });
    for (const response of [jwks, revalidated]) {
      assert.equal(response.headers.get("x-content-type-options"), "nosniff");
      assert.equal(response.headers.get("referrer-policy"), "no-referrer");
      assert.equal(response.headers.get("x-frame-options"), "DENY");
      assert.equal(response.headers.get("cross-origin-opener-policy"), "same-origin");
      assert.equal(response.headers.get("content-security-policy"), null, "only pages carry a CSP");
    }
    assert.equal(jwks.headers.get("x-request-id"), "trace-123");
    assert.match(revalidated.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
    assert.equal(revalidated.status, 304);
    assert.equal(revalidated.headers.get("cache-control"), "public, max-age=120");
    const page = await get("/api/docs");
    assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'none'/);
    assert.equal(page.headers.get("cache-control"), "no-store");
    await page.arrayBuffer();
  });

  it("puts them on the errors Fastify raises before routing too (a malformed URL)", async () => {
    for (const path of ["/api/v1/users/%E0%A4%A", "/oauth2/v2/user_profile/%E0%A4%A"]) {
      const response = await get(path, { headers: { "x-request-id": "trace-456" } });
      assert.equal(response.status, 400, path);
      assert.equal(response.headers.get("x-content-type-options"), "nosniff", path);
      assert.equal(response.headers.get("referrer-policy"), "no-referrer", path);
      assert.equal(response.headers.get("x-frame-options"), "DENY", path);
      assert.equal(response.headers.get("cross-origin-opener-policy"), "same-origin", path);
      assert.equal(response.headers.get("x-request-id"), "trace-456", path);
      await response.arrayBuffer();
    }
  });

  it("serves the API reference as the plugin did: HEAD sized like GET, own 404s, redirects, 304s", async () => {
    const [document, referenceJson] = await Promise.all([
      get("/api/openapi.json").then((r) => r.json()),
      get("/api/docs/json").then((r) => r.json()),
    ]);
    assert.deepEqual(referenceJson, document);
    for (const path of ["/api/docs", "/api/docs/static/swagger-ui.css", "/api/docs/yaml"]) {
      const full = await get(path);
      const body = Buffer.from(await full.arrayBuffer());
      assert.equal(full.status, 200, path);
      assert.ok(body.length > 0);
      const head = await get(path, { method: "HEAD" });
      assert.equal(head.status, 200, path);
      assert.equal(head.headers.get("content-length"), String(body.length), `HEAD ${path}`);
      assert.equal(head.headers.get("content-type"), full.headers.get("content-type"));
    }
    const redirect = await get("/api/docs/static/index.html");
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.get("location"), "/api/docs/");
    assert.equal(redirect.headers.get("content-type"), null, "no body, so no type");
    const asset = await get("/api/docs/static/swagger-ui.css");
    await asset.arrayBuffer();
    // inject(): fetch adds `cache-control: no-cache` to a conditional request, which rules out a 304.
    const cached = await server.app.inject({
      url: "/api/docs/static/swagger-ui.css",
      headers: { "if-none-match": asset.headers.get("etag")! },
    });
    assert.equal(cached.statusCode, 304);
    assert.equal(cached.body, "");
    for (const path of [
      "/api/docs/static/missing.js",
      "/api/docs/missing",
      "/api/docs/static/../../package.json",
    ]) {
      const missing = await get(path);
      assert.equal(missing.status, 404, path);
      assert.deepEqual(await missing.json(), {
        errors: { code: "ROUTE_NOT_FOUND", message: "The requested API route does not exist" },
      });
    }
    const post = await get("/api/docs", { method: "POST" });
    assert.equal(post.status, 404);
    await post.arrayBuffer();
  });
});

describe("lazily loaded schema compilers", () => {
  it("validate and serialize as Fastify's defaults do", async () => {
    const app = Fastify({ schemaController: lazySerializers });
    app.post(
      "/echo",
      {
        schema: {
          body: { type: "object", required: ["n"], properties: { n: { type: "integer" } } },
          response: { 200: { type: "object", properties: { n: { type: "integer" } } } },
        },
      },
      async (request) => ({ n: (request.body as { n: number }).n, secret: "not in the schema" }),
    );
    const ok = await app.inject({ method: "POST", url: "/echo", payload: { n: 7 } });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.body, '{"n":7}', "fast-json-stringify drops what the schema does not name");
    const bad = await app.inject({ method: "POST", url: "/echo", payload: { n: "seven" } });
    assert.equal(bad.statusCode, 400);
    await app.close();
  });
});
