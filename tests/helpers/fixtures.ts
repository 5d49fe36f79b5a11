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

/** Registers an API (audience) with scopes and authorises the application for it. */
export async function createApi(
  server: TestServer,
  options: { audience: string; scopes?: string[]; authorize?: string[]; grant?: Record<string, string[]> },
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
  return { id: api.id };
}
