// Signing in with a code sent by e-mail (Kinde's "email + code"), and resetting a forgotten
// password with one. Both ask for an address, send a code to it — or, when no account has it, issue
// a code that is never sent, so the pages, limits and wrong guesses say nothing about which addresses
// have accounts (ASVS 2.2.x, OWASP Forgot Password) — and resume the sign-in through the one policy
// check (steps.ts via `proceed`) once the code comes back from the browser that asked for it.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { SignInMethods } from "../business/business.store.js";
import type { SecretBox } from "../crypto/secret-box.js";
import { t } from "../i18n/catalogue.js";
import { DEFAULT_LOCALE } from "../i18n/locale.js";
import { pagePasswordProblem } from "../i18n/problems.js";
import { type AuthorizationRequest, organizationRefusal, type SignInProgress } from "../oauth/authorize.js";
import type { Services } from "../services.js";
import type { OneTimeCodePurpose } from "../storage/schema.js";
import { canonicalEmail, emailProblem } from "../users/email.js";
import { hashPassword } from "../users/passwords.js";
import type { User } from "../users/users.store.js";
import type { BrowserSignIn, Form } from "./browser-sign-in.js";
import { field, type SettleCounters } from "./browser-sign-in.js";
import type { EmailCodeStep } from "./email-code-step.js";
import { emailCodePage, emailCodeRequestPage, type FormContext, type SignInTarget } from "./pages.js";
import { sealWaitingPassword, setResetPassword } from "./password-reset.js";
import { clientNetwork } from "./rate-limit.js";

/** What the sign-in routes share with these (sign-in.routes.ts). */
export interface SignInKit {
  pageConfig: { config: { surface: "page" } };
  html(reply: FastifyReply, status: number, body: string): FastifyReply;
  expired(reply: FastifyReply): Promise<FastifyReply>;
  formContext(requestId: string, authorization: SignInTarget, csrf: string): Promise<FormContext>;
  csrfToken(request: FastifyRequest, reply: FastifyReply): string;
  csrfValid(request: FastifyRequest, form: Form | undefined): boolean;
  proceed(
    request: FastifyRequest,
    reply: FastifyReply,
    requestId: string,
    authorization: AuthorizationRequest,
    user: User,
    amr: string[],
    /** A password check's counters to settle (browser-sign-in.ts SettleCounters). */
    settle?: SettleCounters,
  ): Promise<FastifyReply>;
  signIn: BrowserSignIn;
  emailCode: EmailCodeStep;
  /** Seals a reset's password while the account's second factor is asked (password-reset.ts). */
  secretBox: SecretBox;
  /** Which methods the sign-in page offers (the business's setting). */
  methods(): Promise<Readonly<SignInMethods>>;
  /** The sign-in page, saying the method asked for is turned off (403; nothing checked). */
  methodOff(
    request: FastifyRequest,
    reply: FastifyReply,
    requestId: string,
    authorization: SignInTarget,
    why: "email_code" | "reset_password",
  ): Promise<FastifyReply>;
}

/** What the sign-in routes use of these: a sign-up with passwords off ends in a sign-in code. */
export interface EmailCodeRoutes {
  sendSignInCode(
    request: FastifyRequest,
    reply: FastifyReply,
    requestId: string,
    authorization: AuthorizationRequest,
    email: string,
  ): Promise<FastifyReply>;
}

type Purpose = "sign_in" | "reset_password";

/**
 * The code step under way behind a form, when this browser asked for it: the authorization
 * request's progress holds a code of `purpose` sent to an address, the form's CSRF token is good
 * and the browser is the one the code was sent for. Also the connection e-mail proof's opener.
 */
export async function openCodeStep(
  services: Services,
  signIn: BrowserSignIn,
  request: FastifyRequest,
  purpose: OneTimeCodePurpose,
) {
  const form = request.body as Form | undefined;
  const requestId = field(form, "request");
  const authorization = await services.pending.find(requestId);
  const progress = authorization?.signInProgress;
  if (!authorization || !progress?.codeId || !progress.email || progress.purpose !== purpose)
    return undefined;
  if (!signIn.csrfValid(request, form) || progress.browser !== signIn.browserBinding(request))
    return undefined;
  return { form, requestId, authorization, progress, codeId: progress.codeId, email: progress.email };
}

const FLOWS: Record<Purpose, { path: string; title: string; lead: string; button: string }> = {
  sign_in: {
    path: "/auth/email-code",
    title: "Sign in with a code",
    lead: "We will email you a 6-digit code to sign in with, no password needed.",
    button: "Email me a code",
  },
  reset_password: {
    path: "/auth/forgot-password",
    title: "Reset your password",
    lead: "We will email you a 6-digit code to choose a new password with.",
    button: "Email me a code",
  },
};

