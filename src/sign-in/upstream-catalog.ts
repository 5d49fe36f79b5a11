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
  /** GitHub: the list of the user's addresses (GET /user/emails), each with primary and verified. */
  emailsUrl?: string;
  /** Scopes asked for when the connection names none. */
  scopes: readonly string[];
  /** Sent on every authorization request (never replaces state, nonce, PKCE or the redirect URI). */
  authorizationParams?: Readonly<Record<string, string>>;
  /** Token endpoint client authentication for plain OAuth 2.0 (OpenID providers: from discovery). */
  clientAuth?: "basic" | "body";
  /** The profile comes from an ID token, or from GitHub's user API. */
  profile: "id_token" | "github";
  /**
   * The provider's `email` claim is not an address it has verified, whatever `email_verified`
   * says: never linked on, stored as unverified.
   */
  emailNeverVerified?: boolean;
  /** Apple: the client secret is an ES256 JWT signed per token request (apple_team_id, apple_key_id). */
  appleClientSecret?: boolean;
  /** Apple: the person's name comes once, at the first authorization, in the `user` form field. */
  appleUserField?: boolean;
  /** Set when sign-in through this strategy is not built yet: why, for the page and operators. */
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

const notSupported = (strategy: string, name: string, why: string): SignInProviderDefinition => ({
  strategy,
  name,
  scopes: [],
  profile: "id_token",
  notSupported: why,
});

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
    profile: "github",
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
  notSupported(
    "oauth2:twitter",
    "X (Twitter)",
    "OAuth 2.0 with PKCE and no e-mail address (users/me has none): needs its user API and accounts without an address",
  ),
  notSupported("oauth2:discord", "Discord", "OAuth 2.0 only: needs its user API (/users/@me)"),
  notSupported("oauth2:facebook", "Facebook", "OAuth 2.0 only: needs the Graph API's /me"),
  notSupported("oauth2:twitch", "Twitch", "OpenID Connect that gives the address only on a claims request"),
  notSupported("oauth2:bitbucket", "Bitbucket", "OAuth 2.0 only: needs its user and e-mail APIs"),
  notSupported("oauth2:patreon", "Patreon", "OAuth 2.0 only: needs its identity API"),
  notSupported("oauth2:xero", "Xero", "OpenID Connect: not tried against Xero yet"),
  notSupported("oauth2:stripe", "Stripe", "Stripe Connect's OAuth identifies an account, not a person"),
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
