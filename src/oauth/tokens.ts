// JWTs in Kinde's shapes (COMPAT.md §1.4): RS256 access tokens for users and for machines, and
// OIDC ID tokens. Verification pins the algorithm and issuer and takes keys only from our own
// key table — never from `jku`, `x5u` or an embedded `jwk` (ASVS 9.1).
import { createHash, type KeyObject, randomUUID, sign, verify } from "node:crypto";
import type { JWTPayload } from "jose";
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

/** A compact-serialization segment: unpadded base64url (RFC 7515 §2, §7.1). */
const SEGMENT = /^[A-Za-z0-9_-]+$/;

/** RS256 = RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3), off the event loop (libuv's pool). */
function rs256(input: string, key: KeyObject): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    sign("sha256", Buffer.from(input), key, (error, signature) =>
      error ? reject(error) : resolve(signature),
    ),
  );
}

function decodeJson(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** How many verified tokens each instance remembers (a client reuses one token for many calls). */
const VERIFIED_TOKENS = 1000;
/** Longer tokens are verified every time rather than kept. */
const VERIFIED_TOKEN_MAX_LENGTH = 16_384;

export class TokenService {
  /** The encoded protected header per key id: the same bytes for every token a key signs. */
  private readonly headers = new Map<string, string>();
  /**
   * Tokens whose signature was checked, with the key that checked it, found by their signature
   * segment and used only when the whole text is the same (so nothing about them can differ):
   * hashing a 342-character key instead of a Management API token's 10 KB is most of a lookup.
   * Times and the key's publication are re-checked at every use; revocation is the callers'
   * check, as for any token.
   */
  private readonly verified = new Map<string, { token: string; kid: string; claims: AccessTokenClaims }>();

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
    /** Further claims (org_code, permissions, roles, feature_flags); never override the above. */
    claims?: Record<string, unknown>;
  }): Promise<MintedToken> {
    return this.mint(
      input.lifetime,
      {
        ...input.claims,
        aud: input.audience,
        azp: input.clientId,
        scp: splitScope(input.scope),
        sub: input.userId,
      },
      input.jti,
    );
  }

  /** A machine's access token (client credentials): Kinde adds `gty`, `scope` and `v` (§1.4). */
  machineAccessToken(input: {
    clientId: string;
    audience: string[];
    scope: string;
    /** `scope` already split, when the caller has it. */
    scopes?: readonly string[];
    lifetime: number;
    /** Kinde's org-scoped M2M applications (COMPAT.md §1.4). */
    orgCode?: string | null;
    /** Kinde's application_properties claim (`{key: {v}}`), when the application has public ones. */
    applicationProperties?: Record<string, { v?: string }>;
  }): Promise<MintedToken> {
    return this.mint(input.lifetime, {
      aud: input.audience,
      azp: input.clientId,
      gty: ["client_credentials"],
      ...(input.orgCode ? { org_code: input.orgCode } : {}),
      ...(input.applicationProperties ? { application_properties: input.applicationProperties } : {}),
      scope: input.scope,
      scp: input.scopes ?? splitScope(input.scope),
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
    /** Further claims (org_codes, organizations); never override the above. */
    claims?: Record<string, unknown>;
  }): Promise<string> {
    const scopes = new Set(splitScope(input.scope));
    const { user } = input;
    const claims: Record<string, unknown> = {
      ...input.claims,
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
    const claims = await this.verifiedClaims(token);
    if (!claims) throw new OAuthError("invalid_token", "The access token is invalid or has expired");
    return claims;
  }

  /**
   * RFC 7519 §7.2 for the one shape we issue, checked in this order: three base64url segments; a
   * header naming RS256 and a key id and nothing we would have to understand (`crit`, RFC 7515
   * §4.1.11); a key we published; the signature; then the claims — our `iss`, `exp` not past and
   * `nbf` and `iat` not ahead (with CLOCK_TOLERANCE_SECONDS), and `exp`, `iat`, `jti`, `azp` present.
   */
  private async verifiedClaims(token: string): Promise<AccessTokenClaims | undefined> {
    const signature = token.slice(token.lastIndexOf(".") + 1);
    const known = this.verified.get(signature);
    if (known && known.token === token) {
      if ((await this.keys.verificationKey(known.kid)) && this.timely(known.claims)) return known.claims;
      this.verified.delete(signature);
      return undefined;
    }
    const segments = token.split(".");
    if (segments.length !== 3 || !segments.every((segment) => SEGMENT.test(segment))) return undefined;
    const [encodedHeader, encodedPayload, encodedSignature] = segments as [string, string, string];
    const header = decodeJson(encodedHeader);
    if (!header || header.alg !== SIGNING_ALGORITHM || typeof header.kid !== "string" || "crit" in header)
      return undefined;
    const key = await this.keys.verificationKey(header.kid);
    if (!key) return undefined;
    let valid: boolean;
    try {
      valid = verify(
        "sha256",
        Buffer.from(`${encodedHeader}.${encodedPayload}`),
        key,
        Buffer.from(encodedSignature, "base64url"),
      );
    } catch {
      return undefined;
    }
    if (!valid) return undefined;
    const claims = decodeJson(encodedPayload);
    if (!claims || claims.iss !== this.issuer) return undefined;
    const { exp, iat, nbf, jti, azp } = claims;
    if (
      typeof exp !== "number" ||
      typeof iat !== "number" ||
      typeof jti !== "string" ||
      typeof azp !== "string"
    )
      return undefined;
    if (nbf !== undefined && typeof nbf !== "number") return undefined;
    const verified = Object.freeze(claims) as AccessTokenClaims;
    if (!this.timely(verified)) return undefined;
    if (token.length <= VERIFIED_TOKEN_MAX_LENGTH) {
      // Oldest out first: a Map iterates in insertion order.
      if (this.verified.size >= VERIFIED_TOKENS) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(signature, { token, kid: header.kid, claims: verified });
    }
    return verified;
  }

  /**
   * `exp` not past, `nbf` and `iat` not ahead, all with CLOCK_TOLERANCE_SECONDS: a token issued
   * "in the future" comes from an instance whose clock is outside the leeway (RFC 7519 §4.1.6).
   */
  private timely(claims: AccessTokenClaims): boolean {
    const now = this.clock.now();
    return (
      claims.exp > now - CLOCK_TOLERANCE_SECONDS &&
      claims.iat <= now + CLOCK_TOLERANCE_SECONDS &&
      (claims.nbf === undefined || claims.nbf <= now + CLOCK_TOLERANCE_SECONDS)
    );
  }

  private async mint(
    lifetime: number,
    claims: Record<string, unknown>,
    jti: string = randomUUID(),
  ): Promise<MintedToken> {
    const { kid, privateKey } = await this.keys.current();
    const iat = this.clock.now();
    const exp = iat + lifetime;
    let header = this.headers.get(kid);
    if (!header) {
      header = encodedHeader(kid);
      this.headers.set(kid, header);
    }
    const token = await signedJwt(header, { ...claims, iss: this.issuer, iat, exp, jti }, privateKey);
    return { token, jti, expiresAt: exp, expiresIn: lifetime };
  }
}

/** The JOSE header of a JWT signed with key `kid`, as its compact-serialization segment. */
export function encodedHeader(kid: string): string {
  return Buffer.from(JSON.stringify(jwtHeader(kid))).toString("base64url");
}

/** RFC 7515 §7.1 compact serialization of `claims` under `header`; the signature is the only costly step. */
export async function signedJwt(header: string, claims: object, privateKey: KeyObject): Promise<string> {
  const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  const signature = await rs256(input, privateKey);
  return `${input}.${signature.toString("base64url")}`;
}

/** OIDC Core §3.1.3.6: left half of SHA-256 of the access token, base64url. */
export function atHash(accessToken: string): string {
  const digest = createHash("sha256").update(accessToken, "ascii").digest();
  return digest.subarray(0, digest.length / 2).toString("base64url");
}
