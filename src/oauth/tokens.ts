// JWTs in Kinde's shapes (COMPAT.md §1.4): RS256 access tokens for users and for machines, and
// OIDC ID tokens. Verification pins the algorithm and issuer and takes keys only from our own
// key table — never from `jku`, `x5u` or an embedded `jwk` (ASVS 9.1).
import { createHash, randomUUID } from "node:crypto";
import { decodeProtectedHeader, type JWTPayload, jwtVerify, SignJWT } from "jose";
import type { Clock } from "../clock.js";
import { OAuthError } from "./errors.js";
import { jwtHeader, SIGNING_ALGORITHM, type SigningKeys } from "./keys.js";
import type { UserRecord } from "./ports.js";
import { splitScope } from "./scopes.js";

/** Accepted clock difference between instances and clients when checking `exp`/`iat`. */
export const CLOCK_TOLERANCE_SECONDS = 30;

export interface AccessTokenClaims extends JWTPayload {
  iss: string;
  aud: string[];
  azp: string;
  jti: string;
  iat: number;
  exp: number;
  scp: string[];
  sub?: string;
  gty?: string[];
  scope?: string;
  v?: string;
}

export interface MintedToken {
  token: string;
  jti: string;
  expiresAt: number;
  expiresIn: number;
}

export class TokenService {
  constructor(
    private readonly issuer: string,
    private readonly keys: SigningKeys,
    private readonly clock: Clock,
  ) {}

  /** A user's access token (authorization code and refresh grants). */
  userAccessToken(input: {
    /** Chosen before signing so the grant's transaction can record it. */
    jti: string;
    clientId: string;
    userId: string;
    audience: string[];
    scope: string;
    lifetime: number;
  }): Promise<MintedToken> {
    return this.mint(
      input.lifetime,
      { aud: input.audience, azp: input.clientId, scp: splitScope(input.scope), sub: input.userId },
      input.jti,
    );
  }

  /** A machine's access token (client credentials): Kinde adds `gty`, `scope` and `v` (§1.4). */
  machineAccessToken(input: {
    clientId: string;
    audience: string[];
    scope: string;
    lifetime: number;
  }): Promise<MintedToken> {
    return this.mint(input.lifetime, {
      aud: input.audience,
      azp: input.clientId,
      gty: ["client_credentials"],
      scope: input.scope,
      scp: splitScope(input.scope),
      v: "2",
    });
  }

  /** OIDC Core §2 and §3.1.3.6: `aud` holds the client id; `at_hash` binds the access token. */
  async idToken(input: {
    clientId: string;
    user: UserRecord;
    scope: string;
    nonce: string | null;
    authTime: number;
    accessToken: string;
    lifetime: number;
  }): Promise<string> {
    const scopes = new Set(splitScope(input.scope));
    const { user } = input;
    const claims: Record<string, unknown> = {
      sub: user.id,
      aud: [input.clientId],
      azp: input.clientId,
      auth_time: input.authTime,
      at_hash: atHash(input.accessToken),
    };
    if (input.nonce) claims.nonce = input.nonce;
    if (scopes.has("profile")) {
      const name = [user.givenName, user.familyName].filter(Boolean).join(" ");
      if (name) claims.name = name;
      if (user.givenName) claims.given_name = user.givenName;
      if (user.familyName) claims.family_name = user.familyName;
      if (user.picture) claims.picture = user.picture;
      if (user.username) claims.preferred_username = user.username;
      claims.updated_at = user.updatedAt;
    }
    if (scopes.has("email") && user.email) {
      claims.email = user.email;
      claims.email_verified = user.emailVerified;
    }
    return (await this.mint(input.lifetime, claims)).token;
  }

  /**
   * Verifies a token we issued: signature with a published key, RS256 only, our issuer, not
   * expired. Throws invalid_token (RFC 6750 §3.1) otherwise.
   */
  async verify(token: string): Promise<AccessTokenClaims> {
    try {
      const { kid, alg } = decodeProtectedHeader(token);
      if (alg !== SIGNING_ALGORITHM || typeof kid !== "string") throw new Error("unexpected header");
      const key = await this.keys.verificationKey(kid);
      if (!key) throw new Error("unknown key");
      const { payload } = await jwtVerify(token, key, {
        issuer: this.issuer,
        algorithms: [SIGNING_ALGORITHM],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(this.clock.now() * 1000),
        requiredClaims: ["exp", "iat", "jti", "azp"],
      });
      return payload as AccessTokenClaims;
    } catch {
      throw new OAuthError("invalid_token", "The access token is invalid or has expired");
    }
  }

  private async mint(
    lifetime: number,
    claims: Record<string, unknown>,
    jti: string = randomUUID(),
  ): Promise<MintedToken> {
    const { kid, privateKey } = await this.keys.current();
    const iat = this.clock.now();
    const exp = iat + lifetime;
    const token = await new SignJWT({ ...claims, iss: this.issuer, iat, exp, jti })
      .setProtectedHeader(jwtHeader(kid))
      .sign(privateKey);
    return { token, jti, expiresAt: exp, expiresIn: lifetime };
  }
}

/** OIDC Core §3.1.3.6: left half of SHA-256 of the access token, base64url. */
export function atHash(accessToken: string): string {
  const digest = createHash("sha256").update(accessToken, "ascii").digest();
  return digest.subarray(0, digest.length / 2).toString("base64url");
}
