// Kinde's logout (COMPAT.md §1.6) and OIDC RP-Initiated Logout 1.0: end the browser session and
// the grants made through it, then return only to a registered logout URL — never an open
// redirect (RFC 9700 §4.11.2).
//
// A plain GET that signs people out can be triggered by any web page (an <img> or a link on
// another site: "logout CSRF"). RP-Initiated Logout §2 says the OP SHOULD ask the user when it
// cannot tell the request came from the RP the user signed in to. So the session ends at once only
// when the request proves itself:
// - an `id_token_hint` we issued to this user (§2; Kinde's SDKs do not send one);
// - `Sec-Fetch-Site: same-origin` or `none` (our own pages; typed or bookmarked);
// - `Sec-Fetch-Site: same-site` *with a registered logout URL*: Kinde's browser SDKs (React, JS,
//   Next.js) send the browser to `/logout?redirect=…` from the app, which usually runs on a sibling
//   host of the same site (app.example.com beside auth.example.com). We cannot see which sibling
//   started it, and on shared hosting a sibling may be a stranger's; but the most it can do is end
//   the session and send the browser to a URL an administrator registered — the same harm as any
//   link to that app's own sign-out, none of login CSRF's (forms refuse same-site posts). A
//   same-site request without a redirect proves no app at all, so it is asked. Checking that the
//   registered URL is on the request's site would need the Public Suffix List and would not stop a
//   sibling, who can name any registered URL on its own site; the registration is what counts.
// Anything else — every cross-site request — gets a confirmation page whose button POSTs with a
// CSRF token (and only from our own page: http/form-origin.ts).

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { decodeProtectedHeader, jwtVerify } from "jose";
import { BrandingStore } from "../branding/branding.store.js";
import { errorPage } from "../http/html.js";
import { t } from "../i18n/catalogue.js";
import { requestLocale } from "../i18n/locale.js";
import { SIGNING_ALGORITHM } from "../oauth/keys.js";
import { clearRefreshCookies, REFRESH_FLAG_COOKIE } from "../oauth/refresh-cookie.js";
import type { Services } from "../services.js";
import { type BrowserSignIn, type Form, field } from "./browser-sign-in.js";
import { cookieNames, cookieOptions } from "./cookies.js";
import { logoutConfirmPage, signedOutPage } from "./pages.js";

/** Browser-set values that mean "not started by another origin" (Fetch Metadata). */
const TRUSTED_FETCH_SITES = new Set(["same-origin", "none"]);

/** Whether the browser marks this navigation as coming from Latchkey's own site (see above). */
function trustedNavigation(fetchSite: string | string[] | undefined, redirect: string): boolean {
  if (typeof fetchSite !== "string") return false;
  return TRUSTED_FETCH_SITES.has(fetchSite) || (fetchSite === "same-site" && redirect !== "");
}

