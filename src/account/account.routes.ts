// /account: the self-service pages where a person sees and changes their own account — name,
// password, two-step verification (two-step.routes.ts), where they are signed in, and the apps
// they connected. Who may use them, and how they sign in to them, is account-sign-in.ts.
//
// Every form carries the hosted pages' double-submit CSRF token (and, being page routes, passes
// form-origin.ts's Fetch Metadata check). A change also needs a recent sign-in; without one the
// browser goes to sign in again and comes back to the page, the change not made. "Sign out
// everywhere" is the exception: it only takes access away, and it is what a person does in a hurry
// when they fear someone else is signed in, so it never waits for a new sign-in.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Brand } from "../branding/brand.js";
import { BrandingStore } from "../branding/branding.store.js";
import type { SecretBox } from "../crypto/secret-box.js";
import { type NoValues, t } from "../i18n/catalogue.js";
import { DEFAULT_LOCALE, type Locale, requestLocale, storedLocale } from "../i18n/locale.js";
import type { Services } from "../services.js";
import { BrowserSignIn, type Form, field } from "../sign-in/browser-sign-in.js";
import { cookieOptions } from "../sign-in/cookies.js";
import { callbackQuery } from "../sign-in/first-party-sign-in.js";
import type { BrowserSession } from "../sign-in/sessions.js";
import { inTransaction } from "../storage/database.js";
import { hashPassword, passwordProblem } from "../users/passwords.js";
import type { User } from "../users/users.store.js";
import { AccountStore } from "./account.store.js";
import {
  ACCOUNT_STYLESHEET,
  ACCOUNT_STYLESHEET_PATH,
  type AccountView,
  accountErrorPage,
  accountPage,
  signedOutPage,
} from "./account-pages.js";
import { AccountSignIn, accountReturnPath } from "./account-sign-in.js";
import { registerAccountOrganizationRoutes } from "./organization.routes.js";
import { registerTwoStepRoutes } from "./two-step.routes.js";

/** Guessing the current password from a signed-in browser: a handful per account, then a pause. */
const CURRENT_PASSWORD_LIMIT = { max: 5, windowSeconds: 15 * 60 } as const;
const NAME_MAX_LENGTH = 100;

/** Notices after a change, by a fixed key (the URL never carries text to show). */
const DONE: Record<string, NoValues> = {
  profile: "account.name_saved",
  app_disconnected: "account.app_disconnected",
};

/** Where a form's POST sends the browser back, keeping a language other than the default. */
function backTo(path: string, request: FastifyRequest): string {
  const body = request.body;
  const lang = storedLocale(body && typeof body === "object" && "lang" in body ? body.lang : undefined);
  return lang && lang !== DEFAULT_LOCALE ? `${path}&lang=${lang}` : path;
}

export interface SignedIn {
  user: User;
  session: BrowserSession;
}

/** What the account's route files share. */
export interface AccountKit {
  services: Services;
  signIn: BrowserSignIn;
  page: { config: { surface: "page" } };
  html(reply: FastifyReply, status: number, body: string): FastifyReply;
  /**
   * The signed-in person a form may change, or undefined when the reply is already sent: 403
   * without the CSRF token, or off to sign in (again) when there is no session fit for changes.
   */
  forChange(request: FastifyRequest<{ Body: Form }>, reply: FastifyReply): Promise<SignedIn | undefined>;
  /** The account page, with what a form wants to say on it. */
  render(
    request: FastifyRequest,
    reply: FastifyReply,
    signedIn: SignedIn & { fresh: boolean },
    shown?: { status?: number; notice?: string; errors?: AccountView["errors"] },
  ): Promise<FastifyReply>;
  /** Ends this browser's session cookie (its session was revoked with every other). */
  forgetSession(reply: FastifyReply): void;
  businessName(): Promise<string>;
  /** The environment's brand for the pages, from the configuration cache (src/branding/). */
  brand(): Promise<Brand>;
  /** An error page in the request's language, from catalogue keys. */
  problem(
    reply: FastifyReply,
    status: number,
    title: NoValues,
    /** Words already written, in `locale` when they name one (the page then speaks it). */
    message: NoValues | { text: string; locale?: Locale },
  ): Promise<FastifyReply>;
}

