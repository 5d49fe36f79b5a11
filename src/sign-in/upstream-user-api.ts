// Who a plain OAuth 2.0 provider says the person is (issue 17): with no ID token to validate, the
// person is whatever the provider's user API answers to the access token (RFC 6750 §2.1), read
// through the catalog entry's mapping (upstream-catalog.ts UserApiMapping) onto OIDC Core §5.1
// claim names, so that identities and ext_provider carry every provider's profile alike. Also the
// profile of a validated ID token or a userinfo answer (profileFromClaims).
//
// An address counts as verified only where the provider says so in its own words: a boolean beside
// the address (Discord's `verified`), or the entry of a separate list that is primary AND verified
// (GitHub, Bitbucket). Anything else is a claim nobody checked.
import { createHmac } from "node:crypto";
import { type OutboundOptions, outboundRequest } from "../outbound/http.js";
import { TransientProviderError } from "../outbound/oauth-client.js";
import { OidcError } from "../outbound/oidc.js";
import type { SignInProviderDefinition, UserApiMapping } from "./upstream-catalog.js";

/** What the provider said about the person, whichever way it said it. */
export interface UpstreamProfile {
  /** The provider's stable id of the person (the ID token's `sub`, a user API's id). */
  subject: string;
  email: string | null;
  /** True only when the provider vouches for the address (never a mere claim it does not check). */
  emailVerified: boolean;
  givenName?: string;
  familyName?: string;
  picture?: string;
  /** The claims as received (given_name, family_name and picture included when known). */
  claims: Record<string, unknown>;
}

/** A user API's answer is a profile, not a document: anything larger is refused unread. */
const MAX_USER_API_BYTES = 200_000;

/**
 * A GET of a provider API with the access token: its JSON, or undefined when `optional` and the
 * token may not read it (401/403/404: a permission the person or the app did not grant).
 */
export async function getJson(
  url: string,
  accessToken: string,
  http: OutboundOptions,
  options: { headers?: Readonly<Record<string, string>>; optional?: boolean } = {},
): Promise<unknown> {
  const response = await outboundRequest(
    url,
    {
      method: "GET",
      headers: { accept: "application/json", ...options.headers, authorization: `Bearer ${accessToken}` },
    },
    { ...http, maxResponseBytes: MAX_USER_API_BYTES },
  );
  if (options.optional && [401, 403, 404].includes(response.status)) return undefined;
  if (response.status !== 200)
    throw new TransientProviderError(`${new URL(url).pathname} answered ${response.status}`);
  return jsonValue(response.body, "invalid_id_token");
}

/** The profile a social strategy's user API gives for this access token (catalog mapping). */
export async function userApiProfile(
  definition: SignInProviderDefinition,
  accessToken: string,
  clientSecret: string,
  http: OutboundOptions,
): Promise<UpstreamProfile> {
  const mapping = definition.userApi;
  if (!mapping || !definition.userUrl)
    throw new OidcError("invalid_metadata", `${definition.strategy} has no user API`);
  const query: Record<string, string> = { ...mapping.query };
  // Facebook's proof that the caller holds the app secret, not only a token (Graph API, "Securing
  // Requests"): an HMAC of this token, useless with any other.
  if (mapping.appSecretProof)
    query.appsecret_proof = createHmac("sha256", clientSecret).update(accessToken).digest("hex");
  const user = await getJson(withQuery(definition.userUrl, query), accessToken, http, {
    headers: mapping.headers,
  });
  if (typeof user !== "object" || user === null || Array.isArray(user))
    throw new OidcError("invalid_id_token", "the user API's answer is not an object");
  const subject = readPath(user, mapping.subject);
  const id =
    typeof subject === "string" || (typeof subject === "number" && Number.isSafeInteger(subject))
      ? String(subject)
      : "";
  if (!id) throw new OidcError("invalid_id_token", "the user API's answer has no id at the mapped path");

  const claims: Record<string, unknown> = {};
  for (const [claim, path] of Object.entries(mapping.claims)) {
    const value = readPath(user, path);
    if (value !== undefined && value !== null) claims[claim] = value;
  }
  if (mapping.emailList) {
    const address = await listedAddress(definition, mapping.emailList, accessToken, http, mapping.headers);
    // Never the user object's own address: on these providers it is the public profile's, typed by
    // the person and checked by nobody.
    delete claims.email;
    if (address) Object.assign(claims, { email: address, email_verified: true });
  } else if (mapping.emailVerified) {
    claims.email_verified = readPath(user, mapping.emailVerified) === true;
  }
  const profile = profileFromClaims(id, claims);
  return definition.emailNeverVerified ? { ...profile, emailVerified: false } : profile;
}

/** The address of the list that is primary AND verified, or none. */
async function listedAddress(
  definition: SignInProviderDefinition,
  list: NonNullable<UserApiMapping["emailList"]>,
  accessToken: string,
  http: OutboundOptions,
  headers: Readonly<Record<string, string>> | undefined,
): Promise<string | undefined> {
  if (!definition.emailsUrl) return undefined;
  const answer = await getJson(withQuery(definition.emailsUrl, { ...list.query }), accessToken, http, {
    headers,
    optional: true,
  });
  const items = list.items ? readPath(answer, list.items) : answer;
  if (!Array.isArray(items)) return undefined;
  for (const item of items) {
    const email = readPath(item, list.email);
    if (
      readPath(item, list.primary) === true &&
      readPath(item, list.verified) === true &&
      typeof email === "string"
    )
      return email;
  }
  return undefined;
}

function withQuery(url: string, query: Readonly<Record<string, string>>): string {
  const target = new URL(url);
  for (const [name, value] of Object.entries(query)) target.searchParams.set(name, value);
  return target.href;
}

export function jsonValue(body: string, reason: "discovery_failed" | "invalid_id_token"): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new OidcError(reason, "the provider's answer is not JSON");
  }
}

/** The person as the provider describes them (OIDC Core §5.1 claim names). */
export function profileFromClaims(
  subject: string,
  claims: Readonly<Record<string, unknown>>,
): UpstreamProfile {
  if (!subject || subject.length > 255) throw new OidcError("invalid_id_token", "the subject is not usable");
  const email = typeof claims.email === "string" && claims.email.length <= 320 ? claims.email : null;
  // Some providers send the boolean as text (OIDC Core §5.1 says boolean).
  const verified = claims.email_verified === true || claims.email_verified === "true";
  return {
    subject,
    email,
    emailVerified: email !== null && verified,
    givenName: text(claims.given_name, 100),
    familyName: text(claims.family_name, 100),
    picture: text(claims.picture, 2000),
    claims: { ...claims },
  };
}

/** A value at a mapping path such as `data.emails[0].value` (strategies.ts validates the syntax). */
export function readPath(value: unknown, path: string): unknown {
  let current = value;
  for (const part of path.split(".")) {
    const match = /^([^[]+)(?:\[(\d{1,3})\])?$/.exec(part);
    if (!match || typeof current !== "object" || current === null) return undefined;
    current = Object.hasOwn(current, match[1]!) ? (current as Record<string, unknown>)[match[1]!] : undefined;
    if (match[2] !== undefined) current = Array.isArray(current) ? current[Number(match[2])] : undefined;
  }
  return current;
}

export function text(value: unknown, max: number): string | undefined {
  return typeof value === "string" && value.trim() ? value.trim().slice(0, max) : undefined;
}
