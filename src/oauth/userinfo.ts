// The UserInfo endpoint in Kinde's two shapes (COMPAT.md §1.6). Bearer tokens come only from the
// Authorization header (RFC 9700 §4.3.2: never from a query string).
import type { OAuthContext } from "./context.js";
import { OAuthError } from "./errors.js";
import type { UserRecord } from "./ports.js";

const BEARER_CHALLENGE = 'Bearer realm="latchkey"';

/** Resolves the user behind a bearer access token, or throws RFC 6750 errors with a challenge. */
export async function userFromBearer(
  ctx: OAuthContext,
  authorization: string | undefined,
): Promise<UserRecord> {
  if (!authorization) {
    // RFC 6750 §3.1: no credentials at all → 401 with a bare challenge, no error code.
    throw new OAuthError("invalid_token", "Missing bearer token", 401, {
      "www-authenticate": BEARER_CHALLENGE,
    });
  }
  const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(authorization.trim());
  if (!match) {
    throw new OAuthError("invalid_request", "Malformed Authorization header; use Bearer", 400, {
      "www-authenticate": `${BEARER_CHALLENGE}, error="invalid_request"`,
    });
  }
  const invalid = () =>
    new OAuthError("invalid_token", "The access token is invalid, expired or revoked", 401, {
      "www-authenticate": `${BEARER_CHALLENGE}, error="invalid_token"`,
    });
  let claims: Awaited<ReturnType<typeof ctx.tokens.verify>>;
  try {
    claims = await ctx.tokens.verify(match[1]!);
  } catch {
    throw invalid();
  }
  // Only user access tokens: not machine tokens, not ID tokens (ASVS 9.2.2).
  if (!claims.sub || claims.gty !== undefined || !Array.isArray(claims.scp)) throw invalid();
  if (await ctx.store.isAccessTokenRevoked(claims.jti)) throw invalid();
  const user = await ctx.store.findUser(claims.sub);
  if (!user || user.suspended) throw invalid();
  return user;
}

export function userProfileV2(user: UserRecord) {
  const name = [user.givenName, user.familyName].filter(Boolean).join(" ");
  return {
    id: user.id,
    sub: user.id,
    provided_id: user.providedId,
    name: name || null,
    given_name: user.givenName,
    family_name: user.familyName,
    email: user.email,
    email_verified: user.emailVerified,
    picture: user.picture,
    preferred_username: user.username,
    updated_at: user.updatedAt,
  };
}

export function userProfileV1(user: UserRecord) {
  return {
    id: user.id,
    preferred_email: user.email,
    provided_id: user.providedId,
    first_name: user.givenName,
    last_name: user.familyName,
    picture: user.picture,
    username: user.username,
  };
}
