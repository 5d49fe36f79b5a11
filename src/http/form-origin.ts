// Hosted forms (sign-in, sign-up, the connect offer, the logout confirmation, the connected-app
// sign-in) accept a POST only from Latchkey's own pages — defence in depth beside their
// double-submit CSRF token. That token alone falls to anyone who can plant the cookie, and a
// sibling host on the same site can: cookies do not isolate ports (RFC 6265 §8.5) nor, without the
// __Host- prefix we can only use on https, hosts of one domain. It then posts the attacker's own
// credentials: login CSRF, which signs the victim in to the attacker's account. Only the
// browser's own marking of the request tells where a form came from.
//
// Fetch Metadata decides first (Sec-Fetch-Site, W3C Fetch Metadata §2.4): `same-origin` (our
// page) and `none` (user-initiated; no page can cause it) pass; `cross-site` and `same-site` are
// refused — no flow posts our forms from a sibling host, and a sibling may belong to someone else
// (shared hosting). The Origin header cannot decide alone: under our `Referrer-Policy: no-referrer`
// browsers send `Origin: null` on our own posts (Fetch Standard, "serializing a request origin").
// Only when Sec-Fetch-Site is absent (older browsers, non-browser clients) does the Origin decide:
// a foreign origin is refused; `null` or none passes, and the CSRF token still guards.
//
// The rule covers every unsafe-method route on the page surface, present and future, unless the
// route says other sites may post to it (`acceptsCrossSitePosts`): the authorization endpoint,
// which relying parties may POST to (OIDC Core §3.1.2.1).

import type { IncomingHttpHeaders } from "node:http";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Brand } from "../branding/brand.js";
import { t } from "../i18n/catalogue.js";
import { requestLocale } from "../i18n/locale.js";
import { errorPage } from "./html.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** A page route that other sites may POST to; every other page POST is one of our forms. */
    acceptsCrossSitePosts?: boolean;
  }
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/** Fetch Metadata values that mean "not started by another origin's page". */
const OWN_FETCH_SITES = new Set(["same-origin", "none"]);

/** Why a form post must be refused (the header that gave it away), or undefined to let it through. */
function foreignFormPost(headers: IncomingHttpHeaders, ownOrigin: string): string | undefined {
  const site = headers["sec-fetch-site"];
  if (site !== undefined) return OWN_FETCH_SITES.has(String(site)) ? undefined : `sec-fetch-site ${site}`;
  const origin = headers.origin;
  if (origin === undefined || origin === "null" || origin === ownOrigin) return undefined;
  return "origin";
}

export function registerFormOriginCheck(
  app: FastifyInstance,
  options: {
    issuer: string;
    businessName: () => Promise<string>;
    /** The environment's brand for the refusal page (src/branding/); none when not given. */
    brand?: () => Promise<Brand>;
  },
): void {
  const ownOrigin = new URL(options.issuer).origin;

  const check = async (request: FastifyRequest, reply: FastifyReply) => {
    const reason = foreignFormPost(request.headers, ownOrigin);
    if (!reason) return;
    // The sign-in's own language is in a row this check runs too early to read (it runs before the
    // body): the browser's, as on every page without one.
    const locale = requestLocale(request);
    request.log.info(
      { event: "form_post_refused", reason: reason.slice(0, 64) },
      "form posted from another site",
    );
    return reply
      .code(403)
      .type("text/html; charset=utf-8")
      .send(
        errorPage(
          t(locale, "form.cross_site_title"),
          t(locale, "form.cross_site_message"),
          await options.businessName(),
          locale,
          await options.brand?.(),
        ),
      );
  };

  // Added to each form route as it is registered (an onRequest hook, so a refused post is answered
  // before its body is read); routes registered before this call are not covered.
  app.addHook("onRoute", (route) => {
    const config = route.config;
    if (config?.surface !== "page" || config.acceptsCrossSitePosts) return;
    if ([route.method].flat().every((method) => SAFE_METHODS.has(method))) return;
    const existing = route.onRequest ? [route.onRequest].flat() : [];
    route.onRequest = [check, ...existing];
  });
}
