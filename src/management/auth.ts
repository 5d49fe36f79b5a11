// Bearer-token protection of the Management API (RFC 6750): tokens Latchkey issued for the audience
// `<ISSUER_URL>/api`, verified (signature, RS256 only, iss, exp with small leeway, not revoked), and
// a per-operation scope as Kinde's spec names it. Tokens in the query string are refused.
import type { FastifyRequest } from "fastify";
import { findDashboardClientId } from "../dashboard/dashboard-app.js";
import type { OAuthContext } from "../oauth/context.js";
import type { AccessTokenClaims } from "../oauth/tokens.js";
import { ApiError } from "./errors.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The scope a Management API operation requires (Kinde's x-scope). */
    scope?: string;
  }
  interface FastifyRequest {
    /** The verified caller of a Management API operation. */
    caller?: ManagementCaller;
  }
}

export interface ManagementCaller {
  clientId: string;
  /** The token's scopes (the operation's own scope is re-checked against current grants). */
  scopes: ReadonlySet<string>;
  /** Set when a user (an administrator through the dashboard) calls, not a machine. */
  userId?: string;
}

const REALM = 'Bearer realm="latchkey"';

export function managementAudience(issuer: string): string {
  return `${issuer}/api`;
}

/**
 * Revocation reads shared by the calls that arrive in one event-loop turn with the same token (a
 * back end reuses one token for many concurrent calls). The read starts after every caller in the
 * batch arrived, so each sees any revocation committed before its request — the same freshness as
 * a read of its own, without a read per call. Per store, as the configuration cache is per database.
 */
class RevocationReads {
  private batch: Map<string, Promise<boolean>> | undefined;
  private start: Promise<void> = Promise.resolve();

  constructor(private readonly store: OAuthContext["store"]) {}

  isRevoked(jti: string): Promise<boolean> {
    if (!this.batch) {
      const batch = new Map<string, Promise<boolean>>();
      this.batch = batch;
      // Closed before its reads start: a later caller gets a read that starts after it arrived.
      this.start = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        if (this.batch === batch) this.batch = undefined;
      });
    }
    let read = this.batch.get(jti);
    if (!read) {
      read = this.start.then(() => this.store.isAccessTokenRevoked(jti));
      this.batch.set(jti, read);
    }
    return read;
  }
}

const revocationReads = new WeakMap<object, RevocationReads>();

function revocationReadsOf(store: OAuthContext["store"]): RevocationReads {
  let reads = revocationReads.get(store);
  if (!reads) {
    reads = new RevocationReads(store);
    revocationReads.set(store, reads);
  }
  return reads;
}

/** A verified token's scopes as a set, made once per token: its claims are frozen and reused. */
const scopeSets = new WeakMap<object, ReadonlySet<string>>();

function scopesOf(claims: AccessTokenClaims): ReadonlySet<string> {
  let scopes = scopeSets.get(claims);
  if (!scopes) {
    scopes = new Set(claims.scp ?? []);
    scopeSets.set(claims, scopes);
  }
  return scopes;
}

/** The token's scopes the application still holds (the token's own set when nothing was removed). */
function stillHeld(tokenScopes: ReadonlySet<string>, granted: ReadonlySet<string>): ReadonlySet<string> {
  for (const scope of tokenScopes) {
    if (!granted.has(scope)) return new Set([...tokenScopes].filter((s) => granted.has(s)));
  }
  return tokenScopes;
}

const BEARER = "bearer ";

