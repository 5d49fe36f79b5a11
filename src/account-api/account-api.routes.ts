// Kinde's Account API (/account_api/v1, COMPAT.md §1.8): what Kinde's browser SDKs (@kinde/js-utils
// and the React, JavaScript and Next.js SDKs on it) read with the signed-in person's own access
// token — their roles, permissions and feature flags in the organization the token was issued
// for, their profile and organizations, their entitlements (none: Latchkey has no billing), and a
// link to their self-service pages. The token is checked as for UserInfo (signature, expiry, not
// revoked, a user token of a live user); its org_code decides the organization, and only while the
// person is still a member, so a token for one organization never reads another's.
//
// Shapes: where js-utils reads a response, exactly what it reads (roles, permissions, feature
// flags, entitlements, permission/{key}, portal_link); the endpoints it does not call
// (feature_flags/{key}, user_profile, user_organizations, current_organization) answer as Kinde's
// published Account API description has them (`data` an object or a list, paged lists with
// `metadata`). Errors are Kinde's `{errors: [{code, message}]}` (responses.ts), with RFC 6750's
// WWW-Authenticate challenge on a 401.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { decodeJwt } from "jose";
import { ACCOUNT_TYPES } from "../feature-flags/feature-flags.service.js";
import { OAuthError } from "../oauth/errors.js";
import { userFromBearer } from "../oauth/userinfo.js";
import { binary } from "../roles/roles.store.js";
import type { Services } from "../services.js";
import { portalLink } from "./portal-link.js";
import {
  AccountApiError,
  accountApiError,
  type PageQuery,
  pageOf,
  sendAccountApiError,
} from "./responses.js";

const BASE = "/account_api/v1";
/** Keys are Kinde's identifiers (at most 100 characters of text); longer ones name nothing. */
const MAX_KEY_LENGTH = 200;

