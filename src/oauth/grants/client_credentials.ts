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
  const granted = await ctx.store.grantedScopes(client.id, audience);
  const requested = params.get("scope");
  if (requested !== undefined && !isValidScopeString(requested))
    throw new OAuthError("invalid_scope", "Malformed scope");
  // Kinde: an empty scope means "everything this application was granted" (COMPAT.md §0.7).
  const scope = requested === undefined ? [...granted].sort() : splitScope(requested);
  const missing = scope.filter((s) => !granted.has(s));
  if (missing.length > 0)
    throw new OAuthError("invalid_scope", `The application was not granted the scope ${missing[0]}`);

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
