// Kinde's Management API client (@kinde/management-api-js, unchanged) drives Latchkey's connections
// (issue 17): it creates, lists (paging and the home-realm filter), reads, updates, replaces and
// deletes connections and enables them for an application and an organization. Every answer is
// checked against the client's own response schemas (the `$…` objects the package ships, generated
// from Kinde's specification like its types), every error is Kinde's {errors: [{code, message}]}
// with the status the step calls for, and the database shows what each step did. Both databases.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { assertSdkShape, runKindeScript } from "../helpers/kinde-script.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { selfSignedCertificate } from "../helpers/tls.js";

type Json = Record<string, unknown>;
interface Item {
  id: string;
  name: string;
  display_name: string;
  strategy: string;
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`@kinde/management-api-js drives connections (${kind})`, { skip }, () => {
    const certificate = selfSignedCertificate();
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind, { tls: certificate });
    });
    after(async () => {
      await server?.close();
      certificate.remove();
    });

    it("creates, lists, updates, replaces and deletes connections and enables them per application and organization", async () => {
      const tag = randomBytes(4).toString("hex");
      const { ok, refused } = await runKindeScript(
        server,
        certificate,
        "tests/connections/kinde-management-connections.ts",
        [tag],
      );
      const ids = (name: string) =>
        (ok(name, "get_connections_response").connections as Item[]).map((c) => c.id);

      const applicationId = (ok("createApplication").application as { id: string }).id;
      const orgCode = (ok("createOrganization").organization as { code: string }).code;

      refused("createConnection:unknown-strategy", 400, "INVALID_STRATEGY");
      assert.match(refused("createConnection:saml", 400, "STRATEGY_NOT_SUPPORTED"), /not supported yet/);
      assert.match(refused("createConnection:trusted", 403, "FORBIDDEN"), /Only an administrator/);

      const googleId = (ok("createConnection", "create_connection_response").connection as { id: string }).id;
      const entraId = (
        ok("createConnection:azure_ad", "create_connection_response").connection as { id: string }
      ).id;
      assert.match(googleId, /^conn_[0-9a-f]{32}$/);
      assert.match(entraId, /^conn_[0-9a-f]{32}$/);

      // Lists: in creation order, one at a time, after and before a cursor, by home-realm domain.
      const all = ok("getConnections", "get_connections_response");
      assert.equal(all.has_more, false);
      assert.deepEqual(
        (all.connections as Item[]).map(({ id, name, display_name, strategy }) => ({
          id,
          name,
          display_name,
          strategy,
        })),
        [
          { id: googleId, name: `google-${tag}`, display_name: "Google", strategy: "oauth2:google" },
          {
            id: entraId,
            name: `entra-${tag}`,
            display_name: "Microsoft Entra ID",
            strategy: "oauth2:azure_ad",
          },
        ],
      );
      assert.deepEqual(ids("getConnections:page"), [googleId]);
      assert.equal(ok("getConnections:page").has_more, true);
      assert.deepEqual(ids("getConnections:after"), [entraId]);
      assert.deepEqual(ids("getConnections:before"), [googleId]);
      assert.deepEqual(ids("getConnections:domain"), [entraId]);

      // One connection: Kinde's {code, message, connection: {id, name, display_name, strategy}}
      // (and Latchkey's read-back fields), never the secret.
      const read = ok("getConnection", "connection");
      const connection = read.connection as Json & { options: Json };
      assert.equal(connection.id, googleId);
      assert.equal(connection.strategy, "oauth2:google");
      assert.equal(connection.options.client_id, `${tag}.apps.googleusercontent.com`);
      assert.equal(connection.has_client_secret, true);
      assert.deepEqual(connection.enabled_applications, [applicationId]);
      assert.ok(!JSON.stringify(read).includes(`secret-${tag}`), "the secret is never answered");
      refused("getConnection:unknown", 404, "CONNECTION_NOT_FOUND");

      assertSdkShape("success_response", ok("updateConnection"));
      const updated = ok("getConnection:updated", "connection").connection as Json & { options: Json };
      assert.equal(updated.display_name, "Continue with Google");
      assert.equal(updated.options.is_trusted, false);
      assert.equal(updated.has_client_secret, true, "PATCH keeps the secret");
      refused("updateConnection:unknown", 404, "CONNECTION_NOT_FOUND");

      assertSdkShape("success_response", ok("replaceConnection"));
      const replaced = ok("getConnection:replaced", "connection").connection as Json & { options: Json };
      assert.equal(replaced.display_name, "Staff sign-in");
      assert.equal(replaced.organization_code, orgCode);
      assert.deepEqual(replaced.options.home_realm_domains, [`${tag}.example.com`, `${tag}.example.org`]);
      assert.equal(replaced.options.entra_id_domain, undefined, "PUT replaced the options whole");
      assert.equal(replaced.has_client_secret, true, "the secret stays with its client id");
      const entraStored = (await server.services.connections.find(entraId))!;
      assert.equal(server.services.connections.openClientSecret(entraStored), `entra-secret-${tag}`);

      // Per application.
      assert.deepEqual(ids("getApplicationConnections"), [googleId]);
      ok("enableConnection");
      assert.deepEqual(ids("getApplicationConnections:enabled"), [googleId, entraId]);
      assertSdkShape("success_response", ok("removeConnection"));
      refused("removeConnection:again", 404, "CONNECTION_NOT_FOUND");
      assert.deepEqual(ids("getApplicationConnections:removed"), [entraId]);
      assert.deepEqual(
        (await server.services.connections.enabledFor(applicationId, orgCode)).map((c) => c.id),
        [entraId],
        "the organization's own connection on its sign-in",
      );

      // Per organization: its own enterprise connection is enabled from the start.
      assert.deepEqual(ids("getOrganizationConnections"), [entraId]);
      ok("enableOrgConnection");
      assert.deepEqual(ids("getOrganizationConnections:enabled"), [googleId, entraId]);
      assertSdkShape("success_response", ok("removeOrgConnection"));

      // Deleted: gone from the list and the database; deleting again is a 404.
      assertSdkShape("success_response", ok("deleteConnection"));
      refused("deleteConnection:again", 404, "CONNECTION_NOT_FOUND");
      assert.deepEqual(ids("getConnections:deleted"), [entraId]);
      assert.equal(await server.services.connections.find(googleId), undefined);
      assert.ok(!server.logs.text.includes(`secret-${tag}`), "no secret in the log");
    });
  });
}
