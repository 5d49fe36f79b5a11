// HTTP for the OAuth 2.0 / OIDC endpoints: translate requests into the protocol core's plain values
// and its results or OAuthErrors back into responses. No protocol rule lives here.

import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from "fastify";
import { BrandingStore } from "../branding/branding.store.js";
import { flatJson } from "../http/flat-json.js";
import { errorPage } from "../http/html.js";
import { t } from "../i18n/catalogue.js";
import { chooseLocale } from "../i18n/locale.js";
import { resolveInvitation } from "../invitations/invitation-sign-in.js";
import type { Services } from "../services.js";
import { upstreamShortcut } from "../sign-in/connection-sign-in.routes.js";
import { cookieNames } from "../sign-in/cookies.js";
import { connectionAdmits, policySatisfied } from "../sign-in/session-admission.js";
import { lifetimeAdmits } from "../sign-in/session-lifetime.js";
import type { SignInPolicy } from "../sign-in/steps.js";
import {
  errorRedirect,
  issueAuthorizationCode,
  organizationRefusal,
  STALE_SESSION,
  validateAuthorizationRequest,
} from "./authorize.js";
import { discoveryDocument } from "./discovery.js";
import { OAuthError } from "./errors.js";
import { handleIntrospection } from "./introspect.js";
import { type CachedDocument, documentFor } from "./keys.js";
import { Params, type RawParams } from "./params.js";
import { clearRefreshCookies, setRefreshCookies, withCookieRefreshToken } from "./refresh-cookie.js";
import { handleRevocation } from "./revoke.js";
import { handleTokenRequest } from "./token.js";
import { userFromBearer, userProfileV1, userProfileV2 } from "./userinfo.js";

