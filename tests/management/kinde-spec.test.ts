// Conformance with Kinde's Management API specification (kinde-mgmt-api-specs.yaml, the copy
// @kinde/management-api-js is generated from): every operation in Latchkey's OpenAPI document
// must be one of Kinde's — same method and path (path parameter names included), same
// query parameters, same request body properties, same success status, same scope — and every
// property its success body declares, at the top level and one level down, must be in Kinde's
// response schema with the same JSON type. Deliberate differences are listed in ALLOWED below, each
// with its reason; an entry that no longer matches anything fails the test, so the list stays true.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { startTestServer, type TestServer } from "../helpers/server.js";

/**
 * Kinde's published specification (management-api-js 0.19.0's copy, kept as test data in
 * tests/fixtures); KINDE_SPEC_FILE checks against another version.
 */
const KINDE_SPEC =
  process.env.KINDE_SPEC_FILE ??
  fileURLToPath(new URL("../fixtures/kinde-mgmt-api-specs.yaml", import.meta.url));

/** Latchkey's own operations, which Kinde does not have. */
const LATCHKEY_EXTENSIONS: Record<string, string> = {
  "POST /api/v1/applications/{application_id}/rotate_secret":
    "rotates a confidential client's secret (Kinde cannot)",
  "GET /api/v1/audit_log": "reads the audit log of Management API writes",
  "POST /api/v1/directories/{directory_id}/rotate_secret_token":
    "replaces a SCIM directory's bearer token, shown once (Kinde cannot; the old one stops working)",
  "GET /api/v1/audit_log/authentication":
    "reads the authentication log (sign-ins, failures, sign-outs, token grants by kind)",
  // Kinde configures connected apps only in its UI; Latchkey lets them be automated (issue 5).
  "GET /api/v1/connected_apps/providers": "lists the connected-app provider catalog",
  "GET /api/v1/users/{user_id}/connected_apps": "lists a user's connections, for administrators",
  "GET /api/v1/connected_apps": "lists configured connected apps",
  "POST /api/v1/connected_apps": "configures a connected app",
  "GET /api/v1/connected_apps/{key_code_ref}": "reads a connected app's configuration",
  "PATCH /api/v1/connected_apps/{key_code_ref}": "changes a connected app's configuration",
  "DELETE /api/v1/connected_apps/{key_code_ref}":
    "disconnects a connected app (does not revoke at the provider)",
  // Issue 6: what the admin dashboard needs that Kinde's API cannot express.
  "GET /api/v1/apis/{api_id}/applications/{application_id}/scopes":
    "reads the scopes of an API an application holds (Kinde can only add and remove them)",
  "GET /api/v1/signing_keys": "lists the signing keys and where each is in its life",
  "POST /api/v1/signing_keys/rotate": "starts a signing-key rotation, as `latchkey keys rotate`",
  "GET /api/v1/feature_flags": "lists feature flag definitions (Kinde's API can only write them)",
  // Issue 16: Kinde sends its own mail; a self-hosted server shows what it sent or kept.
  "GET /api/v1/mail/outbox": "lists the mail outbox, newest first (the dashboard's Settings › E-mail)",
  // Issue 16: Kinde picks its built-in sign-in methods in its dashboard; its API has no field for them.
  "GET /api/v1/business/sign_in_methods": "reads which methods the sign-in page offers",
  "PUT /api/v1/business/sign_in_methods": "sets which methods the sign-in page offers",
  // Webhooks: the delivery log beside Kinde's webhook operations (the dashboard's webhook screen).
  "GET /api/v1/webhooks/{webhook_id}/deliveries": "lists an endpoint's delivery log, newest first",
  "POST /api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/resend": "queues a delivery again",
  "POST /api/v1/webhooks/{webhook_id}/test": "queues a test event for one endpoint",
  // Issue 17: Kinde's dashboard tests a connection; its API cannot.
  "POST /api/v1/connections/{connection_id}/test":
    "a single-use link with which an administrator signs in once through a connection and sees its claims",
  // Issue 22: Kinde can only replace MFA settings; the dashboard shows what is set.
  "GET /api/v1/mfa": "reads the environment's MFA policy, enabled factors and recovery-code setting",
  "GET /api/v1/organizations/{org_code}/mfa":
    "reads an organization's is_enforce_mfa and the MFA settings it overrides",
  // Issue 22: passkeys are listed and removed by administrators too; Kinde's API has no such operations.
  "GET /api/v1/users/{user_id}/passkeys": "lists a user's passkeys",
  "DELETE /api/v1/users/{user_id}/passkeys/{passkey_id}":
    "removes a user's passkey and signs them out everywhere",
  // Issue 20: the dashboard's home; Kinde's API has no counts.
  "GET /api/v1/overview":
    "counts users, sign-ins since a moment and applications signed in to, and the getting-started checklist's facts (needs read:users, read:applications and read:audit_log)",
  // Issue 20: the dashboard's audit-log screen.
  "GET /api/v1/audit_log/actions": "lists the action codes the audit log's filter takes",
  "GET /api/v1/audit_log/export":
    "streams the filtered audit log as CSV (RFC 4180, formula cells neutralised)",
  "POST /api/v1/applications/{application_id}/try_sign_in":
    "starts an administrator's Try sign-in: a sealed, single-use ticket for Latchkey's own test callback",
  // Issue 19: Kinde can only write an organization's session settings; the dashboard reads them back.
  "GET /api/v1/organizations/{org_code}/sessions": "reads the organization's session settings",
};