export function registerEmailCodeRoutes(
  app: FastifyInstance,
  services: Services,
  kit: SignInKit,
): EmailCodeRoutes {
  const { pageConfig, html, expired } = kit;

  /**
   * Whether the business offers this flow: a sign-in code only while e-mail codes are a sign-in
   * method; a password reset only while passwords are (a code that verifies an address or resets
   * a password is no way of signing in, so turning codes off leaves the reset working).
   */
  const offered = async (purpose: Purpose) => {
    const methods = await kit.methods();
    return purpose === "sign_in" ? methods.email_code : methods.password;
  };
  const refused = (
    request: FastifyRequest,
    reply: FastifyReply,
    requestId: string,
    authorization: AuthorizationRequest,
    purpose: Purpose,
  ) =>
    kit.methodOff(
      request,
      reply,
      requestId,
      authorization,
      purpose === "sign_in" ? "email_code" : "reset_password",
    );

  const context = async (
    request: FastifyRequest,
    reply: FastifyReply,
    requestId: string,
    authorization: SignInTarget,
  ) => kit.formContext(requestId, authorization, kit.csrfToken(request, reply));

  /** The code page; the lead never says whether the address has an account. */
  const codePage = (
    ctx: FormContext,
    purpose: Purpose,
    email: string,
    extra: { error?: string; notice?: string },
  ) =>
    emailCodePage({
      ...ctx,
      email,
      ...extra,
      action: `${FLOWS[purpose].path}/verify`,
      resendAction: `${FLOWS[purpose].path}/resend`,
      lead: `If an account uses ${email}, we sent it a 6-digit code. Enter it to continue.`,
      newPassword: purpose === "reset_password",
      lifetimeSeconds: kit.emailCode.lifetimeSeconds,
    });

  /** Sends (or, for an address without an account, pretends to send) a code and shows its page. */
  const sendCode = async (
    request: FastifyRequest,
    reply: FastifyReply,
    requestId: string,
    authorization: AuthorizationRequest,
    purpose: Purpose,
    email: string,
    notice?: string,
  ) => {
    const ctx = await context(request, reply, requestId, authorization);
    const user = await services.users.store.findByEmail(email);
    const account = user && user.is_suspended !== 1 ? user : undefined;
    const network = clientNetwork(request.ip);
    const sent = await kit.emailCode.send({
      purpose,
      email,
      userId: account?.id,
      requestId,
      network,
      locale: authorization.locale,
    });
    if ("refused" in sent) {
      reply.header("retry-after", String(sent.retryAfter));
      return html(reply, 429, codePage(ctx, purpose, email, { error: sent.message }));
    }
    // Nobody is identified yet: only the code, once it comes back, names the account (the code row
    // records it). A progress with a userId would let the other steps act for whoever owns the
    // address typed here (openProgress in sign-in.routes.ts refuses progress without a proof).
    const progress: SignInProgress = {
      userId: "",
      amr: [],
      browser: kit.signIn.browserBinding(request),
      codeId: sent.codeId,
      purpose,
      email,
    };
    await services.pending.recordProgress(requestId, authorization, progress);
    return html(reply, 200, codePage(ctx, purpose, email, { notice }));
  };

  for (const purpose of ["sign_in", "reset_password"] as const) {
    const flow = FLOWS[purpose];

    app.get<{ Querystring: Form }>(flow.path, pageConfig, async (request, reply) => {
      const requestId = field(request.query, "request");
      const authorization = await services.pending.find(requestId);
      if (!authorization) return expired(reply);
      if (!(await offered(purpose))) return refused(request, reply, requestId, authorization, purpose);
      const ctx = await context(request, reply, requestId, authorization);
      return html(
        reply,
        200,
        emailCodeRequestPage({ ...ctx, ...flow, action: flow.path, email: authorization.loginHint }),
      );
    });

    app.post<{ Body: Form }>(flow.path, pageConfig, async (request, reply) => {
      const form = request.body;
      const requestId = field(form, "request");
      const authorization = await services.pending.find(requestId);
      if (!authorization || !kit.csrfValid(request, form)) return expired(reply);
      if (!(await offered(purpose))) return refused(request, reply, requestId, authorization, purpose);
      // Cut before canonicalising (browser-sign-in.ts checkPassword says why).
      const typed = field(form, "email").slice(0, 320);
      const problem = emailProblem(typed);
      if (problem) {
        const ctx = await context(request, reply, requestId, authorization);
        return html(
          reply,
          400,
          emailCodeRequestPage({
            ...ctx,
            ...flow,
            action: flow.path,
            email: typed,
            error: `Enter a valid email address: this one ${problem}.`,
          }),
        );
      }
      return sendCode(request, reply, requestId, authorization, purpose, canonicalEmail(typed));
    });

    app.post<{ Body: Form }>(`${flow.path}/resend`, pageConfig, async (request, reply) => {
      const step = await openCodeStep(services, kit.signIn, request, purpose);
      if (!step) return expired(reply);
      if (!(await offered(purpose)))
        return refused(request, reply, step.requestId, step.authorization, purpose);
      return sendCode(
        request,
        reply,
        step.requestId,
        step.authorization,
        purpose,
        step.email,
        t(step.authorization.locale ?? DEFAULT_LOCALE, "email_code.resent"),
      );
    });

    app.post<{ Body: Form }>(`${flow.path}/verify`, pageConfig, async (request, reply) => {
      const step = await openCodeStep(services, kit.signIn, request, purpose);
      if (!step) return expired(reply);
      // Turned off since the code was sent: the code is not even checked.
      if (!(await offered(purpose)))
        return refused(request, reply, step.requestId, step.authorization, purpose);
      const again = async (status: number, error: string) =>
        html(
          reply,
          status,
          codePage(await context(request, reply, step.requestId, step.authorization), purpose, step.email, {
            error,
          }),
        );
      const password = field(step.form, "password");
      // The new password is judged before the code is spent on it.
      if (purpose === "reset_password") {
        const problem = pagePasswordProblem(step.authorization.locale ?? DEFAULT_LOCALE, password);
        if (problem) return again(400, problem);
      }
      // Hashed before the code is spent: a busy hasher (503) must not cost the person their code.
      const hash = purpose === "reset_password" ? await hashPassword(password) : undefined;
      const checked = await kit.emailCode.verify(
        step.codeId,
        purpose,
        field(step.form, "code"),
        step.authorization.locale,
      );
      if (!checked.ok) {
        if (purpose === "sign_in")
          services.authenticationLog.record(request, {
            type: "sign_in_failed",
            userId: checked.userId,
            clientId: step.authorization.clientId,
            method: "email_code",
          });
        return again(400, checked.message);
      }
      // A right code for an address without an account cannot happen (it was never sent): the same
      // answer as an expired page. The account must still have the address the code went to.
      const user = checked.userId ? await services.users.store.findById(checked.userId) : undefined;
      if (!user || user.email !== checked.email || user.is_suspended === 1) return expired(reply);
      const refusal = await organizationRefusal(services.oauth, step.authorization, user.id);
      if (refusal) return expired(reply);
      // An address never proved before may have been claimed by someone else first (a sign-up with
      // another person's address and a password of their own, or through a provider that does not
      // check e-mail addresses): the mailbox's owner signing in or resetting the password by code
      // ends every way in they added, or it would stay one (dropUnprovenAccess).
      if (user.email_verified !== 1) await services.users.dropUnprovenAccess(user.id);
      // The code proves the mailbox: the address is verified by it.
      let signedIn = await services.users.markEmailVerified(user.id, checked.email);
      if (!signedIn) return expired(reply);
      let authorization = step.authorization;
      const owed =
        hash !== undefined &&
        (await services.mfa.requirement(signedIn, ["email"], authorization.orgCode, authorization.requireMfa))
          ?.kind === "mfa_challenge";
      if (hash !== undefined && owed) {
        // The mailbox is proved; the factor this sign-in owes comes before the password changes.
        authorization = await services.pending.recordProgress(step.requestId, authorization, {
          userId: user.id,
          amr: [],
          browser: kit.signIn.browserBinding(request),
          newPasswordSealed: sealWaitingPassword(kit.secretBox, step.requestId, user.id, {
            hash,
            codeId: step.codeId,
          }),
        });
        request.log.info(
          { event: "password_reset_waits", userId: user.id },
          "password reset waits for the second factor",
        );
      } else if (hash !== undefined) {
        await setResetPassword(
          services,
          { id: user.id, email: checked.email },
          { hash, codeId: step.codeId },
        );
        request.log.info({ event: "password_reset", userId: user.id }, "password reset by e-mail code");
        signedIn = (await services.users.store.findById(user.id)) ?? signedIn;
      } else {
        request.log.info(
          { event: "sign_in", method: "email_code", userId: user.id },
          "user signed in with an e-mail code",
        );
      }
      return kit.proceed(request, reply, step.requestId, authorization, signedIn, ["email"]);
    });
  }

  return {
    sendSignInCode: (request, reply, requestId, authorization, email) =>
      sendCode(request, reply, requestId, authorization, "sign_in", email),
  };
}
