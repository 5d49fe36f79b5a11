// HTTP for the hosted pages: sign-in, sign-up and logout. A successful form POST resumes the
// authorization request and answers 303 to the client's redirect URI (RFC 9700 §4.12).
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { randomToken, safeEqual } from "../crypto/random.js";
import { errorPage, STYLESHEET_PATH } from "../http/html.js";
import { issueAuthorizationCode } from "../oauth/authorize.js";
import type { Services } from "../services.js";
import { passwordProblem } from "../users/passwords.js";
import { EmailTakenError } from "../users/users.service.js";
import { normalizeEmail } from "../users/users.store.js";
import { cookieNames, cookieOptions } from "./cookies.js";
import { STYLESHEET, signedOutPage, signInPage, signUpPage } from "./pages.js";
import { SESSION_LIFETIME_SECONDS } from "./sessions.js";

/** ASVS 6.3.1: throttle guessing per account and per address; counters live in the database. */
export const SIGN_IN_LIMITS = {
  perAccount: { max: 10, windowSeconds: 15 * 60 },
  perIp: { max: 100, windowSeconds: 15 * 60 },
} as const;

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

type Form = Record<string, string | string[] | undefined>;

function field(form: Form | undefined, name: string): string {
  const value = form?.[name];
  return typeof value === "string" ? value : "";
}

