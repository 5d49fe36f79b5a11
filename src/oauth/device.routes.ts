// HTTP for the device authorization endpoint (RFC 8628 §3.1): POST /oauth2/device/auth, the path
// Kinde serves it at. No protocol rule lives here (device.ts); the token endpoint's device grant is
// in grants/device_code.ts, the page a person approves on in sign-in/device.routes.ts.
import type { FastifyInstance } from "fastify";
import type { Services } from "../services.js";
import { startDeviceAuthorization } from "./device.js";
import { OAuthError } from "./errors.js";
import { Params, type RawParams } from "./params.js";

export const DEVICE_AUTHORIZATION_PATH = "/oauth2/device/auth";

export function registerDeviceAuthorizationRoute(app: FastifyInstance, services: Services): void {
  app.post(DEVICE_AUTHORIZATION_PATH, async (request, reply) => {
    // §3.2 refers to RFC 6749 §5.1: a response with codes in it is never cached.
    reply.header("cache-control", "no-store").header("pragma", "no-cache");
    // §3.1: the request is application/x-www-form-urlencoded, like the token endpoint's.
    const type = request.headers["content-type"] ?? "";
    if (!type.toLowerCase().startsWith("application/x-www-form-urlencoded")) {
      throw new OAuthError("invalid_request", "The request body must be application/x-www-form-urlencoded");
    }
    const body = request.body && typeof request.body === "object" ? (request.body as RawParams) : {};
    return startDeviceAuthorization(services.oauth, new Params(body), request.headers.authorization);
  });
}