/**
 * Known, deliberate differences from Kinde's operation, by operation and difference (the keys
 * `difference` below produces), with the reason. Keep it short: a difference is more likely a
 * bug in the route than something to allow here.
 */
const ALLOWED: Record<string, Record<string, string>> = {
  // The dashboard's long lists (issue 20, src/management/listing.ts): newest first by a keyset, an
  // indexed prefix search and a count, asked for only by Latchkey's own clients.
  ...Object.fromEntries(
    ["GET /api/v1/users", "GET /api/v1/organizations", "GET /api/v1/applications"].map((operation) => [
      operation,
      {
        ...(operation === "GET /api/v1/users"
          ? { "query has sort": "created_on_desc / created_on_asc (Kinde's users list has no sort)" }
          : {}),
        "query has starts_with":
          "a prefix of the e-mail, username or names (of the name: organizations, applications)",
        "query has include_count": "asks for total_count",
        "response has total_count": "only with include_count=true",
        "response has total_count_accuracy": "exact, estimate (PostgreSQL past 10 000 rows) or at_least",
      },
    ]),
  ),
  "PUT /api/v1/users/{user_id}/password": {
    "body has password": "a plaintext password, hashed with argon2id (Kinde only imports hashes)",
  },
  "GET /api/v1/applications/{application_id}": {
    "response has application.access_token_lifetime":
      "Kinde sets token lifetimes (PATCH …/tokens) but offers no way to read them back",
    "response has application.refresh_token_lifetime": "as access_token_lifetime",
    "response has application.id_token_lifetime": "as access_token_lifetime",
    "response has application.is_hasura_mapping_enabled": "as access_token_lifetime (PATCH …/tokens)",
    "response has application.authenticated_session_lifetime": "as access_token_lifetime (PATCH …/tokens)",
  },
  // Kinde sets the environment's colours in its dashboard only; Latchkey takes Kinde's own field
  // names (those of an organization's brand) on the business (src/business/branding-fields.ts).
  "PATCH /api/v1/business": Object.fromEntries(
    [
      "button_color",
      "button_text_color",
      "link_color",
      "background_color",
      "button_color_dark",
      "button_text_color_dark",
      "link_color_dark",
      "background_color_dark",
      "theme_code",
    ].map((field) => [`body has ${field}`, "the hosted pages' brand, as an organization's is set"]),
  ),
  // Uploads are multipart/form-data read by @fastify/multipart (one file part named logo, as
  // Kinde's); a JSON-schema body would make Fastify validate a body the parser never builds.
  "PUT /api/v1/environment/logos/{type}": {
    "body lacks logo": "the multipart part `logo` is required, checked by the route (400/413)",
  },
  "POST /api/v1/organizations/{org_code}/logos/{type}": {
    "body lacks logo": "the multipart part `logo` is required, checked by the route (400/413)",
  },
  "DELETE /api/v1/environment/logos/{type}": {
    "documents several success statuses: 200, 204": "as Kinde's: 200 deleted, 204 there was no logo",
  },
  "DELETE /api/v1/organizations/{org_code}/logos/{type}": {
    "documents several success statuses: 200, 204": "as Kinde's: 200 deleted, 204 there was no logo",
  },
  // SCIM directories: Kinde's answer lacks what an identity provider needs to be pointed at.
  ...Object.fromEntries(
    (
      [
        ["GET /api/v1/directories", "directories"],
        ["POST /api/v1/directories", "directory"],
        ["GET /api/v1/directories/{directory_id}", "directory"],
        ["PATCH /api/v1/directories/{directory_id}", "directory"],
      ] as const
    ).map(([operation, item]) => [
      operation,
      {
        [`response has ${item}.provider_code`]: "the identity provider the directory was made for",
        [`response has ${item}.scim_base_url`]: "the SCIM 2.0 base URL the identity provider calls",
        [`response has ${item}.assignable_role_keys`]:
          "the roles the directory's groups may grant (none unless listed: a group named after any role would otherwise grant it)",
        ...(operation.startsWith("PATCH") ? { "body has assignable_role_keys": "sets them" } : {}),
      },
    ]),
  ),
  // The worker disables an endpoint whose deliveries failed for 72 hours; the list says so and
  // PATCH turns it back on (or off), as the dashboard's webhook screen does.
  "GET /api/v1/webhooks": {
    "response has webhooks.is_enabled": "whether events are sent to the endpoint",
    "response has webhooks.disabled_on": "when it was disabled",
    "response has webhooks.disabled_reason": "why (deliveries failed for 72 hours, or an administrator)",
    "response has webhooks.next_attempt_on": "when a failing endpoint is tried next",
  },
  "PATCH /api/v1/webhooks/{webhook_id}": {
    "body has is_enabled": "disables an endpoint, or re-enables a disabled one",
  },
  "GET /api/v1/events/{event_id}": {
    "response event.timestamp is string where Kinde's is integer":
      "Kinde's spec describes it as ISO 8601 (a string) and the webhook body carries the string " +
      "(@kinde/webhooks types it so); GetEvent answers the same event the same way",
  },
  // Kinde's get_connections_response gives each item the schema of GetConnection's whole answer
  // ({code, message, connection: {…}}), an envelope per list item that no list of Kinde's has;
  // Latchkey's items are the connection itself, {id, name, display_name, strategy}.
  ...Object.fromEntries(
    [
      "GET /api/v1/connections",
      "GET /api/v1/applications/{application_id}/connections",
      "GET /api/v1/organizations/{organization_code}/connections",
    ].map((operation) => [
      operation,
      Object.fromEntries([
        ...["id", "name", "display_name", "strategy"].map((field) => [
          `response has connections.${field}`,
          "the connection's own field, where Kinde's schema nests it in a per-item envelope",
        ]),
        // An empty list cannot tell "offers none" from "never chose" (the dashboard shows which).
        ...(operation.startsWith("GET /api/v1/organizations/")
          ? [["response has has_own_connection_list", "whether the organization chose its own list"]]
          : []),
      ]),
    ]),
  ),
  // Kinde answers a connection's id, names and strategy only, so nothing that was configured can be
  // read back; the client secret stays write-only (only whether one is set).
  "GET /api/v1/connections/{connection_id}": {
    "response has connection.options": "the options as configured, without the client secret",
    "response has connection.has_client_secret": "whether a client secret is set",
    "response has connection.organization_code": "the organization managing an enterprise connection",
    "response has connection.enabled_applications":
      "the applications it is enabled for (Kinde's write field, read back)",
  },
  // Kinde documents these 200s without a body; Latchkey answers its usual success_response
  // {code, message}, which clients that expect no body ignore.
  ...Object.fromEntries(
    [
      "PATCH /api/v1/applications/{application_id}",
      "PATCH /api/v1/apis/{api_id}/scopes/{scope_id}",
      "DELETE /api/v1/apis/{api_id}/scopes/{scope_id}",
      "POST /api/v1/apis/{api_id}/applications/{application_id}/scopes/{scope_id}",
      "DELETE /api/v1/apis/{api_id}/applications/{application_id}/scopes/{scope_id}",
      "POST /api/v1/organizations/{org_code}/users/{user_id}/apis/{api_id}/scopes/{scope_id}",
      "DELETE /api/v1/organizations/{org_code}/users/{user_id}/apis/{api_id}/scopes/{scope_id}",
      "POST /api/v1/applications/{application_id}/connections/{connection_id}",
      "POST /api/v1/organizations/{organization_code}/connections/{connection_id}",
    ].map((operation) => [
      operation,
      { "response has a body (code, message) where Kinde documents none": "success_response" },
    ]),
  ),
  // Kinde's get_user_mfa_response names one factor; a user can have an authenticator app and an
  // e-mail factor at once, and an administrator resetting one needs to see both.
  ...Object.fromEntries(
    ["GET /api/v1/users/{user_id}/mfa", "GET /api/v1/organizations/{org_code}/users/{user_id}/mfa"].map(
      (operation) => [operation, { "response has factors": "every factor of the user, in mfa's shape" }],
    ),
  ),
  // Kinde's answer does not say which API a key is for; an API must not accept another API's key.
  "POST /api/v1/api_keys/verify": {
    "response has api_ids": "the API the key is for (as GET /api/v1/api_keys/{key_id} lists it)",
  },
  // Issue 19: Kinde's property list answers neither a property's type, context nor category, so
  // nothing created can be read back (Kinde has no GET of one property); Latchkey adds them.
  "GET /api/v1/properties": {
    "response has properties.type": "single_line_text or multi_line_text, as created",
    "response has properties.context": "usr, org or app, as created (also the list's filter)",
    "response has properties.category_id": "the category it belongs to (PUT needs it)",
  },
  "GET /api/v1/property_categories": {
    "response has categories.context": "which owners the category is for (a property must match it)",
  },
  // Kinde pages its search by starting_after, yet its search_users_response has no has_more.
  "GET /api/v1/search/users": {
    "response has has_more": "whether another page follows, as in Kinde's other starting_after lists",
  },
  // Query parameters of Kinde's that Latchkey does not take would go here ("query lacks <name>").
  // There are none: every filter Kinde lists is accepted, even where it cannot match anything yet
  // (phone).
};

