// Bearer-token protection of the Management API (RFC 6750): tokens Latchkey issued for the audience
// `<ISSUER_URL>/api`, verified (signature, RS256 only, iss, exp with small leeway, not revoked), and
// a per-operation scope as Kinde's spec names it. Tokens in the query string are refused.
import type { FastifyRequest } from "fastify";
import { findDashboardClientId } from "../dashboard/dashboard-app.js";
import type { OAuthContext } from "../oauth/context.js";
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
  scopes: Set<string>;
  /** Set when a user (an administrator through the dashboard) calls, not a machine. */
  userId?: string;
}

const REALM = 'Bearer realm="latchkey"';

export function managementAudience(issuer: string): string {
  return `${issuer}/api`;
}

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
  const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(header.trim());
  const invalid = () =>
    new ApiError("INVALID_CREDENTIALS", "Invalid credentials used to access API", {
      "www-authenticate": `${REALM}, error="invalid_token"`,
    });
  if (!match) throw invalid();
  let claims: Awaited<ReturnType<typeof ctx.tokens.verify>>;
  try {
    claims = await ctx.tokens.verify(match[1]!);
  } catch {
    throw invalid();
  }
  // RFC 9700 §2.3: a token for another audience is not for us.
  if (!Array.isArray(claims.aud) || !claims.aud.includes(managementAudience(ctx.issuer))) throw invalid();
  if (await ctx.store.isAccessTokenRevoked(claims.jti)) throw invalid();
  // Deleting an application ends its access at once, not when its tokens expire.
  const client = await ctx.store.findClient(claims.azp);
  if (!client) throw invalid();
  // An organization's machine app acts for that organization only; the Management API spans the
  // whole environment, so its tokens are refused here whatever scopes it was granted.
  if (client.orgCode !== null && claims.gty !== undefined) {
    throw new ApiError("FORBIDDEN", "An organization's application cannot call the Management API", {
      "www-authenticate": `${REALM}, error="insufficient_scope"`,
    });
  }
  const caller: ManagementCaller = { clientId: claims.azp, scopes: new Set(claims.scp ?? []) };
  if (claims.sub && claims.gty === undefined) {
    // A user's token reaches the Management API only for an administrator (the dashboard): any
    // other user who signs in to an app authorised for this API gets nothing here.
    const user = await ctx.store.findUser(claims.sub);
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
  const required = request.routeOptions.config?.scope;
  if (required && caller.userId === undefined && caller.scopes.has(required)) {
    // The token's scopes are a snapshot: honour only those the application still holds, so
    // deauthorising an app or removing a scope takes effect before its tokens expire.
    const stillGranted = await ctx.store.grantedScopes(caller.clientId, [managementAudience(ctx.issuer)]);
    if (!stillGranted.has(required)) caller.scopes.delete(required);
  }
  if (required && !caller.scopes.has(required)) {
    throw new ApiError("FORBIDDEN", `The token does not grant the scope ${required}`, {
      "www-authenticate": `${REALM}, error="insufficient_scope", scope="${required}"`,
    });
  }
  return caller;
}
