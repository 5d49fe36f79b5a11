// Shared set-up of the SCIM tests: an organization with an enterprise connection, a directory made
// through the Management API, and SCIM requests sent as an IdP sends them (bearer token,
// application/scim+json), hand-built from RFC 7644's examples.
import assert from "node:assert/strict";
import { callApi } from "../helpers/management.js";
import type { TestServer } from "../helpers/server.js";

export type Json = Record<string, unknown>;

export interface Directory {
  id: string;
  orgCode: string;
  baseUrl: string;
  token: string;
  connectionId: string;
  /** The home-realm domain of the directory's connection: the addresses it may provision. */
  domain: string;
}

let counter = 0;

/** An organization and an enterprise (OpenID) connection it manages, enabled for it. */
export async function organizationWithConnection(
  server: TestServer,
  domains: string[] = [`acme-${counter + 1}.example`],
): Promise<{ orgCode: string; connectionId: string }> {
  const orgCode = (await server.services.organizations.create({ name: `Acme ${++counter}` })).code;
  const connectionId = await enterpriseConnection(server, orgCode, domains);
  return { orgCode, connectionId };
}

/** An OpenID connection of `orgCode` whose home-realm domains are `domains` (the org's own). */
export async function enterpriseConnection(
  server: TestServer,
  orgCode: string,
  domains: string[] = [],
): Promise<string> {
  const created = await callApi<{ connection: { id: string } }>(server, "POST", "/api/v1/connections", {
    body: {
      name: `sso-${++counter}-${Date.now()}`,
      display_name: "Company SSO",
      strategy: "oidc:custom",
      options: {
        client_id: "latchkey",
        issuer: "https://idp.example.com/realms/acme",
        ...(domains.length > 0 ? { home_realm_domains: domains } : {}),
      },
      organization_code: orgCode,
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body.connection.id;
}

export async function createDirectory(
  server: TestServer,
  provider = "okta",
  domain = `acme-${counter + 1}.example`,
): Promise<Directory> {
  const { orgCode, connectionId } = await organizationWithConnection(server, [domain]);
  const { status, body } = await callApi<{
    directory: { id: string; scim_base_url: string; secret_token: string };
  }>(server, "POST", "/api/v1/directories", {
    body: { org_code: orgCode, directory_name: "Production Directory", provider_code: provider },
  });
  assert.equal(status, 201, JSON.stringify(body));
  return {
    id: body.directory.id,
    orgCode,
    connectionId,
    domain,
    baseUrl: body.directory.scim_base_url,
    token: body.directory.secret_token,
  };
}

export interface ScimResponse {
  status: number;
  body: Json;
  headers: Headers;
}

/** One SCIM request to `directory` (its token unless `token` says otherwise). */
export async function scim(
  directory: Pick<Directory, "baseUrl" | "token">,
  method: string,
  path: string,
  options: { body?: unknown; raw?: string; token?: string | null; contentType?: string } = {},
): Promise<ScimResponse> {
  const token = options.token === undefined ? directory.token : options.token;
  const hasBody = options.body !== undefined || options.raw !== undefined;
  const response = await fetch(`${directory.baseUrl}${path}`, {
    method,
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      accept: "application/scim+json",
      ...(hasBody ? { "content-type": options.contentType ?? "application/scim+json" } : {}),
    },
    body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Json) : {}, headers: response.headers };
}

/** Asserts a SCIM error message (RFC 7644 §3.12): schema, status as a string, scimType. */
export function assertScimError(response: ScimResponse, status: number, scimType?: string): void {
  assert.equal(response.status, status, JSON.stringify(response.body));
  assert.match(response.headers.get("content-type") ?? "", /^application\/scim\+json/);
  assert.deepEqual(response.body.schemas, ["urn:ietf:params:scim:api:messages:2.0:Error"]);
  assert.equal(response.body.status, String(status));
  if (scimType) assert.equal(response.body.scimType, scimType);
}

export const USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User";
export const GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group";
export const PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
