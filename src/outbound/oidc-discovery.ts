// An upstream provider's discovery document (OIDC Discovery 1.0), read through the SSRF guard in
// ./http.ts, bounded in size: its `issuer` checked against the issuer asked (§4.3, with Microsoft's
// multi-tenant template as the one allowed exception), its fields type-checked, and — for
// discover() — every field a code-flow provider must publish present, its endpoints acceptable
// URLs. Documents are cached per issuer in ./oidc-cache.ts.
import { type OutboundOptions, outboundRequest, providerUrlProblem } from "./http.js";
import { type OidcCache, sharedCache } from "./oidc-cache.js";
import { errorText, jsonObject, OidcError } from "./oidc-error.js";

/** A discovery document whose `issuer` was checked; every other field is as the provider sent it. */
export interface DiscoveryDocument {
  /** The provider's issuer exactly as its document spells it (ID tokens must carry this `iss`). */
  issuer: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  userinfo_endpoint?: string;
  jwks_uri?: string;
  revocation_endpoint?: string;
  end_session_endpoint?: string;
  response_types_supported?: string[];
  response_modes_supported?: string[];
  subject_types_supported?: string[];
  id_token_signing_alg_values_supported?: string[];
  scopes_supported?: string[];
  claims_supported?: string[];
  code_challenge_methods_supported?: string[];
  token_endpoint_auth_methods_supported?: string[];
  /** RFC 9207 §3: the provider puts `iss` in every authorization response. */
  authorization_response_iss_parameter_supported?: boolean;
  /** The whole document as received (provider-specific fields). */
  raw: Readonly<Record<string, unknown>>;
}

/** A discovery document with every field OIDC Discovery 1.0 §3 requires of a code-flow provider. */
export interface OidcMetadata extends DiscoveryDocument {
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  response_types_supported: string[];
  subject_types_supported: string[];
  id_token_signing_alg_values_supported: string[];
}

const STRING_FIELDS = [
  "authorization_endpoint",
  "token_endpoint",
  "userinfo_endpoint",
  "jwks_uri",
  "revocation_endpoint",
  "end_session_endpoint",
] as const;
const LIST_FIELDS = [
  "response_types_supported",
  "response_modes_supported",
  "subject_types_supported",
  "id_token_signing_alg_values_supported",
  "scopes_supported",
  "claims_supported",
  "code_challenge_methods_supported",
  "token_endpoint_auth_methods_supported",
] as const;
/** OIDC Discovery 1.0 §3 REQUIRED (token_endpoint too: it is only optional for implicit-only OPs). */
const REQUIRED_FIELDS = [
  "authorization_endpoint",
  "token_endpoint",
  "jwks_uri",
  "response_types_supported",
  "subject_types_supported",
  "id_token_signing_alg_values_supported",
] as const;

/** Microsoft Entra ID's multi-tenant issuer template (`…/{tenantid}/v2.0`). */
export const MICROSOFT_TENANT_PLACEHOLDER = "{tenantid}";

const DISCOVERY_MAX_BYTES = 100_000;

export interface DiscoveryOptions {
  http: OutboundOptions;
  /** The cache to use (default one shared by the process), or false to read afresh and store nothing. */
  cache?: OidcCache | false;
  /**
   * Accept a document whose issuer is Microsoft's multi-tenant template
   * (`https://login.microsoftonline.com/{tenantid}/v2.0`) when asked at `…/common/v2.0`,
   * `…/organizations/v2.0` or `…/consumers/v2.0`: the placeholder stands for the segment asked.
   * ID tokens from such a provider need validateIdToken's `tenants`.
   */
  allowTenantTemplate?: boolean;
}

/** The provider's discovery document with every field OIDC Discovery 1.0 §3 requires. */
export async function discover(issuer: string, options: DiscoveryOptions): Promise<OidcMetadata> {
  const document = await fetchDiscoveryDocument(issuer, options);
  for (const field of REQUIRED_FIELDS) {
    if (document[field] === undefined) {
      throw new OidcError("invalid_metadata", `the discovery document of ${document.issuer} has no ${field}`);
    }
  }
  // Endpoints Latchkey itself calls or sends browsers to: https (unless private networks are
  // allowed), checked now so a bad document fails at configuration, not at someone's sign-in.
  for (const field of ["authorization_endpoint", "token_endpoint", "jwks_uri"] as const) {
    const problem = providerUrlProblem(document[field]!, options.http.allowPrivateNetworks);
    if (problem) throw new OidcError("invalid_metadata", `${field} of ${document.issuer} ${problem}`);
  }
  return document as OidcMetadata;
}

