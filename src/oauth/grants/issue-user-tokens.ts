// Shared by the authorization_code and refresh_token grants: mint a user's access token (recorded
// by jti so it dies with its grant), an ID token when `openid` was granted, and a rotated refresh
// token when `offline` was.
import { randomToken, sha256 } from "../../crypto/random.js";
import { type OAuthContext, REFRESH_ABSOLUTE_LIFETIME_SECONDS } from "../context.js";
import type { ClientRecord, GrantRecord, OAuthStore, UserRecord } from "../ports.js";
import { splitScope, wantsRefreshToken } from "../scopes.js";
import type { TokenResponse } from "../token-response.js";

export async function issueUserTokens(
  ctx: OAuthContext,
  store: OAuthStore,
  input: { client: ClientRecord; user: UserRecord; grant: GrantRecord; scope: string; nonce: string | null },
): Promise<TokenResponse> {
  const { client, user, grant, scope } = input;
  const now = ctx.clock.now();
  const access = await ctx.tokens.userAccessToken({
    clientId: client.id,
    userId: user.id,
    audience: grant.audience,
    scope,
    lifetime: client.accessTokenLifetime,
  });
  await store.recordAccessToken({
    jti: access.jti,
    clientId: client.id,
    grantId: grant.id,
    expiresAt: access.expiresAt,
  });

  const response: TokenResponse = {
    access_token: access.token,
    token_type: "bearer",
    expires_in: access.expiresIn,
    scope,
  };
  const scopes = splitScope(scope);
  if (scopes.includes("openid")) {
    response.id_token = await ctx.tokens.idToken({
      clientId: client.id,
      user,
      scope,
      nonce: input.nonce,
      authTime: grant.authTime,
      accessToken: access.token,
      lifetime: client.idTokenLifetime,
    });
  }
  if (wantsRefreshToken(splitScope(grant.scope))) {
    const refreshToken = randomToken();
    await store.saveRefreshToken({
      tokenHash: sha256(refreshToken),
      grantId: grant.id,
      createdAt: now,
      expiresAt: Math.min(
        now + client.refreshTokenLifetime,
        grant.createdAt + REFRESH_ABSOLUTE_LIFETIME_SECONDS,
      ),
      consumedAt: null,
    });
    response.refresh_token = refreshToken;
  }
  return response;
}
