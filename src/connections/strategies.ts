// What each connection strategy is and which options it takes, and the validation of those options
// (pure: no database, no network). Kinde's strategies (`oauth2:google` … `oauth2:azure_ad`) take
// Kinde's options; Latchkey adds `oidc:custom` (any OpenID provider, found by issuer discovery) and
// `oauth2:custom` (plain OAuth 2.0 endpoints and a userinfo mapping). SAML and WS-Federation are
// Kinde's too but not implemented yet: they are refused by name rather than stored unusable.
import { domainToASCII } from "node:url";
import { providerUrlProblem } from "../outbound/http.js";

/** Kinde's social strategies (CreateConnection's enum) besides Entra ID. */
export const SOCIAL_STRATEGIES = [
  "oauth2:apple",
  "oauth2:bitbucket",
  "oauth2:discord",
  "oauth2:facebook",
  "oauth2:github",
  "oauth2:gitlab",
  "oauth2:google",
  "oauth2:linkedin",
  "oauth2:microsoft",
  "oauth2:patreon",
  "oauth2:slack",
  "oauth2:stripe",
  "oauth2:twitch",
  "oauth2:twitter",
  "oauth2:xero",
] as const;

/** Enterprise strategies: an organization may manage them; they take home-realm domains. */
export const ENTERPRISE_STRATEGIES = ["oauth2:azure_ad", "oidc:custom", "oauth2:custom"] as const;

export const STRATEGIES = [...SOCIAL_STRATEGIES, ...ENTERPRISE_STRATEGIES] as const;
export type Strategy = (typeof STRATEGIES)[number];

const STRATEGY_SET: ReadonlySet<string> = new Set(STRATEGIES);
const ENTERPRISE_SET: ReadonlySet<string> = new Set(ENTERPRISE_STRATEGIES);

export const isStrategy = (value: string): value is Strategy => STRATEGY_SET.has(value);
export const isEnterprise = (strategy: Strategy): boolean => ENTERPRISE_SET.has(strategy);

/** Kinde's SAML and WS-Federation strategies: known, not implemented yet. */
export const isUnsupportedKindeStrategy = (value: string): boolean => /^(saml|wsfed):[a-z0-9_]+$/.test(value);

/** Which claims of the provider's userinfo answer become the user's, for `oauth2:custom`. */
export interface UserinfoMapping {
  sub: string;
  email?: string;
  email_verified?: string;
  given_name?: string;
  family_name?: string;
  picture?: string;
}

/** Kinde's shape for a parameter passed on to the provider: `{prompt: {value: "select_account"}}`. */
export type UpstreamParams = Record<string, { value: string }>;

/** A connection's options as stored (the client secret and home-realm domains are kept apart). */
export interface ConnectionOptions {
  client_id?: string;
  is_trusted?: boolean;
  // Kinde's. The callback is always on ISSUER_URL, the business's own domain, so
  // is_use_custom_domain holds whichever way it is set; the next three are not built and cannot be
  // turned on (UNBUILT_OPTIONS). The last four act at sign-in (sign-in/connection-accounts.ts,
  // connection-sso.ts).
  is_use_custom_domain?: boolean;
  is_retrieve_provider_user_tokens?: boolean;
  is_retrieve_provider_user_groups?: boolean;
  is_extended_attributes_required?: boolean;
  is_force_show_sso_button?: boolean;
  is_sync_user_profile_on_login?: boolean;
  is_auto_join_organization_enabled?: boolean;
  is_create_missing_user?: boolean;
  upstream_params?: UpstreamParams;
  // Entra ID (oauth2:azure_ad)
  entra_id_domain?: string;
  is_use_common_endpoint?: boolean;
  // Apple: the client secret is an ES256 JWT signed per request with this team's key (the sealed
  // client_secret holds the .p8 private key); Kinde's API has no fields for them.
  apple_team_id?: string;
  apple_key_id?: string;
  // oidc:custom and oauth2:custom
  issuer?: string;
  scopes?: string[];
  authorization_endpoint?: string;
  token_endpoint?: string;
  userinfo_endpoint?: string;
  userinfo_mapping?: UserinfoMapping;
}

