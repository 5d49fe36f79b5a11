// The provider side of signing in through a connection (issue 17): for each strategy, where the
// browser is sent (the authorization request, RFC 6749 §4.1.1 with PKCE, RFC 7636, and the OIDC
// nonce), and how the provider's answer becomes a verified profile (the code exchange, then a
// validated ID token, OIDC Core §3.1.3.7, or for plain OAuth 2.0 the provider's user API read
// through the catalog's mapping, upstream-user-api.ts). What happens with the profile (find, link
// or create the user) is connection-sign-in.routes.ts's.
//
// Every call to a provider goes through the SSRF guard (outbound/http.ts) within UPSTREAM_DEADLINE_MS;
// every failure is an UpstreamRefusal (a page for the person, nothing stored) and a log line for the
// operator that names no secret.
import { createPrivateKey, type KeyObject } from "node:crypto";
import type { FastifyBaseLogger } from "fastify";
import { SignJWT } from "jose";
import type { Clock } from "../clock.js";
import type { SignInConnection } from "../connections/connections.service.js";
import { t } from "../i18n/catalogue.js";
import { DEFAULT_LOCALE, type Locale } from "../i18n/locale.js";
import { OutboundError, type OutboundOptions, outboundRequest } from "../outbound/http.js";
import {
  authorizationUrl,
  codeChallengeS256,
  exchangeCode,
  type OAuthProvider,
  PermanentProviderError,
  TransientProviderError,
} from "../outbound/oauth-client.js";
import {
  checkAuthorizationResponseIssuer,
  discover,
  OidcError,
  type OidcMetadata,
  validateIdToken,
} from "../outbound/oidc.js";
import { type Form, field } from "./browser-sign-in.js";
import { SIGN_IN_PROVIDERS, type SignInProviderDefinition } from "./upstream-catalog.js";
import {
  getJson,
  jsonValue,
  profileFromClaims,
  readPath,
  text,
  type UpstreamProfile,
  userApiProfile,
} from "./upstream-user-api.js";

export type { UpstreamProfile } from "./upstream-user-api.js";

/** Every call to a provider (discovery, keys, token, userinfo) ends within this (http.ts deadline). */
export const UPSTREAM_DEADLINE_MS = 10_000;

// The deadline in force: UPSTREAM_DEADLINE_MS, which production never changes. A test seam: the
// one place that builds UpstreamProviders (connection-sign-in.routes.ts) takes its deps from
// sign-in.routes.ts and server.ts, which carry no deadline, so a test of the sign-in routes shortens
// it here (shortenUpstreamDeadline) to see a held provider answer cut without waiting 10 s.
let upstreamDeadlineMs = UPSTREAM_DEADLINE_MS;

/** Tests only: every provider call made until restore() is called ends within `deadlineMs`. */
export function shortenUpstreamDeadline(deadlineMs: number): () => void {
  if (!(Number.isInteger(deadlineMs) && deadlineMs > 0 && deadlineMs <= UPSTREAM_DEADLINE_MS))
    throw new Error(`the upstream deadline must be 1 to ${UPSTREAM_DEADLINE_MS} ms`);
  const previous = upstreamDeadlineMs;
  upstreamDeadlineMs = deadlineMs;
  return () => {
    upstreamDeadlineMs = previous;
  };
}

/**
 * Strategies whose sign-in is built: any OpenID provider, OAuth 2.0 with a userinfo mapping, and
 * Kinde's social strategies the catalog (upstream-catalog.ts) does not mark notSupported.
 */
export const SIGN_IN_STRATEGIES: ReadonlySet<string> = new Set([
  "oidc:custom",
  "oauth2:custom",
  ...SIGN_IN_PROVIDERS.filter((p) => !p.notSupported).map((p) => p.strategy),
]);

/** A sign-in through a connection that cannot go on: shown as a page, nothing stored. */
export class UpstreamRefusal extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
  ) {
    super(title);
  }
}

/** What the state recorded at the start and the callback checks the answer against. */
export interface MintedState {
  issuer: string;
  nonce: string;
  codeVerifier: string;
}

/** A connection resolved to its provider: the issuer the state records, and the request to send. */
export interface PreparedSignIn {
  /** The issuer expected to answer ("" for a plain OAuth 2.0 provider with none). */
  issuer: string;
  /** The provider's authorization URL for this sign-in. */
  authorizationRequest(input: { state: string; nonce: string; codeVerifier: string }): string;
}