export function registerAccountRoutes(
  app: FastifyInstance,
  services: Services,
  options: { https: boolean; secretBox: SecretBox },
): void {
  const signIn = new BrowserSignIn(services, { https: options.https, secretBox: options.secretBox });
  const accountSignIn = new AccountSignIn(services, signIn, options.secretBox, options.https);
  const store = new AccountStore(services.db, services.clock);
  const page = { config: { surface: "page" as const } };
  const html = (reply: FastifyReply, status: number, body: string) =>
    reply.code(status).type("text/html; charset=utf-8").send(body);
  const businessName = () => services.business.name();
  const brandingStore = new BrandingStore(services.db);
  const brand = () => brandingStore.brand();

  const problem: AccountKit["problem"] = async (reply, status, title, message) => {
    const locale: Locale =
      (typeof message === "object" ? message.locale : undefined) ?? requestLocale(reply.request);
    return html(
      reply,
      status,
      accountErrorPage({
        businessName: await businessName(),
        brand: await brand(),
        title: t(locale, title),
        message: typeof message === "string" ? t(locale, message) : message.text,
        locale,
      }),
    );
  };

  const toSignIn = async (
    reply: FastifyReply,
    returnTo: string,
    status: 302 | 303,
    ask: { again: boolean; loginHint?: string; requireMfa?: boolean },
  ): Promise<FastifyReply> =>
    (await accountSignIn.start(reply, {
      returnTo,
      status,
      again: ask.again,
      loginHint: ask.loginHint,
      requireMfa: ask.requireMfa,
    })) ?? problem(reply, 503, "account.unavailable_title", "account.unavailable_message");

  const forChange: AccountKit["forChange"] = async (request, reply) => {
    if (!signIn.csrfValid(request, request.body)) {
      await problem(reply, 403, "account.expired_title", "account.expired_message");
      return undefined;
    }
    const access = await accountSignIn.access(request);
    if (access.kind === "sign_in") {
      await toSignIn(reply, "/account", 303, access);
      return undefined;
    }
    if (!access.fresh) {
      await toSignIn(reply, "/account", 303, {
        again: true,
        loginHint: access.user.email ?? undefined,
        requireMfa: access.ownsFactor,
      });
      return undefined;
    }
    return access;
  };

  const render: AccountKit["render"] = async (request, reply, { user, session, fresh }, shown = {}) => {
    const [name, methods, settings, factors, sessions, connections] = await Promise.all([
      businessName(),
      services.business.signInMethods(),
      services.mfa.settingsFor(user.id),
      services.mfa.store.factors(user.id),
      store.liveSessions(user.id),
      services.connectedApps.connectionsOf(user.id),
    ]);
    const confirmed = factors.filter((f) => f.verifiedAt !== null);
    const hasApp = confirmed.some((f) => f.type === "mfa:authenticator_app");
    const appNames = new Map<string, string>();
    for (const connection of connections) {
      if (appNames.has(connection.key_code_ref)) continue;
      const connected = await services.connectedApps.find(connection.key_code_ref);
      appNames.set(connection.key_code_ref, connected?.name ?? connection.key_code_ref);
    }
    const view: AccountView = {
      businessName: name,
      brand: await brand(),
      csrf: signIn.csrfToken(request, reply),
      locale: requestLocale(request),
      email: user.email,
      givenName: user.given_name ?? "",
      familyName: user.family_name ?? "",
      fresh,
      notice: shown.notice,
      errors: shown.errors,
      passwords: methods.password,
      hasPassword: user.password_hash !== null,
      twoStep: {
        policy: settings.policy,
        factors: confirmed.map((f) => ({
          id: f.id,
          type: f.type,
          createdAt: f.createdAt,
          lastUsedAt: f.lastUsedAt,
        })),
        // A factor that would never be asked for (policy off, or the app not enabled) is not offered.
        canAddAuthenticator:
          !hasApp && settings.policy !== "off" && settings.enabledFactors.includes("mfa:authenticator_app"),
        recoveryCodesLeft:
          hasApp && settings.recoveryCodes
            ? await services.mfa.store.unusedRecoveryCodes(user.id)
            : undefined,
      },
      passkeys: settings.passkeyPolicy !== "off",
      sessions: sessions.map((s) => ({ ...s, current: s.id === session.id })),
      connectedApps: connections.map((c) => ({
        id: c.id,
        name: appNames.get(c.key_code_ref) ?? c.key_code_ref,
        needsReauthorization: c.status === "needs_reauthorization",
        createdAt: c.created_at,
      })),
    };
    return html(reply, shown.status ?? 200, accountPage(view));
  };

  const forgetSession = (reply: FastifyReply) =>
    void reply.clearCookie(signIn.names.session, cookieOptions(options.https));

  const kit: AccountKit = {
    services,
    signIn,
    page,
    html,
    forChange,
    render,
    forgetSession,
    businessName,
    brand,
    problem,
  };

  app.get(ACCOUNT_STYLESHEET_PATH, async (_request, reply) =>
    reply
      .type("text/css; charset=utf-8")
      .header("cache-control", "public, max-age=3600")
      .send(ACCOUNT_STYLESHEET),
  );

  app.get<{ Querystring: { done?: string } }>("/account", page, async (request, reply) => {
    const access = await accountSignIn.access(request);
    if (access.kind === "sign_in") return toSignIn(reply, "/account", 302, access);
    const done = request.query.done;
    const notice = done && Object.hasOwn(DONE, done) ? t(requestLocale(request), DONE[done]!) : undefined;
    return render(request, reply, access, { notice });
  });

  // "Sign in again" (a page asking for a recent sign-in links here, /account/passkeys too).
  app.get<{ Querystring: { return?: string } }>("/account/sign-in", page, async (request, reply) => {
    const access = await accountSignIn.access(request);
    const loginHint = (access.kind === "signed_in" ? access.user.email : access.loginHint) ?? undefined;
    const requireMfa = access.kind === "signed_in" ? access.ownsFactor : access.requireMfa;
    return toSignIn(reply, accountReturnPath(request.query.return), 302, {
      again: true,
      loginHint,
      requireMfa,
    });
  });

  app.get<{ Querystring: Record<string, unknown> }>("/account/callback", page, async (request, reply) => {
    const outcome = await accountSignIn.callback(request, reply, callbackQuery(request.query));
    if (!outcome.ok)
      return problem(reply, 400, "account.not_signed_in", { text: outcome.message, locale: outcome.locale });
    return reply.code(303).header("location", outcome.returnTo).send();
  });

  app.post<{ Body: Form }>("/account/profile", page, async (request, reply) => {
    const signedIn = await forChange(request, reply);
    if (!signedIn) return reply;
    const given = field(request.body, "given_name").trim();
    const family = field(request.body, "family_name").trim();
    if (given.length > NAME_MAX_LENGTH || family.length > NAME_MAX_LENGTH)
      return render(
        request,
        reply,
        { ...signedIn, fresh: true },
        {
          status: 400,
          errors: {
            profile: t(requestLocale(request), "account.name_too_long", { max: NAME_MAX_LENGTH }),
          },
        },
      );
    await services.users.update(
      signedIn.user.id,
      { given_name: given || null, family_name: family || null },
      undefined,
      undefined,
      "user",
    );
    return reply.code(303).header("location", backTo("/account?done=profile", request)).send();
  });

  app.post<{ Body: Form }>("/account/password", page, async (request, reply) => {
    const signedIn = await forChange(request, reply);
    if (!signedIn) return reply;
    const { user } = signedIn;
    const locale = requestLocale(request);
    const refuse = (status: number, message: string) =>
      render(request, reply, { ...signedIn, fresh: true }, { status, errors: { password: message } });
    if (!(await services.business.signInMethods()).password)
      return refuse(400, t(locale, "account.passwords_off"));
    const chosen = field(request.body, "new_password");
    const weak = passwordProblem(chosen);
    if (weak) return refuse(400, weak);
    // ASVS 6.2.3: changing a password needs the current one (an account without one, signed in
    // recently by an e-mailed code, has only that to show).
    if (user.password_hash !== null) {
      const key = `account:password:${user.id}`;
      const verdict = await services.rateLimiter.consume(key, CURRENT_PASSWORD_LIMIT);
      if (!verdict.allowed) {
        reply.header("retry-after", String(verdict.resetIn));
        return refuse(429, t(locale, "account.too_many_passwords"));
      }
      const current = field(request.body, "current_password").slice(0, 1024);
      if (!current || !(await services.users.verifyPassword(user, current)))
        return refuse(400, t(locale, "account.wrong_current"));
      await services.rateLimiter.reset(key);
    }
    const hash = await hashPassword(chosen);
    // Whoever held the old password is signed out with it — every session and refresh token,
    // this browser's too (setPasswordHash) — and the owner is told, in one transaction (ASVS 3.3.3).
    await inTransaction(services.db, async (trx) => {
      await services.withDb(trx).users.setPasswordHash(user.id, hash);
      if (user.email)
        await services.mail.enqueue(trx, {
          idempotencyKey: `password-changed:account:${signedIn.session.id}:${services.clock.now()}`,
          to: user.email,
          template: { kind: "password_changed" },
        });
    });
    services.mail.wake();
    request.log.info({ event: "password_changed", userId: user.id }, "password changed on the account page");
    forgetSession(reply);
    return html(
      reply,
      200,
      signedOutPage({
        businessName: await businessName(),
        brand: await brand(),
        title: t(locale, "account.password_changed_title"),
        message: t(locale, "account.password_changed_message"),
        locale,
      }),
    );
  });

  app.post<{ Body: Form }>("/account/sessions/sign-out-everywhere", page, async (request, reply) => {
    if (!signIn.csrfValid(request, request.body))
      return problem(reply, 403, "account.expired_title", "account.expired_message");
    const access = await accountSignIn.access(request);
    if (access.kind === "sign_in") return toSignIn(reply, "/account", 303, access);
    await services.users.revokeSessions(access.user.id);
    request.log.info({ event: "signed_out_everywhere", userId: access.user.id }, "signed out everywhere");
    forgetSession(reply);
    const locale = requestLocale(request);
    return html(
      reply,
      200,
      signedOutPage({
        businessName: await businessName(),
        brand: await brand(),
        title: t(locale, "account.signed_out_title"),
        message: t(locale, "account.signed_out_message"),
        locale,
      }),
    );
  });

  app.post<{ Body: Form }>("/account/connected-apps/revoke", page, async (request, reply) => {
    const signedIn = await forChange(request, reply);
    if (!signedIn) return reply;
    const id = field(request.body, "id");
    // Only the person's own connections (connectionsOf): an id alone names anyone's.
    const own = (await services.connectedApps.connectionsOf(signedIn.user.id)).some((c) => c.id === id);
    if (!own) return problem(reply, 404, "account.no_such_app_title", "account.no_such_app");
    await services.connectedApps.revoke(id);
    request.log.info({ event: "connected_app_revoked", userId: signedIn.user.id }, "connected app revoked");
    return reply.code(303).header("location", backTo("/account?done=app_disconnected", request)).send();
  });

  registerTwoStepRoutes(app, kit);
  registerAccountOrganizationRoutes(app, services, options);
}
