// Ready-made applications, APIs and users for protocol tests, created through the same services
// the Management API and CLI use.
import { randomBytes } from "node:crypto";
import type { ApplicationType } from "../../src/storage/schema.js";
import type { TestServer } from "./server.js";

export const CALLBACK = "http://localhost:8080/callback";
export const LOGOUT = "http://localhost:8080/";

export async function createApplication(
  server: TestServer,
  type: ApplicationType,
  options: { callbackUrls?: string[]; logoutUrls?: string[]; name?: string } = {},
): Promise<{ clientId: string; clientSecret?: string }> {
  const { application, secret } = await server.services.applications.create({
    name: options.name ?? `Test ${type} app`,
    type,
    callbackUrls: type === "m2m" ? [] : (options.callbackUrls ?? [CALLBACK]),
    logoutUrls: type === "m2m" ? [] : (options.logoutUrls ?? [LOGOUT]),
  });
  return { clientId: application.id, clientSecret: secret };
}

export async function createUser(
  server: TestServer,
  overrides: { email?: string; password?: string; givenName?: string; familyName?: string } = {},
): Promise<{ id: string; email: string; password: string }> {
  const email = overrides.email ?? `user-${randomBytes(4).toString("hex")}@example.com`;
  const password = overrides.password ?? `pw-${randomBytes(8).toString("hex")}`;
  const user = await server.services.users.create({
    email,
    password,
    givenName: overrides.givenName ?? "Ada",
    familyName: overrides.familyName ?? "Lovelace",
    emailVerified: true,
  });
  return { id: user.id, email, password };
}

/**
 * Registers an API (audience) with scopes and authorises the application for it. `grant` gives
 * applications scopes (what machine tokens carry); `holders` gives users scopes through a role in
 * the default organization (what user tokens may carry, src/oauth/user-scopes.ts).
 */
export async function createApi(
  server: TestServer,
  options: {
    audience: string;
    scopes?: string[];
    authorize?: string[];
    grant?: Record<string, string[]>;
    holders?: Record<string, string[]>;
  },
): Promise<{ id: string }> {
  const api = await server.services.apis.create({
    name: `API ${options.audience}`,
    audience: options.audience,
  });
  await server.services.apis.ensureScopes(api.id, options.scopes ?? []);
  for (const clientId of options.authorize ?? [])
    await server.services.apis.authorizeApplication(api.id, clientId);
  for (const [clientId, scopes] of Object.entries(options.grant ?? {})) {
    await server.services.apis.authorizeApplication(api.id, clientId);
    await server.services.apis.grantScopes(api.id, clientId, scopes);
  }
  for (const [userId, scopes] of Object.entries(options.holders ?? {}))
    await giveUserScopes(server, { userId, apiId: api.id, scopes });
  return { id: api.id };
}

/**
 * Gives a user these scopes of an API through a new role they get in an organization (the
 * default one unless named; they must be a member of it).
 */
export async function giveUserScopes(
  server: TestServer,
  options: { userId: string; apiId: string; scopes: string[]; orgCode?: string },
): Promise<{ roleId: string }> {
  const tag = randomBytes(4).toString("hex");
  const role = await server.services.roles.createRole({
    key: `scopes-${tag}`,
    name: `Scopes ${tag}`,
    description: null,
    isDefault: false,
    assignmentPermissionId: null,
  });
  for (const scope of await server.services.apis.store.scopes(options.apiId))
    if (options.scopes.includes(scope.key)) await server.services.roles.addRoleScope(role.id, scope.id);
  const orgCode = options.orgCode ?? (await server.services.organizations.store.findDefault())!.code;
  await server.services.organizations.grant(orgCode, options.userId, [role.id], []);
  return { roleId: role.id };
}