export async function authenticateManagementCall(
  ctx: OAuthContext,
  request: FastifyRequest,
): Promise<ManagementCaller> {
  const query = request.query as Record<string, unknown> | undefined;
  if (query && typeof query === "object" && "access_token" in query) {
    throw new ApiError("INVALID_REQUEST", "Access tokens are not accepted in the query string", {
      "www-authenticate": `${REALM}, error="invalid_request"`,
    });
  }
  const header = request.headers.authorization;
  if (!header)
    throw new ApiError("INVALID_CREDENTIALS", "A bearer token is required", { "www-authenticate": REALM });
  const invalid = () =>
    new ApiError("INVALID_CREDENTIALS", "Invalid credentials used to access API", {
      "www-authenticate": `${REALM}, error="invalid_token"`,
    });
  // `Bearer <token>` (RFC 6750 §2.1, the scheme in any case). The token's syntax is left to
  // verification, which takes only three unpadded base64url segments — stricter than b64token, so
  // whatever b64token refuses is refused there, with the same answer — or the exact text of a token
  // it verified before. A regular expression over the whole header cost ~25 µs per call: the
  // Management API token carries every scope and runs to ~10 KB.
  const value = header.trim();
  if (value.length <= BEARER.length || value.slice(0, BEARER.length).toLowerCase() !== BEARER)
    throw invalid();
  let claims: AccessTokenClaims;
  try {
    claims = await ctx.tokens.verify(value.slice(BEARER.length));
  } catch {
    throw invalid();
  }
  // RFC 9700 §2.3: a token for another audience is not for us.
  if (!Array.isArray(claims.aud) || !claims.aud.includes(managementAudience(ctx.issuer))) throw invalid();
  const required = request.routeOptions.config?.scope;
  const tokenScopes = scopesOf(claims);
  const machine = !(claims.sub && claims.gty === undefined);
  // The reads below do not depend on each other: one turn instead of three in a row.
  const [revoked, client, stillGranted] = await Promise.all([
    revocationReadsOf(ctx.store).isRevoked(claims.jti),
    // Deleting an application ends its access at once, not when its tokens expire.
    ctx.store.findClient(claims.azp),
    // The token's scopes are a snapshot: honour only those the application still holds, so
    // deauthorising an app or removing a scope takes effect before its tokens expire — for the
    // operation's own scope and for every rule that weighs the caller's scopes (what it may grant,
    // whose secret it may learn).
    machine ? ctx.store.grantedScopes(claims.azp, [managementAudience(ctx.issuer)]) : undefined,
  ]);
  if (revoked || !client) throw invalid();
  // An organization's machine app acts for that organization only; the Management API spans the
  // whole environment, so its tokens are refused here whatever scopes it was granted.
  if (client.orgCode !== null && claims.gty !== undefined) {
    throw new ApiError("FORBIDDEN", "An organization's application cannot call the Management API", {
      "www-authenticate": `${REALM}, error="insufficient_scope"`,
    });
  }
  const caller: ManagementCaller = {
    clientId: claims.azp,
    scopes: stillGranted ? stillHeld(tokenScopes, stillGranted) : tokenScopes,
  };
  if (!machine) {
    // A user's token reaches the Management API only for an administrator (the dashboard): any
    // other user who signs in to an app authorised for this API gets nothing here.
    const user = await ctx.store.findUser(claims.sub!);
    // …and only through the dashboard itself: another front-end app authorised for this API (or one
    // whose callback URL an integration could add) must not turn an administrator's sign-in into a
    // Management API token it holds.
    const viaDashboard = claims.azp === (await findDashboardClientId(request.services.db, ctx.issuer));
    if (!user || user.suspended || !user.isAdmin || !viaDashboard) {
      throw new ApiError(
        "FORBIDDEN",
        "Only administrators, through the admin dashboard, may call the Management API with a user token",
        {
          "www-authenticate": `${REALM}, error="insufficient_scope"`,
        },
      );
    }
    caller.userId = claims.sub;
  }
  if (required && !caller.scopes.has(required)) {
    throw new ApiError("FORBIDDEN", `The token does not grant the scope ${required}`, {
      "www-authenticate": `${REALM}, error="insufficient_scope", scope="${required}"`,
    });
  }
  return caller;
}

/**
 * A write that reaches what another operation guards needs that operation's scope too (`why`
 * names the write): e.g. enabling a connection for an application, or letting a directory's groups
 * grant roles.
 */
export function requireScope(request: FastifyRequest, scope: string, why: string): void {
  const caller = request.caller;
  if (caller && !caller.scopes.has(scope))
    throw new ApiError("FORBIDDEN", `${why} needs ${scope}; the token does not grant it`);
}
