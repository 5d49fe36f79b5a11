import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { callApi, managementToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`Management API: applications and callbacks (${kind})`, { skip }, () => {
    let server: TestServer;
    let token: string;
    before(async () => {
      server = await startTestServer(kind);
      token = await managementToken(server);
    });
    after(async () => server?.close());

    it("creates, reads, lists, updates and deletes an application", async () => {
      const created = await callApi<{
        application: { id: string; client_id: string; client_secret: string };
      }>(server, "POST", "/api/v1/applications", { token, body: { name: "Web", type: "reg" } });
      assert.equal(created.status, 201);
      const { id, client_secret } = created.body.application;
      assert.match(id, /^[0-9a-f]{32}$/);
      assert.match(client_secret, /^[A-Za-z0-9]{52}$/);

      const read = await callApi<{ application: Record<string, unknown> }>(
        server,
        "GET",
        `/api/v1/applications/${id}`,
        { token },
      );
      assert.equal(read.status, 200);
      assert.equal(read.body.application.name, "Web");
      assert.equal(read.body.application.type, "reg");
      assert.equal(
        read.body.application.client_secret,
        client_secret,
        "administrators can retrieve the secret",
      );

      const patched = await callApi(server, "PATCH", `/api/v1/applications/${id}`, {
        token,
        body: {
          name: "Web app",
          redirect_uris: ["https://app.example.com/cb"],
          logout_uris: ["https://app.example.com"],
        },
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      const redirects = await callApi(server, "GET", `/api/v1/applications/${id}/auth_redirect_urls`, {
        token,
      });
      assert.deepEqual(redirects.body, { redirect_urls: ["https://app.example.com/cb"] });

      const list = await callApi<{ applications: { id: string; name: string }[] }>(
        server,
        "GET",
        "/api/v1/applications?page_size=500",
        { token },
      );
      assert.ok(list.body.applications.some((a) => a.id === id && a.name === "Web app"));

      const deleted = await callApi(server, "DELETE", `/api/v1/applications/${id}`, { token });
      assert.deepEqual(deleted.body, { code: "OK", message: "Application successfully deleted" });
      const gone = await callApi(server, "GET", `/api/v1/applications/${id}`, { token });
      assert.equal(gone.status, 400);
      assert.deepEqual(gone.body, {
        errors: [{ code: "APPLICATION_NOT_FOUND", message: "Application not found" }],
      });
    });

    it("pages with next_token and refuses pages over 500", async () => {
      for (let i = 0; i < 5; i++) {
        await callApi(server, "POST", "/api/v1/applications", {
          token,
          body: { name: `Paged ${i}`, type: "spa" },
        });
      }
      const seen = new Set<string>();
      let next: string | undefined;
      let pages = 0;
      do {
        const response: { body: { applications: { id: string }[]; next_token?: string } } = await callApi(
          server,
          "GET",
          `/api/v1/applications?page_size=2&sort=name_asc${next ? `&next_token=${next}` : ""}`,
          { token },
        );
        for (const a of response.body.applications) {
          assert.ok(!seen.has(a.id), "no application twice");
          seen.add(a.id);
        }
        next = response.body.next_token;
        pages++;
      } while (next && pages < 20);
      assert.ok(seen.size >= 6, "every application seen (5 created + bootstrap)");
      const tooBig = await callApi(server, "GET", "/api/v1/applications?page_size=501", { token });
      assert.equal(tooBig.status, 400);
      assert.equal((tooBig.body.errors as { code: string }[])[0]!.code, "PAGE_SIZE_LIMIT_EXCEEDED");
      const badToken = await callApi(server, "GET", "/api/v1/applications?next_token=garbage", { token });
      assert.equal(badToken.status, 400);
    });

    it("adds, replaces and deletes callback and logout URLs, validating each", async () => {
      const { body } = await callApi<{ application: { id: string } }>(
        server,
        "POST",
        "/api/v1/applications",
        { token, body: { name: "SPA", type: "spa" } },
      );
      const base = `/api/v1/applications/${body.application.id}`;
      assert.equal(
        (
          await callApi(server, "POST", `${base}/auth_redirect_urls`, {
            token,
            body: { urls: ["https://a.example/cb", "http://localhost:3000/cb"] },
          })
        ).status,
        200,
      );
      const bad = await callApi(server, "POST", `${base}/auth_redirect_urls`, {
        token,
        body: { urls: ["http://evil.example/cb"] },
      });
      assert.equal(bad.status, 400);
      assert.equal((bad.body.errors as { code: string }[])[0]!.code, "INVALID_URL");
      await callApi(
        server,
        "DELETE",
        `${base}/auth_redirect_urls?urls=${encodeURIComponent("https://a.example/cb")}`,
        { token },
      );
      assert.deepEqual((await callApi(server, "GET", `${base}/auth_redirect_urls`, { token })).body, {
        redirect_urls: ["http://localhost:3000/cb"],
      });
      await callApi(server, "PUT", `${base}/auth_logout_urls`, {
        token,
        body: { urls: ["https://a.example/"] },
      });
      assert.deepEqual((await callApi(server, "GET", `${base}/auth_logout_urls`, { token })).body, {
        logout_urls: ["https://a.example/"],
        code: "OK",
        message: "Success",
      });
    });

    it("sets token lifetimes that the token endpoint then uses", async () => {
      const { body } = await callApi<{ application: { id: string; client_secret: string } }>(
        server,
        "POST",
        "/api/v1/applications",
        { token, body: { name: "Worker", type: "m2m" } },
      );
      const { id, client_secret } = body.application;
      assert.equal(
        (
          await callApi(server, "PATCH", `/api/v1/applications/${id}/tokens`, {
            token,
            body: { access_token_lifetime: 600 },
          })
        ).status,
        200,
      );
      const issued = await fetch(`${server.url}/oauth2/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "client_credentials", client_id: id, client_secret }),
      });
      assert.equal(((await issued.json()) as { expires_in: number }).expires_in, 600);
      const invalid = await callApi(server, "PATCH", `/api/v1/applications/${id}/tokens`, {
        token,
        body: { access_token_lifetime: "forever" },
      });
      assert.equal(invalid.status, 400);
    });

    it("honours Idempotency-Key: a retried create returns the first result and makes one row", async () => {
      const before = (await server.services.applications.store.list()).length;
      const send = () =>
        callApi<{ application: { id: string } }>(server, "POST", "/api/v1/applications", {
          token,
          body: { name: "Once", type: "reg" },
          headers: { "idempotency-key": "create-once-1" },
        });
      const [a, b] = await Promise.all([send(), send()]);
      const c = await send();
      assert.equal(a.status, 201);
      assert.equal(b.body.application.id, a.body.application.id);
      assert.equal(c.body.application.id, a.body.application.id);
      assert.equal(c.headers.get("idempotent-replayed"), "true");
      assert.equal((await server.services.applications.store.list()).length, before + 1);
      const reused = await callApi(server, "POST", "/api/v1/applications", {
        token,
        body: { name: "Different", type: "reg" },
        headers: { "idempotency-key": "create-once-1" },
      });
      assert.equal(reused.status, 422);
    });

    it("stops honouring a scope as soon as it is taken away, before the token expires", async () => {
      const worker = await callApi<{ application: { id: string; client_secret: string } }>(
        server,
        "POST",
        "/api/v1/applications",
        {
          token,
          body: { name: "Ops bot", type: "m2m" },
        },
      );
      const { id, client_secret } = worker.body.application;
      const api = (await server.services.apis.store.findManagementApi())!;
      await server.services.apis.authorizeApplication(api.id, id);
      await server.services.apis.grantScopes(api.id, id, ["read:applications"]);
      const issued = await fetch(`${server.url}/oauth2/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: id,
          client_secret,
          audience: `${server.url}/api`,
        }),
      });
      const botToken = ((await issued.json()) as { access_token: string }).access_token;
      assert.equal((await callApi(server, "GET", "/api/v1/applications", { token: botToken })).status, 200);
      await callApi(server, "PATCH", `/api/v1/apis/${api.id}/applications`, {
        token,
        body: { applications: [{ id, operation: "delete" }] },
      });
      assert.equal((await callApi(server, "GET", "/api/v1/applications", { token: botToken })).status, 403);
    });

    it("rejects missing, bad, wrong-audience and under-scoped tokens", async () => {
      const none = await fetch(`${server.url}/api/v1/applications`);
      assert.equal(none.status, 401);
      assert.match(none.headers.get("www-authenticate") ?? "", /^Bearer/);
      const garbage = await callApi(server, "GET", "/api/v1/applications", { token: "not.a.jwt" });
      assert.equal(garbage.status, 401);
      const readOnly = await managementToken(server, "read:applications");
      const forbidden = await callApi(server, "POST", "/api/v1/applications", {
        token: readOnly,
        body: { name: "x", type: "reg" },
      });
      assert.equal(forbidden.status, 403);
      assert.match(forbidden.headers.get("www-authenticate") ?? "", /insufficient_scope/);
      const inQuery = await fetch(`${server.url}/api/v1/applications?access_token=${token}`);
      assert.equal(inQuery.status, 400);
    });
  });
}
