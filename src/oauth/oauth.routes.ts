// HTTP for the OAuth 2.0 / OIDC endpoints: translate requests into the protocol core's plain values
// and its results or OAuthErrors back into responses. No protocol rule lives here.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { errorPage } from "../http/html.js";
import type { Services } from "../services.js";
import { cookieNames } from "../sign-in/cookies.js";
import { errorRedirect, issueAuthorizationCode, validateAuthorizationRequest } from "./authorize.js";
import { discoveryDocument } from "./discovery.js";
import { OAuthError } from "./errors.js";
import { handleIntrospection } from "./introspect.js";
import { Params, type RawParams } from "./params.js";
import { handleRevocation } from "./revoke.js";
import { handleTokenRequest } from "./token.js";
import { userFromBearer, userProfileV1, userProfileV2 } from "./userinfo.js";

export function registerOAuthRoutes(
  app: FastifyInstance,
  services: Services,
  options: { https: boolean },
): void {
  const ctx = services.oauth;
  const sessionCookie = cookieNames(options.https).session;

  // --- Authorization endpoint (GET, and POST per OIDC Core §3.1.2.1). Never CORS (RFC 9700 §2.6).
  const authorize = async (request: FastifyRequest, reply: FastifyReply, raw: RawParams) => {
    const html = (status: number, body: string) =>
      reply.code(status).type("text/html; charset=utf-8").send(body);
    // After a POST, a redirect must be 303 so the browser does not re-send the body (§4.12).
    const redirectStatus = request.method === "POST" ? 303 : 302;
    const validation = await validateAuthorizationRequest(ctx, new Params(raw));
    if (validation.kind === "page_error") {
      return html(
        400,
        errorPage("This sign-in link is not valid", validation.message, await services.business.name()),
      );
    }
    if (validation.kind === "redirect_error") {
      const location = errorRedirect(ctx.issuer, validation.redirectUri, validation.error, validation.state);
      return reply.code(redirectStatus).header("location", location).send();
    }
    const { request: authorization } = validation;
    const session = await services.sessions.find(request.cookies[sessionCookie]);
    const tooOld =
      session !== undefined &&
      authorization.maxAge !== undefined &&
      // max_age=0 demands a fresh sign-in every time (OIDC Core §3.1.2.1).
      (authorization.maxAge === 0 || ctx.clock.now() - session.authTime > authorization.maxAge);
    const forceSignIn =
      authorization.prompt.includes("login") || authorization.prompt.includes("create") || tooOld;
    if (session && !forceSignIn) {
      const location = await issueAuthorizationCode(ctx, authorization, {
        id: session.userId,
        sessionId: session.id,
        authTime: session.authTime,
      });
      return reply.code(redirectStatus).header("location", location).send();
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
    return reply
      .code(redirectStatus)
      .header("location", `${page}?request=${encodeURIComponent(pendingId)}`)
      .send();
  };
  const pageConfig = { config: { surface: "page" as const } };
  app.get<{ Querystring: RawParams }>("/oauth2/auth", pageConfig, (request, reply) =>
    authorize(request, reply, request.query),
  );
  app.post<{ Body: RawParams }>("/oauth2/auth", pageConfig, (request, reply) =>
    authorize(request, reply, formBody(request)),
  );

  // --- Back-channel endpoints: JSON, no caching (RFC 6749 §5.1), CORS for front-end apps' origins.
  const noStore = async (_request: FastifyRequest, reply: FastifyReply) => {
    reply.header("cache-control", "no-store").header("pragma", "no-cache");
  };
  const allowOrigin = async (request: FastifyRequest, reply: FastifyReply) => {
    const origin = request.headers.origin;
    // Opaque origins ("null": sandboxed frames, custom-scheme apps) are never trusted.
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
    reply
      .header("access-control-allow-origin", origin)
      .header("access-control-allow-credentials", "true")
      .header("vary", "Origin");
  };
  const backChannel = { onRequest: [noStore, allowOrigin] };

  for (const path of ["/oauth2/token", "/oauth2/revoke", "/oauth2/v2/user_profile", "/oauth2/user_profile"]) {
    app.options(path, { onRequest: allowOrigin }, async (_request, reply) =>
      reply
        .code(204)
        .header("access-control-allow-methods", "GET, POST")
        .header("access-control-allow-headers", "authorization, content-type, kinde-sdk")
        .header("access-control-max-age", "600")
        .send(),
    );
  }

  app.post("/oauth2/token", backChannel, async (request) =>
    handleTokenRequest(ctx, new Params(formBody(request)), request.headers.authorization),
  );

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

  // --- Public metadata: cacheable, readable from any origin.
  const publicJson = async (_request: FastifyRequest, reply: FastifyReply) => {
    reply.header("access-control-allow-origin", "*").header("cache-control", "public, max-age=300");
  };
  const discovery = discoveryDocument(ctx.issuer);
  app.get("/.well-known/openid-configuration", { onRequest: publicJson }, async () => discovery);
  app.get("/.well-known/oauth-authorization-server", { onRequest: publicJson }, async () => discovery);
  const jwks = async () => services.keys.jwks();
  app.get("/.well-known/jwks.json", { onRequest: publicJson }, jwks);
  app.get("/.well-known/jwks", { onRequest: publicJson }, jwks);
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
