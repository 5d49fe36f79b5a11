// HTTP for the hosted pages: sign-in, sign-up and logout (logout.ts). A successful form POST resumes the
// authorization request and answers 303 to the client's redirect URI (RFC 9700 §4.12).
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { BrandingStore } from "../branding/branding.store.js";
import { errorPage, STYLESHEET_PATH } from "../http/html.js";
import { type MessageKey, t } from "../i18n/catalogue.js";
import { DEFAULT_LOCALE, requestLocale } from "../i18n/locale.js";
import { pagePasswordProblem, pageSignInRefusal } from "../i18n/problems.js";
import { invitationPageContext, invitationRefusal } from "../invitations/invitation-sign-in.js";
import { type AuthorizationRequest, organizationRefusal, type SignInProgress } from "../oauth/authorize.js";
import { type PasskeySteps, registerPasskeySignInRoutes } from "../passkeys/passkey-sign-in.routes.js";
import { registerPasskeysAsset } from "../passkeys/passkeys-asset.js";
import type { Services } from "../services.js";
import { canonicalEmail } from "../users/email.js";
import { type ReservedPasswordCheck, withPasswordCheckReserved } from "../users/passwords.js";
import type { User } from "../users/users.store.js";
import {
  BrowserSignIn,
  type BrowserSignInOptions,
  type Form,
  field,
  type SettleCounters,
} from "./browser-sign-in.js";
import { connectionButtonsFor, registerConnectionSignInRoutes } from "./connection-sign-in.routes.js";
import { isDashboardClient } from "./dashboard-sign-in.js";
import { registerEmailCodeRoutes, type SignInKit } from "./email-code.routes.js";
import { EmailCodeStep } from "./email-code-step.js";
import { registerLogoutRoutes } from "./logout.js";
import { type MfaStep, registerMfaRoutes } from "./mfa.routes.js";
import {
  choosePasswordPage,
  emailCodePage,
  type FormContext,
  type SignInTarget,
  STYLESHEET,
  signInPage,
} from "./pages.js";
import { openWaitingPassword, setResetPassword } from "./password-reset.js";
import { clientNetwork } from "./rate-limit.js";
import { mfaSettingsKnown, type SignInAccount } from "./sign-in-account.js";
import { registerSignInFinish } from "./sign-in-finish.js";
import { registerSignUpRoutes } from "./sign-up.routes.js";
import { nextStep, type SignInPolicy } from "./steps.js";
import type { SignInProviderDefinition } from "./upstream-catalog.js";