export function registerLogoutRoutes(
  app: FastifyInstance,
  services: Services,
  signIn: BrowserSignIn,
  options: { https: boolean; refreshCookieDomain?: string },
): void {
  const names = cookieNames(options.https);
  const pageConfig = { config: { surface: "page" as const } };
  const html = (reply: FastifyReply, status: number, body: string) =>
    reply.code(status).type("text/html; charset=utf-8").send(body);
  // The environment's brand, from the configuration cache (sign-in.routes.ts does the same).
  const brandingStore = new BrandingStore(services.db);

  /** The registered logout URL to return to, "" for none, or undefined when it is not registered. */
  const redirectOf = async (params: Form | undefined): Promise<string | undefined> => {
    const redirect = field(params, "redirect") || field(params, "post_logout_redirect_uri");
    if (!redirect) return "";
    return (await services.applications.store.isAnyLogoutUrl(redirect)) ? redirect : undefined;
  };

  const unregistered = async (reply: FastifyReply) => {
    const locale = requestLocale(reply.request);
    return html(
      reply,
      400,
      errorPage(
        t(locale, "logout.bad_redirect_title"),
        t(locale, "logout.bad_redirect_message"),
        await services.business.name(),
        locale,
        await brandingStore.brand(),
      ),
    );
  };

  const signOutAndReturn = async (
    request: FastifyRequest,
    reply: FastifyReply,
    redirect: string,
    state: string,
    status: 302 | 303,
  ) => {
    const session = await signIn.session(request);
    if (session) {
      await services.sessions.revoke(session.id);
      await services.oauth.store.revokeGrantsOfSession(session.id, services.clock.now(), "signed out");
      request.log.info({ event: "sign_out", userId: session.userId }, "user signed out");
      services.authenticationLog.record(request, { type: "sign_out", userId: session.userId });
    }
    reply.clearCookie(names.session, cookieOptions(options.https));
    // Kinde's browser SDKs keep the refresh token in a cookie too (refresh-cookie.ts).
    clearRefreshCookies(reply, { https: options.https, domain: options.refreshCookieDomain });
    if (!redirect)
      return html(
        reply,
        200,
        signedOutPage(await services.business.name(), requestLocale(request), await brandingStore.brand()),
      );
    const target = new URL(redirect);
    if (state) target.searchParams.append("state", state);
    return reply.code(status).header("location", target.href).send();
  };

  /**
   * RP-Initiated Logout §2: an ID token we issued to the signed-in user. An expired one still
   * identifies the user (the spec allows it), so only the signature, issuer and subject count.
   */
  const hintNamesUser = async (hint: string, userId: string): Promise<boolean> => {
    if (!hint || hint.length > 8192) return false;
    try {
      const { kid, alg } = decodeProtectedHeader(hint);
      if (alg !== SIGNING_ALGORITHM || typeof kid !== "string") return false;
      const key = await services.keys.verificationKey(kid);
      if (!key) return false;
      const { payload } = await jwtVerify(hint, key, {
        issuer: services.oauth.issuer,
        algorithms: [SIGNING_ALGORITHM],
        currentDate: new Date(0),
      });
      // An ID token only: access tokens (which APIs hold) carry `scp`, ID tokens never do.
      return payload.sub === userId && payload.scp === undefined;
    } catch {
      return false;
    }
  };

  app.get<{ Querystring: Form }>("/logout", pageConfig, async (request, reply) => {
    const redirect = await redirectOf(request.query);
    if (redirect === undefined) return unregistered(reply);
    const state = field(request.query, "state");
    const session = await signIn.session(request);
    // Without a session there may still be a cookie refresh session (js-utils; its flag cookie is
    // sent cross-site): another site must not end that one silently either.
    const trusted =
      trustedNavigation(request.headers["sec-fetch-site"], redirect) ||
      (session
        ? await hintNamesUser(field(request.query, "id_token_hint"), session.userId)
        : request.cookies[REFRESH_FLAG_COOKIE] === undefined);
    if (trusted) return signOutAndReturn(request, reply, redirect, state, 302);
    return html(
      reply,
      200,
      logoutConfirmPage({
        businessName: await services.business.name(),
        csrf: signIn.csrfToken(request, reply),
        redirect,
        state,
        locale: requestLocale(request),
        brand: await brandingStore.brand(),
      }),
    );
  });

  app.post<{ Body: Form }>("/logout", pageConfig, async (request, reply) => {
    const redirect = await redirectOf(request.body);
    if (redirect === undefined) return unregistered(reply);
    if (!signIn.csrfValid(request, request.body)) {
      const locale = requestLocale(request);
      return html(
        reply,
        403,
        errorPage(
          t(locale, "logout.expired_title"),
          t(locale, "logout.expired_message"),
          await services.business.name(),
          locale,
          await brandingStore.brand(),
        ),
      );
    }
    // The confirmation was a POST: See Other, so the browser GETs the logout URL (RFC 9110 §15.4.4).
    return signOutAndReturn(request, reply, redirect, field(request.body, "state"), 303);
  });
}