/** Options as a caller sends them: the stored ones, the write-only secret and the domains. */
export interface ConnectionOptionsInput extends ConnectionOptions {
  client_secret?: string;
  home_realm_domains?: string[];
}

export type OptionName = keyof ConnectionOptionsInput;

const SOCIAL_OPTIONS: readonly OptionName[] = [
  "client_id",
  "client_secret",
  "is_trusted",
  "is_use_custom_domain",
  "is_retrieve_provider_user_tokens",
  "is_sync_user_profile_on_login",
  "upstream_params",
];

const ENTERPRISE_COMMON: readonly OptionName[] = [
  ...SOCIAL_OPTIONS,
  "home_realm_domains",
  "is_auto_join_organization_enabled",
  "is_create_missing_user",
  "is_force_show_sso_button",
];

const OPTIONS_OF: Record<Strategy, ReadonlySet<OptionName>> = Object.fromEntries(
  STRATEGIES.map((strategy) => {
    const names: readonly OptionName[] =
      strategy === "oauth2:apple"
        ? [...SOCIAL_OPTIONS, "apple_team_id", "apple_key_id"]
        : strategy === "oauth2:azure_ad"
          ? [
              ...ENTERPRISE_COMMON,
              "entra_id_domain",
              "is_use_common_endpoint",
              "is_retrieve_provider_user_groups",
              "is_extended_attributes_required",
            ]
          : strategy === "oidc:custom"
            ? [...ENTERPRISE_COMMON, "issuer", "scopes"]
            : strategy === "oauth2:custom"
              ? [
                  ...ENTERPRISE_COMMON,
                  "scopes",
                  "authorization_endpoint",
                  "token_endpoint",
                  "userinfo_endpoint",
                  "userinfo_mapping",
                ]
              : SOCIAL_OPTIONS;
    return [strategy, new Set(names)];
  }),
) as unknown as Record<Strategy, ReadonlySet<OptionName>>;

export const optionsOf = (strategy: Strategy): ReadonlySet<OptionName> => OPTIONS_OF[strategy];

/**
 * Where a connection points: the client registered at the provider and the provider endpoints the
 * sign-in flow talks to (the client secret goes to the token endpoint with the code, RFC 6749
 * §2.3.1; oidc:custom finds its endpoints from the issuer). The write-only secret was given for
 * one such configuration: a write that changes any of these without a new secret drops it, so
 * re-pointing a connection never sends the old secret to a new place.
 */
export const SECRET_BOUND_OPTIONS = [
  "client_id",
  "issuer",
  "authorization_endpoint",
  "token_endpoint",
  "userinfo_endpoint",
] as const satisfies readonly (keyof ConnectionOptions)[];

/**
 * Who vouches for the addresses a trusted connection links to existing accounts: where it points,
 * plus the Entra ID tenant (or any tenant) and, for oauth2:custom, which userinfo fields are read
 * as the address and as its verification.
 */
export const IDENTITY_SOURCE_OPTIONS = [
  ...SECRET_BOUND_OPTIONS,
  "entra_id_domain",
  "is_use_common_endpoint",
  "userinfo_mapping",
] as const satisfies readonly (keyof ConnectionOptions)[];

/** A value as comparable text: objects with their keys sorted (a mapping written in another order is the same). */
function comparable(value: unknown): string {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return JSON.stringify(value) ?? "";
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${comparable(v)}`).join(",")}}`;
}

/**
 * Which of `names` differ between two stored option sets (validated, so written the same way). An
 * absent flag and `false` are the same setting.
 */