// ---- reading OpenAPI documents -----------------------------------------------------------------

type Json = Record<string, unknown>;
interface Parameter {
  name: string;
  in: string;
}
interface Operation {
  parameters?: Json[];
  requestBody?: Json;
  responses?: Record<string, Json>;
  description?: string;
  "x-scope"?: string;
  security?: unknown[];
}
interface Document {
  paths: Record<string, Record<string, Operation | Json[]>>;
}

const METHODS = ["get", "put", "post", "delete", "patch"] as const;

/** Follows local `$ref`s ("#/components/schemas/x") until a non-reference object. */
function resolve(document: unknown, value: unknown): Json | undefined {
  let current = value as Json | undefined;
  for (let hops = 0; current && typeof current.$ref === "string"; hops++) {
    assert.ok(hops < 20, `$ref loop at ${current.$ref}`);
    const ref = current.$ref as string;
    assert.ok(ref.startsWith("#/"), `only local $refs are supported: ${ref}`);
    current = ref
      .slice(2)
      .split("/")
      .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"))
      .reduce<unknown>((node, token) => (node as Json | undefined)?.[token], document) as Json | undefined;
    assert.ok(current, `unresolved $ref ${ref}`);
  }
  return current;
}

/** Properties of a schema, looking through allOf/anyOf/oneOf; for an array, its items'. */
function properties(document: unknown, value: unknown): Map<string, Json> {
  const schema = resolve(document, value);
  const found = new Map<string, Json>();
  if (!schema) return found;
  if (schema.type === "array") return properties(document, schema.items);
  for (const [name, property] of Object.entries((schema.properties as Json | undefined) ?? {})) {
    found.set(name, resolve(document, property) ?? {});
  }
  for (const key of ["allOf", "anyOf", "oneOf"]) {
    for (const part of (schema[key] as unknown[] | undefined) ?? []) {
      for (const [name, property] of properties(document, part)) found.set(name, property);
    }
  }
  return found;
}