interface Caller {
  userId: string;
  email: string | null;
  givenName: string | null;
  familyName: string | null;
  picture: string | null;
  /** The token's organization while the person is still a member of it; otherwise null. */
  orgCode: string | null;
  /** The application the token was issued to (`azp`). */
  clientId: string | null;
}

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
  // Anything unexpected answers in Kinde's API vocabulary (http/errors.ts), never OAuth's.
  const route = { onRequest: allowOrigin, config: { surface: "api" as const } };

  /** The person and organization of the bearer token, or the 401 to send. */
  const caller = async (request: FastifyRequest): Promise<Caller | AccountApiError> => {
    let user: Awaited<ReturnType<typeof userFromBearer>>;
    try {
      user = await userFromBearer(services.oauth, request.headers.authorization);
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error;
      // RFC 6750 §3.1: the challenge stays; the body speaks the Account API's vocabulary.
      const code = error.status === 401 ? "INVALID_CREDENTIALS" : "INVALID_REQUEST";
      return accountApiError(error.status, code, error.description, error.headers);
    }
    // Verified just above; only its org_code and azp are read here.
    const claims = decodeJwt(request.headers.authorization!.trim().slice("Bearer ".length));
    const tokenOrg = typeof claims.org_code === "string" ? claims.org_code : null;
    const member = tokenOrg !== null && (await services.organizations.store.isMember(tokenOrg, user.id));
    return {
      userId: user.id,
      email: user.email,
      givenName: user.givenName,
      familyName: user.familyName,
      picture: user.picture,
      orgCode: member ? tokenOrg : null,
      clientId: typeof claims.azp === "string" ? claims.azp : null,
    };
  };

  /** A GET answered for the token's person: `answer` returns the body or an error value. */
  const get = <Q extends object = PageQuery, P extends object = Record<string, never>>(
    path: string,
    answer: (
      who: Caller,
      request: FastifyRequest<{ Querystring: Q; Params: P }>,
    ) => Promise<object | AccountApiError>,
  ) => {
    app.options(`${BASE}/${path}`, { onRequest: allowOrigin }, async (_request, reply) =>
      reply
        .code(204)
        .header("access-control-allow-methods", "GET")
        .header("access-control-allow-headers", "authorization, content-type, kinde-sdk")
        .header("access-control-max-age", "600")
        .send(),
    );
    app.get<{ Querystring: Q; Params: P }>(`${BASE}/${path}`, route, async (request, reply) => {
      const who = await caller(request);
      if (who instanceof AccountApiError) return sendAccountApiError(reply, who);
      const body = await answer(who, request);
      if (body instanceof AccountApiError) return sendAccountApiError(reply, body);
      return body;
    });
  };

  const roles = async (who: Caller) =>
    who.orgCode === null
      ? []
      : (await services.roles.store.memberRoles(who.orgCode, who.userId))
          .sort((a, b) => binary(a.key, b.key))
          .map((r) => ({ id: r.id, name: r.name, key: r.key }));
  const permissions = async (who: Caller) =>
    who.orgCode === null
      ? []
      : (await services.roles.store.memberPermissions(who.orgCode, who.userId))
          .map(({ permission: p }) => ({ id: p.id, name: p.name, key: p.key, description: p.description }))
          .sort((a, b) => binary(a.key, b.key));
  const flags = async (who: Caller) =>
    (await services.featureFlags.resolve(who.userId, who.orgCode)).map(({ flag, value }) => ({
      id: flag.id,
      name: flag.name,
      key: flag.key,
      type: ACCOUNT_TYPES[flag.type],
      value,
    }));

  get("roles", async (who, request) => {
    const paged = pageOf(await roles(who), (r) => r.id, request.query);
    if ("error" in paged) return paged.error;
    return { data: { org_code: who.orgCode, roles: paged.page }, metadata: paged.metadata };
  });

  get("permissions", async (who, request) => {
    const paged = pageOf(await permissions(who), (p) => p.id, request.query);
    if ("error" in paged) return paged.error;
    return {
      data: {
        org_code: who.orgCode,
        permissions: paged.page.map(({ id, name, key }) => ({ id, name, key })),
      },
      metadata: paged.metadata,
    };
  });

  // js-utils' getPermission(key, {forceApi: true}) returns this body as it is, typed
  // {permissionKey, orgCode, isGranted}; `data` says the same in the API's own snake case. A key
  // the person does not hold — or that names no permission — is not granted, as from the token.
  get<PageQuery, { key: string }>("permission/:key", async (who, request) => {
    const key = request.params.key;
    if (key.length > MAX_KEY_LENGTH) return accountApiError(400, "INVALID_REQUEST", "The key is too long");
    const held = (await permissions(who)).find((p) => p.key === key);
    return {
      permissionKey: key,
      orgCode: who.orgCode,
      isGranted: held !== undefined,
      data: {
        permission_key: key,
        org_code: who.orgCode,
        is_granted: held !== undefined,
        ...(held ? { id: held.id, name: held.name, description: held.description } : {}),
      },
    };
  });

  get("feature_flags", async (who, request) => {
    const paged = pageOf(await flags(who), (f) => f.id, request.query);
    if ("error" in paged) return paged.error;
    return { data: { feature_flags: paged.page }, metadata: paged.metadata };
  });

  get<PageQuery, { key: string }>("feature_flags/:key", async (who, request) => {
    const flag = (await flags(who)).find((f) => f.key === request.params.key);
    if (!flag) return accountApiError(404, "FEATURE_FLAG_NOT_FOUND", "No feature flag has this key");
    return { data: flag };
  });

  get("user_profile", async (who) => ({
    data: {
      id: who.userId,
      email: who.email,
      given_name: who.givenName,
      family_name: who.familyName,
      picture: who.picture,
    },
  }));

  get("user_organizations", async (who, request) => {
    // Suspended organizations are left out: nobody can sign in to them (organizations/claims.ts).
    const organizations = (await services.organizations.store.ofUser(who.userId))
      .filter((o) => !o.suspended)
      .map((o) => ({ id: o.code, code: o.code, name: o.name }));
    const paged = pageOf(organizations, (o) => o.code, request.query);
    if ("error" in paged) return paged.error;
    return { data: paged.page, metadata: paged.metadata };
  });

  get("current_organization", async (who) => {
    const organization =
      who.orgCode === null ? undefined : await services.organizations.store.find(who.orgCode);
    if (!organization || organization.is_suspended === 1)
      return accountApiError(404, "ORGANIZATION_NOT_FOUND", "The token is for no organization you belong to");
    return { data: { id: organization.code, code: organization.code, name: organization.name } };
  });

  // No billing: no plans, no entitlements (js-utils reads both lists and the org_code).
  get("entitlements", async (who, request) => {
    const paged = pageOf([] as { id: string }[], (e) => e.id, request.query);
    if ("error" in paged) return paged.error;
    return { data: { org_code: who.orgCode, plans: [], entitlements: [] }, metadata: paged.metadata };
  });

  get<PageQuery, { key: string }>("entitlement/:key", async () =>
    accountApiError(404, "ENTITLEMENT_NOT_FOUND", "No entitlement has this key (Latchkey has no billing)"),
  );

  get<{ subnav?: unknown; return_url?: unknown }>("portal_link", async (who, request) => {
    const client = who.clientId === null ? undefined : await services.oauth.store.findClient(who.clientId);
    const link = portalLink(services.oauth.issuer, client, request.query, who.orgCode);
    // Kinde answers the link at the top level: { url } (js-utils reads `url`).
    return "error" in link ? link.error : { url: link.url };
  });
}
