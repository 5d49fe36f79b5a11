// The browser side of connecting: the auth URL Latchkey hands out opens here (asking the user to
// sign in first when needed), is sent on to the provider, and the provider sends the user back to
// /connected_apps/callback.
//
// The browser's session is taken for the link's user by the silent sign-in's rules where they
// apply without an application (sign-in/session-admission.ts): the policy's steps, the second
// factor (the link's organization's too) and a mandatory passkey are all done, and a session made
// through a sign-in connection still has its identity linked and is not an administrator's. The
// other rule, that such a session counts only in applications its connection is enabled for,
// cannot be judged here: a link is made by a machine and names no application, and the connection
// it makes is the user's in every application. A session through any connection enabled anywhere
// can therefore connect apps for its user; the password form below is the other way in.

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { BrandingStore } from "../branding/branding.store.js";
import { errorPage } from "../http/html.js";
import { t } from "../i18n/catalogue.js";
import { type Locale, requestLocale } from "../i18n/locale.js";
import { sessionSatisfies } from "../mfa/mfa.service.js";
import type { Services } from "../services.js";
import { BrowserSignIn, type BrowserSignInOptions, type Form, field } from "../sign-in/browser-sign-in.js";
import { connectStateCookie, cookieOptions } from "../sign-in/cookies.js";
import { signInPage } from "../sign-in/pages.js";
import { connectionOfSession, policySatisfied } from "../sign-in/session-admission.js";
import type { BrowserSession } from "../sign-in/sessions.js";
import { nextStep, type SignInPolicy } from "../sign-in/steps.js";
import { AUTH_URL_LIFETIME_SECONDS, ConnectedAppError } from "./connected-apps.service.js";