/** The JSON type a property schema declares (ignoring nullable), if it declares one. */
function typeOf(document: unknown, schema: Json): string | undefined {
  if (typeof schema.type === "string") return schema.type;
  for (const key of ["allOf", "anyOf", "oneOf"]) {
    const types = ((schema[key] as unknown[] | undefined) ?? [])
      .map((part) => typeOf(document, resolve(document, part) ?? {}))
      .filter((t) => t !== undefined && t !== "null");
    if (types.length > 0 && types.every((t) => t === types[0])) return types[0];
  }
  return undefined;
}

/** The parameters of an operation, its path item's included. */
function parametersOf(document: Document, path: string, method: string): Parameter[] {
  const item = document.paths[path]!;
  const operation = item[method] as Operation;
  return [...((item.parameters as Json[] | undefined) ?? []), ...(operation.parameters ?? [])].map(
    (p) => resolve(document, p) as unknown as Parameter,
  );
}

const names = (parameters: Parameter[], where: string) =>
  parameters.filter((p) => p.in === where).map((p) => p.name);

function jsonSchemaOf(document: unknown, holder: unknown): Json | undefined {
  const content = resolve(document, holder)?.content as Record<string, Json> | undefined;
  if (!content) return undefined;
  const media = content["application/json"] ?? Object.values(content)[0];
  return media?.schema === undefined ? undefined : resolve(document, media.schema);
}