export interface UpstreamProvidersDeps {
  allowPrivateNetworks: boolean;
  clock: Clock;
  /** Latchkey's one callback URL for all connections. */
  callbackUrl: string;
  /** The connection's client secret, unsealed (undefined when none is stored). */
  openClientSecret: (connection: SignInConnection) => string | undefined;
  /** The social strategies' definitions (loadSignInProviders: built in, endpoints overridable). */
  definitions: ReadonlyMap<string, SignInProviderDefinition>;
}

/** A provider resolved for one connection: endpoints, issuer and (for OpenID providers) metadata. */
interface Resolved {
  provider: OAuthProvider;
  issuer: string;
  metadata?: OidcMetadata;
  /** The social strategy's definition (none for oidc:custom and oauth2:custom). */
  definition?: SignInProviderDefinition;
  /** Microsoft's multi-tenant issuer template: the tenants whose ID tokens are accepted. */
  tenants?: "any" | readonly string[];
}

/** An Entra ID tenant id (a GUID), as Microsoft spells it in issuers and `tid`. */
const TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** How long a domain's tenant id is reused (a tenant's id never changes; a domain may move). */
const TENANT_CACHE_SECONDS = 3600;

/**
 * The provider side for every sign-in strategy. `prepare` resolves a connection (discovery where
 * the provider has it) and builds its authorization request; `finish` checks the provider's answer
 * at the callback and returns the verified profile, or throws UpstreamRefusal.
 */
export class UpstreamProviders {
  private readonly tenantIds = new Map<string, { tenant: string; at: number }>();

  constructor(private readonly deps: UpstreamProvidersDeps) {}

  supports(strategy: string): boolean {
    return SIGN_IN_STRATEGIES.has(strategy);
  }

  /** Whether the strategy's provider never tells an address (the person types and proves one). */
  asksForEmail(strategy: string): boolean {
    return this.deps.definitions.get(strategy)?.asksForEmail === true;
  }

  /** Why a Kinde strategy cannot sign anyone in yet (undefined when it can). */
  notSupported(strategy: string): string | undefined {
    return this.deps.definitions.get(strategy)?.notSupported;
  }

  private http(): OutboundOptions {
    return {
      allowPrivateNetworks: this.deps.allowPrivateNetworks,
      // Read at each call: a test shortens it for one request, on a server already built.
      deadlineMs: upstreamDeadlineMs,
    };
  }

  /** `locale`: the sign-in's language, for the refusal's page (the dashboard's test: English). */
  async prepare(
    log: FastifyBaseLogger,
    connection: SignInConnection,
    locale: Locale = DEFAULT_LOCALE,
  ): Promise<PreparedSignIn> {
    let resolved: Resolved;
    try {
      resolved = await this.resolve(connection);
    } catch (error) {
      logFailure(log, connection, "discovery", error);
      throw unreachable(connection, locale);
    }
    const extra = Object.fromEntries(
      Object.entries(connection.options.upstream_params ?? {}).map(([k, v]) => [k, v.value]),
    );
    const scopes = [...(connection.options.scopes ?? resolved.definition?.scopes ?? [])];
    return {
      issuer: resolved.issuer,
      authorizationRequest: ({ state, nonce, codeVerifier }) =>
        authorizationUrl(resolved.provider, {
          clientId: connection.options.client_id ?? "",
          redirectUri: this.deps.callbackUrl,
          scopes,
          state,
          nonce,
          codeChallenge: codeChallengeS256(codeVerifier),
          extra,
        }),
    };
  }

