// Text-message codes in the second step of a sign-in (the mfa:sms factor): setting up a number
// (a code texted to it must come back) and proving it at later sign-ins. The code travels sealed
// with the sign-in under way (MfaService.sendSmsCode), bound to the account; the routes share the
// rest of the step's rules with mfa.routes.ts, which registers them.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { t } from "../i18n/catalogue.js";
import { DEFAULT_LOCALE } from "../i18n/locale.js";
import { pageMfaRefusal } from "../i18n/problems.js";
import type { ChallengeMethod, MfaRequirement } from "../mfa/mfa.service.js";
import { withSecondFactor } from "../mfa/policy.js";
import { maskPhoneNumber, normalisePhoneNumber } from "../mfa/sms.js";
import type { Services } from "../services.js";
import { type Form, field } from "./browser-sign-in.js";
import type { MfaKit, OpenedProgress } from "./mfa.routes.js";
import { recoveryCodesPage, smsConfirmPage } from "./mfa-pages.js";
import { clientNetwork } from "./rate-limit.js";

/** What the SMS routes use of the step's shared page logic (mfa.routes.ts). */
export interface MfaStepPages {
  requirementOf(opened: OpenedProgress): Promise<MfaRequirement | undefined>;
  context(
    request: FastifyRequest,
    reply: FastifyReply,
    opened: OpenedProgress,
  ): Promise<Awaited<ReturnType<MfaKit["formContext"]>> & { email: string }>;
  challenge(
    request: FastifyRequest,
    reply: FastifyReply,
    opened: OpenedProgress,
    methods: readonly ChallengeMethod[],
    shown: { method?: ChallengeMethod; status?: number; error?: string; notice?: string; phone?: string },
  ): Promise<FastifyReply>;
  restate(
    request: FastifyRequest,
    reply: FastifyReply,
    opened: OpenedProgress,
    requirement: MfaRequirement | undefined,
  ): Promise<FastifyReply>;
  proceedAfter(
    request: FastifyRequest,
    reply: FastifyReply,
    opened: OpenedProgress,
    amr: readonly string[],
  ): Promise<FastifyReply>;
  enrollPageAgain(
    request: FastifyRequest,
    reply: FastifyReply,
    opened: OpenedProgress,
    requirement: Extract<MfaRequirement, { kind: "mfa_enroll" }>,
    status: number,
    error: string,
  ): Promise<FastifyReply>;
}

export interface SmsStep {
  /** Texts a code to the account's number and shows where to type it. */
  sendToFactor(
    request: FastifyRequest,
    reply: FastifyReply,
    opened: OpenedProgress,
    methods: readonly ChallengeMethod[],
  ): Promise<FastifyReply>;
}

