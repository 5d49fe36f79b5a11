import type { FastifyInstance } from "fastify";

// Pages render only our own stylesheet and forms posting to ourselves. form-action is left out on
// purpose: Chromium applies it to the redirect that follows a sign-in POST (to the client's
// redirect URI), which would break every flow.
const PAGE_CSP = [
  "default-src 'none'",
  "style-src 'self'",
  "img-src 'self' data:",
  "script-src 'self'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

/** Headers every response carries (RFC 9700 §4.16 clickjacking, §4.2.4 Referer leakage). */
export const EVERY_RESPONSE_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
} as const;

export function registerSecurityHeaders(app: FastifyInstance, options: { https: boolean }): void {
  // A callback hook: an async one costs every response a promise and a microtask turn.
  app.addHook("onSend", (_request, reply, _payload, done) => {
    reply.headers(EVERY_RESPONSE_HEADERS);
    if (options.https) reply.header("strict-transport-security", "max-age=31536000; includeSubDomains");
    const type = reply.getHeader("content-type");
    if (typeof type === "string" && type.startsWith("text/html")) {
      reply.header("content-security-policy", PAGE_CSP);
      reply.header("cache-control", "no-store");
    }
    done();
  });
}