export function registerOAuthRoutes(
  app: FastifyInstance,
  services: Services,
  options: { https: boolean; refreshCookieDomain?: string; policy: SignInPolicy },
): void {
  const ctx = services.oauth;
  const cookieOptions = { https: options.https, domain: options.refreshCookieDomain };
  const sessionCookie = cookieNames(options.https).session;

  // --- Authorization endpoint (GET, and POST per OIDC Core §3.1.2.1). Never CORS (RFC 9700 §2.6).
  const authorize = async (request: FastifyRequest, reply: FastifyReply, raw: RawParams) => {
    const html = (status: number, body: string) =>
      reply.code(status).type("text/html; charset=utf-8").send(body);
    // After a POST, a redirect must be 303 so the browser does not re-send the body (§4.12).
    const redirectStatus = request.method === "POST" ? 303 : 302;
    const validation = await validateAuthorizationRequest(ctx, new Params(raw));
    // Kinde's lang (COMPAT.md §1.2) wins over the browser's languages; a value we do not serve, or
    // a repeated one, is ignored rather than refused (the pages fall back to English).
    const locale = chooseLocale(raw.lang, request.headers["accept-language"]);
    if (validation.kind === "page_error") {
      // The reason names the protocol's parameters for the developer: it stays as written.
      return html(
        400,
        errorPage(
          t(locale, "sign_in.invalid_link_title"),
          validation.message,
          await services.business.name(),
          locale,
          // The environment's: a request that failed validation names no organization to trust.
          await new BrandingStore(services.db).brand(),
        ),
      );
    }
    if (validation.kind === "redirect_error") {
      const location = errorRedirect(ctx.issuer, validation.redirectUri, validation.error, validation.state);
      return reply.code(redirectStatus).header("location", location).send();
    }
    // Kinde's invitation_code becomes its invitation before the request is stored (src/invitations/).
    const resolved = await resolveInvitation(services, validation.request);
    if ("location" in resolved)
      return reply.code(redirectStatus).header("location", resolved.location).send();
    const authorization = { ...resolved.request, locale };
    const session = await services.sessions.find(request.cookies[sessionCookie]);
    const tooOld =
      session !== undefined &&
      authorization.maxAge !== undefined &&
      // max_age=0 demands a fresh sign-in every time (OIDC Core §3.1.2.1).
      (authorization.maxAge === 0 || ctx.clock.now() - session.authTime > authorization.maxAge);
    const forceSignIn =
      authorization.prompt.includes("login") || authorization.prompt.includes("create") || tooOld;
    // A session of someone outside the organization asked for (org_code) does not sign in silently:
    // the sign-in page lets another account sign in, and refuses this one.
    // …nor does a session whose account the sign-in policy now asks more of (an address to verify):
    // the pages take it through the missing step (steps.ts).
    // …nor one that signed in through a connection this application (and organization) does not
    // offer (session-admission.ts).
    // …nor one older than the application's or organization's session lifetime (session-lifetime.ts).
    if (
      session &&
      !forceSignIn &&
      (await lifetimeAdmits(services.db, ctx.clock.now(), session, authorization)) &&
      !(await organizationRefusal(ctx, authorization, session.userId)) &&
      (await policySatisfied(services, session, authorization, options.policy)) &&
      (await connectionAdmits(services, session, authorization))
    ) {
      const location = await issueAuthorizationCode(ctx, authorization, {
        id: session.userId,
        sessionId: session.id,
        authTime: session.authTime,
      });
      // Too old for the organization actually entered: sign in again, as below (review M3).
      if (location !== STALE_SESSION) return reply.code(redirectStatus).header("location", location).send();
    }
    if (authorization.prompt.includes("none")) {
      const error = new OAuthError("login_required", "User authentication is required");
      return reply
        .code(redirectStatus)
        .header("location", errorRedirect(ctx.issuer, authorization.redirectUri, error, authorization.state))
        .send();
    }
    const pendingId = await services.pending.create(authorization);
    const page = authorization.prompt.includes("create") ? "/auth/sign-up" : "/auth/sign-in";
    // connection_id, or login_hint's domain owned by a connection: straight to that provider.
    const shortcut = await upstreamShortcut(services, authorization, pendingId);
    return reply
      .code(redirectStatus)
      .header("location", shortcut ?? `${page}?request=${encodeURIComponent(pendingId)}`)
      .send();
  };
  const pageConfig = { config: { surface: "page" as const } };
  app.get<{ Querystring: RawParams }>("/oauth2/auth", pageConfig, (request, reply) =>
    authorize(request, reply, request.query),
  );
  // Relying parties may POST the authorization request from their own site (OIDC Core §3.1.2.1).
  const postedByOtherSites = { config: { ...pageConfig.config, acceptsCrossSitePosts: true } };
  app.post<{ Body: RawParams }>("/oauth2/auth", postedByOtherSites, (request, reply) =>
    authorize(request, reply, formBody(request)),
  );

  // --- Back-channel endpoints: JSON, no caching (RFC 6749 §5.1), CORS for front-end apps' origins.
  const ownsOrigin = (callbackUrls: readonly string[], origin: string | undefined) =>
    origin !== undefined && callbackUrls.some((url) => URL.canParse(url) && new URL(url).origin === origin);
  const allowOrigin = async (origin: string, reply: FastifyReply) => {
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
    reply
      .header("access-control-allow-origin", origin)
      .header("access-control-allow-credentials", "true")
      .header("vary", "Origin");
  };
  // Callback hooks: a back end's request (no Origin) costs no promise and no extra turn.
  const cors = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const origin = request.headers.origin;
    // Opaque origins ("null": sandboxed frames, custom-scheme apps) are never trusted.
    if (!origin || origin === "null") return done();
    allowOrigin(origin, reply).then(() => done(), done);
  };
  const noStoreAndCors = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    reply.header("cache-control", "no-store").header("pragma", "no-cache");
    cors(request, reply, done);
  };
  const backChannel = { onRequest: noStoreAndCors };

  for (const path of ["/oauth2/token", "/oauth2/revoke", "/oauth2/v2/user_profile", "/oauth2/user_profile"]) {
    app.options(path, { onRequest: cors }, async (_request, reply) =>
      reply
        .code(204)
        .header("access-control-allow-methods", "GET, POST")
        .header("access-control-allow-headers", "authorization, content-type, kinde-sdk")
        .header("access-control-max-age", "600")
        .send(),
    );
  }

  app.post("/oauth2/token", backChannel, async (request, reply) => {
    // allowOrigin admitted any registered front-end origin; the refresh cookie is used and set only
    // for the requesting client's own origins, so a page of app B cannot spend app A's session.
    const body = formBody(request);
    const client = reply.hasHeader("access-control-allow-origin")
      ? await ctx.store.findClient(typeof body.client_id === "string" ? body.client_id : "")
      : undefined;
    const cookieClient =
      client && ownsOrigin(client.callbackUrls, request.headers.origin) ? client : undefined;
    const raw = cookieClient ? withCookieRefreshToken(body, request) : body;
    const usedCookie = raw !== body;
    try {
      const response = await handleTokenRequest(
        ctx,
        new Params(raw),
        request.headers.authorization,
        (issued) => services.authenticationLog.record(request, { type: "token_issued", ...issued }),
      );
      services.metrics.tokenIssued(String(raw.grant_type));
      if (cookieClient && response.refresh_token) {
        setRefreshCookies(reply, response.refresh_token, cookieClient.refreshTokenLifetime, cookieOptions);
      }
      // The text JSON.stringify would make, without its escaping pass over ~13 KB of token and
      // scope (src/http/flat-json.ts); the type Fastify gives a serialized object.
      reply.header("content-type", "application/json; charset=utf-8");
      return flatJson(response);
    } catch (error) {
      // A refresh token from the cookie that no longer works: forget it, so js-utils stops using it.
      if (usedCookie && error instanceof OAuthError) {
        clearRefreshCookies(reply, cookieOptions);
      }
      throw error;
    }
  });

  app.post("/oauth2/revoke", backChannel, async (request, reply) => {
    await handleRevocation(ctx, new Params(formBody(request)), request.headers.authorization);
    return reply.code(200).send();
  });

  app.post("/oauth2/introspect", backChannel, async (request) =>
    handleIntrospection(ctx, new Params(formBody(request)), request.headers.authorization),
  );

  const profile = (shape: typeof userProfileV2 | typeof userProfileV1) => async (request: FastifyRequest) => {
    if (request.query && typeof request.query === "object" && "access_token" in request.query) {
      throw new OAuthError("invalid_request", "Access tokens are not accepted in the query string");
    }
    return shape(await userFromBearer(ctx, request.headers.authorization));
  };
  app.get("/oauth2/v2/user_profile", backChannel, profile(userProfileV2));
  app.post("/oauth2/v2/user_profile", backChannel, profile(userProfileV2));
  app.get("/oauth2/user_profile", backChannel, profile(userProfileV1));

  // --- Public metadata: serialized once, readable from any origin, cacheable by anyone (RFC 9111
  // §5.2.2.9), with a strong ETag so a client revalidates with If-None-Match and gets a 304.
  // The handlers send and return nothing: a returned reply is a thenable Fastify would wait on.
  const sendDocument = (
    request: FastifyRequest,
    reply: FastifyReply,
    document: CachedDocument,
    cacheControl: string,
  ): void => {
    reply
      .header("access-control-allow-origin", "*")
      .header("cache-control", cacheControl)
      .header("etag", document.etag);
    if (notModified(request.headers["if-none-match"], document.etag)) reply.code(304).send();
    else reply.header("content-type", "application/json; charset=utf-8").send(document.body);
  };
  const discovery = documentFor(JSON.stringify(discoveryDocument(ctx.issuer)));
  const discoveryCaching = "public, max-age=300";
  for (const path of ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]) {
    app.get(path, (request, reply) => {
      sendDocument(request, reply, discovery, discoveryCaching);
    });
  }
  // A new key is published `keys rotate --activate-in` seconds (default 300) before it signs, and
  // instances re-read the key list every 30 s: a JWKS cached 120 s names every key before it signs.
  const jwksCaching = "public, max-age=120";
  for (const path of ["/.well-known/jwks.json", "/.well-known/jwks"]) {
    app.get(path, (request, reply) => {
      // Answered in the same turn while the published keys cannot have changed.
      const known = services.keys.publishedJwks();
      if (known) {
        sendDocument(request, reply, known, jwksCaching);
        return;
      }
      return services.keys.jwksDocument().then((document) => {
        sendDocument(request, reply, document, jwksCaching);
      });
    });
  }
}

/** RFC 9110 §13.1.2: `*` or a list of entity tags, compared weakly (a W/ prefix is ignored). */
function notModified(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(",").some((tag) => {
    const candidate = tag.trim();
    return candidate === "*" || candidate.replace(/^W\//, "") === etag;
  });
}

/** The form body of a back-channel POST (RFC 6749 §3.2 requires application/x-www-form-urlencoded). */
function formBody(request: FastifyRequest): RawParams {
  const type = request.headers["content-type"] ?? "";
  if (!type.toLowerCase().startsWith("application/x-www-form-urlencoded")) {
    throw new OAuthError("invalid_request", "The request body must be application/x-www-form-urlencoded");
  }
  const body = request.body;
  return body && typeof body === "object" ? (body as RawParams) : {};
}
