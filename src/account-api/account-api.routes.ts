// Kinde's Account API basics (/account_api/v1, COMPAT.md §1.8): what Kinde's browser SDKs read with
// the signed-in user's own access token — the roles, permissions and feature flags of the
// organization the token was issued for. The token is checked as for UserInfo (signature, expiry,
// not revoked, a live user); its org_code decides the organization, so a token for one
// organization never reads another's. Errors are RFC 6750's (this is a bearer-token resource).
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { decodeJwt } from "jose";
import { ACCOUNT_TYPES } from "../feature-flags/feature-flags.service.js";
import { userFromBearer } from "../oauth/userinfo.js";
import { binary } from "../roles/roles.store.js";
import type { Services } from "../services.js";

/** Everything is on one page: Kinde's pagination envelope says so. */
const ONE_PAGE = { has_more: false, next_page_starting_after: null };

export function registerAccountApiRoutes(app: FastifyInstance, services: Services): void {
  // Browser SDKs call from the application's origin: answer CORS for front-end apps' origins only.
  const allowOrigin = async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header("cache-control", "no-store").header("pragma", "no-cache");
    const origin = request.headers.origin;
    if (!origin || origin === "null") return;
    const origins = new Set(
      (await services.applications.store.spaCallbackUrls()).flatMap((url) => {
        try {
          return [new URL(url).origin];
        } catch {
          return [];
        }
      }),
    );
    if (!origins.has(origin)) return;
    reply.header("access-control-allow-origin", origin).header("vary", "Origin");
  };

  /** The user and organization of the bearer token. */
  const caller = async (request: FastifyRequest) => {
    const user = await userFromBearer(services.oauth, request.headers.authorization);
    // Verified just above; only its org_code is read here.
    const token = request.headers.authorization!.trim().slice("Bearer ".length);
    const orgCode = decodeJwt(token).org_code;
    return { user, orgCode: typeof orgCode === "string" ? orgCode : null };
  };

  /** Whether the user is (still) a member of the token's organization. */
  const member = async (userId: string, orgCode: string | null) =>
    orgCode !== null && (await services.organizations.store.isMember(orgCode, userId));

  for (const path of ["roles", "permissions", "feature_flags"]) {
    app.options(`/account_api/v1/${path}`, { onRequest: allowOrigin }, async (_request, reply) =>
      reply
        .code(204)
        .header("access-control-allow-methods", "GET")
        .header("access-control-allow-headers", "authorization, content-type, kinde-sdk")
        .header("access-control-max-age", "600")
        .send(),
    );
  }

  app.get("/account_api/v1/roles", { onRequest: allowOrigin }, async (request) => {
    const { user, orgCode } = await caller(request);
    const roles = (await member(user.id, orgCode))
      ? await services.roles.store.memberRoles(orgCode!, user.id)
      : [];
    return {
      data: {
        org_code: orgCode,
        roles: roles
          .sort((a, b) => binary(a.key, b.key))
          .map((r) => ({ id: r.id, name: r.name, key: r.key })),
      },
      metadata: ONE_PAGE,
    };
  });

  app.get("/account_api/v1/permissions", { onRequest: allowOrigin }, async (request) => {
    const { user, orgCode } = await caller(request);
    const permissions = (await member(user.id, orgCode))
      ? await services.roles.store.memberPermissions(orgCode!, user.id)
      : [];
    return {
      data: {
        org_code: orgCode,
        permissions: permissions.map(({ permission: p }) => ({ id: p.id, name: p.name, key: p.key })),
      },
      metadata: ONE_PAGE,
    };
  });

  app.get("/account_api/v1/feature_flags", { onRequest: allowOrigin }, async (request) => {
    const { user, orgCode } = await caller(request);
    const flags = await services.featureFlags.resolve(
      user.id,
      (await member(user.id, orgCode)) ? orgCode : null,
    );
    return {
      data: {
        feature_flags: flags.map(({ flag, value }) => ({
          id: flag.id,
          name: flag.name,
          key: flag.key,
          type: ACCOUNT_TYPES[flag.type],
          value,
        })),
      },
      metadata: ONE_PAGE,
    };
  });
}
