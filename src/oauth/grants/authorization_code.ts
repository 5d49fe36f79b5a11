// grant_type=authorization_code (RFC 6749 §4.1.3, RFC 7636 §4.5-4.6, RFC 9700 §4.2.4).
//
// Two round trips on PostgreSQL (issue 21): one read of the code with its user and claims (no lock)
// that is also the request's configuration freshness check (token.ts starts it before the client is
// authenticated), and one statement that consumes the code only if it is still unconsumed and, in
// the same statement, writes the grant and the tokens (token-issue.store.ts).
// Every check runs here, between the two, on what was read; the tokens are signed before the write
// and answered only after it committed. A request that loses the consume to another wrote nothing:
// it reads the code again, now consumed, and is refused as a replay (§4.1.2) — as before, when the
// consume came first under a transaction.
import { randomUUID } from "node:crypto";
import { matchRegisteredUrl } from "../../applications/urls.js";
import { sha256 } from "../../crypto/random.js";
import type { AuthenticatedClient } from "../client-auth.js";
import type { OAuthContext } from "../context.js";
import { OAuthError } from "../errors.js";
import type { Params } from "../params.js";
import { verifyChallenge } from "../pkce.js";
import type { ClientRecord, CodeForExchange } from "../ports.js";
import { joinScope, splitScope } from "../scopes.js";
import type { Redeemed } from "../token.js";
import type { GrantResult } from "../token-response.js";
import { heldUserScopes } from "../user-scopes.js";
import { prepareUserTokens, signUserTokens } from "./issue-user-tokens.js";

interface Exchange {
  client: ClientRecord;
  codeHash: string;
  redirectUri: string | undefined;
  verifier: string | undefined;
  now: number;
}

/** Another request consumed the code between this one's read and its write: nothing was written. */
const LOST = Symbol("lost");
type Outcome = { result: GrantResult } | { error: OAuthError } | typeof LOST;

export async function authorizationCodeGrant(
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
  const exchange: Exchange = {
    client,
    codeHash: sha256(params.require("code")),
    redirectUri: params.get("redirect_uri"),
    verifier: params.get("code_verifier"),
    now: ctx.clock.now(),
  };
  let outcome = await exchangeCode(
    ctx,
    exchange,
    (await (redeemed.code ?? ctx.store.readCodeForExchange(exchange.codeHash))).found,
  );
  // Lost the consume: read again — the code is now consumed (a replay, §4.1.2) or gone.
  if (outcome === LOST)
    outcome = await exchangeCode(
      ctx,
      exchange,
      (await ctx.store.readCodeForExchange(exchange.codeHash)).found,
    );
  if (outcome === LOST) throw new OAuthError("invalid_grant", "The authorization code has already been used");
  if ("error" in outcome) throw outcome.error;
  return outcome.result;
}

async function exchangeCode(
  ctx: OAuthContext,
  exchange: Exchange,
  found: CodeForExchange | undefined,
): Promise<Outcome> {
  const { client, codeHash, redirectUri, verifier, now } = exchange;
  if (!found) return { error: new OAuthError("invalid_grant", "The authorization code is invalid") };
  const { code: record } = found;
  // Nothing written: the code stays usable by the client it was issued to.
  if (record.clientId !== client.id)
    return { error: new OAuthError("invalid_grant", "The authorization code was issued to another client") };
  if (found.consumed) {
    // §4.1.2: a replayed code revokes everything the first exchange produced.
    if (record.grantId) await ctx.store.revokeGrant(record.grantId, now, "authorization code reused");
    return { error: new OAuthError("invalid_grant", "The authorization code has already been used") };
  }
  // A refusal from here on uses the code up (a later presentation is a replay), as it always has.
  const refuse = async (error: OAuthError): Promise<Outcome> =>
    (await ctx.store.consumeAndIssue({ codeHash }, now)) ? { error } : LOST;
  if (record.expiresAt <= now)
    return refuse(new OAuthError("invalid_grant", "The authorization code has expired"));
  // §4.1.3: identical to the authorization request's redirect_uri (allowing the one trailing-slash
  // spelling Kinde's js-utils produces), and still registered.
  if (
    redirectUri === undefined ||
    !sameRedirectUri(redirectUri, record.redirectUri) ||
    matchRegisteredUrl(redirectUri, client.callbackUrls) === undefined
  ) {
    return refuse(new OAuthError("invalid_grant", "redirect_uri does not match the authorization request"));
  }
  // RFC 7636 §4.6: a wrong verifier throws before anything is written, so a wrong verifier alone
  // does not use the code up. Whoever holds a stolen code without its verifier still can, by
  // presenting it expired or with a redirect_uri that does not match (refused, and burned, above):
  // denial of service only, as before — it gets no tokens.
  if (record.codeChallenge) verifyChallenge(record.codeChallenge, verifier);
  else if (verifier !== undefined) {
    // RFC 9700 §2.1.1: a verifier without a challenge is a PKCE downgrade attempt.
    return refuse(new OAuthError("invalid_grant", "code_verifier sent but no code_challenge was used"));
  }
  const user = found.user;
  if (!user || user.suspended) return refuse(new OAuthError("invalid_grant", "The user cannot sign in"));

  // Only the API scopes the user holds in the organization signed into; the grant keeps this
  // narrowed set as the most its refreshes may carry (user-scopes.ts).
  const scope = joinScope(
    await heldUserScopes(ctx.store, {
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
  // The code names its grant (written with it), so a replay revokes it (§4.1.2).
  const prepared = await prepareUserTokens(ctx, ctx.store, {
    client,
    user,
    grant,
    scope,
    nonce: record.nonce,
    fromCode: codeHash,
    read: found.read,
  });
  // The organization must still take the user now, not only when the code was minted: the
  // claims name it only for a member of it while it is not suspended.
  if (grant.orgCode && prepared.claims.access.org_code !== grant.orgCode)
    return refuse(new OAuthError("invalid_grant", "The user can no longer sign into this organization"));
  const result = await signUserTokens(ctx, prepared);
  // Single use: the consume and every write of the issue are one statement, made only if the code
  // is still unconsumed; the answer goes out only once it has committed.
  const issue = found.claimsCache ? { ...prepared.issue, claimsCache: found.claimsCache } : prepared.issue;
  if (!(await ctx.store.consumeAndIssue({ codeHash }, now, issue))) return LOST;
  return { result };
}

function sameRedirectUri(a: string, b: string): boolean {
  return a === b || a === `${b}/` || `${a}/` === b;
}