export function changedOptions(
  before: ConnectionOptions,
  after: ConnectionOptions,
  names: readonly (keyof ConnectionOptions)[],
): (keyof ConnectionOptions)[] {
  const value = (options: ConnectionOptions, name: keyof ConnectionOptions) =>
    comparable(options[name] === false ? undefined : options[name]);
  return names.filter((name) => value(before, name) !== value(after, name));
}

/**
 * Kinde's options Latchkey does not do, and why: turning one on is refused rather than stored and
 * ignored. One already stored as true (accepted before this rule) may be written back unchanged, so
 * that a read-back edit still saves.
 */
const UNBUILT_OPTIONS = {
  is_retrieve_provider_user_tokens: "Latchkey does not keep the provider's tokens from a sign-in",
  is_retrieve_provider_user_groups: "Latchkey does not read group membership from Entra ID",
  is_extended_attributes_required: "Latchkey does not read Entra ID's extended attributes",
} as const satisfies Partial<Record<keyof ConnectionOptions, string>>;

/** Refuses a write that turns on an option Latchkey does not do (`before`: the stored options). */
export function refuseUnbuiltOptions(before: ConnectionOptions, after: ConnectionOptions): void {
  for (const [name, why] of Object.entries(UNBUILT_OPTIONS) as [keyof typeof UNBUILT_OPTIONS, string][])
    if (after[name] === true && before[name] !== true)
      fail(`options.${name} cannot be true: ${why} (yet); leave it false or out`);
}

// ---- validation -------------------------------------------------------------------------------

export const MAX_HOME_REALM_DOMAINS = 100;
const MAX_URL_LENGTH = 2_000;
const MAX_SCOPES = 50;
const MAX_UPSTREAM_PARAMS = 20;
const CONTROL = /\p{Cc}/u;
/** RFC 6749 §3.3 scope-token: printable ASCII without space, `"` or `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]{1,200}$/;
const DOMAIN_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const APPLE_ID = /^[A-Z0-9]{10}$/;
/** A path into a JSON object: `email`, `data.attributes.mail`, `emails[0].value`. */
const JSON_PATH = /^[A-Za-z0-9_$:-]+(\[\d{1,3}\])?(\.[A-Za-z0-9_$:-]+(\[\d{1,3}\])?){0,9}$/;
/**
 * Parameters the sign-in flow sets itself: an upstream parameter must not replace them (state, nonce
 * and PKCE are what bind the provider's answer to this browser, RFC 9700 §2.1; the redirect URI
 * and client are the registration; `request`/`request_uri` would carry a whole other request).
 */
const RESERVED_UPSTREAM = new Set([
  "client_id",
  "client_secret",
  "redirect_uri",
  "response_type",
  "response_mode",
  "scope",
  "state",
  "nonce",
  "code_challenge",
  "code_challenge_method",
  "request",
  "request_uri",
]);

/**
 * A home-realm domain in the form e-mail addresses' domains are stored in (users/email.ts):
 * Unicode NFC, UTS #46 to ASCII (A-labels, lower case), one trailing root dot removed. Kinde's
 * examples write them `@kinde.com`; the `@` is accepted and dropped. Undefined when not a DNS name
 * of at least two labels.
 */
export function canonicalDomain(input: string): string | undefined {
  if (input.length > 300) return undefined;
  let text = input.trim().normalize("NFC");
  if (text.startsWith("@")) text = text.slice(1);
  const ascii = domainToASCII(text);
  const domain = ascii.endsWith(".") ? ascii.slice(0, -1) : ascii;
  const labels = domain.split(".");
  const valid =
    domain.length > 0 &&
    domain.length <= 253 &&
    labels.length >= 2 &&
    labels.every((label) => DOMAIN_LABEL.test(label)) &&
    !/^\d+$/.test(labels.at(-1)!);
  return valid ? domain : undefined;
}

export class OptionsProblem extends Error {
  override name = "OptionsProblem";
}

const fail = (message: string): never => {
  throw new OptionsProblem(message);
};

