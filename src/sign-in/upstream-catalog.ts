// Kinde's social strategies as sign-in providers (issue 17): what Latchkey must know to sign someone
// in through each — endpoints, scopes, and the ways each departs from plain OpenID Connect — as
// data, one entry per strategy (like connected-apps/catalog.ts), read by upstream-providers.ts.
//
// Endpoint overrides (CONNECTION_PROVIDERS_FILE): a JSON object keyed by strategy whose values
// replace an entry's endpoint fields only — never its quirk flags — e.g.
//   {"oauth2:github": {"authorizationUrl": "https://github.example.com/login/oauth/authorize",
//                      "tokenUrl": "https://github.example.com/login/oauth/access_token",
//                      "userUrl": "https://github.example.com/api/v3/user",
//                      "emailsUrl": "https://github.example.com/api/v3/user/emails"},
//    "oauth2:microsoft": {"microsoftAuthority": "https://login.microsoftonline.us"}}
// That serves GitHub Enterprise Server and Microsoft's national clouds, and is how tests point a
// provider at a local server. Overridden URLs still go through the SSRF guard at each request
// (loopback and private addresses only with CONNECTED_APPS_ALLOW_PRIVATE_NETWORKS).
import { readFileSync } from "node:fs";

/** The OIDC Core §5.1 claims a user API's answer is mapped onto. */
export type MappedClaim = "name" | "given_name" | "family_name" | "preferred_username" | "picture" | "email";

/**
 * Where a plain OAuth 2.0 provider's user API (GET userUrl with the access token) keeps the person:
 * paths as upstream-user-api.ts readPath reads them (`data.attributes.email`, `values[0].email`).
 */
export interface UserApiMapping {
  /** Added to userUrl's query (fields an API returns only when asked: Graph, JSON:API, X). */
  query?: Readonly<Record<string, string>>;
  /** Sent with every user API request (GitHub wants a User-Agent and its API version). */
  headers?: Readonly<Record<string, string>>;
  /** The provider's stable id of the person: a non-empty string or a safe integer. */
  subject: string;
  claims: Readonly<Partial<Record<MappedClaim, string>>>;
  /** A boolean beside the address saying the provider verified it; without one, never verified. */
  emailVerified?: string;
  /**
   * The address comes instead from a list at emailsUrl: the entry that is primary AND verified,
   * or none. Unreadable for want of permission (401/403/404) means no address, not a failure.
   */
  emailList?: {
    /** Added to emailsUrl's query (a page size large enough for the primary to be on it). */
    query?: Readonly<Record<string, string>>;
    /** The list in the answer ("" when the answer is the list itself). */
    items: string;
    email: string;
    primary: string;
    verified: string;
  };
  /**
   * Facebook's appsecret_proof: the HMAC-SHA256 of the access token keyed with the client secret,
   * as a query parameter (apps that "Require App Secret" refuse Graph calls without it).
   */
  appSecretProof?: boolean;
}

export interface SignInProviderDefinition {
  strategy: string;
  /** The provider's name, for logs and pages when a connection has no display name. */
  name: string;
  /** An OpenID provider: its endpoints, keys and issuer come from discovery at this issuer. */
  issuer?: string;
  /**
   * Microsoft Entra ID v2: the authority the tenants live under. The issuer is the tenant's own
   * (`{authority}/{tenant id}/v2.0`), or with the common endpoint Microsoft's multi-tenant template
   * `{authority}/{tenantid}/v2.0` whose tenant comes from each ID token's `tid`.
   */
  microsoftAuthority?: string;
  /** Plain OAuth 2.0 (no ID token): the endpoints, and the user API the profile is read from. */
  authorizationUrl?: string;
  tokenUrl?: string;
  userUrl?: string;
  /** The list of the user's addresses (userApi.emailList), when the user API has it apart. */
  emailsUrl?: string;
  /** Scopes asked for when the connection names none. */
  scopes: readonly string[];
  /** Sent on every authorization request (never replaces state, nonce, PKCE or the redirect URI). */
  authorizationParams?: Readonly<Record<string, string>>;
  /** Token endpoint client authentication for plain OAuth 2.0 (OpenID providers: from discovery). */
  clientAuth?: "basic" | "body";
  /** The profile comes from an ID token (OpenID providers), or from the user API by `userApi`. */
  profile: "id_token" | "user_api";
  userApi?: UserApiMapping;
  /**
   * The provider's `email` claim is not an address it has verified, whatever `email_verified`
   * says: never linked on, stored as unverified.
   */
  emailNeverVerified?: boolean;
  /**
   * The provider never tells an address: before an account is created or linked, the person types
   * one and proves it with an e-mail code (connection-email-proof.ts).
   */
  asksForEmail?: boolean;
  /** Apple: the client secret is an ES256 JWT signed per token request (apple_team_id, apple_key_id). */
  appleClientSecret?: boolean;
  /** Apple: the person's name comes once, at the first authorization, in the `user` form field. */
  appleUserField?: boolean;
  /** Set when sign-in through this strategy is not built: why, for the page and operators. */
  notSupported?: string;
}

