// One error handler for every surface, each answered in its own vocabulary and never mixed:
// OAuth JSON (RFC 6749 §5.2), the Management API's Kinde shape, or an HTML page for browsers.
// Anything unexpected becomes a generic 500 logged with the request id — never a stack trace.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ApiError, type ApiErrorCode } from "../management/errors.js";
import { OAuthError } from "../oauth/errors.js";
import { isDatabaseUnavailable } from "../storage/database.js";
import { errorPage } from "./html.js";

export type Surface = "oauth" | "api" | "page";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Which error vocabulary this route answers in; see surfaceOf. */
    surface?: Surface;
  }
}

export function surfaceOf(request: FastifyRequest): Surface {
  const configured = request.routeOptions.config?.surface;
  if (configured) return configured;
  return request.url.startsWith("/api/") ? "api" : "oauth";
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(async (error: FastifyError | Error, request, reply) => {
    if (error instanceof OAuthError || error instanceof ApiError) return sendWireError(reply, error);

    const surface = surfaceOf(request);
    if (isDatabaseUnavailable(error)) {
      request.log.warn({ err: error }, "database unavailable");
      reply.header("retry-after", "1");
      return sendProblem(reply, surface, 503, "SERVICE_UNAVAILABLE", "temporarily_unavailable");
    }
    const status = (error as FastifyError).statusCode;
    if (typeof status === "number" && status >= 400 && status < 500)
      return sendClientError(reply, surface, status, error);
    request.log.error({ err: error }, "unhandled error");
    return sendProblem(reply, surface, 500, "INTERNAL_SERVER_ERROR", "server_error");
  });

  app.setNotFoundHandler(async (request, reply) => {
    if (surfaceOf(request) === "api") {
      // Kinde answers unknown API routes with `errors` as an object, not an array (COMPAT.md §2.3).
      return reply
        .code(404)
        .send({ errors: { code: "ROUTE_NOT_FOUND", message: "The requested API route does not exist" } });
    }
    return reply.code(404).send({ error: "not_found", error_description: "No such endpoint" });
  });
}

/**
 * Fastify's own client errors — malformed JSON or form, body too large, wrong content type, schema
 * validation, a malformed URL — in the surface's vocabulary. The message names the problem and
 * carries no secret.
 */
function sendClientError(reply: FastifyReply, surface: Surface, status: number, error: Error): FastifyReply {
  const apiCode: ApiErrorCode =
    status === 413 ? "PAYLOAD_TOO_LARGE" : status === 415 ? "UNSUPPORTED_MEDIA_TYPE" : "INVALID_REQUEST";
  return sendProblem(reply, surface, status, apiCode, "invalid_request", error.message);
}

/** Errors Fastify raises before routing (bad URL encoding, over-long path parameters). */
export function frameworkErrorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const surface: Surface = request.url.startsWith("/api/") ? "api" : "oauth";
  const status = typeof error.statusCode === "number" && error.statusCode < 500 ? error.statusCode : 400;
  void sendClientError(reply, surface, status, error);
}

export function sendWireError(reply: FastifyReply, error: OAuthError | ApiError): FastifyReply {
  reply.code(error.status);
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return reply.send(error.toJSON());
}

function sendProblem(
  reply: FastifyReply,
  surface: Surface,
  status: number,
  apiCode: ApiErrorCode,
  oauthCode: "invalid_request" | "server_error" | "temporarily_unavailable",
  detail?: string,
): FastifyReply {
  if (surface === "api") return sendWireError(reply, new ApiError(apiCode, detail));
  if (surface === "page") {
    const title = status >= 500 ? "Something went wrong" : "This request could not be processed";
    const message =
      status === 503
        ? "The service is temporarily unavailable. Please try again in a moment."
        : status >= 500
          ? "An unexpected error occurred. Please try again."
          : "The request was malformed. Go back to the application and start again.";
    return reply.code(status).type("text/html; charset=utf-8").send(errorPage(title, message));
  }
  const description =
    detail ??
    (oauthCode === "temporarily_unavailable"
      ? "The service is temporarily unavailable; retry shortly"
      : "An unexpected error occurred");
  return reply.code(status).send({ error: oauthCode, error_description: description });
}
