// The second step of a sign-in (issue 22; the step comes from MfaService.requirement through
// steps.ts). Every route here continues a sign-in that proved its first factor on this browser
// (openProgress: CSRF, the browser binding, an amr) and ends in `proceed`, which asks the policy
// again — so a half-finished sign-in cannot reach a code by calling another route or the token
// endpoint: a code is only issued when the amr it records shows the second factor ("mfa").
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { t } from "../i18n/catalogue.js";
import { DEFAULT_LOCALE } from "../i18n/locale.js";
import { pageMfaRefusal, pagePasskeyRefusal } from "../i18n/problems.js";
import type { ChallengeMethod, MfaRequirement } from "../mfa/mfa.service.js";
import { secondFactorProved, withSecondFactor } from "../mfa/policy.js";
import { totpQrSvg, totpUri } from "../mfa/totp.js";
import type { AuthorizationRequest, SignInProgress } from "../oauth/authorize.js";
import type { Services } from "../services.js";
import type { User } from "../users/users.store.js";
import { type Form, field } from "./browser-sign-in.js";
import type { SignInKit } from "./email-code.routes.js";
import { mfaChallengePage, mfaEnrollPage, recoveryCodesPage } from "./mfa-pages.js";
import { registerSmsRoutes } from "./mfa-sms.routes.js";
import { clientNetwork } from "./rate-limit.js";

/** A sign-in under way that proved its first factor on this browser (sign-in.routes.ts). */
export interface OpenedProgress {
  requestId: string;
  authorization: AuthorizationRequest;
  progress: SignInProgress;
  user: User;
  email: string;
}

export interface MfaKit
  extends Pick<
    SignInKit,
    "pageConfig" | "html" | "expired" | "formContext" | "csrfToken" | "proceed" | "emailCode"
  > {
  openProgress(request: FastifyRequest, form: Form | undefined): Promise<OpenedProgress | undefined>;
}

export interface MfaStep {
  /** Shows the page of an MFA requirement and records it with the sign-in. */
  show(
    request: FastifyRequest,
    reply: FastifyReply,
    requestId: string,
    authorization: AuthorizationRequest,
    progress: SignInProgress,
    user: User,
    requirement: MfaRequirement,
  ): Promise<FastifyReply>;
}

