// Shared by the authorization_code, refresh_token and device_code grants. `prepareUserTokens`
// builds what an issue writes (the new grant, the access token's jti so it dies with its grant, the
// rotated refresh token) and the claims; `signUserTokens` signs the JWTs. The code and refresh
// grants sign first and then write with the consume, in one statement (token-issue.store.ts): a 2xx
// is only sent once that statement has committed. The device grant writes inside its transaction
// (`recordUserTokens`) and signs after the commit — a transaction must not wait on keys.
import { randomUUID } from "node:crypto";
import { randomToken, sha256 } from "../../crypto/random.js";
import { MFA_ACR } from "../authorize.js";
import { type OAuthContext, REFRESH_ABSOLUTE_LIFETIME_SECONDS } from "../context.js";
import { claimsForClient } from "../hasura.js";
import type {
  ClaimsOfRead,
  ClientRecord,
  GrantRecord,
  OAuthStore,
  UserClaimSet,
  UserIssue,
  UserRecord,
} from "../ports.js";
import { splitScope, wantsRefreshToken } from "../scopes.js";
import type { GrantResult, TokenResponse } from "../token-response.js";

export interface RecordedUserTokens {
  client: ClientRecord;
  user: UserRecord;
  grant: GrantRecord;
  scope: string;
  nonce: string | null;
  jti: string;
  refreshToken?: string;
  /** Organization, permission and flag claims, read in the grant's transaction. */
  claims: UserClaimSet;
}

/** Recorded tokens with the writes that record them, not yet made. */
export interface PreparedUserTokens extends RecordedUserTokens {
  issue: UserIssue;
}

export async function prepareUserTokens(
  ctx: OAuthContext,
  store: OAuthStore,
  {
    read,
    fromCode,
    ...fields
  }: Omit<RecordedUserTokens, "jti" | "refreshToken" | "claims"> & {
    /** The claims as already read (with the code or refresh token), if they were. */
    read?: ClaimsOfRead | undefined;
    /** The grant is new, made by exchanging this code: written with the tokens. */
    fromCode?: string;
  },
): Promise<PreparedUserTokens> {
  const { client, grant } = fields;
  const now = ctx.clock.now();
  const jti = randomUUID();
  // Computed at every issue and refresh, so role, permission and flag changes show on refresh.
  const { claims, proof } = read
    ? read(await store.publicProperties())
    : await store.userTokenClaims(grant.userId, grant.orgCode ?? null, grant.sessionId);
  // What the sign-in proved (on refresh too: the grant keeps the session that signed in): the ID
  // token's amr (OIDC Core §2, RFC 8176) and, through a connection, Kinde's ext_provider.
  if (proof && proof.amr.length > 0) claims.id = { ...claims.id, amr: proof.amr };
  if (proof?.amr.includes("mfa")) claims.id = { ...claims.id, acr: MFA_ACR };
  if (proof?.extProvider) claims.id = { ...claims.id, ext_provider: proof.extProvider };
  const input = { ...fields, claims };
  // One write for all of it: the grant when new, the access token's jti (so it dies with its
  // grant) and the rotated refresh token.
  const accessToken = {
    jti,
    clientId: client.id,
    grantId: grant.id,
    expiresAt: now + client.accessTokenLifetime,
  };
  const newGrant = fromCode === undefined ? undefined : { grant, codeHash: fromCode };
  if (!wantsRefreshToken(splitScope(grant.scope))) {
    return { ...input, jti, issue: { ...(newGrant ? { newGrant } : {}), accessToken } };
  }
  const refreshToken = randomToken();
  const issue: UserIssue = {
    ...(newGrant ? { newGrant } : {}),
    accessToken,
    refreshToken: {
      tokenHash: sha256(refreshToken),
      grantId: grant.id,
      createdAt: now,
      expiresAt: Math.min(
        now + client.refreshTokenLifetime,
        grant.createdAt + REFRESH_ABSOLUTE_LIFETIME_SECONDS,
      ),
      consumedAt: null,
    },
  };
  return { ...input, jti, refreshToken, issue };
}

/** Prepared and written now (one statement on PostgreSQL), for a grant that consumes nothing. */
export async function recordUserTokens(
  ctx: OAuthContext,
  store: OAuthStore,
  input: Parameters<typeof prepareUserTokens>[2],
): Promise<RecordedUserTokens> {
  const { issue, ...recorded } = await prepareUserTokens(ctx, store, input);
  await store.recordUserIssue(issue);
  return recorded;
}

export async function signUserTokens(ctx: OAuthContext, recorded: RecordedUserTokens): Promise<GrantResult> {
  const { client, user, grant, scope } = recorded;
  // Named for the client (Kinde's Hasura mode) only now: the grants compare the recorded org_code.
  const claims = claimsForClient(client, recorded.claims);
  const access = await ctx.tokens.userAccessToken({
    jti: recorded.jti,
    clientId: client.id,
    userId: user.id,
    audience: grant.audience,
    scope,
    lifetime: client.accessTokenLifetime,
    claims: claims.access,
  });
  const response: TokenResponse = {
    access_token: access.token,
    token_type: "bearer",
    expires_in: access.expiresIn,
    scope,
  };
  if (splitScope(scope).includes("openid")) {
    response.id_token = await ctx.tokens.idToken({
      clientId: client.id,
      user,
      scope,
      nonce: recorded.nonce,
      authTime: grant.authTime,
      accessToken: access.token,
      lifetime: client.idTokenLifetime,
      claims: claims.id,
    });
  }
  if (recorded.refreshToken) response.refresh_token = recorded.refreshToken;
  return { response, userId: user.id };
}