export function registerSignInRoutes(
  app: FastifyInstance,
  services: Services,
  options: { https: boolean },
): void {
  const names = cookieNames(options.https);
  const pageConfig = { config: { surface: "page" as const } };

  const html = (reply: FastifyReply, status: number, body: string) =>
    reply.code(status).type("text/html; charset=utf-8").send(body);

  const expired = async (reply: FastifyReply) =>
    html(
      reply,
      400,
      errorPage(
        "This sign-in page has expired",
        "Go back to the application and start signing in again.",
        await services.business.name(),
      ),
    );

  /** Double-submit CSRF token: a cookie the form must echo (a cross-site POST cannot read it). */
  const csrfToken = (request: FastifyRequest, reply: FastifyReply): string => {
    const existing = request.cookies[names.csrf];
    if (existing && /^[\w-]{43}$/.test(existing)) return existing;
    const token = randomToken();
    reply.setCookie(names.csrf, token, cookieOptions(options.https));
    return token;
  };
  const csrfValid = (request: FastifyRequest, form: Form | undefined): boolean => {
    const cookie = request.cookies[names.csrf];
    const submitted = field(form, "csrf");
    return Boolean(cookie) && submitted !== "" && safeEqual(cookie!, submitted);
  };

  const formContext = async (requestId: string, clientId: string, csrf: string) => {
    const client = await services.oauth.store.findClient(clientId);
    return {
      businessName: await services.business.name(),
      applicationName: client?.name ?? "the application",
      requestId,
      csrf,
    };
  };

  /** Signs the user in on this browser and sends them back to the application with a code. */
  const finish = async (request: FastifyRequest, reply: FastifyReply, requestId: string, userId: string) => {
    const authorization = await services.pending.complete(requestId);
    if (!authorization) return expired(reply);
    const previous = await services.sessions.find(request.cookies[names.session]);
    if (previous) await services.sessions.revoke(previous.id);
    const { token, session } = await services.sessions.create(userId, {
      ip: request.ip,
      userAgent: request.headers["user-agent"],
    });
    await services.users.recordSignIn(userId);
    reply.setCookie(names.session, token, cookieOptions(options.https, SESSION_LIFETIME_SECONDS));
    const location = await issueAuthorizationCode(services.oauth, authorization, {
      id: userId,
      sessionId: session.id,
      authTime: session.authTime,
    });
    return reply.code(303).header("location", location).send();
  };

  app.get(STYLESHEET_PATH, async (_request, reply) =>
    reply.type("text/css; charset=utf-8").header("cache-control", "public, max-age=3600").send(STYLESHEET),
  );

  app.get<{ Querystring: Form }>("/auth/sign-in", pageConfig, async (request, reply) => {
    const requestId = field(request.query, "request");
    const authorization = await services.pending.find(requestId);
    if (!authorization) return expired(reply);
    const ctx = await formContext(requestId, authorization.clientId, csrfToken(request, reply));
    return html(reply, 200, signInPage({ ...ctx, email: authorization.loginHint }));
  });

  app.post<{ Body: Form }>("/auth/sign-in", pageConfig, async (request, reply) => {
    const form = request.body;
    const requestId = field(form, "request");
    const authorization = await services.pending.find(requestId);
    if (!authorization) return expired(reply);
    const ctx = await formContext(requestId, authorization.clientId, csrfToken(request, reply));
    const email = normalizeEmail(field(form, "email")).slice(0, 320);
    const password = field(form, "password");
    if (!csrfValid(request, form)) {
      return html(
        reply,
        403,
        signInPage({ ...ctx, email, error: "Your session on this page expired. Please try again." }),
      );
    }
    if (!email || !password) {
      return html(reply, 400, signInPage({ ...ctx, email, error: "Enter your email and password." }));
    }
    const accountKey = `sign-in:account:${email}`;
    const ipKey = `sign-in:ip:${request.ip}`;
    const wait = Math.max(
      await services.rateLimiter.retryAfter(accountKey, SIGN_IN_LIMITS.perAccount),
      await services.rateLimiter.retryAfter(ipKey, SIGN_IN_LIMITS.perIp),
    );
    if (wait > 0) {
      reply.header("retry-after", String(wait));
      const minutes = Math.ceil(wait / 60);
      return html(
        reply,
        429,
        signInPage({
          ...ctx,
          email,
          error: `Too many sign-in attempts. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`,
        }),
      );
    }
    const user = await services.users.store.findByEmail(email);
    // Verifies argon2id and imported bcrypt hashes; a correct password upgrades an old hash.
    const valid = await services.users.verifyPassword(user, password.slice(0, 1024));
    if (user && !valid) await services.users.recordFailedSignIn(user.id);
    if (!user || !valid || user.is_suspended === 1) {
      await services.rateLimiter.hit(accountKey, SIGN_IN_LIMITS.perAccount);
      await services.rateLimiter.hit(ipKey, SIGN_IN_LIMITS.perIp);
      request.log.info({ event: "sign_in_failed" }, "sign-in failed");
      // One message for unknown email, wrong password and suspended account (ASVS 6.3.8).
      return html(reply, 401, signInPage({ ...ctx, email, error: "Incorrect email or password." }));
    }
    await services.rateLimiter.reset(accountKey);
    request.log.info({ event: "sign_in", userId: user.id }, "user signed in");
    return finish(request, reply, requestId, user.id);
  });

  app.get<{ Querystring: Form }>("/auth/sign-up", pageConfig, async (request, reply) => {
    const requestId = field(request.query, "request");
    const authorization = await services.pending.find(requestId);
    if (!authorization) return expired(reply);
    const ctx = await formContext(requestId, authorization.clientId, csrfToken(request, reply));
    return html(reply, 200, signUpPage({ ...ctx, email: authorization.loginHint }));
  });

  app.post<{ Body: Form }>("/auth/sign-up", pageConfig, async (request, reply) => {
    const form = request.body;
    const requestId = field(form, "request");
    const authorization = await services.pending.find(requestId);
    if (!authorization) return expired(reply);
    const ctx = await formContext(requestId, authorization.clientId, csrfToken(request, reply));
    const email = normalizeEmail(field(form, "email")).slice(0, 320);
    const password = field(form, "password");
    const givenName = field(form, "given_name").trim().slice(0, 100);
    const familyName = field(form, "family_name").trim().slice(0, 100);
    const again = (status: number, error: string) =>
      html(reply, status, signUpPage({ ...ctx, email, givenName, familyName, error }));
    if (!csrfValid(request, form)) return again(403, "Your session on this page expired. Please try again.");
    if (!EMAIL.test(email)) return again(400, "Enter a valid email address.");
    const problem = passwordProblem(password);
    if (problem) return again(400, `Choose another password. ${problem}`);
    const ipKey = `sign-up:ip:${request.ip}`;
    if ((await services.rateLimiter.retryAfter(ipKey, SIGN_IN_LIMITS.perIp)) > 0) {
      return again(429, "Too many attempts from your network. Try again later.");
    }
    await services.rateLimiter.hit(ipKey, SIGN_IN_LIMITS.perIp);
    try {
      const user = await services.users.create({
        email,
        password,
        givenName: givenName || undefined,
        familyName: familyName || undefined,
      });
      request.log.info({ event: "sign_up", userId: user.id }, "user signed up");
      return finish(request, reply, requestId, user.id);
    } catch (error) {
      if (!(error instanceof EmailTakenError)) throw error;
      return again(
        400,
        "We could not create an account with these details. If you already have an account, sign in.",
      );
    }
  });

  // Kinde's logout (COMPAT.md §1.6) and OIDC RP-initiated logout: end the session and its grants,
  // then return only to a registered logout URL — never an open redirect.
  app.get<{ Querystring: Form }>("/logout", pageConfig, async (request, reply) => {
    const redirect = field(request.query, "redirect") || field(request.query, "post_logout_redirect_uri");
    const state = field(request.query, "state");
    const businessName = await services.business.name();
    if (redirect && !(await services.applications.store.isAnyLogoutUrl(redirect))) {
      return html(
        reply,
        400,
        errorPage(
          "Cannot return to that address",
          "The logout redirect URL is not registered for any application.",
          businessName,
        ),
      );
    }
    const session = await services.sessions.find(request.cookies[names.session]);
    if (session) {
      await services.sessions.revoke(session.id);
      await services.oauth.store.revokeGrantsOfSession(session.id, services.clock.now(), "signed out");
      request.log.info({ event: "sign_out", userId: session.userId }, "user signed out");
    }
    reply.clearCookie(names.session, cookieOptions(options.https));
    if (!redirect) return html(reply, 200, signedOutPage(businessName));
    const target = new URL(redirect);
    if (state) target.searchParams.append("state", state);
    return reply.code(302).header("location", target.href).send();
  });
}