export function registerMfaRoutes(app: FastifyInstance, services: Services, kit: MfaKit): MfaStep {
  const { pageConfig, html, expired, formContext, csrfToken, proceed, emailCode, openProgress } = kit;

  const context = async (request: FastifyRequest, reply: FastifyReply, opened: OpenedProgress) => ({
    ...(await formContext(opened.requestId, opened.authorization, csrfToken(request, reply))),
    email: opened.email,
  });

  /** What the sign-in still owes now (asked again at every form: the settings may have changed). */
  const requirementOf = (opened: OpenedProgress) =>
    services.mfa.requirement(
      opened.user,
      opened.progress.amr,
      opened.authorization.orgCode,
      opened.authorization.requireMfa,
    );

  const challenge = async (
    request: FastifyRequest,
    reply: FastifyReply,
    opened: OpenedProgress,
    methods: readonly ChallengeMethod[],
    shown: { method?: ChallengeMethod; status?: number; error?: string; notice?: string; phone?: string },
  ) =>
    html(
      reply,
      shown.status ?? 200,
      mfaChallengePage({ ...(await context(request, reply, opened)), methods, ...shown }),
    );

  /** A refused code: the page again with why (429 with Retry-After when throttled). */
  const refused = async (
    request: FastifyRequest,
    reply: FastifyReply,
    opened: OpenedProgress,
    method: ChallengeMethod,
    check: { status: 400 | 429; retryAfter?: number },
    /** The refusal in the sign-in's language (pageMfaRefusal). */
    error: string,
  ) => {
    const requirement = await requirementOf(opened);
    if (requirement?.kind !== "mfa_challenge")
      return proceedAfter(request, reply, opened, opened.progress.amr);
    if (check.retryAfter) reply.header("retry-after", String(check.retryAfter));
    return challenge(request, reply, opened, requirement.methods, {
      method,
      status: check.status,
      error,
    });
  };

  /**
   * A form for a method this sign-in does not offer (a crafted or stale POST): the step's page
   * again, with nothing sent or checked; or on, when nothing is owed any more.
   */
  const restate = async (
    request: FastifyRequest,
    reply: FastifyReply,
    opened: OpenedProgress,
    requirement: MfaRequirement | undefined,
  ) => {
    if (requirement?.kind === "mfa_challenge")
      return challenge(request, reply, opened, requirement.methods, {
        status: 400,
        error: "Choose one of the ways below.",
      });
    return proceedAfter(request, reply, opened, opened.progress.amr);
  };

  const proceedAfter = (
    request: FastifyRequest,
    reply: FastifyReply,
    opened: OpenedProgress,
    amr: readonly string[],
  ) => proceed(request, reply, opened.requestId, opened.authorization, opened.user, [...amr]);

  /** Sends a code to the account's address as the second factor, and shows where to type it. */
  const sendEmailFactor = async (
    request: FastifyRequest,
    reply: FastifyReply,
    opened: OpenedProgress,
    methods: readonly ChallengeMethod[],
  ) => {
    const sent = await emailCode.send({
      purpose: "mfa",
      email: opened.email,
      userId: opened.user.id,
      requestId: opened.requestId,
      network: clientNetwork(request.ip),
      locale: opened.authorization.locale,
    });
    if ("refused" in sent) {
      reply.header("retry-after", String(sent.retryAfter));
      return challenge(request, reply, opened, methods, {
        method: "email",
        status: 429,
        error: sent.message,
      });
    }
    await services.pending.recordProgress(opened.requestId, opened.authorization, {
      ...opened.progress,
      codeId: sent.codeId,
    });
    return challenge(request, reply, opened, methods, { method: "email" });
  };

  const show: MfaStep["show"] = async (
    request,
    reply,
    requestId,
    authorization,
    progress,
    user,
    requirement,
  ) => {
    const opened: OpenedProgress = { requestId, authorization, progress, user, email: user.email ?? "" };
    if (requirement.kind === "mfa_challenge") {
      // A code mailed a moment ago in this sign-in still works when a new one cannot be sent yet.
      const earlier = authorization.signInProgress;
      const codeId = earlier?.userId === user.id ? earlier.codeId : undefined;
      const recorded = await services.pending.recordProgress(requestId, authorization, {
        ...progress,
        codeId,
      });
      const withRecorded = { ...opened, authorization: recorded };
      // The only way the account has is a code by e-mail: send it now rather than ask to.
      if (requirement.methods[0] === "email")
        return sendEmailFactor(request, reply, withRecorded, requirement.methods);
      // A phone first (no app): text the code now rather than ask to.
      if (requirement.methods[0] === "sms")
        return sms.sendToFactor(request, reply, withRecorded, requirement.methods);
      return challenge(request, reply, withRecorded, requirement.methods, {});
    }
    // A new secret per sign-in, kept sealed with it: a set-up started and abandoned by someone else
    // holding the password is never the secret the account's owner later scans.
    const { secret, sealed } = services.mfa.newSealedSecret(user.id);
    await services.pending.recordProgress(requestId, authorization, {
      ...progress,
      totpSecretSealed: sealed,
    });
    return enrollPage(request, reply, opened, requirement, secret, 200);
  };

  const enrollPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    opened: OpenedProgress,
    requirement: Extract<MfaRequirement, { kind: "mfa_enroll" }>,
    secret: string,
    status: number,
    error?: string,
  ) => {
    const ctx = await context(request, reply, opened);
    const uri = totpUri(secret, opened.email || opened.user.id, ctx.businessName);
    return html(
      reply,
      status,
      mfaEnrollPage({
        ...ctx,
        error,
        secret,
        qrSvg: totpQrSvg(uri),
        optional: requirement.optional,
        sms: requirement.settings.enabledFactors.includes("mfa:sms"),
      }),
    );
  };

  const sms = registerSmsRoutes(app, services, kit, {
    requirementOf,
    context,
    challenge,
    restate,
    proceedAfter,
    enrollPageAgain: async (request, reply, opened, requirement, status, error) => {
      const sealed = opened.progress.totpSecretSealed;
      const secret = sealed ? services.mfa.openSecret(opened.user.id, sealed) : undefined;
      if (!secret) return expired(reply);
      return enrollPage(request, reply, opened, requirement, secret, status, error);
    },
  });

  app.post<{ Body: Form }>("/auth/mfa/verify", pageConfig, async (request, reply) => {
    const opened = await openProgress(request, request.body);
    if (!opened) return expired(reply);
    const requirement = await requirementOf(opened);
    if (requirement?.kind !== "mfa_challenge" || !requirement.methods.includes("authenticator_app"))
      return restate(request, reply, opened, requirement);
    const check = await services.mfa.verifyAuthenticator(opened.user.id, field(request.body, "code"));
    if (!check.ok)
      return refused(
        request,
        reply,
        opened,
        "authenticator_app",
        check,
        pageMfaRefusal(opened.authorization.locale, check),
      );
    return proceedAfter(request, reply, opened, withSecondFactor(opened.progress.amr, ["otp"]));
  });

  app.post<{ Body: Form }>("/auth/mfa/recovery", pageConfig, async (request, reply) => {
    const opened = await openProgress(request, request.body);
    if (!opened) return expired(reply);
    const requirement = await requirementOf(opened);
    if (requirement?.kind !== "mfa_challenge" || !requirement.methods.includes("recovery_code"))
      return restate(request, reply, opened, requirement);
    const check = await services.mfa.useRecoveryCode(
      opened.user,
      field(request.body, "code"),
      opened.authorization.locale,
    );
    if (!check.ok)
      return refused(
        request,
        reply,
        opened,
        "recovery_code",
        check,
        pageMfaRefusal(opened.authorization.locale, check),
      );
    request.log.info({ event: "recovery_code_used", userId: opened.user.id }, "recovery code used");
    return proceedAfter(request, reply, opened, withSecondFactor(opened.progress.amr, ["otp"]));
  });

  // A passkey of this account (src/passkeys/: options at /auth/mfa/passkey/options, bound to this
  // sign-in and browser); the amr gains hwk or swk.
  app.post<{ Body: Form }>("/auth/mfa/passkey", pageConfig, async (request, reply) => {
    const opened = await openProgress(request, request.body);
    if (!opened) return expired(reply);
    const requirement = await requirementOf(opened);
    if (requirement?.kind !== "mfa_challenge" || !requirement.methods.includes("passkey"))
      return proceedAfter(request, reply, opened, opened.progress.amr);
    const check = await services.passkeys.verifySecondFactor(
      opened.user.id,
      field(request.body, "response"),
      { requestId: opened.requestId, browser: opened.progress.browser },
      request.log,
    );
    if (!check.ok)
      return refused(
        request,
        reply,
        opened,
        "passkey",
        check,
        pagePasskeyRefusal(opened.authorization.locale, check.message),
      );
    return proceedAfter(request, reply, opened, withSecondFactor(opened.progress.amr, [check.amr]));
  });

  app.post<{ Body: Form; Params: { method: string } }>(
    "/auth/mfa/method/:method",
    pageConfig,
    async (request, reply) => {
      const opened = await openProgress(request, request.body);
      if (!opened) return expired(reply);
      const requirement = await requirementOf(opened);
      if (requirement?.kind !== "mfa_challenge")
        return proceedAfter(request, reply, opened, opened.progress.amr);
      const method = requirement.methods.find((m) => m === request.params.method);
      return challenge(request, reply, opened, requirement.methods, { method });
    },
  );

  app.post<{ Body: Form }>("/auth/mfa/email", pageConfig, async (request, reply) => {
    const opened = await openProgress(request, request.body);
    if (!opened) return expired(reply);
    const requirement = await requirementOf(opened);
    if (requirement?.kind !== "mfa_challenge" || !requirement.methods.includes("email"))
      return restate(request, reply, opened, requirement);
    return sendEmailFactor(request, reply, opened, requirement.methods);
  });

  app.post<{ Body: Form }>("/auth/mfa/email/verify", pageConfig, async (request, reply) => {
    const opened = await openProgress(request, request.body);
    if (!opened) return expired(reply);
    const requirement = await requirementOf(opened);
    if (requirement?.kind !== "mfa_challenge" || !requirement.methods.includes("email"))
      return restate(request, reply, opened, requirement);
    const codeId = opened.progress.codeId;
    if (!codeId) return sendEmailFactor(request, reply, opened, requirement.methods);
    const checked = await emailCode.verify(
      codeId,
      "mfa",
      field(request.body, "code"),
      opened.authorization.locale,
    );
    // The code proves the mailbox it went to, and only while it is still the account's address.
    if (!checked.ok || checked.email !== opened.user.email)
      return challenge(request, reply, opened, requirement.methods, {
        method: "email",
        status: 400,
        error: checked.ok
          ? t(opened.authorization.locale ?? DEFAULT_LOCALE, "mfa.email_other_address")
          : checked.message,
      });
    await services.mfa.recordEmailFactorUse(opened.user.id, checked.email);
    return proceedAfter(request, reply, opened, withSecondFactor(opened.progress.amr, ["email"]));
  });

  app.post<{ Body: Form }>("/auth/mfa/enroll", pageConfig, async (request, reply) => {
    const opened = await openProgress(request, request.body);
    const sealed = opened?.progress.totpSecretSealed;
    if (!opened || !sealed) return expired(reply);
    // Only an account with no factor sets one up here: with one, a password alone must never
    // replace it (that would hand the second factor to whoever holds the password).
    const requirement = await requirementOf(opened);
    if (requirement?.kind !== "mfa_enroll") return proceedAfter(request, reply, opened, opened.progress.amr);
    const confirmed = await services.mfa.confirmAuthenticator(
      opened.user,
      sealed,
      field(request.body, "code"),
      requirement.settings,
      opened.authorization.locale,
    );
    if (!confirmed.ok) {
      const secret = services.mfa.openSecret(opened.user.id, sealed);
      if (!secret) return expired(reply);
      if (confirmed.retryAfter) reply.header("retry-after", String(confirmed.retryAfter));
      return enrollPage(
        request,
        reply,
        opened,
        requirement,
        secret,
        confirmed.status,
        pageMfaRefusal(opened.authorization.locale, confirmed),
      );
    }
    request.log.info({ event: "mfa_enrolled", userId: opened.user.id }, "authenticator app set up");
    const amr = withSecondFactor(opened.progress.amr, ["otp"]);
    if (!confirmed.recoveryCodes) return proceedAfter(request, reply, opened, amr);
    // The second factor is proved: the sign-in waits only for the person to keep the codes.
    const { totpSecretSealed: _done, ...rest } = opened.progress;
    await services.pending.recordProgress(opened.requestId, opened.authorization, { ...rest, amr });
    const ctx = await context(request, reply, opened);
    return html(reply, 200, recoveryCodesPage({ ...ctx, codes: confirmed.recoveryCodes }));
  });

  app.post<{ Body: Form }>("/auth/mfa/continue", pageConfig, async (request, reply) => {
    const opened = await openProgress(request, request.body);
    if (!opened || !secondFactorProved(opened.progress.amr)) return expired(reply);
    return proceedAfter(request, reply, opened, opened.progress.amr);
  });

  app.post<{ Body: Form }>("/auth/mfa/skip", pageConfig, async (request, reply) => {
    const opened = await openProgress(request, request.body);
    if (!opened) return expired(reply);
    const requirement = await requirementOf(opened);
    // Declining is for "optional" alone; under "required" the page shows no such button and a
    // crafted POST finds the requirement unchanged.
    if (requirement?.kind === "mfa_enroll" && requirement.optional)
      await services.mfa.dismissOffer(opened.user.id);
    const user = await services.users.store.findById(opened.user.id);
    if (!user) return expired(reply);
    return proceed(request, reply, opened.requestId, opened.authorization, user, [...opened.progress.amr]);
  });

  return { show };
}
