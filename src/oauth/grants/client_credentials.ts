// grant_type=client_credentials (RFC 6749 §4.4) for machine-to-machine applications: tokens only
// for APIs the application is authorised for, with no more than the scopes it was granted.
import type { AuthenticatedClient } from "../client-auth.js";
import type { OAuthContext } from "../context.js";
import { OAuthError } from "../errors.js";
import type { Params } from "../params.js";
import { isValidScopeString, joinScope, splitScope } from "../scopes.js";
import type { TokenResponse } from "../token-response.js";

export async function clientCredentialsGrant(
  ctx: OAuthContext,
  params: Params,
  { client }: AuthenticatedClient,
): Promise<TokenResponse> {
  if (client.type !== "m2m") {
    throw new OAuthError(
      "unauthorized_client",
      "Only machine-to-machine applications may use client_credentials",
    );
  }
  const audience = [...new Set(params.all("audience"))];
  const authorized = await ctx.store.authorizedAudiences(client.id, audience);
  const refused = audience.filter((a) => !authorized.includes(a));
  if (refused.length > 0) {
    // RFC 8707 §2: the application is not authorised for this API.
    throw new OAuthError("invalid_target", `The application is not authorised for the API ${refused[0]}`);
  }
  // A token names all its audiences, so each scope in it must hold for every one of them: a scope
  // is usable only if granted on at least one requested API and on every requested API that
  // defines it (never "granted on A" read as "granted on B").
  const grants = [...(await ctx.store.scopeGrantsByAudience(client.id, audience)).values()];
  const usable = (key: string) =>
    grants.some((g) => g.granted.has(key)) && grants.every((g) => !g.defined.has(key) || g.granted.has(key));
  const requested = params.get("scope");
  if (requested !== undefined && !isValidScopeString(requested))
    throw new OAuthError("invalid_scope", "Malformed scope");
  // Kinde: an empty scope means "everything this application was granted" (COMPAT.md §0.7).
  const everything = [...new Set(grants.flatMap((g) => [...g.granted]))].filter(usable).sort();
  const scope = requested === undefined ? everything : splitScope(requested);
  const missing = scope.filter((s) => !usable(s));
  if (missing.length > 0)
    throw new OAuthError(
      "invalid_scope",
      `The application was not granted the scope ${missing[0]} on every requested API`,
    );

  const token = await ctx.tokens.machineAccessToken({
    clientId: client.id,
    audience,
    scope: joinScope(scope),
    lifetime: client.accessTokenLifetime,
  });
  return {
    access_token: token.token,
    token_type: "bearer",
    expires_in: token.expiresIn,
    scope: joinScope(scope),
  };
}
