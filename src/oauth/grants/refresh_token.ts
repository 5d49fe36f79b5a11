// grant_type=refresh_token (RFC 6749 §6) with rotation on every use and reuse detection that
// revokes the whole family (RFC 9700 §4.14.2).
//
// Two round trips on PostgreSQL (issue 21): one read of the token with its grant, user and claims
// (no lock) that is also the request's configuration freshness check (token.ts starts it before the
// client is authenticated), and one statement that consumes the token only if it is still
// unconsumed and, in the same statement, writes the access token record and the rotated refresh
// token (token-issue.store.ts). The checks run here on what was read; the tokens
// are signed before the write and answered only after it committed. The write also requires the
// grant to be live still: the grant read here may have been revoked since (RFC 7009 §2.1, logout,
// suspension...). A request that loses the consume wrote nothing: it reads the token again, now
// consumed (reuse) or under a revoked grant (refused as revoked, nothing else revoked).
import { sha256 } from "../../crypto/random.js";
import { accessRefusal } from "../access-control.js";
import type { AuthenticatedClient } from "../client-auth.js";
import type { OAuthContext } from "../context.js";
import { OAuthError } from "../errors.js";
import type { Params } from "../params.js";
import type { ClientRecord, RefreshTokenForUse } from "../ports.js";
import { joinScope, splitScope } from "../scopes.js";
import type { Redeemed } from "../token.js";
import type { GrantResult } from "../token-response.js";
import { heldUserScopes } from "../user-scopes.js";
import { prepareUserTokens, signUserTokens } from "./issue-user-tokens.js";

interface Refresh {
  client: ClientRecord;
  tokenHash: string;
  requestedScope: string | undefined;
  now: number;
}

/**
 * Between this request's read and its write, another consumed the token or its grant was revoked:
 * nothing was written.
 */
const LOST = Symbol("lost");
type Outcome = { result: GrantResult } | { error: OAuthError } | typeof LOST;

export async function refreshTokenGrant(
  ctx: OAuthContext,
  params: Params,
  { client }: AuthenticatedClient,
  redeemed: Redeemed = {},
): Promise<GrantResult> {
  if (client.type === "m2m") {
    throw new OAuthError(
      "unauthorized_client",
      "Machine-to-machine applications may only use client_credentials",
    );
  }
  const refresh: Refresh = {
    client,
    tokenHash: sha256(params.require("refresh_token")),
    requestedScope: params.get("scope"),
    now: ctx.clock.now(),
  };
  let outcome = await rotate(
    ctx,
    refresh,
    (await (redeemed.refreshToken ?? ctx.store.readRefreshTokenForUse(refresh.tokenHash))).found,
  );
  // Lost the consume: read again — the grant is now revoked (checked first, so not taken for reuse),
  // the token consumed (reuse, §4.14.2) or gone (its user deleted).
  if (outcome === LOST)
    outcome = await rotate(ctx, refresh, (await ctx.store.readRefreshTokenForUse(refresh.tokenHash)).found);
  if (outcome === LOST) throw new OAuthError("invalid_grant", "The refresh token has already been used");
  if ("error" in outcome) throw outcome.error;
  return outcome.result;
}

async function rotate(
  ctx: OAuthContext,
  refresh: Refresh,
  found: RefreshTokenForUse | undefined,
): Promise<Outcome> {
  const { client, tokenHash, requestedScope, now } = refresh;
  if (!found) return { error: new OAuthError("invalid_grant", "The refresh token is invalid") };
  const { grant, token } = found;
  // Bound to its client: another client's token stays usable by its owner (nothing written).
  if (!grant || grant.clientId !== client.id)
    return { error: new OAuthError("invalid_grant", "The refresh token is invalid") };
  if (grant.revokedAt !== null)
    return { error: new OAuthError("invalid_grant", "The refresh token has been revoked") };
  if (token.consumedAt !== null) {
    // RFC 9700 §4.14.2: a rotated token presented again — the family is revoked.
    await ctx.store.revokeGrant(grant.id, now, "refresh token reused");
    return {
      error: new OAuthError(
        "invalid_grant",
        "The refresh token has already been used; the session is revoked",
      ),
    };
  }
  if (token.expiresAt <= now) {
    // Used up, as it always has been: presented again, it is reuse.
    const error = new OAuthError("invalid_grant", "The refresh token has expired");
    return (await ctx.store.consumeAndIssue({ refreshTokenHash: tokenHash }, now)) ? { error } : LOST;
  }

  // §6: a narrower scope may be asked for, never a wider one. The family keeps the original.
  // Nothing written: the token stays usable.
  const granted = splitScope(grant.scope);
  const scope = requestedScope === undefined ? granted : splitScope(requestedScope);
  if (scope.some((s) => !granted.includes(s))) {
    return {
      error: new OAuthError("invalid_scope", "The requested scope exceeds the scope originally granted"),
    };
  }
  const user = found.user;
  if (!user || user.suspended) {
    await ctx.store.revokeGrant(grant.id, now, "user cannot sign in");
    return { error: new OAuthError("invalid_grant", "The user cannot sign in") };
  }
  // Role-based access to the application: an access role taken away since ends the grant (§6).
  if (await accessRefusal(ctx.store, client, user.id, grant.orgCode ?? null)) {
    await ctx.store.revokeGrant(grant.id, now, "access role no longer held");
    return {
      error: new OAuthError("invalid_grant", "The user no longer holds a role that may use this application"),
    };
  }
  // Re-evaluated within the grant's scope: a role or scope taken away since shows now.
  const held = await heldUserScopes(ctx.store, {
    user,
    clientId: client.id,
    orgCode: grant.orgCode ?? null,
    audience: grant.audience,
    scopes: scope,
  });
  const prepared = await prepareUserTokens(ctx, ctx.store, {
    client,
    user,
    grant,
    scope: joinScope(held),
    nonce: null,
    read: found.read,
  });
  // Left or suspended since (normally the grant was revoked then; this closes the races).
  if (grant.orgCode && prepared.claims.access.org_code !== grant.orgCode) {
    await ctx.store.revokeGrant(grant.id, now, "organization not available");
    return { error: new OAuthError("invalid_grant", "The user can no longer sign into this organization") };
  }
  const result = await signUserTokens(ctx, prepared);
  // Rotation (RFC 9700 §4.14.2): consuming this token and writing its successor are one statement,
  // made only if it is still unconsumed and its grant not revoked since the read; the answer goes
  // out only once it has committed.
  const issue = found.claimsCache ? { ...prepared.issue, claimsCache: found.claimsCache } : prepared.issue;
  if (!(await ctx.store.consumeAndIssue({ refreshTokenHash: tokenHash }, now, issue))) return LOST;
  return { result };
}
