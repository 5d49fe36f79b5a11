// Token revocation (RFC 7009). Unknown or invalid tokens answer 200: the goal is reached (§2.2).
// A token of another client is left alone: a confidential caller is told (invalid_request, as
// oidc-provider does), a public caller gets a silent 200 so it cannot probe tokens.
import { sha256 } from "../crypto/random.js";
import { authenticateClient, isPublicClient } from "./client-auth.js";
import type { OAuthContext } from "./context.js";
import { OAuthError } from "./errors.js";
import type { Params } from "./params.js";

export async function handleRevocation(ctx: OAuthContext, params: Params, authorization: string | undefined) {
  const { client } = await authenticateClient(ctx.store, params, authorization);
  const token = params.require("token");
  const hint = params.get("token_type_hint");
  const now = ctx.clock.now();
  const notYours = () => {
    if (!isPublicClient(client.type))
      throw new OAuthError("invalid_request", "The token was not issued to this client");
  };

  // A wrong or unknown hint only changes the order of the search (§2.1).
  const asRefresh = async () => {
    const record = await ctx.store.findRefreshToken(sha256(token));
    if (!record) return false;
    const grant = await ctx.store.findGrant(record.grantId);
    if (!grant) return true;
    if (grant.clientId !== client.id) notYours();
    // Revoking a refresh token revokes its whole grant, access tokens included (§2.1).
    else await ctx.store.revokeGrant(grant.id, now, "revoked by client");
    return true;
  };
  const asAccess = async () => {
    if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) return false;
    let claims: Awaited<ReturnType<typeof ctx.tokens.verify>>;
    try {
      claims = await ctx.tokens.verify(token);
    } catch {
      return false;
    }
    if (!Array.isArray(claims.scp)) return false;
    if (claims.azp !== client.id) notYours();
    else
      await ctx.store.revokeAccessToken({ jti: claims.jti, clientId: client.id, expiresAt: claims.exp }, now);
    return true;
  };
  if (hint === "access_token") (await asAccess()) || (await asRefresh());
  else (await asRefresh()) || (await asAccess());
}
