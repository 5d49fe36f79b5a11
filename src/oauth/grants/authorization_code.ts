// grant_type=authorization_code (RFC 6749 §4.1.3, RFC 7636 §4.5-4.6, RFC 9700 §4.2.4).
import { randomUUID } from "node:crypto";
import { matchRegisteredUrl } from "../../applications/urls.js";
import { sha256 } from "../../crypto/random.js";
import type { AuthenticatedClient } from "../client-auth.js";
import type { OAuthContext } from "../context.js";
import { OAuthError } from "../errors.js";
import type { Params } from "../params.js";
import { verifyChallenge } from "../pkce.js";
import { joinScope, splitScope } from "../scopes.js";
import type { GrantResult } from "../token-response.js";
import { heldUserScopes } from "../user-scopes.js";
import { recordUserTokens, signUserTokens } from "./issue-user-tokens.js";

export async function authorizationCodeGrant(
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
  const code = params.require("code");
  const redirectUri = params.get("redirect_uri");
  const verifier = params.get("code_verifier");

  // The transaction commits the consumption (and, on replay, the revocation) even when the request
  // then fails; a failure that must leave the code usable throws inside and rolls back.
  const outcome = await ctx.store.transaction(async (store) => {
    const now = ctx.clock.now();
    // The consume also reads, on a first use, the user and the claims (one round trip).
    const consumed = await store.redeemCode(sha256(code), now);
    if (!consumed) return { error: new OAuthError("invalid_grant", "The authorization code is invalid") };
    const { code: record, firstUse } = consumed;
    if (record.clientId !== client.id) {
      throw new OAuthError("invalid_grant", "The authorization code was issued to another client");
    }
    if (!firstUse) {
      // §4.1.2: a replayed code revokes everything the first exchange produced.
      if (record.grantId) await store.revokeGrant(record.grantId, now, "authorization code reused");
      return { error: new OAuthError("invalid_grant", "The authorization code has already been used") };
    }
    if (record.expiresAt <= now)
      return { error: new OAuthError("invalid_grant", "The authorization code has expired") };
    // §4.1.3: identical to the authorization request's redirect_uri (allowing the one trailing-slash
    // spelling Kinde's js-utils produces), and still registered.
    if (
      redirectUri === undefined ||
      !sameRedirectUri(redirectUri, record.redirectUri) ||
      matchRegisteredUrl(redirectUri, client.callbackUrls) === undefined
    ) {
      return {
        error: new OAuthError("invalid_grant", "redirect_uri does not match the authorization request"),
      };
    }
    if (record.codeChallenge) verifyChallenge(record.codeChallenge, verifier);
    else if (verifier !== undefined) {
      // RFC 9700 §2.1.1: a verifier without a challenge is a PKCE downgrade attempt.
      return { error: new OAuthError("invalid_grant", "code_verifier sent but no code_challenge was used") };
    }
    const user = consumed.user;
    if (!user || user.suspended) return { error: new OAuthError("invalid_grant", "The user cannot sign in") };

    // Only the API scopes the user holds in the organization signed into; the grant keeps this
    // narrowed set as the most its refreshes may carry (user-scopes.ts).
    const scope = joinScope(
      await heldUserScopes(store, {
        user,
        clientId: client.id,
        orgCode: record.orgCode ?? null,
        audience: record.audience,
        scopes: splitScope(record.scope),
      }),
    );
    const grant = {
      id: randomUUID(),
      clientId: client.id,
      userId: user.id,
      sessionId: record.sessionId,
      scope,
      audience: record.audience,
      authTime: record.authTime,
      createdAt: now,
      revokedAt: null,
      orgCode: record.orgCode ?? null,
    };
    // Written with the tokens; the code names its grant, so a replay revokes it (§4.1.2).
    const recorded = await recordUserTokens(ctx, store, {
      client,
      user,
      grant,
      scope,
      nonce: record.nonce,
      fromCode: record.codeHash,
      ...(consumed.read ? { read: consumed.read } : {}),
    });
    // The organization must still take the user now, not only when the code was minted: the
    // claims name it only for a member of it while it is not suspended.
    if (grant.orgCode && recorded.claims.access.org_code !== grant.orgCode) {
      await store.revokeGrant(grant.id, now, "organization not available");
      return { error: new OAuthError("invalid_grant", "The user can no longer sign into this organization") };
    }
    return { recorded };
  });
  if ("error" in outcome) throw outcome.error;
  return signUserTokens(ctx, outcome.recorded);
}

function sameRedirectUri(a: string, b: string): boolean {
  return a === b || a === `${b}/` || `${a}/` === b;
}