/** The endpoint fields CONNECTION_PROVIDERS_FILE may replace. */
export const OVERRIDABLE_FIELDS = [
  "issuer",
  "microsoftAuthority",
  "authorizationUrl",
  "tokenUrl",
  "userUrl",
  "emailsUrl",
] as const satisfies readonly (keyof SignInProviderDefinition)[];

export type ProviderOverrides = Record<
  string,
  Partial<Pick<SignInProviderDefinition, (typeof OVERRIDABLE_FIELDS)[number]>>
>;

const MICROSOFT = {
  microsoftAuthority: "https://login.microsoftonline.com",
  scopes: ["openid", "profile", "email"],
  profile: "id_token",
  // Entra ID's `email` claim is whatever an administrator of the signing tenant typed (any tenant,
  // with the common endpoint), never checked by Microsoft (their docs: "mutable, unverified"): it
  // must never link an account (the nOAuth takeover). The person is identified by `sub` alone.
  emailNeverVerified: true,
  // Entra ID answers in the query unless told otherwise for the code flow; fixed to keep the
  // callback on its GET route.
  authorizationParams: { response_mode: "query" },
} as const;

export const SIGN_IN_PROVIDERS: readonly SignInProviderDefinition[] = [
  // Google: a certified OpenID provider. `email_verified` in the ID token is Google's word on the
  // address (true for Gmail and verified Workspace accounts). Its ID tokens name the issuer
  // `https://accounts.google.com` in the code flow (the schemeless `accounts.google.com` of old
  // implicit-flow tokens is refused by the exact issuer check).
  {
    strategy: "oauth2:google",
    name: "Google",
    issuer: "https://accounts.google.com",
    scopes: ["openid", "profile", "email"],
    profile: "id_token",
  },
  // Microsoft accounts and any Entra ID tenant (the common endpoint; tenant from `tid`).
  { strategy: "oauth2:microsoft", name: "Microsoft", ...MICROSOFT },
  // Entra ID: the tenant of options.entra_id_domain (resolved to its tenant id through that
  // domain's discovery document), or with is_use_common_endpoint any tenant — only that tenant
  // when a domain is given too.
  { strategy: "oauth2:azure_ad", name: "Microsoft Entra ID", ...MICROSOFT },
  // GitHub: OAuth 2.0 only, no ID token. Token errors come as HTTP 200 with `error` (handled by the
  // OAuth client); the token request asks for JSON (Accept: application/json, else it answers
  // form-encoded). The profile is GET /user (a numeric `id`, the subject); the address is the one
  // of GET /user/emails that is primary AND verified — /user's `email` is the public profile
  // address, which the user types and GitHub never checks. The API wants a User-Agent.
  {
    strategy: "oauth2:github",
    name: "GitHub",
    authorizationUrl: "https://github.com/login/oauth/authorize",
    tokenUrl: "https://github.com/login/oauth/access_token",
    userUrl: "https://api.github.com/user",
    emailsUrl: "https://api.github.com/user/emails",
    scopes: ["read:user", "user:email"],
    clientAuth: "body",
    profile: "user_api",
    userApi: {
      headers: {
        accept: "application/vnd.github+json",
        "user-agent": "Latchkey",
        "x-github-api-version": "2022-11-28",
      },
      subject: "id",
      claims: { preferred_username: "login", name: "name", picture: "avatar_url" },
      emailList: { items: "", email: "email", primary: "primary", verified: "verified" },
    },
  },
  // Apple: an OpenID provider (discovery at appleid.apple.com) with three quirks. The client secret
  // is an ES256 JWT (iss team id, sub client id, aud the issuer, kid the key id) signed per token
  // request with the .p8 key kept as the connection's sealed client secret. Asking for name or
  // email requires response_mode=form_post: the answer is POSTed cross-site to the callback. The
  // name comes only at the first authorization, in the `user` form field (not signed: used for
  // the new account's name only, never for identity); `email_verified` may be the string "true".
  {
    strategy: "oauth2:apple",
    name: "Apple",
    issuer: "https://appleid.apple.com",
    scopes: ["name", "email"],
    authorizationParams: { response_mode: "form_post" },
    profile: "id_token",
    appleClientSecret: true,
    appleUserField: true,
  },
  // GitLab (gitlab.com; a self-managed GitLab by an issuer override): an OpenID provider.
  {
    strategy: "oauth2:gitlab",
    name: "GitLab",
    issuer: "https://gitlab.com",
    scopes: ["openid", "profile", "email"],
    profile: "id_token",
  },
  // Sign in with Slack: OpenID Connect (not Slack's v2 OAuth for bots, whose token answers nest the
  // user's token and report errors as `ok:false` in a 200).
  {
    strategy: "oauth2:slack",
    name: "Slack",
    issuer: "https://slack.com",
    scopes: ["openid", "profile", "email"],
    profile: "id_token",
  },
  // LinkedIn: "Sign In with LinkedIn using OpenID Connect"; its issuer has a path.
  {
    strategy: "oauth2:linkedin",
    name: "LinkedIn",
    issuer: "https://www.linkedin.com/oauth",
    scopes: ["openid", "profile", "email"],
    profile: "id_token",
  },
  // X (Twitter): OAuth 2.0 whose authorization code flow requires PKCE (S256; Latchkey always
  // sends it) and, for a confidential client, HTTP Basic at the token endpoint. No ID token; the
  // person is GET /2/users/me, nested under `data` (`id` a decimal string; the picture only when
  // asked for by user.fields). users.read needs tweet.read as well. X gives no address here, so the
  // person types one and proves it with an e-mail code before any account is created or linked.
  {
    strategy: "oauth2:twitter",
    name: "X (Twitter)",
    authorizationUrl: "https://x.com/i/oauth2/authorize",
    tokenUrl: "https://api.x.com/2/oauth2/token",
    userUrl: "https://api.x.com/2/users/me",
    scopes: ["users.read", "tweet.read"],
    clientAuth: "basic",
    profile: "user_api",
    userApi: {
      query: { "user.fields": "profile_image_url" },
      subject: "data.id",
      claims: { name: "data.name", preferred_username: "data.username", picture: "data.profile_image_url" },
    },
    asksForEmail: true,
  },
  // Discord: OAuth 2.0 only. GET /users/@me (`id` a snowflake string) has `email` with the scope
  // `email`, and `verified`: whether Discord has verified that address. The avatar is a hash, not a
  // URL (building the CDN URL is left out: no picture).
  {
    strategy: "oauth2:discord",
    name: "Discord",
    authorizationUrl: "https://discord.com/oauth2/authorize",
    tokenUrl: "https://discord.com/api/oauth2/token",
    userUrl: "https://discord.com/api/users/@me",
    scopes: ["identify", "email"],
    clientAuth: "basic",
    profile: "user_api",
    userApi: {
      subject: "id",
      claims: { name: "global_name", preferred_username: "username", email: "email" },
      emailVerified: "verified",
    },
  },
  // Facebook: OAuth 2.0 only; the person is the Graph API's /me, whose fields must be named. Its
  // `email` is the address on the profile, with no word from Graph on whether it was confirmed (the
  // field is documented as the primary address, not a verified one, and a phone-registered account
  // may have an unconfirmed one): never treated as verified, so never linked on without a code.
  // Graph calls carry appsecret_proof, which apps set to "Require App Secret" insist on. The URLs
  // name no Graph version: Facebook then uses the oldest version the app may still call, so an
  // entry never points at a retired version (a fixed one goes in CONNECTION_PROVIDERS_FILE).
  {
    strategy: "oauth2:facebook",
    name: "Facebook",
    authorizationUrl: "https://www.facebook.com/dialog/oauth",
    tokenUrl: "https://graph.facebook.com/oauth/access_token",
    userUrl: "https://graph.facebook.com/me",
    scopes: ["public_profile", "email"],
    clientAuth: "body",
    profile: "user_api",
    userApi: {
      query: { fields: "id,name,email,first_name,last_name" },
      subject: "id",
      claims: { name: "name", given_name: "first_name", family_name: "last_name", email: "email" },
      appSecretProof: true,
    },
    emailNeverVerified: true,
  },
  // Twitch: an OpenID provider (discovery at id.twitch.tv/oauth2) that puts `email` and
  // `email_verified` in the ID token only when a claims request (OIDC Core §5.5) asks for them;
  // the scope user:read:email is what allows them. Its token endpoint takes client_secret_post
  // (from discovery).
  {
    strategy: "oauth2:twitch",
    name: "Twitch",
    issuer: "https://id.twitch.tv/oauth2",
    scopes: ["openid", "user:read:email"],
    authorizationParams: {
      claims: JSON.stringify({
        id_token: { email: null, email_verified: null, preferred_username: null, picture: null },
      }),
    },
    profile: "id_token",
  },
  // Bitbucket Cloud: OAuth 2.0 only (HTTP Basic at the token endpoint). GET /2.0/user has the
  // person's `uuid` (braces included; stable, unlike the nickname); the address is the entry of
  // GET /2.0/user/emails (paged, under `values`) that is_primary AND is_confirmed.
  {
    strategy: "oauth2:bitbucket",
    name: "Bitbucket",
    authorizationUrl: "https://bitbucket.org/site/oauth2/authorize",
    tokenUrl: "https://bitbucket.org/site/oauth2/access_token",
    userUrl: "https://api.bitbucket.org/2.0/user",
    emailsUrl: "https://api.bitbucket.org/2.0/user/emails",
    scopes: ["account", "email"],
    clientAuth: "basic",
    profile: "user_api",
    userApi: {
      subject: "uuid",
      claims: { name: "display_name", preferred_username: "nickname", picture: "links.avatar.href" },
      emailList: {
        query: { pagelen: "100" },
        items: "values",
        email: "email",
        primary: "is_primary",
        verified: "is_confirmed",
      },
    },
  },
  // Patreon: OAuth 2.0 only (client id and secret in the token request's body). The person is the
  // JSON:API document of GET /api/oauth2/v2/identity, under `data` (`id`) and `data.attributes`,
  // which carries only the fields named in fields[user]; `is_email_verified` is Patreon's word on
  // the address, and the address needs the scope identity[email].
  {
    strategy: "oauth2:patreon",
    name: "Patreon",
    authorizationUrl: "https://www.patreon.com/oauth2/authorize",
    tokenUrl: "https://www.patreon.com/api/oauth2/token",
    userUrl: "https://www.patreon.com/api/oauth2/v2/identity",
    scopes: ["identity", "identity[email]"],
    clientAuth: "body",
    profile: "user_api",
    userApi: {
      query: { "fields[user]": "email,full_name,first_name,last_name,image_url,is_email_verified" },
      subject: "data.id",
      claims: {
        name: "data.attributes.full_name",
        given_name: "data.attributes.first_name",
        family_name: "data.attributes.last_name",
        picture: "data.attributes.image_url",
        email: "data.attributes.email",
      },
      emailVerified: "data.attributes.is_email_verified",
    },
  },
  // Xero: an OpenID provider (discovery at identity.xero.com). Its ID token has `email` but no
  // `email_verified`, so the address is never vouched for: linked only after an e-mail code.
  {
    strategy: "oauth2:xero",
    name: "Xero",
    issuer: "https://identity.xero.com",
    scopes: ["openid", "profile", "email"],
    profile: "id_token",
  },
  // Stripe Connect's OAuth authorizes a platform to act for a Stripe account (a business), and
  // names no person: nothing in it can sign someone in.
  {
    strategy: "oauth2:stripe",
    name: "Stripe",
    scopes: [],
    profile: "id_token",
    notSupported: "Stripe Connect's OAuth identifies an account, not a person",
  },
];

