// Cookie names and attributes (ASVS 3.3): HttpOnly, SameSite=Lax, and on https the __Host- prefix
// with Secure so no subdomain can set or read them.
import type { CookieSerializeOptions } from "@fastify/cookie";

export interface CookieNames {
  session: string;
  csrf: string;
  /** Accounts signed in to on this browser (browser-sign-in.ts, device cookies). */
  device: string;
}

export function cookieNames(https: boolean): CookieNames {
  return https
    ? { session: "__Host-latchkey_session", csrf: "__Host-latchkey_csrf", device: "__Host-latchkey_device" }
    : { session: "latchkey_session", csrf: "latchkey_csrf", device: "latchkey_device" };
}

export function cookieOptions(https: boolean, maxAgeSeconds?: number): CookieSerializeOptions {
  return {
    httpOnly: true,
    secure: https,
    sameSite: "lax",
    path: "/",
    ...(maxAgeSeconds ? { maxAge: maxAgeSeconds } : {}),
  };
}

/** Binds a provider's answer to the browser that started a connected-app flow (RFC 9700 §4.7). */
export function connectStateCookie(https: boolean): string {
  return https ? "__Host-latchkey_connect" : "latchkey_connect";
}
