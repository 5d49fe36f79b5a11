// grant_type=client_credentials (RFC 6749 §4.4) for machine-to-machine applications: tokens only
// for APIs the application is authorised for, with no more than the scopes it was granted.
import type { AuthenticatedClient } from "../client-auth.js";
import type { OAuthContext } from "../context.js";
import { OAuthError } from "../errors.js";
import type { Params } from "../params.js";
import { isValidScopeString, joinScope, splitScope } from "../scopes.js";
import type { GrantResult } from "../token-response.js";

/** What a client may be given on a set of audiences, worked out once per configuration. */
interface ScopePolicy {
  /** Scopes usable on every requested API, sorted: Kinde's answer to an empty request. */
  everything: string[];
  everythingJoined: string;
  usable: Set<string>;
}

// Keyed by the grants map the store returned: a cached store hands out the same map until the
// configuration changes (src/oauth/config-cache.ts), so the policy is recomputed exactly then.
const policies = new WeakMap<object, ScopePolicy>();

function scopePolicy(byAudience: Map<string, { defined: Set<string>; granted: Set<string> }>): ScopePolicy {
  let policy = policies.get(byAudience);
  if (policy) return policy;
  const grants = [...byAudience.values()];
  // A token names all its audiences, so each scope in it must hold for every one of them: a
  // scope is usable only if granted on at least one requested API and on every requested API
  // that defines it (never "granted on A" read as "granted on B").
  const usable = new Set(
    grants
      .flatMap((g) => [...g.granted])
      .filter((key) => grants.every((g) => !g.defined.has(key) || g.granted.has(key))),
  );
  const everything = [...usable].sort();
  policy = { everything, everythingJoined: joinScope(everything), usable };
  policies.set(byAudience, policy);
  return policy;
}

export async function clientCredentialsGrant(
  ctx: OAuthContext,
  params: Params,
  { client }: AuthenticatedClient,
): Promise<GrantResult> {
  if (client.type !== "m2m") {
    throw new OAuthError(
      "unauthorized_client",
      "Only machine-to-machine applications may use client_credentials",
    );
  }
  // An organization's application acts for it only while it is not suspended — read now: the
  // client record is cached, and suspending an organization does not move the cache's generation.
  if (client.orgCode !== null && (await ctx.store.organizationSuspended(client.orgCode)))
    throw new OAuthError("unauthorized_client", "The application's organization is suspended");
  const audience = [...new Set(params.all("audience"))];
  const authorized = await ctx.store.authorizedAudiences(client.id, audience);
  const refused = audience.filter((a) => !authorized.includes(a));
  if (refused.length > 0) {
    // RFC 8707 §2: the application is not authorised for this API.
    throw new OAuthError("invalid_target", `The application is not authorised for the API ${refused[0]}`);
  }
  const policy = scopePolicy(await ctx.store.scopeGrantsByAudience(client.id, audience));
  const requested = params.get("scope");
  if (requested !== undefined && !isValidScopeString(requested))
    throw new OAuthError("invalid_scope", "Malformed scope");
  // Kinde: an empty scope means "everything this application was granted" (COMPAT.md §0.7).
  const scopes = requested === undefined ? policy.everything : splitScope(requested);
  // `everything` holds usable scopes only: a request without `scope` has nothing to check.
  const missing = requested === undefined ? undefined : scopes.find((s) => !policy.usable.has(s));
  if (missing !== undefined)
    throw new OAuthError(
      "invalid_scope",
      `The application was not granted the scope ${missing} on every requested API`,
    );
  const scope = requested === undefined ? policy.everythingJoined : joinScope(scopes);

  const token = await ctx.tokens.machineAccessToken({
    clientId: client.id,
    audience,
    scope,
    scopes,
    lifetime: client.accessTokenLifetime,
    orgCode: client.orgCode,
    applicationProperties: await ctx.store.applicationProperties(client.id),
  });
  return {
    response: { access_token: token.token, token_type: "bearer", expires_in: token.expiresIn, scope },
    userId: null,
  };
}