function text(name: string, value: string, max: number): string {
  if (value.length === 0 || value.length > max) fail(`options.${name} must be 1 to ${max} characters`);
  if (CONTROL.test(value)) fail(`options.${name} must not contain control characters`);
  return value;
}

/** An https provider URL (http and private addresses only where the operator allows them). */
function providerUrl(
  name: string,
  value: string,
  allowPrivateNetworks: boolean,
  { query }: { query: boolean },
): string {
  if (value.length > MAX_URL_LENGTH) fail(`options.${name} must be at most ${MAX_URL_LENGTH} characters`);
  const problem = providerUrlProblem(value, allowPrivateNetworks);
  if (problem) fail(`options.${name} ${problem}`);
  const url = new URL(value);
  if (url.username || url.password) fail(`options.${name} must not contain a user name or password`);
  if (url.hash) fail(`options.${name} must not contain a fragment`);
  // OpenID Connect Discovery 1.0 §2: the issuer has no query component (nor fragment).
  if (!query && url.search) fail(`options.${name} must not contain a query`);
  return value;
}

function scopes(value: string[], strategy: Strategy): string[] {
  if (value.length > MAX_SCOPES) fail(`options.scopes may hold at most ${MAX_SCOPES} scopes`);
  const bad = value.find((s) => !SCOPE_TOKEN.test(s));
  if (bad !== undefined) fail(`options.scopes: "${bad.slice(0, 50)}" is not a scope (RFC 6749 §3.3)`);
  // OpenID Connect Core 1.0 §3.1.2.1: without `openid` the request is not an OpenID request at all.
  if (strategy === "oidc:custom" && !value.includes("openid")) fail("options.scopes must include openid");
  return [...new Set(value)];
}

function upstreamParams(value: Record<string, unknown>): UpstreamParams {
  const entries = Object.entries(value);
  if (entries.length > MAX_UPSTREAM_PARAMS)
    fail(`options.upstream_params may hold at most ${MAX_UPSTREAM_PARAMS} parameters`);
  const result: UpstreamParams = {};
  for (const [name, param] of entries) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name))
      fail(`options.upstream_params: "${name.slice(0, 64)}" is not a parameter name`);
    if (RESERVED_UPSTREAM.has(name))
      fail(`options.upstream_params: ${name} is set by the sign-in flow and cannot be replaced`);
    const inner = param as { value?: unknown } | null;
    if (
      typeof inner !== "object" ||
      inner === null ||
      Object.keys(inner).some((k) => k !== "value") ||
      typeof inner.value !== "string"
    )
      fail(`options.upstream_params.${name} must be {"value": "<text>"}`);
    result[name] = { value: text(`upstream_params.${name}.value`, (inner as { value: string }).value, 500) };
  }
  return result;
}

function userinfoMapping(value: Record<string, unknown>): UserinfoMapping {
  const allowed = ["sub", "email", "email_verified", "given_name", "family_name", "picture"];
  const mapping: Record<string, string> = {};
  for (const [claim, path] of Object.entries(value)) {
    if (!allowed.includes(claim))
      fail(`options.userinfo_mapping.${claim.slice(0, 50)} is not a mapped claim (${allowed.join(", ")})`);
    if (typeof path !== "string" || path.length > 200 || !JSON_PATH.test(path))
      fail(`options.userinfo_mapping.${claim} must be a JSON path such as "id" or "data.emails[0].value"`);
    mapping[claim] = path as string;
  }
  if (!mapping.sub) fail("options.userinfo_mapping.sub is required: it identifies the user at the provider");
  return mapping as unknown as UserinfoMapping;
}

export interface ValidatedOptions {
  options: ConnectionOptions;
  /** Present when the input named a secret (a new one to seal). */
  clientSecret?: string;
  /** Canonical, without duplicates; present when the input named the list. */
  homeRealmDomains?: string[];
}