  /** Checks the provider's answer and returns who it says the person is; UpstreamRefusal otherwise. */
  async finish(
    log: FastifyBaseLogger,
    connection: SignInConnection,
    minted: MintedState,
    params: Form,
    locale: Locale = DEFAULT_LOCALE,
  ): Promise<UpstreamProfile> {
    const providerError = field(params, "error");
    if (providerError) {
      log.info(
        {
          event: "connection_sign_in_failed",
          connectionId: connection.id,
          reason: providerError.slice(0, 64),
        },
        "provider answered with an error",
      );
      // RFC 6749 §4.1.2.1: access_denied is the person (or the provider) declining.
      const cancelled = providerError === "access_denied";
      const provider = connection.displayName;
      throw new UpstreamRefusal(
        cancelled ? 401 : 400,
        cancelled
          ? t(locale, "connection.cancelled_title")
          : t(locale, "connection.failed_title", { provider }),
        cancelled
          ? t(locale, "connection.cancelled", { provider })
          : t(locale, "connection.provider_error", { provider }),
      );
    }
    let resolved: Resolved;
    try {
      resolved = await this.resolve(connection);
    } catch (error) {
      logFailure(log, connection, "discovery", error);
      throw unreachable(connection, locale);
    }
    try {
      // The issuer the request went to is the one that must answer (mix-up, RFC 9207 §2.4): also
      // when the connection was re-pointed at another provider while the person was away.
      if (resolved.issuer !== minted.issuer)
        throw new OidcError("authorization_response_issuer", "the connection's issuer changed");
      if (minted.issuer) checkAuthorizationResponseIssuer(params, minted.issuer, resolved.metadata);
      const code = field(params, "code");
      if (!code || code.length > 4096) throw new OidcError("invalid_id_token", "the answer carries no code");
      const credentials = {
        clientId: connection.options.client_id ?? "",
        clientSecret: resolved.definition?.appleClientSecret
          ? await this.appleClientSecret(connection, resolved.issuer)
          : (this.deps.openClientSecret(connection) ?? ""),
      };
      const tokens = await exchangeCode(
        resolved.provider,
        credentials,
        { code, redirectUri: this.deps.callbackUrl, codeVerifier: minted.codeVerifier },
        this.deps.clock.now(),
        this.http(),
      );
      if (resolved.metadata) {
        // OIDC Core §3.1.3.3: the token response of an OpenID provider carries the ID token.
        if (!tokens.idToken) throw new OidcError("invalid_id_token", "the token response has no id_token");
        const claims: Record<string, unknown> = await validateIdToken(tokens.idToken, {
          metadata: resolved.metadata,
          clientId: credentials.clientId,
          nonce: minted.nonce,
          http: this.http(),
          tenants: resolved.tenants,
        });
        const subject = claims.sub as string;
        const definition = resolved.definition;
        // Many providers put profile claims only at userinfo when an access token is issued (OIDC
        // Core §5.4): read it then, and use it only for the same subject (§5.3.2).
        if (claims.email === undefined && resolved.metadata.userinfo_endpoint && tokens.accessToken) {
          const info = await this.userinfo(resolved.metadata.userinfo_endpoint, tokens.accessToken);
          if (info.sub !== subject)
            throw new OidcError("invalid_id_token", "userinfo is about another subject");
          Object.assign(claims, { ...info, ...claims });
        }
        if (definition?.appleUserField) Object.assign(claims, appleUserName(field(params, "user")));
        const profile = profileFromClaims(subject, claims);
        // The catalog's word on the provider outranks the token's own email_verified.
        return definition?.emailNeverVerified ? { ...profile, emailVerified: false } : profile;
      }
      if (resolved.definition?.profile === "user_api")
        return await userApiProfile(
          resolved.definition,
          tokens.accessToken,
          credentials.clientSecret,
          this.http(),
        );
      return await this.userinfoProfile(connection, tokens.accessToken);
    } catch (error) {
      logFailure(log, connection, "callback", error);
      if (error instanceof OutboundError || error instanceof TransientProviderError)
        throw unreachable(connection, locale);
      if (
        error instanceof OidcError ||
        error instanceof PermanentProviderError ||
        error instanceof UpstreamRefusal
      ) {
        throw new UpstreamRefusal(
          400,
          t(locale, "connection.failed_title", { provider: connection.displayName }),
          t(locale, "connection.unverified"),
        );
      }
      throw error;
    }
  }

  /** The provider's endpoints and issuer for a connection, discovered for OpenID providers. */
  private async resolve(connection: SignInConnection): Promise<Resolved> {
    const { options } = connection;
    if (connection.strategy === "oidc:custom") return this.fromDiscovery(options.issuer!);
    const definition = this.deps.definitions.get(connection.strategy);
    if (definition && !definition.notSupported) return this.resolveSocial(connection, definition);
    return {
      issuer: options.issuer ?? "",
      provider: {
        authorizationUrl: options.authorization_endpoint!,
        tokenUrl: options.token_endpoint!,
        clientAuth: "basic",
        bodyFormat: "form",
        scopeSeparator: " ",
        pkce: true,
      },
    };
  }

