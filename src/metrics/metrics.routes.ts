// GET /metrics (Prometheus text exposition) and the hook that counts every response. Outside the
// Management API: a scraper holds a static bearer token (METRICS_TOKEN), not an OAuth client.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { MetricsConfig } from "../config/metrics-config.js";
import { safeEqual } from "../crypto/random.js";
import type { Metrics } from "./metrics.js";

export const METRICS_PATH = "/metrics";

/**
 * With metrics on: counts every response by its route's template and serves the registry. With
 * metrics off: nothing at all — no hook on the request path, and /metrics is an unknown route (404).
 */
export function registerMetrics(app: FastifyInstance, metrics: Metrics, config: MetricsConfig): void {
  const { registry } = metrics;
  if (!config.enabled) return;
  if (!registry) throw new Error("METRICS=on, but the services were built without metrics (metricsFor)");

  // A callback hook: an async one costs every request a promise and a microtask turn.
  app.addHook("onResponse", (request, reply, done) => {
    // The template ("/api/v1/users/:user_id"), never the URL: ids, codes and tokens in a path or
    // query would make a label per value and put them in whatever stores the metrics.
    const route = request.routeOptions.url ?? "unmatched";
    metrics.httpResponse(route, request.method, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  app.get(METRICS_PATH, async (request, reply) => {
    reply.header("cache-control", "no-store");
    const refusal = config.token ? bearerRefusal(request, config.token) : loopbackRefusal(request);
    if (refusal) return refuse(reply, refusal);
    const body = await registry.metrics();
    return reply.type(registry.contentType).send(body);
  });
}

interface Refusal {
  status: 401 | 403;
  error: string;
  description: string;
  /** RFC 6750 §3: the challenge a 401 carries. */
  challenge?: string;
}

function refuse(reply: FastifyReply, refusal: Refusal): FastifyReply {
  if (refusal.challenge) reply.header("www-authenticate", refusal.challenge);
  return reply.code(refusal.status).send({ error: refusal.error, error_description: refusal.description });
}

const CHALLENGE = 'Bearer realm="metrics"';

function bearerRefusal(request: FastifyRequest, token: string): Refusal | undefined {
  const header = request.headers.authorization;
  // RFC 6750 §3.1: a request without credentials gets the bare challenge, no error code.
  if (!header)
    return {
      status: 401,
      error: "unauthorized",
      description: "A bearer token is required",
      challenge: CHALLENGE,
    };
  // RFC 9110 §11.1: the scheme is case-insensitive.
  const match = /^bearer +(\S{1,1024})\s*$/i.exec(header);
  // Hashed before the comparison (safeEqual): neither the contents nor the length leak by timing.
  if (!match || !safeEqual(match[1]!, token))
    return {
      status: 401,
      error: "invalid_token",
      description: "The bearer token is not valid",
      challenge: `${CHALLENGE}, error="invalid_token"`,
    };
  return undefined;
}

/**
 * Without a token only this machine may read the metrics. The socket's peer, not request.ip:
 * with TRUST_PROXY, request.ip comes from X-Forwarded-For, which a client writes. A reverse proxy
 * on this machine connects from loopback on behalf of anyone, so a forwarded request (one that
 * names a client in Forwarded, X-Forwarded-For or X-Real-IP) is refused too.
 */
function loopbackRefusal(request: FastifyRequest): Refusal | undefined {
  const forwarded =
    request.headers.forwarded !== undefined ||
    request.headers["x-forwarded-for"] !== undefined ||
    request.headers["x-real-ip"] !== undefined;
  if (isLoopback(request.socket.remoteAddress) && !forwarded) return undefined;
  return {
    status: 403,
    error: "forbidden",
    description: "Metrics are served to this machine only (set METRICS_TOKEN to scrape from elsewhere)",
  };
}

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  return address === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}