/** The 2xx statuses of an operation. */
const successes = (operation: Operation) =>
  Object.keys(operation.responses ?? {}).filter((status) => /^2\d\d$/.test(status));

/** Kinde states the scope in x-scope, or only in the description as <code>scope</code>. */
function kindeScope(operation: Operation): string | undefined {
  if (operation["x-scope"]) return operation["x-scope"];
  const scopes = [...(operation.description ?? "").matchAll(/<code>([a-z_]+:[a-z_]+)<\/code>/g)].map(
    (m) => m[1]!,
  );
  return scopes[0];
}

/** "/api/v1/applications/{app_id}/x" → "/api/v1/applications/{}/x": the path without parameter names. */
const shapeOf = (path: string) => path.replace(/\{[^}]+\}/g, "{}");

// ---- comparing one operation -------------------------------------------------------------------

/** The differences between Latchkey's operation and Kinde's, as stable short keys. */
function differences(latchkey: Document, kinde: Document, path: string, method: string): string[] {
  const ours = latchkey.paths[path]![method] as Operation;
  const theirs = kinde.paths[path]![method] as Operation;
  const found: string[] = [];
  const compare = (what: string, mine: string[], kindes: string[]) => {
    for (const name of mine) if (!kindes.includes(name)) found.push(`${what} has ${name}`);
    for (const name of kindes) if (!mine.includes(name)) found.push(`${what} lacks ${name}`);
  };

  // Path parameters: the template names them; both documents must declare exactly those.
  const template = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!).sort();
  const ourParameters = parametersOf(latchkey, path, method);
  const kindeParameters = parametersOf(kinde, path, method);
  compare("path parameters", names(ourParameters, "path").sort(), template);
  compare("Kinde's path parameters", names(kindeParameters, "path").sort(), template);
  compare("query", names(ourParameters, "query"), names(kindeParameters, "query"));

  const ourBody = jsonSchemaOf(latchkey, ours.requestBody);
  const kindeBody = jsonSchemaOf(kinde, theirs.requestBody);
  if (ourBody && !kindeBody) found.push("takes a request body where Kinde takes none");
  compare("body", [...properties(latchkey, ourBody).keys()], [...properties(kinde, kindeBody).keys()]);

  const [ourStatus, ...moreOurs] = successes(ours);
  const kindeStatuses = successes(theirs);
  if (moreOurs.length > 0) found.push(`documents several success statuses: ${successes(ours).join(", ")}`);
  if (!ourStatus || !kindeStatuses.includes(ourStatus))
    found.push(`success status ${ourStatus} where Kinde's is ${kindeStatuses.join(" or ")}`);

  const scope = kindeScope(theirs);
  if (scope === undefined) {
    // Kinde's public operations (API key verification) say so and name no scope: Latchkey's ask
    // for neither a scope nor a token.
    assert.match(
      theirs.description ?? "",
      /public/i,
      `Kinde names no scope for ${method.toUpperCase()} ${path}`,
    );
    if (ours["x-scope"] !== undefined)
      found.push(`scope ${ours["x-scope"]} where Kinde's operation is public`);
    if (!Array.isArray(ours.security) || ours.security.length > 0)
      found.push("asks for a token where Kinde's operation is public");
  } else if (ours["x-scope"] !== scope) found.push(`scope ${ours["x-scope"]} where Kinde's is ${scope}`);

  // The success body: what Latchkey declares must be in Kinde's response, one level down too.
  const ourResponse = ourStatus ? jsonSchemaOf(latchkey, ours.responses?.[ourStatus]) : undefined;
  const kindeResponse = kindeStatuses[0]
    ? jsonSchemaOf(kinde, theirs.responses?.[kindeStatuses[0]])
    : undefined;
  if (!ourResponse) {
    found.push("documents no success body");
    return found;
  }
  const ourFields = properties(latchkey, ourResponse);
  if (!kindeResponse) {
    const code = [...ourFields.keys()].sort().join(", ");
    found.push(
      code === "code, message"
        ? "response has a body (code, message) where Kinde documents none"
        : `response has a body (${code}) where Kinde documents none`,
    );
    return found;
  }
  const kindeFields = properties(kinde, kindeResponse);
  const compareFields = (
    prefix: string,
    mine: Map<string, Json>,
    kindes: Map<string, Json>,
    depth: number,
  ) => {
    for (const [name, schema] of mine) {
      const kindeSchema = kindes.get(name);
      if (!kindeSchema) {
        found.push(`response has ${prefix}${name}`);
        continue;
      }
      const type = typeOf(latchkey, schema);
      const kindeType = typeOf(kinde, kindeSchema);
      if (type && kindeType && type !== kindeType)
        found.push(`response ${prefix}${name} is ${type} where Kinde's is ${kindeType}`);
      if (depth === 0) {
        compareFields(
          `${prefix}${name}.`,
          properties(latchkey, schema),
          properties(kinde, kindeSchema),
          depth + 1,
        );
      }
    }
  };
  compareFields("", ourFields, kindeFields, 0);
  return found;
}

