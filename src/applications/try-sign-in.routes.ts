// Management API, Latchkey's extension: POST /applications/{application_id}/try_sign_in — the
// authorization URL with which an administrator signs in once to the application, as a test user,
// and sees the tokens' claims (try-sign-in.ts says how it is kept safe). Administrators only, in
// their browser: the ticket is bound to a cookie set on this answer, and a machine holding
// read:applications has no browser to sign in with anyway.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { storedDashboardClientId } from "../dashboard/dashboard-app.js";
import { ApiError } from "../management/errors.js";
import { notFound, POST_ERRORS } from "../management/responses.schemas.js";
import { ApplicationIdParams } from "./applications.schemas.js";
import { TRY_TICKET_LIFETIME_SECONDS, TrySignInTickets, tryCookieName } from "./try-sign-in.js";

const TrySignInResponse = Type.Object({
  code: Type.String(),
  message: Type.String(),
  /** Open in the same browser: the hosted sign-in, then Latchkey's page with the claims. */
  authorization_url: Type.String(),
  /** Seconds the ticket works for (once). */
  expires_in: Type.Integer(),
});

export function registerTrySignInRoute(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.post(
    "/applications/:application_id/try_sign_in",
    {
      schema: {
        tags: ["Applications"],
        summary: "Try sign-in (Latchkey): sign in once to the application and see the tokens' claims",
        params: ApplicationIdParams,
        response: { 200: TrySignInResponse, ...POST_ERRORS, ...notFound("Application") },
      },
      // Whoever may read the application may read its secret, which would let them do the same.
      config: { scope: "read:applications" },
    },
    async (request, reply) => {
      const userId = request.caller?.userId;
      if (userId === undefined)
        throw new ApiError(
          "FORBIDDEN",
          "Only an administrator, in the dashboard, may try signing in: the ticket is bound to a browser",
        );
      const { services } = request;
      const client = await services.oauth.store.findClient(request.params.application_id);
      if (!client) throw new ApiError("APPLICATION_NOT_FOUND");
      if (client.type !== "reg" && client.type !== "spa")
        throw new ApiError(
          "APPLICATION_TYPE_NOT_SUPPORTED",
          "Only back-end and front-end applications sign people in; there is nothing to try",
        );
      if (client.id === (await storedDashboardClientId(services.db)))
        throw new ApiError("INVALID_REQUEST", "The dashboard's own application is tried by signing in to it");
      const tickets = services.oauth.trySignIn;
      if (!(tickets instanceof TrySignInTickets)) throw new ApiError("INVALID_REQUEST", "Try sign-in is off");
      const { state, browserSecret, ticket } = tickets.mint(client.id, userId);
      const https = services.oauth.issuer.startsWith("https:");
      reply.setCookie(tryCookieName(https), browserSecret, {
        httpOnly: true,
        secure: https,
        sameSite: "lax",
        path: "/",
        maxAge: TRY_TICKET_LIFETIME_SECONDS,
      });
      request.log.info({ event: "try_sign_in_issued", clientId: client.id, userId }, "try sign-in issued");
      return {
        code: "OK",
        message: "Open authorization_url in this browser to sign in once to the application",
        authorization_url: tickets.authorizationUrl(state, ticket),
        expires_in: TRY_TICKET_LIFETIME_SECONDS,
      };
    },
  );
}