export class ConnectionProvidersError extends Error {}

/** The built-in definitions with the endpoint overrides of `file` (CONNECTION_PROVIDERS_FILE). */
export function loadSignInProviders(file?: string): Map<string, SignInProviderDefinition> {
  const providers = new Map(SIGN_IN_PROVIDERS.map((p) => [p.strategy, p]));
  if (!file) return providers;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new ConnectionProvidersError(
      `CONNECTION_PROVIDERS_FILE ${file} is not readable JSON: ${String(error)}`,
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new ConnectionProvidersError("CONNECTION_PROVIDERS_FILE must hold a JSON object keyed by strategy");
  for (const [strategy, entry] of Object.entries(parsed)) {
    const known = providers.get(strategy);
    if (!known)
      throw new ConnectionProvidersError(`CONNECTION_PROVIDERS_FILE: ${strategy} is not a strategy`);
    if (typeof entry !== "object" || entry === null || Array.isArray(entry))
      throw new ConnectionProvidersError(`CONNECTION_PROVIDERS_FILE: ${strategy} must be an object`);
    const merged: SignInProviderDefinition = { ...known };
    for (const [field, value] of Object.entries(entry as Record<string, unknown>)) {
      if (!(OVERRIDABLE_FIELDS as readonly string[]).includes(field))
        throw new ConnectionProvidersError(
          `CONNECTION_PROVIDERS_FILE: ${strategy}.${field} cannot be overridden (only ${OVERRIDABLE_FIELDS.join(", ")})`,
        );
      if (typeof value !== "string" || !URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol))
        throw new ConnectionProvidersError(`CONNECTION_PROVIDERS_FILE: ${strategy}.${field} is not a URL`);
      merged[field as (typeof OVERRIDABLE_FIELDS)[number]] = value.replace(/\/+$/, "");
    }
    providers.set(strategy, merged);
  }
  return providers;
}
