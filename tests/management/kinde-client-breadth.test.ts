// Issue 19's judge: Kinde's Management API client (@kinde/management-api-js 0.18, unchanged) drives
// the operations issue 19 added — organization role users, handle, sessions and logos (read and
// multipart upload); application token settings; the environment, its logos, industries and
// timezones; environment variables; subscribers; SCIM directories. Each answer is checked against
// the client's own schema, refusals are Kinde's error shape, and what was stored is read back from
// the database. Both databases. (The operations 0.18 has no function for are named in the script.)
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication, createUser } from "../helpers/fixtures.js";
import { runKindeScript } from "../helpers/kinde-script.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { selfSignedCertificate } from "../helpers/tls.js";

type Json = Record<string, unknown>;

for (const { kind, skip } of await databaseKinds()) {
  describe(`@kinde/management-api-js drives issue 19's operations (${kind})`, { skip }, () => {
    const certificate = selfSignedCertificate();
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind, { tls: certificate });
    });
    after(async () => {
      await server?.close();
      certificate.remove();
    });

    it("runs every step unchanged and stores what it says", async () => {
      const db = server.storage.db;
      const org = await server.services.organizations.create({ name: "SDK breadth", handle: "sdk-breadth" });
      const role = await server.services.roles.createRole({
        key: `breadth-${randomBytes(3).toString("hex")}`,
        name: "Breadth role",
        description: null,
        isDefault: false,
        assignmentPermissionId: null,
      });
      // A second role, so a one-role page of GET /roles is not the last.
      await server.services.roles.createRole({
        key: `breadth-other-${randomBytes(3).toString("hex")}`,
        name: "Another breadth role",
        description: null,
        isDefault: false,
        assignmentPermissionId: null,
      });
      const member = await createUser(server);
      await createUser(server); // not a member: must not be listed
      await server.services.organizations.addMembers(org.code, [{ id: member.id, roles: [role.key] }]);
      const { clientId } = await createApplication(server, "reg");
      // The test server speaks TLS with a certificate only the script trusts, so the directory's
      // enterprise connection is made through the service (as POST /api/v1/connections would).
      const directoryOrg = (await server.services.organizations.create({ name: "SDK directory org" })).code;
      const connection = await server.services.connections.create({
        name: `sdk-sso-${randomBytes(3).toString("hex")}`,
        displayName: "Company SSO",
        strategy: "oidc:custom",
        options: {
          client_id: "latchkey",
          issuer: "https://idp.example.com/realms/acme",
          home_realm_domains: ["breadth.example"],
        },
        organizationCode: directoryOrg,
      });
      const connectionId = connection.id;

      const { ok, refused } = await runKindeScript(
        server,
        certificate,
        "tests/management/kinde-management-breadth.ts",
        [org.code, role.id, clientId, directoryOrg, connectionId, member.id],
      );

      // ---- organizations: role users, sessions, handle, logos ----
      const roleUsers = ok("getOrganizationRoleUsers", "get_organization_role_users_response");
      assert.deepEqual(roleUsers.users, [{ id: member.id }]);
      refused("getOrganizationRoleUsers:unknown-role", 404, "ROLE_NOT_FOUND");
      const users = ok("getRoleUsers", "get_role_users_response").users as Json[];
      assert.deepEqual(
        users.map((u) => [u.id, u.org_codes]),
        [[member.id, [org.code]]],
      );
      ok("updateOrganizationSessions", "success_response");
      refused("updateOrganizationSessions:negative", 400, "INVALID_REQUEST");
      ok("deleteOrganizationHandle", "success_response");
      assert.equal(ok("getOrganization:no-handle", "get_organization_response").handle, null);
      refused("deleteOrganizationHandle:unknown", 404, "ORGANIZATION_NOT_FOUND");
      const stored = await db
        .selectFrom("organizations")
        .selectAll()
        .where("code", "=", org.code)
        .executeTakeFirstOrThrow();
      assert.equal(stored.handle, null);
      assert.equal(stored.sso_session_policy_enabled, 1);
      assert.equal(stored.sso_session_persistence, "non_persistent");
      assert.equal(stored.session_lifetime_enabled, 1);
      assert.equal(stored.authenticated_session_lifetime, 3600);

      assert.deepEqual(ok("readOrganizationLogo:none", "read_logo_response").logos, []);
      // The SDK sends the file as multipart/form-data (its formData body), which Latchkey takes.
      ok("addOrganizationLogo", "success_response");
      refused("addOrganizationLogo:not-an-image", 400, "INVALID_REQUEST");
      const logos = ok("readOrganizationLogo", "read_logo_response").logos as Json[];
      assert.deepEqual(
        logos.map((l) => l.type),
        ["light"],
      );
      const logo = await db
        .selectFrom("logos")
        .select(["type", "content_type", "data"])
        .where("org_code", "=", org.code)
        .execute();
      assert.deepEqual(
        logo.map((l) => [l.type, l.content_type, Buffer.from(l.data).subarray(1, 4).toString()]),
        [["light", "image/png", "PNG"]],
      );

      // ---- applications: token settings ----
      ok("updateApplicationTokens", "success_response");
      refused("updateApplicationTokens:unknown", 400, "APPLICATION_NOT_FOUND");
      const app = await db
        .selectFrom("applications")
        .select(["is_hasura_mapping_enabled", "authenticated_session_lifetime"])
        .where("id", "=", clientId)
        .executeTakeFirstOrThrow();
      assert.deepEqual(
        [Number(app.is_hasura_mapping_enabled), app.authenticated_session_lifetime],
        [1, 7200],
      );

      // ---- environment ----
      const environment = ok("getEnvironment", "get_environment_response").environment as Json;
      assert.equal(environment.kinde_domain, new URL(server.url).host);
      assert.ok(Array.isArray(ok("readLogo", "read_env_logo_response").logos));
      const industries = ok("getIndustries", "get_industries_response").industries as Json[];
      assert.ok(industries.some((i) => i.key === "legal" && i.name === "Legal"));
      const timezones = ok("getTimezones", "get_timezones_response").timezones as Json[];
      assert.ok(timezones.some((t) => String(t.key).startsWith("zurich_")));

      // ---- environment variables ----
      const created = ok("createEnvironmentVariable", "create_environment_variable_response");
      const variableId = (created.environment_variable as Json).id as string;
      ok("createEnvironmentVariable:secret", "create_environment_variable_response");
      refused("createEnvironmentVariable:duplicate", 409, "ENVIRONMENT_VARIABLE_EXISTS");
      const variables = ok("getEnvironmentVariables", "get_environment_variables_response")
        .environment_variables as Json[];
      // A secret's value is never read back (Kinde: "value" is null for secrets).
      assert.deepEqual(
        variables.map((v) => [v.key, v.value, v.is_secret]),
        [
          ["SDK_REGION", "eu-west", false],
          ["SDK_TOKEN", null, true],
        ],
      );
      const one = ok("getEnvironmentVariable", "get_environment_variable_response")
        .environment_variable as Json;
      assert.equal(one.id, variableId);
      ok("updateEnvironmentVariable", "update_environment_variable_response");
      const updated = ok("getEnvironmentVariable:updated", "get_environment_variable_response")
        .environment_variable as Json;
      assert.deepEqual([updated.key, updated.value], ["SDK_REGION_NAME", "us-east"]);
      ok("deleteEnvironmentVariable", "delete_environment_variable_response");
      refused("getEnvironmentVariable:deleted", 404, "ENVIRONMENT_VARIABLE_NOT_FOUND");
      const rows = await db.selectFrom("environment_variables").select(["key", "value_sealed"]).execute();
      assert.deepEqual(
        rows.map((r) => r.key),
        ["SDK_TOKEN"],
      );
      assert.ok(!rows[0]!.value_sealed.includes("s3cr3t-from-sdk"), "stored sealed");

      // ---- subscribers ----
      const subscriberId = (ok("createSubscriber", "create_subscriber_success_response").subscriber as Json)
        .subscriber_id as string;
      refused("createSubscriber:bad-email", 400, "INVALID_REQUEST");
      const subscribers = ok("getSubscribers", "get_subscribers_response").subscribers as Json[];
      assert.deepEqual(
        subscribers.map((s) => [s.id, s.email, s.full_name]),
        [[subscriberId, "ada-sdk@example.com", "Ada Lovelace"]],
      );
      const subscriber = (ok("getSubscriber", "get_subscriber_response").subscribers as Json[])[0]!;
      assert.deepEqual(
        [subscriber.id, subscriber.preferred_email, subscriber.first_name, subscriber.last_name],
        [subscriberId, "ada-sdk@example.com", "Ada", "Lovelace"],
      );
      refused("getSubscriber:unknown", 404, "SUBSCRIBER_NOT_FOUND");
      const storedSubscribers = await db.selectFrom("subscribers").select(["id", "email"]).execute();
      assert.deepEqual(storedSubscribers, [{ id: subscriberId, email: "ada-sdk@example.com" }]);

      // ---- SCIM directories ----
      const directory = ok("createDirectory", "create_directory_response").directory as Json;
      assert.deepEqual(
        [directory.organization_code, directory.enterprise_connection_id, directory.provider_code],
        [directoryOrg, connectionId, "okta"],
      );
      assert.match(String(directory.secret_token), /^kstkn_/);
      refused("createDirectory:unknown-org", 400, "ORGANIZATION_NOT_FOUND");
      const directories = ok("getDirectories", "get_directories_response").directories as Json[];
      assert.deepEqual(
        directories.map((d) => d.id),
        [directory.id],
      );
      // The bearer token was shown once, at creation; a read never carries it.
      assert.equal((ok("getDirectory", "get_directory_response").directory as Json).secret_token, undefined);
      ok("updateDirectory", "update_directory_response");
      assert.equal(
        (ok("getDirectory:updated", "get_directory_response").directory as Json).directory_name,
        "SDK Directory, renamed",
      );
      ok("deleteDirectory", "delete_directory_response");
      refused("getDirectory:deleted", 404, "DIRECTORY_NOT_FOUND");
      assert.equal(await db.selectFrom("scim_directories").select("id").executeTakeFirst(), undefined);

      // ---- last pages: next_token is left out (the SDK's schemas type it as a string, not null) ----
      const noNext = (body: Json, name: string) =>
        assert.ok(
          !("next_token" in body),
          `${name}: the last page has no next_token: ${JSON.stringify(body)}`,
        );
      const firstRoles = ok("getRoles:first-page", "get_roles_response");
      assert.equal((firstRoles.roles as Json[]).length, 1);
      assert.equal(typeof firstRoles.next_token, "string", "a next page is announced");
      const allRoles = ok("getRoles:last-page", "get_roles_response");
      assert.ok((allRoles.roles as Json[]).some((r) => r.id === role.id));
      noNext(allRoles, "getRoles");
      const members = ok("getOrganizationUsers:last-page", "get_organization_users_response");
      assert.deepEqual(
        (members.organization_users as Json[]).map((u) => [u.id, u.roles]),
        [[member.id, [role.key]]],
      );
      noNext(members, "getOrganizationUsers");
      const memberRoles = ok("getOrganizationUserRoles", "get_organizations_user_roles_response");
      assert.deepEqual(
        (memberRoles.roles as Json[]).map((r) => r.key),
        [role.key],
      );
      noNext(memberRoles, "getOrganizationUserRoles");
      const applications = ok("getApplications:last-page", "get_applications_response");
      assert.ok((applications.applications as Json[]).some((a) => a.id === clientId));
      noNext(applications, "getApplications");
      noNext(ok("getApis", "get_apis_response"), "getApis");
      noNext(
        ok("getEnvironementFeatureFlags", "get_environment_feature_flags_response"),
        "getEnvironementFeatureFlags",
      );
    });
  });
}