  private async resolveSocial(
    connection: SignInConnection,
    definition: SignInProviderDefinition,
  ): Promise<Resolved> {
    const params = definition.authorizationParams;
    if (definition.microsoftAuthority) {
      const authority = definition.microsoftAuthority.replace(/\/+$/, "");
      const { entra_id_domain: domain, is_use_common_endpoint: common } = connection.options;
      // oauth2:microsoft is any Microsoft account; oauth2:azure_ad is one tenant unless the common
      // endpoint is asked for, and then still only the domain's tenant when a domain is given.
      const tenant = domain ? await this.tenantOf(authority, domain) : undefined;
      const multiTenant = connection.strategy === "oauth2:microsoft" || common === true || !tenant;
      const resolved = multiTenant
        ? await this.fromDiscovery(`${authority}/common/v2.0`, { allowTenantTemplate: true })
        : await this.fromDiscovery(`${authority}/${tenant}/v2.0`);
      return {
        ...resolved,
        definition,
        provider: { ...resolved.provider, authorizationParams: params },
        // validateIdToken: `tid` must be this tenant, or any for the template without a domain.
        tenants: tenant ? [tenant] : "any",
      };
    }
    if (definition.issuer) {
      const resolved = await this.fromDiscovery(definition.issuer);
      return { ...resolved, definition, provider: { ...resolved.provider, authorizationParams: params } };
    }
    return {
      issuer: "",
      definition,
      provider: {
        authorizationUrl: definition.authorizationUrl!,
        tokenUrl: definition.tokenUrl!,
        clientAuth: definition.clientAuth ?? "basic",
        bodyFormat: "form",
        scopeSeparator: " ",
        pkce: true,
        authorizationParams: params,
      },
    };
  }

  /** An OpenID provider by its discovery document (OIDC Discovery 1.0 §4). */
  private async fromDiscovery(
    issuer: string,
    options: { allowTenantTemplate?: boolean } = {},
  ): Promise<Resolved> {
    const metadata = await discover(issuer, { http: this.http(), ...options });
    const methods = metadata.token_endpoint_auth_methods_supported;
    // OIDC Discovery §3: client_secret_basic when the provider lists nothing.
    const clientAuth =
      !methods || methods.includes("client_secret_basic") || !methods.includes("client_secret_post")
        ? "basic"
        : "body";
    return {
      metadata,
      issuer: metadata.issuer,
      provider: {
        authorizationUrl: metadata.authorization_endpoint,
        tokenUrl: metadata.token_endpoint,
        clientAuth,
        bodyFormat: "form",
        scopeSeparator: " ",
        pkce: true,
      },
    };
  }

  /**
   * The tenant id of an Entra ID domain: its tenant's discovery document names the issuer
   * `{authority}/{tenant id}/v2.0` (asked by domain, so discover()'s same-issuer rule, OIDC
   * Discovery §4.3, cannot apply; the id read here is then discovered under its own name).
   */
  private async tenantOf(authority: string, domain: string): Promise<string> {
    const key = `${authority}|${domain}`;
    const cached = this.tenantIds.get(key);
    const now = this.deps.clock.now();
    if (cached && now - cached.at < TENANT_CACHE_SECONDS) return cached.tenant;
    const response = await outboundRequest(
      `${authority}/${encodeURIComponent(domain)}/v2.0/.well-known/openid-configuration`,
      { method: "GET", headers: { accept: "application/json" } },
      { ...this.http(), maxResponseBytes: 100_000 },
    );
    if (response.status !== 200)
      throw new OidcError("discovery_failed", `the tenant of ${domain} answered HTTP ${response.status}`);
    const issuer = jsonValue(response.body, "discovery_failed") as { issuer?: unknown } | null;
    const named = typeof issuer?.issuer === "string" ? issuer.issuer : "";
    const tenant =
      named.startsWith(`${authority}/`) && named.endsWith("/v2.0")
        ? named.slice(authority.length + 1, -5)
        : "";
    if (!TENANT_ID.test(tenant))
      throw new OidcError(
        "issuer_mismatch",
        `the discovery document of ${domain} names no tenant of ${authority}`,
      );
    this.tenantIds.set(key, { tenant: tenant.toLowerCase(), at: now });
    if (this.tenantIds.size > 500) this.tenantIds.delete(this.tenantIds.keys().next().value as string);
    return tenant.toLowerCase();
  }

