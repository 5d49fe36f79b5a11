// Refresh tokens in cookies, the way Kinde's browser SDKs expect on any domain that is not
// *.kinde.com (COMPAT.md §1.3): @kinde/js-utils exchanges codes and refreshes with
// `credentials: "include"`, omits `refresh_token` from the body when it sees the readable `_kbrte`
// flag cookie, and relies on an httpOnly `refresh_token` cookie scoped to the token endpoint —
// so a page reload keeps the user signed in without the refresh token ever being readable by
// scripts. Only credentialed CORS requests from a registered front-end origin get or use the
// cookie: a cross-site form post (no allowed Origin) cannot spend it.
import type { CookieSerializeOptions } from "@fastify/cookie";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { RawParams } from "./params.js";

export const REFRESH_COOKIE = "refresh_token";
/** Readable flag telling js-utils that a cookie session exists (the value is not a secret). */
export const REFRESH_FLAG_COOKIE = "_kbrte";
const TOKEN_PATH = "/oauth2/token";

export interface RefreshCookieOptions {
  https: boolean;
  domain?: string;
}

function attributes(options: RefreshCookieOptions, path: string, maxAge?: number): CookieSerializeOptions {
  return {
    path,
    // A front end on another site sends cookies on a credentialed fetch only with SameSite=None,
    // which browsers accept only with Secure; plain-http development relies on same-site hosts.
    sameSite: options.https ? "none" : "lax",
    secure: options.https,
    ...(options.domain ? { domain: options.domain } : {}),
    ...(maxAge ? { maxAge } : {}),
  };
}

/** The form with the cookie's refresh token filled in when a browser refresh omitted it. */
export function withCookieRefreshToken(raw: RawParams, request: FastifyRequest): RawParams {
  const cookie = request.cookies[REFRESH_COOKIE];
  const body = raw.refresh_token;
  // A refresh token in the body wins over the cookie (js-utils with useInsecureForRefreshToken).
  if (!cookie || raw.grant_type !== "refresh_token" || (body !== undefined && body !== "")) return raw;
  return { ...raw, refresh_token: cookie };
}

export function setRefreshCookies(
  reply: FastifyReply,
  refreshToken: string,
  lifetimeSeconds: number,
  options: RefreshCookieOptions,
): void {
  reply.setCookie(REFRESH_COOKIE, refreshToken, {
    ...attributes(options, TOKEN_PATH, lifetimeSeconds),
    httpOnly: true,
  });
  reply.setCookie(REFRESH_FLAG_COOKIE, "1", {
    ...attributes(options, "/", lifetimeSeconds),
    httpOnly: false,
  });
}

export function clearRefreshCookies(reply: FastifyReply, options: RefreshCookieOptions): void {
  reply.clearCookie(REFRESH_COOKIE, { ...attributes(options, TOKEN_PATH), httpOnly: true });
  reply.clearCookie(REFRESH_FLAG_COOKIE, attributes(options, "/"));
}