/**
 * Checks a strategy's complete options (after a PATCH merged its changes) and returns them in the
 * form they are stored, with defaults filled in. Throws OptionsProblem with a message for the caller.
 */
export function validateOptions(
  strategy: Strategy,
  input: ConnectionOptionsInput,
  allowPrivateNetworks: boolean,
): ValidatedOptions {
  const allowed = optionsOf(strategy);
  const unknown = Object.keys(input).filter((k) => !allowed.has(k as OptionName));
  if (unknown.length > 0)
    fail(`${strategy} does not take option${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}`);

  const options: ConnectionOptions = {};
  const result: ValidatedOptions = { options };
  for (const [name, value] of Object.entries(input) as [OptionName, unknown][]) {
    if (value === undefined) continue;
    switch (name) {
      case "client_id":
        options.client_id = text(name, value as string, 500);
        break;
      case "client_secret":
        // Any text up to 8 KiB (Apple's is a PEM private key); never echoed in a message.
        if ((value as string).length === 0 || (value as string).length > 8192)
          fail("options.client_secret must be 1 to 8192 characters");
        result.clientSecret = value as string;
        break;
      case "home_realm_domains": {
        const list = value as string[];
        if (list.length > MAX_HOME_REALM_DOMAINS)
          fail(`options.home_realm_domains may hold at most ${MAX_HOME_REALM_DOMAINS} domains`);
        const domains = list.map((d) => {
          const domain = canonicalDomain(d);
          if (!domain) fail(`options.home_realm_domains: "${d.slice(0, 100)}" is not a domain`);
          return domain!;
        });
        result.homeRealmDomains = [...new Set(domains)];
        break;
      }
      case "entra_id_domain": {
        const domain = canonicalDomain(value as string);
        if (!domain) fail("options.entra_id_domain is not a domain");
        options.entra_id_domain = domain!;
        break;
      }
      case "apple_team_id":
      case "apple_key_id":
        if (!APPLE_ID.test(value as string)) fail(`options.${name} must be 10 capital letters or digits`);
        options[name] = value as string;
        break;
      case "issuer":
        options.issuer = providerUrl(name, value as string, allowPrivateNetworks, { query: false });
        break;
      case "authorization_endpoint":
      case "token_endpoint":
      case "userinfo_endpoint":
        // RFC 6749 §3.1 and §3.2: endpoint URIs may carry a query component, never a fragment.
        options[name] = providerUrl(name, value as string, allowPrivateNetworks, { query: true });
        break;
      case "scopes":
        options.scopes = scopes(value as string[], strategy);
        break;
      case "upstream_params":
        options.upstream_params = upstreamParams(value as Record<string, unknown>);
        break;
      case "userinfo_mapping":
        options.userinfo_mapping = userinfoMapping(value as Record<string, unknown>);
        break;
      default:
        // The remaining options are booleans (the request schema checked their type).
        if (typeof value !== "boolean") fail(`options.${name} must be true or false`);
        (options as Record<string, unknown>)[name] = value;
    }
  }

  if (!options.client_id) fail(`${strategy} needs options.client_id (the client registered at the provider)`);
  if (strategy === "oidc:custom") {
    if (!options.issuer) fail("oidc:custom needs options.issuer (the provider's issuer URL, for discovery)");
    options.scopes ??= ["openid", "profile", "email"];
  }
  if (strategy === "oauth2:custom") {
    for (const name of ["authorization_endpoint", "token_endpoint", "userinfo_endpoint"] as const)
      if (!options[name]) fail(`oauth2:custom needs options.${name}`);
    if (!options.userinfo_mapping) fail("oauth2:custom needs options.userinfo_mapping (at least sub)");
    options.scopes ??= [];
  }
  if (strategy === "oauth2:azure_ad" && !options.entra_id_domain && !options.is_use_common_endpoint)
    fail("oauth2:azure_ad needs options.entra_id_domain, or is_use_common_endpoint for any tenant");
  return result;
}
