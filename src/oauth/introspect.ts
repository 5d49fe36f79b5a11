// Token introspection (RFC 7662). Callers authenticate as confidential clients; an inactive,
// unknown or foreign token is `{active:false}` and nothing else (§2.2). RFC 7662 §2.1 and §4 leave
// to the server which protected resources may learn about a token: here only its own parties —
// the client it was issued to, and for an access token a resource server, i.e. an application
// authorised for an API in the token's audience. Anyone else could otherwise probe tokens it
// found for their client, subject and scopes.
import { sha256 } from "../crypto/random.js";
import { authenticateClient, isPublicClient } from "./client-auth.js";
import type { OAuthContext } from "./context.js";
import { OAuthError } from "./errors.js";
import type { Params } from "./params.js";

export type IntrospectionResponse = { active: false } | ({ active: true } & Record<string, unknown>);

export async function handleIntrospection(
  ctx: OAuthContext,
  params: Params,
  authorization: string | undefined,
): Promise<IntrospectionResponse> {
  const { client } = await authenticateClient(ctx.store, params, authorization);
  if (isPublicClient(client.type)) {
    throw new OAuthError("invalid_client", "Introspection requires a confidential client", 401);
  }
  const token = params.require("token");
  const hint = params.get("token_type_hint") ?? params.get("token_type");
  const inactive = { active: false } as const;
  const now = ctx.clock.now();

  const asRefresh = async (): Promise<IntrospectionResponse | undefined> => {
    const record = await ctx.store.findRefreshToken(sha256(token));
    if (!record) return undefined;
    const grant = await ctx.store.findGrant(record.grantId);
    // Refresh tokens are only ever shown to the client holding them.
    if (!grant || grant.clientId !== client.id || grant.revokedAt !== null) return inactive;
    if (record.consumedAt !== null || record.expiresAt <= now) return inactive;
    return {
      active: true,
      token_type: "refresh_token",
      client_id: grant.clientId,
      sub: grant.userId,
      scope: grant.scope,
      aud: grant.audience,
      iat: record.createdAt,
      exp: record.expiresAt,
      iss: ctx.issuer,
    };
  };
  const asAccess = async (): Promise<IntrospectionResponse | undefined> => {
    if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) return undefined;
    let claims: Awaited<ReturnType<typeof ctx.tokens.verify>>;
    try {
      claims = await ctx.tokens.verify(token);
    } catch {
      return inactive;
    }
    // Only access tokens: an ID token is signed by the same key but carries no `scp`.
    if (!Array.isArray(claims.scp)) return inactive;
    if (claims.exp <= now) return inactive;
    // A stranger gets the answer an unknown token gets (§2.2): it cannot tell the token exists.
    if (!(await isParty(ctx, client.id, claims))) return inactive;
    if (await ctx.store.isAccessTokenRevoked(claims.jti)) return inactive;
    return {
      active: true,
      // RFC 7662 §2.2: the RFC 6749 §5.1 type of the token.
      token_type: "bearer",
      client_id: claims.azp,
      scope: (claims.scp ?? []).join(" "),
      aud: claims.aud,
      iat: claims.iat,
      exp: claims.exp,
      iss: claims.iss,
      jti: claims.jti,
      ...(claims.sub ? { sub: claims.sub } : {}),
    };
  };
  const order = hint === "refresh_token" ? [asRefresh, asAccess] : [asAccess, asRefresh];
  for (const attempt of order) {
    const result = await attempt();
    if (result) return result;
  }
  return inactive;
}

/**
 * The client the access token was issued to, or one authorised for an API in its audience (a
 * resource server). The Management API's own audience does not count: Latchkey itself is its only
 * resource server, and an application authorised for it is a caller, not a validator of others'
 * tokens (an administrator's dashboard token among them).
 */
async function isParty(
  ctx: OAuthContext,
  clientId: string,
  claims: { azp: string; aud: readonly string[] },
): Promise<boolean> {
  if (claims.azp === clientId) return true;
  const management = `${ctx.issuer}/api`;
  const audience = Array.isArray(claims.aud) ? claims.aud.filter((a) => a !== management) : [];
  if (audience.length === 0) return false;
  return (await ctx.store.authorizedAudiences(clientId, audience)).length > 0;
}
