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
import type { SecretBox } from "../crypto/secret-box.js";
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
const DONE: Record<string, string> = {
  profile: "Your name is saved.",
  app_disconnected: "The app is disconnected.",
};

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

  const problem = async (reply: FastifyReply, status: number, title: string, message: string) =>
    html(reply, status, accountErrorPage({ businessName: await businessName(), title, message }));

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
    })) ??
    problem(
      reply,
      503,
      "Account pages unavailable",
      "Signing in to the account pages needs ISSUER_URL on https (or http on localhost).",
    );

  const forChange: AccountKit["forChange"] = async (request, reply) => {
    if (!signIn.csrfValid(request, request.body)) {
      await problem(reply, 403, "This form has expired", "Open your account page again and retry.");
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
      csrf: signIn.csrfToken(request, reply),
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

  const kit: AccountKit = { services, signIn, page, html, forChange, render, forgetSession, businessName };

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
    return render(request, reply, access, { notice: done ? DONE[done] : undefined });
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
    if (!outcome.ok) return problem(reply, 400, "You are not signed in", outcome.message);
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
          errors: { profile: `Use at most ${NAME_MAX_LENGTH} characters for each name.` },
        },
      );
    await services.users.update(
      signedIn.user.id,
      { given_name: given || null, family_name: family || null },
      undefined,
      undefined,
      "user",
    );
    return reply.code(303).header("location", "/account?done=profile").send();
  });

  app.post<{ Body: Form }>("/account/password", page, async (request, reply) => {
    const signedIn = await forChange(request, reply);
    if (!signedIn) return reply;
    const { user } = signedIn;
    const refuse = (status: number, message: string) =>
      render(request, reply, { ...signedIn, fresh: true }, { status, errors: { password: message } });
    if (!(await services.business.signInMethods()).password)
      return refuse(400, "Passwords are not used to sign in here.");
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
        return refuse(429, "Too many wrong passwords. Try again later.");
      }
      const current = field(request.body, "current_password").slice(0, 1024);
      if (!current || !(await services.users.verifyPassword(user, current)))
        return refuse(400, "Your current password is not right.");
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
        title: "Password changed",
        message:
          "Your password is changed and every browser signed in to your account is signed out. Sign in with the new password.",
      }),
    );
  });

  app.post<{ Body: Form }>("/account/sessions/sign-out-everywhere", page, async (request, reply) => {
    if (!signIn.csrfValid(request, request.body))
      return problem(reply, 403, "This form has expired", "Open your account page again and retry.");
    const access = await accountSignIn.access(request);
    if (access.kind === "sign_in") return toSignIn(reply, "/account", 303, access);
    await services.users.revokeSessions(access.user.id);
    request.log.info({ event: "signed_out_everywhere", userId: access.user.id }, "signed out everywhere");
    forgetSession(reply);
    return html(
      reply,
      200,
      signedOutPage({
        businessName: await businessName(),
        title: "Signed out everywhere",
        message: "Every browser and app signed in to your account is signed out, this one too.",
      }),
    );
  });

  app.post<{ Body: Form }>("/account/connected-apps/revoke", page, async (request, reply) => {
    const signedIn = await forChange(request, reply);
    if (!signedIn) return reply;
    const id = field(request.body, "id");
    // Only the person's own connections (connectionsOf): an id alone names anyone's.
    const own = (await services.connectedApps.connectionsOf(signedIn.user.id)).some((c) => c.id === id);
    if (!own) return problem(reply, 404, "No such app", "This app is not connected to your account.");
    await services.connectedApps.revoke(id);
    request.log.info({ event: "connected_app_revoked", userId: signedIn.user.id }, "connected app revoked");
    return reply.code(303).header("location", "/account?done=app_disconnected").send();
  });

  registerTwoStepRoutes(app, kit);
  registerAccountOrganizationRoutes(app, services, options);
}