describe("Management API conformance with Kinde's specification", () => {
  let server: TestServer;
  let latchkey: Document;
  let kinde: Document;
  /** "METHOD /path" of every operation Latchkey documents under /api/v1. */
  let operations: { name: string; path: string; method: string }[];

  before(async () => {
    let text: string;
    try {
      text = readFileSync(KINDE_SPEC, "utf8");
    } catch (error) {
      throw new Error(`Kinde's specification is needed at ${KINDE_SPEC} (or set KINDE_SPEC_FILE): ${error}`);
    }
    kinde = parse(text) as Document;
    server = await startTestServer("sqlite");
    const response = await fetch(`${server.url}/api/v1/openapi.json`);
    assert.equal(response.status, 200);
    latchkey = (await response.json()) as Document;
    operations = Object.entries(latchkey.paths)
      .filter(([path]) => path.startsWith("/api/v1/") && path !== "/api/v1/openapi.json")
      .flatMap(([path, item]) =>
        METHODS.filter((method) => item[method]).map((method) => ({
          name: `${method.toUpperCase()} ${path}`,
          path,
          method,
        })),
      );
  });
  after(async () => server?.close());

  it("documents the Management API (a sanity check on what is compared)", () => {
    assert.ok(operations.length >= 40, `only ${operations.length} operations documented`);
  });

  it("has only Kinde's operations, with Kinde's path parameter names, besides its own extensions", () => {
    const kindeOperations = new Set(
      Object.entries(kinde.paths).flatMap(([path, item]) =>
        METHODS.filter((method) => item[method]).map((method) => `${method.toUpperCase()} ${path}`),
      ),
    );
    const unknown: string[] = [];
    for (const { name, path, method } of operations) {
      if (name in LATCHKEY_EXTENSIONS) {
        assert.ok(!kindeOperations.has(name), `${name} is Kinde's now: compare it instead`);
        continue;
      }
      if (kindeOperations.has(name)) continue;
      const sameShape = [...kindeOperations].find((k) => shapeOf(k) === shapeOf(name));
      unknown.push(
        sameShape ? `${name} (Kinde's is ${sameShape})` : `${name} (${method} ${path} not in Kinde)`,
      );
    }
    assert.deepEqual(unknown, [], "operations Kinde does not have");
  });

  it("matches Kinde's operation, operation by operation", async (t) => {
    for (const { name, path, method } of operations) {
      if (name in LATCHKEY_EXTENSIONS || !(kinde.paths[path]?.[method] as Operation | undefined)) continue;
      await t.test(name, () => {
        const allowed = ALLOWED[name] ?? {};
        const found = differences(latchkey, kinde, path, method);
        assert.deepEqual(
          found.filter((d) => !(d in allowed)),
          [],
          `${name} differs from Kinde's operation`,
        );
        for (const entry of Object.keys(allowed))
          assert.ok(found.includes(entry), `stale ALLOWED entry for ${name}: "${entry}" no longer differs`);
      });
    }
  });

  it("keeps its allow-lists about operations that exist", () => {
    const documented = new Set(operations.map((o) => o.name));
    for (const name of [...Object.keys(ALLOWED), ...Object.keys(LATCHKEY_EXTENSIONS)])
      assert.ok(documented.has(name), `allow-listed ${name} is not an operation of Latchkey's`);
  });
});
