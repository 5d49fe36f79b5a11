// Kinde's logo operations (issue 19): /api/v1/environment/logos and /api/v1/organizations/{org_code}/logos
// — multipart uploads with a "logo" file part, read back, deleted (200, then 204) — each with its
// scope, and hostile uploads refused in Kinde's error shape: bytes that are no image whatever their
// declared type and name (HTML named logo.png), a file over 1 MiB (413), SVG carrying script or
// event handlers, a JSON body, a wrong part name. The public copy is served with the type found in
// the bytes, nosniff, a sandboxing CSP, inline disposition, an ETag and a long cache only under its
// content hash. GET /api/v1/environment reports the logos and colours. On both databases.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { callApi, managementToken, narrowMachineToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { PNG_1PX, uploadLogo } from "./logo-upload.js";

const CLEAN_SVG =
  '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><defs><linearGradient id="g"><stop offset="0" stop-color="#f00"/></linearGradient></defs><rect width="10" height="10" fill="url(#g)"/></svg>';

type Json = Record<string, unknown>;
const errorCode = (body: unknown) => (body as { errors?: { code: string }[] }).errors?.[0]?.code;

for (const { kind, skip } of await databaseKinds()) {
  describe(`Logos over the Management API (${kind})`, { skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(async () => server?.close());

    it("uploads, reads, serves and deletes the environment's logo", async () => {
      const put = await uploadLogo(server, "PUT", "/api/v1/environment/logos/light", {
        data: PNG_1PX,
        // The declared type is ignored: the bytes decide.
        type: "application/octet-stream",
        name: "../../etc/acme\u0000light.png",
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.deepEqual(put.body, { code: "OK", message: "Logo successfully updated" });

      const list = await callApi<{ logos: Json[] }>(server, "GET", "/api/v1/environment/logos");
      assert.equal(list.status, 200);
      assert.deepEqual(list.body.logos, [{ type: "light", file_name: "acmelight.png" }]);

      const env = await callApi<{ environment: Json }>(server, "GET", "/api/v1/environment");
      assert.equal(env.status, 200, JSON.stringify(env.body));
      const logoUrl = env.body.environment.logo as string;
      assert.match(logoUrl, /\/logos\/environment\/light\?v=[0-9a-f]{16}$/);
      assert.equal(env.body.environment.logo_dark, null);
      assert.equal(env.body.environment.kinde_domain, new URL(server.url).host);
      assert.equal(env.body.environment.theme_code, "user_preference");
      assert.equal(env.body.environment.color_scheme, "light dark");

      const served = await fetch(logoUrl);
      assert.equal(served.status, 200);
      assert.equal(served.headers.get("content-type"), "image/png");
      assert.equal(served.headers.get("x-content-type-options"), "nosniff");
      assert.match(served.headers.get("content-security-policy") ?? "", /sandbox/);
      assert.match(served.headers.get("content-disposition") ?? "", /^inline/);
      assert.match(served.headers.get("cache-control") ?? "", /immutable/);
      const etag = served.headers.get("etag")!;
      assert.deepEqual(Buffer.from(await served.arrayBuffer()), PNG_1PX);
      // Without the version, the browser revalidates; the ETag answers 304.
      const unversioned = await fetch(logoUrl.replace(/\?.*$/, ""));
      assert.equal(unversioned.headers.get("cache-control"), "public, no-cache");
      await unversioned.arrayBuffer();
      const again = await fetch(logoUrl, { headers: { "if-none-match": etag } });
      assert.equal(again.status, 304);

      const deleted = await callApi(server, "DELETE", "/api/v1/environment/logos/light");
      assert.equal(deleted.status, 200);
      const none = await fetch(`${server.url}/api/v1/environment/logos/light`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${await managementToken(server)}` },
      });
      assert.equal(none.status, 204);
      assert.equal((await fetch(logoUrl)).status, 404);
    });

    it("refuses what is not a safe image, in Kinde's error shape", async () => {
      const path = "/api/v1/environment/logos/dark";
      const cases: [string, Parameters<typeof uploadLogo>[3], number, string][] = [
        [
          "HTML named logo.png",
          { data: "<html><script>alert(1)</script></html>", type: "image/png" },
          400,
          "INVALID_REQUEST",
        ],
        ["random bytes", { data: Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9]) }, 400, "INVALID_REQUEST"],
        ["an empty file", { data: Buffer.alloc(0) }, 400, "INVALID_REQUEST"],
        [
          "SVG with a script",
          {
            data: '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            type: "image/svg+xml",
          },
          400,
          "INVALID_REQUEST",
        ],
        [
          "SVG with an event handler",
          { data: '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', type: "image/svg+xml" },
          400,
          "INVALID_REQUEST",
        ],
        [
          "SVG with an external image",
          {
            data: '<svg xmlns="http://www.w3.org/2000/svg"><image href="https://evil.example/x.png"/></svg>',
          },
          400,
          "INVALID_REQUEST",
        ],
        [
          "SVG with a DTD",
          {
            data: '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "b">]><svg xmlns="http://www.w3.org/2000/svg"/>',
          },
          400,
          "INVALID_REQUEST",
        ],
        [
          "over 1 MiB",
          { data: Buffer.concat([PNG_1PX, Buffer.alloc(1024 * 1024)]) },
          413,
          "PAYLOAD_TOO_LARGE",
        ],
        ["a part not named logo", { data: PNG_1PX, field: "file" }, 400, "INVALID_REQUEST"],
        ["a JSON body", JSON.stringify({ logo: "iVBOR" }), 415, "UNSUPPORTED_MEDIA_TYPE"],
      ];
      for (const [what, file, status, code] of cases) {
        const answer = await uploadLogo(server, "PUT", path, file);
        assert.equal(answer.status, status, `${what}: ${JSON.stringify(answer.body)}`);
        assert.equal(errorCode(answer.body), code, what);
      }
      const two = new FormData();
      two.append("logo", new Blob([PNG_1PX]), "a.png");
      two.append("logo", new Blob([PNG_1PX]), "b.png");
      const twice = await uploadLogo(server, "PUT", path, two);
      assert.ok(twice.status >= 400 && twice.status < 500, JSON.stringify(twice.body));
      assert.ok(errorCode(twice.body));
      const wrongType = await uploadLogo(server, "PUT", "/api/v1/environment/logos/favicon", {
        data: PNG_1PX,
      });
      assert.equal(wrongType.status, 400);
      assert.equal(errorCode(wrongType.body), "INVALID_REQUEST");
      // Nothing was stored by any of them.
      const list = await callApi<{ logos: Json[] }>(server, "GET", "/api/v1/environment/logos");
      assert.deepEqual(list.body.logos, []);
    });

    it("serves an accepted SVG as an image, sandboxed", async () => {
      const put = await uploadLogo(server, "PUT", "/api/v1/environment/logos/dark", {
        data: CLEAN_SVG,
        type: "text/html",
        name: "mark.svg",
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const served = await fetch(`${server.url}/logos/environment/dark`);
      assert.equal(served.headers.get("content-type"), "image/svg+xml");
      assert.equal(
        served.headers.get("content-security-policy"),
        "default-src 'none'; style-src 'unsafe-inline'; sandbox",
      );
      assert.equal(served.headers.get("x-content-type-options"), "nosniff");
      assert.equal(await served.text(), CLEAN_SVG);
      await callApi(server, "DELETE", "/api/v1/environment/logos/dark");
    });

    it("checks each operation's scope", async () => {
      const { token } = await narrowMachineToken(server, ["read:environments", "read:organizations"]);
      const put = await uploadLogo(
        server,
        "PUT",
        "/api/v1/environment/logos/light",
        { data: PNG_1PX },
        token,
      );
      assert.equal(put.status, 403);
      assert.equal(errorCode(put.body), "FORBIDDEN");
      const read = await callApi(server, "GET", "/api/v1/environment/logos", { token });
      assert.equal(read.status, 200);
      const org = await server.services.organizations.create({ name: "Scoped" });
      const post = await uploadLogo(
        server,
        "POST",
        `/api/v1/organizations/${org.code}/logos/light`,
        { data: PNG_1PX },
        token,
      );
      assert.equal(post.status, 403);
      const env = await callApi(server, "GET", "/api/v1/environment", { token });
      assert.equal(env.status, 200);
      const { token: none } = await narrowMachineToken(server, ["read:users"]);
      assert.equal((await callApi(server, "GET", "/api/v1/environment", { token: none })).status, 403);
    });

    it("keeps an organization's logos, which go with the organization", async () => {
      const org = await server.services.organizations.create({ name: "Acme" });
      const path = `/api/v1/organizations/${org.code}/logos`;
      const post = await uploadLogo(server, "POST", `${path}/dark`, { data: PNG_1PX, name: "acme-dark.png" });
      assert.equal(post.status, 200, JSON.stringify(post.body));
      const list = await callApi<{ logos: { type: string; file_name: string; path: string }[] }>(
        server,
        "GET",
        path,
      );
      assert.equal(list.status, 200);
      assert.equal(list.body.logos.length, 1);
      assert.equal(list.body.logos[0]!.type, "dark");
      assert.equal(list.body.logos[0]!.file_name, "acme-dark.png");
      const served = await fetch(`${server.url}${list.body.logos[0]!.path}`);
      assert.equal(served.status, 200);
      assert.equal(served.headers.get("content-type"), "image/png");

      const missing = await uploadLogo(server, "POST", "/api/v1/organizations/org_000000000/logos/dark", {
        data: PNG_1PX,
      });
      assert.equal(missing.status, 404);
      assert.equal(errorCode(missing.body), "ORGANIZATION_NOT_FOUND");
      assert.equal((await callApi(server, "GET", "/api/v1/organizations/org_000000000/logos")).status, 404);

      const removed = await callApi(server, "DELETE", `/api/v1/organization/${org.code}`);
      assert.equal(removed.status, 200);
      assert.equal((await fetch(`${server.url}${list.body.logos[0]!.path}`)).status, 404);
    });
  });
}
