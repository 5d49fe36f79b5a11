// grant_type=refresh_token (RFC 6749 §6) with rotation on every use and reuse detection that
// revokes the whole family (RFC 9700 §4.14.2).
import { sha256 } from "../../crypto/random.js";
import { accessRefusal } from "../access-control.js";
import type { AuthenticatedClient } from "../client-auth.js";
import type { OAuthContext } from "../context.js";
import { OAuthError } from "../errors.js";
import type { Params } from "../params.js";
import { joinScope, splitScope } from "../scopes.js";
import type { GrantResult } from "../token-response.js";
import { heldUserScopes } from "../user-scopes.js";
import { recordUserTokens, signUserTokens } from "./issue-user-tokens.js";

export async function refreshTokenGrant(
  ctx: OAuthContext,
  params: Params,
  { client }: AuthenticatedClient,
): Promise<GrantResult> {
  if (client.type === "m2m") {
    throw new OAuthError(
      "unauthorized_client",
      "Machine-to-machine applications may only use client_credentials",
    );
  }
  const refreshToken = params.require("refresh_token");
  const requestedScope = params.get("scope");

  const outcome = await ctx.store.transaction(async (store) => {
    const now = ctx.clock.now();
    // The consume also reads the grant and, on a first use, the user and the claims (one round trip).
    const consumed = await store.redeemRefreshToken(sha256(refreshToken), now);
    if (!consumed) return { error: new OAuthError("invalid_grant", "The refresh token is invalid") };
    const { grant } = consumed;
    // Bound to its client: another client's token stays usable by its owner (rolled back).
    if (!grant || grant.clientId !== client.id)
      throw new OAuthError("invalid_grant", "The refresh token is invalid");
    if (grant.revokedAt !== null)
      return { error: new OAuthError("invalid_grant", "The refresh token has been revoked") };
    if (!consumed.firstUse) {
      await store.revokeGrant(grant.id, now, "refresh token reused");
      return {
        error: new OAuthError(
          "invalid_grant",
          "The refresh token has already been used; the session is revoked",
        ),
      };
    }
    if (consumed.token.expiresAt <= now)
      return { error: new OAuthError("invalid_grant", "The refresh token has expired") };

    // §6: a narrower scope may be asked for, never a wider one. The family keeps the original.
    const granted = splitScope(grant.scope);
    const scope = requestedScope === undefined ? granted : splitScope(requestedScope);
    if (scope.some((s) => !granted.includes(s))) {
      throw new OAuthError("invalid_scope", "The requested scope exceeds the scope originally granted");
    }
    const user = consumed.user;
    if (!user || user.suspended) {
      await store.revokeGrant(grant.id, now, "user cannot sign in");
      return { error: new OAuthError("invalid_grant", "The user cannot sign in") };
    }
    // Role-based access to the application: an access role taken away since ends the grant (§6).
    if (await accessRefusal(store, client, user.id, grant.orgCode ?? null)) {
      await store.revokeGrant(grant.id, now, "access role no longer held");
      return {
        error: new OAuthError(
          "invalid_grant",
          "The user no longer holds a role that may use this application",
        ),
      };
    }
    // Re-evaluated within the grant's scope: a role or scope taken away since shows now.
    const held = await heldUserScopes(store, {
      user,
      clientId: client.id,
      orgCode: grant.orgCode ?? null,
      audience: grant.audience,
      scopes: scope,
    });
    const recorded = await recordUserTokens(ctx, store, {
      client,
      user,
      grant,
      scope: joinScope(held),
      nonce: null,
      ...(consumed.read ? { read: consumed.read } : {}),
    });
    // Left or suspended since (normally the grant was revoked then; this closes the races).
    if (grant.orgCode && recorded.claims.access.org_code !== grant.orgCode) {
      await store.revokeGrant(grant.id, now, "organization not available");
      return { error: new OAuthError("invalid_grant", "The user can no longer sign into this organization") };
    }
    return { recorded };
  });
  if ("error" in outcome) throw outcome.error;
  return signUserTokens(ctx, outcome.recorded);
}
