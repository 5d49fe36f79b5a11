// One error handler for every surface, each answered in its own vocabulary and never mixed:
// OAuth JSON (RFC 6749 §5.2), the Management API's Kinde shape, or an HTML page for browsers.
// Anything unexpected becomes a generic 500 logged with the request id — never a stack trace.
import type { Socket } from "node:net";
import type { ConnectionError, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ApiError, type ApiErrorCode } from "../management/errors.js";
import { OAuthError } from "../oauth/errors.js";
import { isDatabaseUnavailable } from "../storage/database.js";
import { PasswordHashingBusyError } from "../users/passwords.js";
import { errorPage } from "./html.js";
import { EVERY_RESPONSE_HEADERS } from "./security-headers.js";

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
  // While draining for shutdown, requests on kept-alive connections are answered 503 in their
  // surface's vocabulary (Fastify's own 503 body is neither OAuth's nor Kinde's), and told to
  // reconnect elsewhere.
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  // A callback hook: an async one costs every request a promise and a microtask turn.
  app.addHook("onRequest", (request, reply, done) => {
    if (!closing) return done();
    reply.header("connection", "close").header("retry-after", "1");
    // Answered here, so the chain stops: `done` is not called (Fastify's "respond from a hook").
    sendProblem(reply, surfaceOf(request), 503, "SERVICE_UNAVAILABLE", "temporarily_unavailable");
  });

  app.setErrorHandler(async (error: FastifyError | Error, request, reply) => {
    if (error instanceof OAuthError || error instanceof ApiError) return sendWireError(reply, error);

    const surface = surfaceOf(request);
    if (error instanceof PasswordHashingBusyError) {
      reply.header("retry-after", String(error.retryAfterSeconds));
      return sendProblem(reply, surface, 503, "SERVICE_UNAVAILABLE", "temporarily_unavailable");
    }
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
    // A known endpoint asked with the wrong method (e.g. GET /oauth2/token, which RFC 6749 §3.2
    // requires to be POST) is a 405 naming the allowed methods (RFC 9110 §15.5.6), not a 404.
    const path = request.url.split("?")[0] ?? "";
    const allowed = ["GET", "POST", "PUT", "PATCH", "DELETE"].filter((method) =>
      app.hasRoute({ method: method as "GET", url: path }),
    );
    if (allowed.length > 0) {
      return reply
        .code(405)
        .header("allow", allowed.join(", "))
        .send({
          error: "invalid_request",
          error_description: `Use ${allowed.join(" or ")} for this endpoint`,
        });
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
  // Raised before routing, so the onRequest and onSend hooks that set these never run.
  reply.headers(EVERY_RESPONSE_HEADERS);
  reply.header("x-request-id", request.id);
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

/**
 * Requests Node's HTTP parser rejects before Fastify sees them (headers over 16 KiB, malformed
 * request lines): answered in the vocabulary of the surface the request line names, then closed.
 */
export function clientErrorHandler(error: ConnectionError, socket: Socket): void {
  if (!socket.writable) return;
  const tooLarge = error.code === "HPE_HEADER_OVERFLOW";
  const status = tooLarge ? 431 : 400;
  const reason = tooLarge ? "Request Header Fields Too Large" : "Bad Request";
  const detail = tooLarge ? "The request headers are too large" : "The request could not be parsed";
  // Typed as a JSON-ified Buffer, but Node hands over the Buffer itself.
  const raw: unknown = error.rawPacket;
  const requestLine = Buffer.isBuffer(raw) ? raw.toString("latin1", 0, 64) : "";
  const api = /^[A-Z]{3,7} \/api\//.test(requestLine);
  const body = JSON.stringify(
    api
      ? { errors: [{ code: "INVALID_REQUEST", message: detail }] }
      : { error: "invalid_request", error_description: detail },
  );
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
  );
}
