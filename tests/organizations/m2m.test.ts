// Kinde's org-scoped machine-to-machine applications: `org_code` on POST /api/v1/applications puts
// that organization in every client-credentials token the application gets (judged by
// openid-client), is refused for other kinds and unknown organizations, keeps the application out
// of the environment-wide Management API, and goes away with its organization.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { decodeJwt } from "jose";
import * as client from "openid-client";
import { databaseKinds } from "../helpers/databases.js";
import { createApi } from "../helpers/fixtures.js";
import { callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

type Json = Record<string, unknown>;
interface Created {
  application: { id: string; client_id: string; client_secret: string | null };
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`Org-scoped M2M applications (${kind})`, { skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(async () => server?.close());

    const api = <T = Json>(method: string, path: string, body?: unknown) =>
      callApi<T>(server, method, path, body === undefined ? {} : { body });

    async function createOrganization(name: string): Promise<string> {
      const created = await api<{ organization: { code: string } }>("POST", "/api/v1/organization", { name });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      return created.body.organization.code;
    }

    async function clientCredentials(app: Created["application"], audience: string) {
      const config = await client.discovery(
        new URL(server.url),
        app.client_id,
        undefined,
        client.ClientSecretBasic(app.client_secret!),
        { execute: [client.allowInsecureRequests] },
      );
      return client.clientCredentialsGrant(config, { audience });
    }

    it("puts the organization's code in every client-credentials token of the application", async () => {
      const orgCode = await createOrganization("Acme Robotics");
      const created = await api<Created>("POST", "/api/v1/applications", {
        name: "Acme's nightly sync",
        type: "m2m",
        org_code: orgCode,
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const plain = await api<Created>("POST", "/api/v1/applications", {
        name: "Global worker",
        type: "m2m",
      });
      assert.equal(plain.status, 201);
      const audience = `https://orders-${randomBytes(4).toString("hex")}.example.com`;
      await createApi(server, {
        audience,
        scopes: ["read:orders"],
        grant: {
          [created.body.application.id]: ["read:orders"],
          [plain.body.application.id]: ["read:orders"],
        },
      });

      const scoped = await clientCredentials(created.body.application, audience);
      const claims = decodeJwt(scoped.access_token);
      assert.equal(claims.org_code, orgCode);
      assert.equal(claims.azp, created.body.application.client_id);
      assert.deepEqual(claims.gty, ["client_credentials"]);
      assert.equal(scoped.scope, "read:orders");
      // An application without org_code acts for the environment: no org_code claim at all.
      assert.equal(
        decodeJwt((await clientCredentials(plain.body.application, audience)).access_token).org_code,
        undefined,
      );
    });

    it("refuses org_code on other kinds and for an unknown organization, creating nothing", async () => {
      const orgCode = await createOrganization("Kinds Ltd");
      const before = await api<{ applications: unknown[] }>("GET", "/api/v1/applications?page_size=500");
      for (const type of ["reg", "spa"]) {
        const refused = await api<{ errors: { code: string }[] }>("POST", "/api/v1/applications", {
          name: "Org web app",
          type,
          org_code: orgCode,
        });
        assert.equal(refused.status, 400);
        assert.equal(refused.body.errors[0]!.code, "INVALID_REQUEST");
      }
      const unknown = await api<{ errors: { code: string }[] }>("POST", "/api/v1/applications", {
        name: "Ghost org worker",
        type: "m2m",
        org_code: "org_00000000000",
      });
      assert.equal(unknown.status, 400);
      assert.equal(unknown.body.errors[0]!.code, "ORGANIZATION_INVALID");
      const after = await api<{ applications: unknown[] }>("GET", "/api/v1/applications?page_size=500");
      assert.equal(after.body.applications.length, before.body.applications.length);
    });

    it("keeps an organization's application out of the Management API, even when authorised", async () => {
      const orgCode = await createOrganization("Overreach Inc");
      const created = await api<Created>("POST", "/api/v1/applications", {
        name: "Overreaching worker",
        type: "m2m",
        org_code: orgCode,
      });
      const apis = await api<{ apis: { id: string; audience: string }[] }>("GET", "/api/v1/apis");
      const management = apis.body.apis.find((a) => a.audience === `${server.url}/api`)!;
      await server.services.apis.authorizeApplication(management.id, created.body.application.id);
      await server.services.apis.grantScopes(management.id, created.body.application.id, ["read:users"]);
      const token = await clientCredentials(created.body.application, `${server.url}/api`);
      const call = await callApi<{ errors: { code: string }[] }>(server, "GET", "/api/v1/users", {
        token: token.access_token,
      });
      assert.equal(call.status, 403);
      assert.equal(call.body.errors[0]!.code, "FORBIDDEN");
    });

    it("deleting the organization deletes its applications; their credentials stop working", async () => {
      const orgCode = await createOrganization("Short-lived Co");
      const created = await api<Created>("POST", "/api/v1/applications", {
        name: "Short-lived worker",
        type: "m2m",
        org_code: orgCode,
      });
      const audience = `https://short-${randomBytes(4).toString("hex")}.example.com`;
      await createApi(server, {
        audience,
        scopes: ["ping"],
        grant: { [created.body.application.id]: ["ping"] },
      });
      assert.ok((await clientCredentials(created.body.application, audience)).access_token);

      assert.equal((await api("DELETE", `/api/v1/organization/${orgCode}`)).status, 200);
      assert.equal((await api("GET", `/api/v1/applications/${created.body.application.id}`)).status, 400);
      // RFC 6749 §5.2: HTTP Basic client authentication failed → 401, a Basic challenge, invalid_client.
      const refused = await clientCredentials(created.body.application, audience).then(
        () => assert.fail("a deleted application got a token"),
        (error: unknown) => error,
      );
      assert.ok(refused instanceof client.WWWAuthenticateChallengeError, String(refused));
      assert.equal(refused.status, 401);
      assert.equal(refused.cause[0]?.scheme, "basic");
      assert.equal(((await refused.response.json()) as Json).error, "invalid_client");
    });
  });
}