/**
 * The discovery document of `issuer` (OIDC Discovery 1.0 §4), its `issuer` checked (§4.3) and the
 * fields it has type-checked; none is required beyond `issuer`. For callers that only read a few
 * endpoints (connected apps); sign-in uses discover().
 */
export async function fetchDiscoveryDocument(
  issuer: string,
  options: DiscoveryOptions,
): Promise<DiscoveryDocument> {
  // §4.1: the well-known path is appended to the issuer after removing any trailing slash.
  const asked = issuer.replace(/\/+$/, "");
  const problem = providerUrlProblem(asked, options.http.allowPrivateNetworks);
  if (problem) throw new OidcError("discovery_failed", `issuer ${problem}`);
  const url = new URL(asked);
  // §2 (and RFC 8414 §2): an issuer identifier has no query or fragment.
  if (url.search || url.hash)
    throw new OidcError("discovery_failed", "issuer must not have a query or fragment");
  const load = () => loadDocument(asked, options);
  if (options.cache === false) return load();
  const cache = options.cache ?? sharedCache;
  const key = `${options.http.allowPrivateNetworks}|${options.allowTenantTemplate === true}|${asked}`;
  return cache.document(key, load);
}

async function loadDocument(asked: string, options: DiscoveryOptions): Promise<DiscoveryDocument> {
  let raw: Record<string, unknown>;
  try {
    const response = await outboundRequest(
      `${asked}/.well-known/openid-configuration`,
      { method: "GET", headers: { accept: "application/json" } },
      {
        ...options.http,
        maxResponseBytes: Math.min(options.http.maxResponseBytes ?? Infinity, DISCOVERY_MAX_BYTES),
      },
    );
    if (response.status !== 200) throw new Error(`answered HTTP ${response.status}`);
    raw = jsonObject(response.body);
  } catch (error) {
    throw new OidcError(
      "discovery_failed",
      `the discovery document of ${asked} could not be read: ${errorText(error)}`,
    );
  }
  // §4.3: the document must be about the issuer that was asked — otherwise whoever controls one
  // issuer's document could make Latchkey trust tokens of another. A trailing slash is not a
  // different issuer here (administrators type either); ID tokens are then held to the document's
  // own spelling.
  const named = raw.issuer;
  if (
    typeof named !== "string" ||
    !issuerMatches(named.replace(/\/+$/, ""), asked, options.allowTenantTemplate)
  ) {
    throw new OidcError(
      "issuer_mismatch",
      `the discovery document at ${asked} names the issuer ${typeof named === "string" ? named.slice(0, 200) : "(none)"}`,
    );
  }
  const document: DiscoveryDocument = { issuer: named, raw };
  for (const field of STRING_FIELDS) {
    const value = raw[field];
    if (value === undefined) continue;
    if (typeof value !== "string" || !URL.canParse(value)) {
      throw new OidcError("invalid_metadata", `${field} of ${named} is not a URL`);
    }
    document[field] = value;
  }
  for (const field of LIST_FIELDS) {
    const value = raw[field];
    if (value === undefined) continue;
    if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
      throw new OidcError("invalid_metadata", `${field} of ${named} is not a list of strings`);
    }
    document[field] = value as string[];
  }
  const issParameter = raw.authorization_response_iss_parameter_supported;
  if (issParameter !== undefined) {
    if (typeof issParameter !== "boolean") {
      throw new OidcError(
        "invalid_metadata",
        `authorization_response_iss_parameter_supported of ${named} is not a boolean`,
      );
    }
    document.authorization_response_iss_parameter_supported = issParameter;
  }
  return document;
}

function issuerMatches(named: string, asked: string, allowTenantTemplate: boolean | undefined): boolean {
  if (named === asked) return true;
  if (!allowTenantTemplate || !named.includes(MICROSOFT_TENANT_PLACEHOLDER)) return false;
  // The placeholder stands for exactly one path segment of the issuer asked, and only the
  // multi-tenant ones: a document for tenant X must spell X out.
  const [before, after, ...more] = named.split(MICROSOFT_TENANT_PLACEHOLDER);
  if (more.length > 0 || before === undefined || after === undefined) return false;
  if (!asked.startsWith(before) || !asked.endsWith(after)) return false;
  const segment = asked.slice(before.length, asked.length - after.length);
  return ["common", "organizations", "consumers"].includes(segment);
}