export function registerSignInRoutes(
  app: FastifyInstance,
  services: Services,
  options: BrowserSignInOptions & {
    refreshCookieDomain?: string;
    policy: SignInPolicy;
    /** How long an e-mailed code stays valid (EMAIL_CODE_LIFETIME_SECONDS). */
    emailCodeLifetimeSeconds?: number;
    /** Social sign-in providers with CONNECTION_PROVIDERS_FILE's endpoints (built in when absent). */
    signInProviders?: ReadonlyMap<string, SignInProviderDefinition>;
  },
): void {
  const pageConfig = { config: { surface: "page" as const } };

  const html = (reply: FastifyReply, status: number, body: string) =>
    reply.code(status).type("text/html; charset=utf-8").send(body);

  // The request behind the page is gone, and its language with it: the browser's is used.
  const expired = async (reply: FastifyReply) => {
    const locale = requestLocale(reply.request);
    return html(
      reply,
      400,
      errorPage(
        t(locale, "sign_in.expired_title"),
        t(locale, "sign_in.expired_message"),
        await services.business.name(),
        locale,
        await brandingStore.brand(),
      ),
    );
  };

  const signIn = new BrowserSignIn(services, options);
  const csrfToken = (request: FastifyRequest, reply: FastifyReply) => signIn.csrfToken(request, reply);
  const csrfValid = (request: FastifyRequest, form: Form | undefined) => signIn.csrfValid(request, form);

  /** Which methods the page offers (the business's setting, served from the configuration cache). */
  const methods = () => services.business.signInMethods();

  /**
   * A method the business turned off was asked for (a page loaded before the change, or a crafted
   * request): nothing is checked, and the sign-in page shows what is offered instead and why.
   */
  const methodOff = async (
    request: FastifyRequest,
    reply: FastifyReply,
    requestId: string,
    authorization: SignInTarget,
    why: MethodOff,
    email?: string,
  ) => {
    const ctx = await formContext(requestId, authorization, csrfToken(request, reply));
    const error = t(ctx.locale, METHOD_OFF[why]);
    return html(reply, 403, signInPage({ ...ctx, email, error, methods: await methods() }));
  };

  const brandingStore = new BrandingStore(services.db);
  const formContext = async (
    requestId: string,
    authorization: SignInTarget,
    csrf: string,
  ): Promise<FormContext> => {
    const { clientId } = authorization;
    const client = await services.oauth.store.findClient(clientId);
    const locale = authorization.locale ?? DEFAULT_LOCALE;
    return {
      businessName: await services.business.name(),
      applicationName: client?.name ?? t(locale, "sign_in.the_application"),
      requestId,
      csrf,
      locale,
      noSignUp: await isDashboardClient(services, clientId),
      // The organization signed into (org_code), or the one an invitation joins, brands the page
      // over the environment; from the configuration cache, so no query of its own
      // (src/branding/branding.store.ts).
      brand: await brandingStore.brand(authorization.orgCode ?? authorization.invitation?.orgCode),
    };
  };

  /** The connection buttons of the sign-in and sign-up pages (connection-sign-in.routes.ts). */
  const connectionButtons = (authorization: AuthorizationRequest) =>
    connectionButtonsFor(services, authorization);

  /** The waiting authorization request behind a form and what its page shows, or undefined. */
  const openRequest = async (request: FastifyRequest, reply: FastifyReply, requestId: string) => {
    const authorization = await services.pending.find(requestId);
    if (!authorization) return undefined;
    const ctx = {
      ...(await formContext(requestId, authorization, csrfToken(request, reply))),
      ...invitationPageContext(authorization),
    };
    return { authorization, ctx };
  };

  // The end of every sign-in: the session, the connected-app offer, the code (sign-in-finish.ts).
  const finish = registerSignInFinish(app, services, {
    pageConfig,
    html,
    expired,
    formContext,
    signIn,
    https: options.https,
  });

  const emailCode = new EmailCodeStep(services, options.secretBox, options.emailCodeLifetimeSeconds);
  /** The second-factor pages (mfa.routes.ts), registered below with `proceed`. */
  let mfaStep: MfaStep;
  /** The passkey pages (src/passkeys/), registered below with `proceed`. */
  let passkeySteps: PasskeySteps;

  /**
   * What the sign-in owes next after `amr` (steps.ts): asked by proceed and the passkey routes.
   * `account`: the account as read with its memberships (sign-in-account.ts), whose organizations'
   * MFA settings then need no read.
   */
  const stepOf = async (
    user: User,
    amr: readonly string[],
    authorization: AuthorizationRequest,
    account?: SignInAccount,
  ) => {
    // With passwords off, a new password the account was asked for waits until they are back on.
    const policy = { ...options.policy, passwordSignIn: (await methods()).password };
    const { orgCode } = authorization;
    const organizations = account && mfaSettingsKnown(account, orgCode);
    let step = nextStep(user, policy);
    // The second factor after the address is proved (steps.ts orders it among the rest).
    if (step.kind === "done" || step.kind === "choose_password")
      step = nextStep(
        user,
        policy,
        await services.mfa.requirement(user, amr, orgCode, authorization.requireMfa, organizations),
      );
    if (step.kind === "done")
      step = nextStep(user, policy, await services.passkeys.requirement(user.id, orgCode, organizations));
    return step;
  };

  /** Whether the sign-in page offers a passkey (the environment's or the organization's policy). */
  const passkeysOffered = async (authorization: AuthorizationRequest) =>
    (await services.passkeys.policyBeforeSignIn(authorization.orgCode)) !== "off";

  /**
   * After a proof (`amr`, RFC 8176): the next step the sign-in policy demands (steps.ts), or the end
   * of the sign-in. Every way of proving who one is comes through here, so none skips a step.
   */
  const proceed: SignInKit["proceed"] = (request, reply, requestId, authorization, user, amr, settle) =>
    proceedKnown(request, reply, requestId, authorization, user, amr, settle);

  /** proceed, with the account as read with its memberships when the proof read it (a password). */
  const proceedKnown = async (
    request: FastifyRequest,
    reply: FastifyReply,
    requestId: string,
    authorization: AuthorizationRequest,
    user: User,
    amr: string[],
    settle?: SettleCounters,
    account?: SignInAccount,
  ) => {
    // An invitation lets only its own address in, whatever proved who this is.
    const notInvited = invitationRefusal(authorization, user.email);
    let step = notInvited ? undefined : await stepOf(user, amr, authorization, account);
    // A reset's password waits while the account's factor is owed, and takes effect once it is not
    // (password-reset.ts) — only for the account and browser that chose it: another person signing
    // in on this request (a link to it passed on) neither gets it nor carries it forward.
    const earlier = authorization.signInProgress;
    const waiting =
      earlier?.newPasswordSealed !== undefined &&
      earlier.userId === user.id &&
      earlier.browser === signIn.browserBinding(request)
        ? earlier.newPasswordSealed
        : undefined;
    if (waiting && step && step.kind !== "mfa_challenge") {
      const chosen = openWaitingPassword(options.secretBox, requestId, user.id, waiting);
      if (!chosen || !user.email) return expired(reply);
      await setResetPassword(services, { id: user.id, email: user.email }, chosen);
      request.log.info(
        { event: "password_reset", userId: user.id },
        "password reset by e-mail code and second factor",
      );
      user = (await services.users.store.findById(user.id)) ?? user;
      step = await stepOf(user, amr, authorization, account);
    }
    // A password's counters settle with the sign-in's writes when it ends here, else now.
    if (step?.kind === "done") {
      // The request as stored from here on: finish() writes it back with the session attached.
      const stored = authorization.signInProgress
        ? await services.pending.recordProgress(requestId, authorization, undefined)
        : authorization;
      return finish(request, reply, requestId, stored, user.id, amr, settle, account);
    }
    await settle?.(services);
    if (!step) return signInPageWithError(request, reply, requestId, authorization, 403, notInvited!);
    const progress = {
      userId: user.id,
      amr,
      browser: signIn.browserBinding(request),
      ...(waiting && step.kind === "mfa_challenge" ? { newPasswordSealed: waiting } : {}),
    };
    if (step.kind === "verify_email")
      return sendEmailCode(request, reply, requestId, authorization, progress, step.email);
    if (step.kind === "mfa_challenge" || step.kind === "mfa_enroll")
      return mfaStep.show(request, reply, requestId, authorization, progress, user, step);
    if (step.kind === "passkey_enroll")
      return passkeySteps.enroll(request, reply, requestId, authorization, progress, user);
    const updated = await services.pending.recordProgress(requestId, authorization, progress);
    const ctx = await formContext(requestId, updated, csrfToken(request, reply));
    return html(reply, 200, choosePasswordPage(ctx));
  };

  /** Sends a code to `email` for this sign-in and shows where to type it. */
  const sendEmailCode = async (
    request: FastifyRequest,
    reply: FastifyReply,
    requestId: string,
    authorization: AuthorizationRequest,
    progress: SignInProgress,
    email: string,
    notice?: string,
  ) => {
    const ctx = await formContext(requestId, authorization, csrfToken(request, reply));
    const sent = await emailCode.send({
      purpose: "verify_email",
      email,
      userId: progress.userId,
      requestId,
      network: clientNetwork(request.ip),
      locale: authorization.locale,
    });
    if ("refused" in sent) {
      reply.header("retry-after", String(sent.retryAfter));
      // A code sent a moment ago still works: say when another can come.
      return html(
        reply,
        429,
        emailCodePage({ ...ctx, email, error: sent.message, lifetimeSeconds: emailCode.lifetimeSeconds }),
      );
    }
    await services.pending.recordProgress(requestId, authorization, { ...progress, codeId: sent.codeId });
    return html(
      reply,
      200,
      emailCodePage({ ...ctx, email, notice, lifetimeSeconds: emailCode.lifetimeSeconds }),
    );
  };

  /** The sign-in under way behind a code form, when this browser is the one doing it. */
  const openProgress = async (request: FastifyRequest, form: Form | undefined) => {
    const requestId = field(form, "request");
    const authorization = await services.pending.find(requestId);
    const progress = authorization?.signInProgress;
    if (!authorization || !progress || !csrfValid(request, form)) return undefined;
    if (progress.browser !== signIn.browserBinding(request)) return undefined;
    // Only a sign-in that proved who it is (a password, a returned code) reaches the steps after:
    // a code merely sent to an address (passwordless, reset: `purpose`) identifies nobody.
    if (progress.amr.length === 0 || progress.purpose !== undefined || !progress.userId) return undefined;
    const user = await services.users.store.findById(progress.userId);
    if (!user?.email || user.is_suspended === 1) return undefined;
    return { requestId, authorization, progress, user, email: user.email };
  };

  app.post<{ Body: Form }>("/auth/verify-email", pageConfig, async (request, reply) => {
    const opened = await openProgress(request, request.body);
    const codeId = opened?.progress.codeId;
    if (!opened || !codeId) return expired(reply);
    const { requestId, authorization, progress, user, email } = opened;
    const checked = await emailCode.verify(
      codeId,
      "verify_email",
      field(request.body, "code"),
      authorization.locale,
    );
    if (!checked.ok) {
      const ctx = await formContext(requestId, authorization, csrfToken(request, reply));
      return html(
        reply,
        400,
        emailCodePage({ ...ctx, email, error: checked.message, lifetimeSeconds: emailCode.lifetimeSeconds }),
      );
    }
    // The code proves the address it was sent to, and only while the account still has it.
    const verified = await services.users.markEmailVerified(user.id, checked.email);
    if (!verified) return expired(reply);
    request.log.info({ event: "email_verified", userId: user.id }, "email address verified");
    return proceed(request, reply, requestId, authorization, verified, progress.amr);
  });

  const signInPageWithError = async (
    request: FastifyRequest,
    reply: FastifyReply,
    requestId: string,
    authorization: AuthorizationRequest,
    status: number,
    error: string,
  ) => {
    const ctx = {
      ...(await formContext(requestId, authorization, csrfToken(request, reply))),
      ...invitationPageContext(authorization),
    };
    const connections = await connectionButtons(authorization);
    const passkeys = await passkeysOffered(authorization);
    return html(
      reply,
      status,
      signInPage({ ...ctx, error, methods: await methods(), connections, passkeys }),
    );
  };

  registerConnectionSignInRoutes(app, services, {
    pageConfig,
    html,
    expired,
    formContext,
    signIn,
    secretBox: options.secretBox,
    signInProviders: options.signInProviders,
    proceed,
    emailCode,
    signInPageWithError,
  });

  passkeySteps = registerPasskeySignInRoutes(app, services, {
    pageConfig,
    html,
    expired,
    formContext,
    csrfToken,
    proceed,
    openProgress,
    signIn,
    stepOf,
    signInPageWithError,
  });

  mfaStep = registerMfaRoutes(app, services, {
    pageConfig,
    html,
    expired,
    formContext,
    csrfToken,
    proceed,
    emailCode,
    openProgress,
  });

  const emailCodes = registerEmailCodeRoutes(app, services, {
    pageConfig,
    html,
    expired,
    formContext,
    csrfToken,
    csrfValid,
    proceed,
    signIn,
    emailCode,
    secretBox: options.secretBox,
    methods,
    methodOff,
  });

  // The choose-a-password step (steps.ts): only for the browser that proved who it is just now.
  app.post<{ Body: Form }>("/auth/choose-password", pageConfig, async (request, reply) => {
    const opened = await openProgress(request, request.body);
    if (opened?.user.password_change_required !== 1) return expired(reply);
    const { requestId, authorization, progress, user } = opened;
    // Only when it is the step due now: passwords turned off since the page was shown, or a second
    // factor still to prove first (a crafted POST), and proceed shows what is due instead.
    if ((await stepOf(user, progress.amr, authorization)).kind !== "choose_password")
      return proceed(request, reply, requestId, authorization, user, progress.amr);
    const password = field(request.body, "password");
    const problem = pagePasswordProblem(authorization.locale ?? DEFAULT_LOCALE, password);
    if (problem) {
      const ctx = await formContext(requestId, authorization, csrfToken(request, reply));
      return html(reply, 400, choosePasswordPage({ ...ctx, error: problem }));
    }
    // Whoever held the temporary or old password is signed out everywhere (setPasswordHash).
    await services.users.setPassword(user.id, password);
    request.log.info({ event: "password_changed", userId: user.id }, "password chosen at sign-in");
    const changed = await services.users.store.findById(user.id);
    if (!changed) return expired(reply);
    return proceed(request, reply, requestId, authorization, changed, progress.amr);
  });

  app.post<{ Body: Form }>("/auth/verify-email/resend", pageConfig, async (request, reply) => {
    const opened = await openProgress(request, request.body);
    if (!opened) return expired(reply);
    const { requestId, authorization, progress, email } = opened;
    return sendEmailCode(
      request,
      reply,
      requestId,
      authorization,
      progress,
      email,
      t(authorization.locale ?? DEFAULT_LOCALE, "email_code.resent"),
    );
  });

  registerPasskeysAsset(app);
  app.get(STYLESHEET_PATH, async (_request, reply) =>
    reply.type("text/css; charset=utf-8").header("cache-control", "public, max-age=3600").send(STYLESHEET),
  );

  app.get<{ Querystring: Form }>("/auth/sign-in", pageConfig, async (request, reply) => {
    const requestId = field(request.query, "request");
    const opened = await openRequest(request, reply, requestId);
    if (!opened) return expired(reply);
    const { authorization, ctx } = opened;
    const connections = await connectionButtons(authorization);
    return html(
      reply,
      200,
      signInPage({
        ...ctx,
        email: authorization.loginHint,
        methods: await methods(),
        connections,
        passkeys: await passkeysOffered(authorization),
      }),
    );
  });

  app.post<{ Body: Form }>("/auth/sign-in", pageConfig, async (request, reply) => {
    const form = request.body;
    // Cut before canonicalising (browser-sign-in.ts checkPassword says why).
    const email = canonicalEmail(field(form, "email").slice(0, 320)).slice(0, 320);
    const password = field(form, "password");
    // Passwords turned off: refused before anything is counted, hashed or looked up.
    if (!(await methods()).password) {
      const requestId = field(form, "request");
      const authorization = await services.pending.find(requestId);
      if (!authorization) return expired(reply);
      return methodOff(request, reply, requestId, authorization, "password", email);
    }
    if (!email || !password || !csrfValid(request, form))
      return signInPost(request, reply, form, email, password);
    // A form that will reach the password check takes its place among the admitted checks now, or
    // is refused now (503, Retry-After) while hashing is saturated — before any database work: a
    // flood must not hold the connections every other request needs, nor write throttle rows,
    // only to be refused at the hash.
    return withPasswordCheckReserved((place) => signInPost(request, reply, form, email, password, place));
  });

  const signInPost = async (
    request: FastifyRequest,
    reply: FastifyReply,
    form: Form | undefined,
    email: string,
    password: string,
    place?: ReservedPasswordCheck,
  ) => {
    const requestId = field(form, "request");
    const authorization = await services.pending.find(requestId);
    if (!authorization) return expired(reply);
    const csrf = csrfToken(request, reply);
    // The page's names (application, business) are read only when the page is shown again: a
    // sign-in that succeeds goes on without those reads.
    const again = async (status: number, error: string) =>
      html(
        reply,
        status,
        signInPage({
          ...(await formContext(requestId, authorization, csrf)),
          email,
          error,
          methods: await methods(),
          passkeys: await passkeysOffered(authorization),
        }),
      );
    const locale = authorization.locale ?? DEFAULT_LOCALE;
    if (!csrfValid(request, form)) return again(403, t(locale, "form.session_expired"));
    const checked = await signIn.checkPassword(request, email, password, place, locale);
    if (!("user" in checked)) {
      if (checked.retryAfter) reply.header("retry-after", String(checked.retryAfter));
      // Without e-mail codes, an account made without a password (Management API, CLI) can only
      // choose one by the reset; said to everyone, so it tells nobody which accounts have none.
      const hint =
        checked.status === 401 && !(await methods()).email_code
          ? ` ${t(locale, "sign_in.no_password_hint")}`
          : "";
      return again(checked.status, checked.message + hint);
    }
    const { user, settle, account } = checked;
    // Kinde's org_code: only the organization's members may sign into it.
    const memberOf = account.memberships.map((m) => m.code);
    const refusal = await organizationRefusal(services.oauth, authorization, user.id, memberOf);
    if (refusal) {
      await settle(services);
      return again(403, pageSignInRefusal(locale, refusal));
    }
    return proceedKnown(request, reply, requestId, authorization, user, ["pwd"], settle, account);
  };

  registerSignUpRoutes(app, services, {
    pageConfig,
    html,
    expired,
    openRequest,
    methods,
    connectionButtons,
    csrfValid,
    proceed,
    sendSignInCode: emailCodes.sendSignInCode,
  });

  registerLogoutRoutes(app, services, signIn, options);
}

type MethodOff = "password" | "email_code" | "reset_password";

const METHOD_OFF = {
  password: "sign_in.password_off",
  email_code: "sign_in.email_code_off",
  reset_password: "sign_in.reset_off",
} as const satisfies Record<MethodOff, MessageKey>;