export function registerConnectedAppsBrowserRoutes(
  app: FastifyInstance,
  services: Services,
  options: BrowserSignInOptions & { policy: SignInPolicy },
): void {
  const signIn = new BrowserSignIn(services, options);
  const stateCookie = connectStateCookie(options.https);
  const page = { config: { surface: "page" as const } };
  const html = (reply: FastifyReply, status: number, body: string) =>
    reply.code(status).type("text/html; charset=utf-8").send(body);
  // From the configuration cache, as on the sign-in pages (sign-in.routes.ts).
  const brandingStore = new BrandingStore(services.db);
  const fail = async (reply: FastifyReply, error: unknown) => {
    if (!(error instanceof ConnectedAppError)) throw error;
    const locale = requestLocale(reply.request);
    return html(
      reply,
      400,
      errorPage(
        t(locale, "connect_link.failed_title"),
        error.message,
        await services.business.name(),
        locale,
        await brandingStore.brand(),
      ),
    );
  };

  /** Whether this browser's session may consent for the link (see the head of this file). */
  const admitted = async (session: BrowserSession, link: { userId: string | null; orgCode: string | null }) =>
    (await services.connectedApps.mayConsent(link, session.userId)) &&
    (await policySatisfied(services, session, { orgCode: link.orgCode ?? undefined }, options.policy)) &&
    (await connectionOfSession(services, session)) !== "void";

  /** Consumes the link for the signed-in user and sends the browser to the provider. */
  const toProvider = async (reply: FastifyReply, token: string, userId: string, status: 302 | 303) => {
    const { redirect, state } = await services.connectedApps.start(token, userId);
    reply.setCookie(stateCookie, state, cookieOptions(options.https, AUTH_URL_LIFETIME_SECONDS));
    return reply.code(status).header("location", redirect).send();
  };

  const signInForm = async (
    request: FastifyRequest,
    reply: FastifyReply,
    token: string,
    link: { email: string | null; appName: string; orgCode: string | null },
    status: number,
    /** The error in the page's language. */
    error?: (locale: Locale) => string,
  ) => {
    // A link outside any sign-in: its page speaks the browser's language (or ?lang=).
    const locale = requestLocale(request);
    return html(
      reply,
      status,
      signInPage({
        businessName: await services.business.name(),
        applicationName: link.appName,
        locale,
        lead: t(locale, "connect_link.lead", { app: link.appName }),
        requestId: "",
        action: "/connected_apps/start",
        hidden: { token },
        csrf: signIn.csrfToken(request, reply),
        email: link.email ?? undefined,
        error: error?.(locale),
        methods: await services.business.signInMethods(),
        // The link's organization brands its page over the environment, as a sign-in with org_code.
        brand: await brandingStore.brand(link.orgCode ?? undefined),
      }),
    );
  };

  app.get<{ Querystring: Form }>("/connected_apps/start", page, async (request, reply) => {
    const token = field(request.query, "token");
    try {
      const link = await services.connectedApps.describeLink(token);
      const session = await signIn.session(request);
      if (session && (await admitted(session, link)))
        return await toProvider(reply, token, session.userId, 302);
      // Not signed in here, as someone else, or in a way that is not enough: sign in (again).
      const error = !session
        ? undefined
        : (await services.connectedApps.mayConsent(link, session.userId))
          ? (locale: Locale) => t(locale, "connect_link.sign_in_again", { app: link.appName })
          : (locale: Locale) => t(locale, "connect_link.other_account");
      return signInForm(request, reply, token, link, 200, error);
    } catch (error) {
      return fail(reply, error);
    }
  });

  app.post<{ Body: Form }>("/connected_apps/start", page, async (request, reply) => {
    const token = field(request.body, "token");
    try {
      const link = await services.connectedApps.describeLink(token);
      const email = field(request.body, "email");
      if (!signIn.csrfValid(request, request.body)) {
        return signInForm(request, reply, token, { ...link, email }, 403, (locale) =>
          t(locale, "form.session_expired"),
        );
      }
      // The business turned passwords off: nothing is checked (the page says to sign in by code first).
      if (!(await services.business.signInMethods()).password) {
        return signInForm(request, reply, token, { ...link, email }, 403, (locale) =>
          t(locale, "connect_link.password_off"),
        );
      }
      const checked = await signIn.checkPassword(
        request,
        email,
        field(request.body, "password"),
        undefined,
        requestLocale(request),
      );
      if (!("user" in checked)) {
        if (checked.retryAfter) reply.header("retry-after", String(checked.retryAfter));
        return signInForm(request, reply, token, { ...link, email }, checked.status, () => checked.message);
      }
      await checked.settle(services);
      if (!(await services.connectedApps.mayConsent(link, checked.user.id))) {
        return signInForm(request, reply, token, link, 403, (locale) =>
          t(locale, "connect_link.other_account"),
        );
      }
      // No session for an account the sign-in policy still asks something of (an address to verify,
      // a new password, a second factor): those steps live in the application's sign-in (steps.ts).
      // A password alone never links a provider account to one that needs a second factor.
      const mfa = await services.mfa.requirement(checked.user, ["pwd"]);
      if (nextStep(checked.user, options.policy).kind !== "done" || !sessionSatisfies(mfa)) {
        return signInForm(request, reply, token, link, 403, (locale) =>
          t(locale, "connect_link.needs_attention"),
        );
      }
      await signIn.startSession(request, reply, checked.user.id, { amr: ["pwd"] });
      return await toProvider(reply, token, checked.user.id, 303);
    } catch (error) {
      return fail(reply, error);
    }
  });

  app.get<{ Querystring: Form }>("/connected_apps/callback", page, async (request, reply) => {
    try {
      const location = await services.connectedApps.callback({
        state: field(request.query, "state") || undefined,
        code: field(request.query, "code") || undefined,
        error: field(request.query, "error") || undefined,
        browserState: request.cookies[stateCookie],
      });
      reply.clearCookie(stateCookie, cookieOptions(options.https));
      return reply.code(302).header("location", location).send();
    } catch (error) {
      return fail(reply, error);
    }
  });
}