export function registerSmsRoutes(
  app: FastifyInstance,
  services: Services,
  kit: MfaKit,
  pages: MfaStepPages,
): SmsStep {
  const { pageConfig, html, expired, openProgress } = kit;

  const factorNumber = async (userId: string) =>
    (await services.mfa.store.factors(userId)).find((f) => f.type === "mfa:sms" && f.verifiedAt !== null)
      ?.name;

  const sendToFactor: SmsStep["sendToFactor"] = async (request, reply, opened, methods) => {
    const phone = await factorNumber(opened.user.id);
    if (!phone) return pages.restate(request, reply, opened, await pages.requirementOf(opened));
    const masked = maskPhoneNumber(phone);
    const sent = await services.mfa.sendSmsCode(opened.user.id, phone, clientNetwork(request.ip));
    if ("status" in sent) {
      if (sent.retryAfter) reply.header("retry-after", String(sent.retryAfter));
      return pages.challenge(request, reply, opened, methods, {
        method: "sms",
        status: sent.status,
        error: pageMfaRefusal(opened.authorization.locale, sent),
        phone: masked,
      });
    }
    await services.pending.recordProgress(opened.requestId, opened.authorization, {
      ...opened.progress,
      smsChallengeSealed: sent.sealed,
    });
    return pages.challenge(request, reply, opened, methods, { method: "sms", phone: masked });
  };

  app.post<{ Body: Form }>("/auth/mfa/sms", pageConfig, async (request, reply) => {
    const opened = await openProgress(request, request.body);
    if (!opened) return expired(reply);
    const requirement = await pages.requirementOf(opened);
    if (requirement?.kind !== "mfa_challenge" || !requirement.methods.includes("sms"))
      return pages.restate(request, reply, opened, requirement);
    return sendToFactor(request, reply, opened, requirement.methods);
  });

  app.post<{ Body: Form }>("/auth/mfa/sms/verify", pageConfig, async (request, reply) => {
    const opened = await openProgress(request, request.body);
    if (!opened) return expired(reply);
    const requirement = await pages.requirementOf(opened);
    if (requirement?.kind !== "mfa_challenge" || !requirement.methods.includes("sms"))
      return pages.restate(request, reply, opened, requirement);
    const phone = await factorNumber(opened.user.id);
    const checked = await services.mfa.checkSmsCode(
      opened.user.id,
      opened.progress.smsChallengeSealed,
      field(request.body, "code"),
    );
    // The code proves the number it went to, and only while that is still the account's factor.
    if (!checked.ok || checked.phone !== phone) {
      const error = checked.ok
        ? t(opened.authorization.locale ?? DEFAULT_LOCALE, "mfa.sms_other_number")
        : pageMfaRefusal(opened.authorization.locale, checked);
      if (!checked.ok && checked.retryAfter) reply.header("retry-after", String(checked.retryAfter));
      return pages.challenge(request, reply, opened, requirement.methods, {
        method: "sms",
        status: checked.ok ? 400 : checked.status,
        error,
        phone: phone ? maskPhoneNumber(phone) : undefined,
      });
    }
    await services.mfa.store.recordUse(opened.user.id, "mfa:sms", checked.phone);
    return pages.proceedAfter(request, reply, opened, withSecondFactor(opened.progress.amr, ["sms"]));
  });

  /** Setting up a number: only for an account with no factor, where the settings enable texts. */
  const enrolling = async (opened: OpenedProgress) => {
    const requirement = await pages.requirementOf(opened);
    return requirement?.kind === "mfa_enroll" && requirement.settings.enabledFactors.includes("mfa:sms")
      ? requirement
      : undefined;
  };

  app.post<{ Body: Form }>("/auth/mfa/sms/enroll", pageConfig, async (request, reply) => {
    const opened = await openProgress(request, request.body);
    if (!opened) return expired(reply);
    const requirement = await enrolling(opened);
    if (!requirement) return pages.restate(request, reply, opened, await pages.requirementOf(opened));
    const phone = normalisePhoneNumber(field(request.body, "phone").slice(0, 40));
    if (!phone)
      return pages.enrollPageAgain(
        request,
        reply,
        opened,
        requirement,
        400,
        t(opened.authorization.locale ?? DEFAULT_LOCALE, "mfa.invalid_number"),
      );
    const sent = await services.mfa.sendSmsCode(opened.user.id, phone, clientNetwork(request.ip));
    if ("status" in sent) {
      if (sent.retryAfter) reply.header("retry-after", String(sent.retryAfter));
      return pages.enrollPageAgain(
        request,
        reply,
        opened,
        requirement,
        sent.status,
        pageMfaRefusal(opened.authorization.locale, sent),
      );
    }
    await services.pending.recordProgress(opened.requestId, opened.authorization, {
      ...opened.progress,
      smsChallengeSealed: sent.sealed,
    });
    const ctx = await pages.context(request, reply, opened);
    return html(reply, 200, smsConfirmPage({ ...ctx, phone: maskPhoneNumber(phone) }));
  });

  app.post<{ Body: Form }>("/auth/mfa/sms/confirm", pageConfig, async (request, reply) => {
    const opened = await openProgress(request, request.body);
    if (!opened) return expired(reply);
    const requirement = await enrolling(opened);
    if (!requirement) return pages.restate(request, reply, opened, await pages.requirementOf(opened));
    const checked = await services.mfa.checkSmsCode(
      opened.user.id,
      opened.progress.smsChallengeSealed,
      field(request.body, "code"),
    );
    if (!checked.ok) {
      if (checked.retryAfter) reply.header("retry-after", String(checked.retryAfter));
      const ctx = await pages.context(request, reply, opened);
      return html(
        reply,
        checked.status,
        smsConfirmPage({
          ...ctx,
          phone: t(ctx.locale, "mfa.your_phone"),
          error: pageMfaRefusal(ctx.locale, checked),
        }),
      );
    }
    const confirmed = await services.mfa.confirmSms(
      opened.user,
      checked.phone,
      requirement.settings,
      opened.authorization.locale,
    );
    request.log.info({ event: "mfa_enrolled", userId: opened.user.id }, "mobile number set up for codes");
    const amr = withSecondFactor(opened.progress.amr, ["sms"]);
    if (!confirmed.recoveryCodes) return pages.proceedAfter(request, reply, opened, amr);
    const { smsChallengeSealed: _done, totpSecretSealed: _unused, ...rest } = opened.progress;
    await services.pending.recordProgress(opened.requestId, opened.authorization, { ...rest, amr });
    const ctx = await pages.context(request, reply, opened);
    return html(reply, 200, recoveryCodesPage({ ...ctx, codes: confirmed.recoveryCodes }));
  });

  return { sendToFactor };
}