  /**
   * Apple's client secret: an ES256 JWT the client signs itself (Apple, "Creating a client secret"):
   * iss the team id, sub the client id, aud Apple's issuer, kid the key id, short-lived (Apple
   * allows six months; five minutes is all one token request needs). The key is the .p8 PEM kept
   * as the connection's sealed client secret.
   */
  private async appleClientSecret(connection: SignInConnection, issuer: string): Promise<string> {
    const { apple_team_id: teamId, apple_key_id: keyId, client_id: clientId } = connection.options;
    const pem = this.deps.openClientSecret(connection);
    if (!teamId || !keyId || !clientId || !pem)
      throw new PermanentProviderError("the Apple connection has no team id, key id, client id or key");
    let key: KeyObject;
    try {
      key = createPrivateKey(pem);
    } catch {
      throw new PermanentProviderError("the Apple connection's key is not a PEM private key");
    }
    if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1")
      throw new PermanentProviderError("the Apple connection's key is not a P-256 key");
    const now = this.deps.clock.now();
    return new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: keyId })
      .setIssuer(teamId)
      .setSubject(clientId)
      .setAudience(issuer)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(key);
  }

  /** The userinfo endpoint's JSON object, read with the access token (OIDC Core §5.3). */
  private async userinfo(endpoint: string, accessToken: string): Promise<Record<string, unknown>> {
    const body = await getJson(endpoint, accessToken, this.http());
    if (typeof body !== "object" || body === null || Array.isArray(body))
      throw new OidcError("invalid_id_token", "userinfo is not a JSON object");
    return body as Record<string, unknown>;
  }

  /** oauth2:custom: the userinfo endpoint read with the access token, through the mapping. */
  private async userinfoProfile(connection: SignInConnection, accessToken: string) {
    const { userinfo_endpoint: endpoint, userinfo_mapping: mapping } = connection.options;
    if (!endpoint || !mapping) throw new OidcError("invalid_metadata", "no userinfo endpoint or mapping");
    const body = await this.userinfo(endpoint, accessToken);
    const read = (path: string | undefined) => (path ? readPath(body, path) : undefined);
    const subject = read(mapping.sub);
    if (typeof subject !== "string" && typeof subject !== "number")
      throw new OidcError("invalid_id_token", "userinfo has no subject at the mapped path");
    const claims: Record<string, unknown> = {};
    for (const name of ["email", "email_verified", "given_name", "family_name", "picture"] as const)
      claims[name] = read(mapping[name]);
    return profileFromClaims(String(subject), claims);
  }
}

/**
 * Apple's `user` form field (first authorization only): `{"name":{"firstName","lastName"},…}`.
 * Not signed, so only the name is taken from it, and only as the new account's name; the address
 * is the ID token's.
 */
function appleUserName(raw: string | undefined): Record<string, string> {
  if (!raw || raw.length > 4096) return {};
  try {
    const user = JSON.parse(raw) as { name?: { firstName?: unknown; lastName?: unknown } } | null;
    const given = text(user?.name?.firstName, 100);
    const family = text(user?.name?.lastName, 100);
    return { ...(given ? { given_name: given } : {}), ...(family ? { family_name: family } : {}) };
  } catch {
    return {};
  }
}

export function unreachable(connection: SignInConnection, locale: Locale = DEFAULT_LOCALE): UpstreamRefusal {
  const provider = connection.displayName;
  return new UpstreamRefusal(
    502,
    t(locale, "connection.unreachable_title", { provider }),
    t(locale, "connection.unreachable", { provider }),
  );
}

/** Why a provider step failed, for operators: the error's reason and message name no secret. */
function logFailure(
  log: FastifyBaseLogger,
  connection: SignInConnection,
  step: string,
  error: unknown,
): void {
  const reason =
    error instanceof OidcError || error instanceof OutboundError
      ? error.reason
      : error instanceof PermanentProviderError
        ? (error.code ?? "permanent")
        : error instanceof TransientProviderError
          ? "transient"
          : "other";
  log.warn(
    {
      event: "connection_sign_in_failed",
      connectionId: connection.id,
      step,
      reason,
      detail: error instanceof Error ? error.message.slice(0, 300) : undefined,
    },
    "sign-in through a connection failed",
  );
}
