import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { runScript } from "../helpers/process.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { selfSignedCertificate } from "../helpers/tls.js";

interface Step {
  step: string;
  ok: boolean;
  value?: Record<string, unknown>;
  error?: { status: number; body: unknown };
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`@kinde/management-api-js against Latchkey over HTTPS (${kind})`, { skip }, () => {
    const certificate = selfSignedCertificate();
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind, { tls: certificate });
    });
    after(async () => {
      await server?.close();
      certificate.remove();
    });

    it("manages applications and callback URLs with one token for every call", async () => {
      const run = runScript("tests/flows/kinde-management-client.ts", {
        env: {
          KINDE_DOMAIN: new URL(server.url).host,
          KINDE_MANAGEMENT_CLIENT_ID: server.management.clientId,
          KINDE_MANAGEMENT_CLIENT_SECRET: server.management.clientSecret,
          NODE_EXTRA_CA_CERTS: certificate.certFile,
        },
      });
      const { code } = await run.exited;
      assert.equal(code, 0, run.output());
      const steps = new Map(
        run
          .output()
          .split("\n")
          .filter((line) => line.startsWith("{"))
          .map((line) => JSON.parse(line) as Step)
          .map((s) => [s.step, s]),
      );
      for (const name of [
        "createApplication",
        "getApplication",
        "addRedirectCallbackUrls",
        "getCallbackUrls",
        "getApplications",
        "deleteApplication",
      ]) {
        assert.ok(steps.get(name)?.ok, `${name}: ${JSON.stringify(steps.get(name))}`);
      }
      assert.equal(
        steps.get("getApplication")!.value!.application &&
          (steps.get("getApplication")!.value!.application as { name: string }).name,
        "Made by management-api-js",
      );
      assert.deepEqual(steps.get("getCallbackUrls")!.value, {
        redirect_urls: ["https://app.example.com/callback"],
      });
      assert.equal((steps.get("getApplications")!.value!.applications as unknown[]).length, 2);
      const deleted = steps.get("getDeletedApplication")!;
      assert.equal(deleted.ok, false);
      assert.equal(deleted.error!.status, 400);

      // The client reuses its token while `aud` holds <domain>/api (COMPAT.md §3.2): one fetch.
      const tokenRequests = server.logs.lines.filter(
        (l) => l.includes('"url":"/oauth2/token"') && l.includes("incoming request"),
      );
      assert.equal(tokenRequests.length, 1, "one token request served every call");
    });
  });
}
