// Two-step verification on the account page: set up an authenticator app, replace the recovery
// codes, remove a factor. The rules are MfaService's (the same enrolment and checks as the sign-in's
// enrolment step); this file only decides what the page offers and when.
//
// The new secret travels in the set-up form sealed (AES-256-GCM under the master key, bound to the
// user's id: MfaService.newSealedSecret), since the page shows the secret itself anyway; another
// account's sealed secret does not open, and only a confirmed first code from the app saves it.
// An account that has an authenticator app keeps it until the person removes it: setting up
// another over it would let a browser someone left signed in swap the factor without the old one.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { NoValues } from "../i18n/catalogue.js";
import { t } from "../i18n/catalogue.js";
import { DEFAULT_LOCALE, requestLocale } from "../i18n/locale.js";
import { pageMfaRefusal } from "../i18n/problems.js";
import { type MfaSettings, withSecondFactor } from "../mfa/policy.js";
import { totpQrSvg, totpUri } from "../mfa/totp.js";
import { type Form, field } from "../sign-in/browser-sign-in.js";
import type { AccountKit, SignedIn } from "./account.routes.js";
import { authenticatorPage, recoveryCodesPage, signedOutPage } from "./account-pages.js";

export function registerTwoStepRoutes(app: FastifyInstance, kit: AccountKit): void {
  const { services, signIn, page, html, forChange, forgetSession, businessName, brand, problem } = kit;

  /** Why an authenticator app cannot be set up now, or undefined when it can. */
  const cannotAdd = async (signedIn: SignedIn, settings: MfaSettings): Promise<NoValues | undefined> => {
    if (settings.policy === "off" || !settings.enabledFactors.includes("mfa:authenticator_app"))
      return "account.apps_off";
    const factors = await services.mfa.store.factors(signedIn.user.id);
    if (factors.some((f) => f.type === "mfa:authenticator_app" && f.verifiedAt !== null))
      return "account.has_app";
    return undefined;
  };

  const setUpPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    signedIn: SignedIn,
    secret: string,
    sealed: string,
    shown: { status: number; error?: string },
  ) => {
    const name = await businessName();
    const uri = totpUri(secret, signedIn.user.email || signedIn.user.id, name);
    return html(
      reply,
      shown.status,
      authenticatorPage({
        businessName: name,
        brand: await brand(),
        csrf: signIn.csrfToken(request, reply),
        sealed,
        secret,
        qrSvg: totpQrSvg(uri),
        locale: requestLocale(request),
        error: shown.error,
      }),
    );
  };

  app.post<{ Body: Form }>("/account/two-step/authenticator", page, async (request, reply) => {
    const signedIn = await forChange(request, reply);
    if (!signedIn) return reply;
    const refusal = await cannotAdd(signedIn, await services.mfa.settingsFor(signedIn.user.id));
    if (refusal) return problem(reply, 409, "account.two_step", refusal);
    const { secret, sealed } = services.mfa.newSealedSecret(signedIn.user.id);
    return setUpPage(request, reply, signedIn, secret, sealed, { status: 200 });
  });

  app.post<{ Body: Form }>("/account/two-step/authenticator/confirm", page, async (request, reply) => {
    const signedIn = await forChange(request, reply);
    if (!signedIn) return reply;
    const { user } = signedIn;
    const settings = await services.mfa.settingsFor(user.id);
    const refusal = await cannotAdd(signedIn, settings);
    if (refusal) return problem(reply, 409, "account.two_step", refusal);
    const sealed = field(request.body, "sealed").slice(0, 2000);
    const confirmed = await services.mfa.confirmAuthenticator(
      user,
      sealed,
      field(request.body, "code"),
      settings,
      requestLocale(request),
    );
    if (!confirmed.ok) {
      const secret = services.mfa.openSecret(user.id, sealed);
      if (!secret) return problem(reply, 400, "account.two_step", "account.setup_expired");
      if (confirmed.retryAfter) reply.header("retry-after", String(confirmed.retryAfter));
      return setUpPage(request, reply, signedIn, secret, sealed, {
        status: confirmed.status,
        error: pageMfaRefusal(requestLocale(request), confirmed),
      });
    }
    request.log.info(
      { event: "mfa_enrolled", userId: user.id },
      "authenticator app set up on the account page",
    );
    // Its first code proved the new authenticator in this session.
    await services.sessions.recordProof(signedIn.session.id, withSecondFactor(signedIn.session.amr, ["otp"]));
    const locale = requestLocale(request);
    if (!confirmed.recoveryCodes)
      return reply
        .code(303)
        .header("location", locale === DEFAULT_LOCALE ? "/account" : `/account?lang=${locale}`)
        .send();
    return html(
      reply,
      200,
      recoveryCodesPage({
        businessName: await businessName(),
        brand: await brand(),
        codes: confirmed.recoveryCodes,
        enrolled: true,
        locale,
      }),
    );
  });

  app.post<{ Body: Form }>("/account/two-step/recovery-codes", page, async (request, reply) => {
    const signedIn = await forChange(request, reply);
    if (!signedIn) return reply;
    const { user } = signedIn;
    const settings = await services.mfa.settingsFor(user.id);
    const factors = await services.mfa.store.factors(user.id);
    // Recovery codes back up the authenticator app (they go when it goes: MfaService.reset).
    const hasApp = factors.some((f) => f.type === "mfa:authenticator_app" && f.verifiedAt !== null);
    if (!hasApp || !settings.recoveryCodes)
      return problem(reply, 409, "account.recovery_codes", "account.recovery_need_app");
    const codes = await services.mfa.regenerateRecoveryCodes(user.id);
    request.log.info({ event: "recovery_codes_replaced", userId: user.id }, "recovery codes replaced");
    return html(
      reply,
      200,
      recoveryCodesPage({
        businessName: await businessName(),
        brand: await brand(),
        codes,
        enrolled: false,
        locale: requestLocale(request),
      }),
    );
  });

  app.post<{ Body: Form }>("/account/two-step/remove", page, async (request, reply) => {
    const signedIn = await forChange(request, reply);
    if (!signedIn) return reply;
    const factorId = field(request.body, "factor_id").slice(0, 100);
    // MfaService.reset ends every session of the account, this one included: whoever signed in
    // with the factor, or could have, is out, and the person signs in again without it.
    const removed = factorId
      ? await services.mfa.reset(signedIn.user.id, factorId, "user", requestLocale(request))
      : undefined;
    if (!removed) return problem(reply, 404, "account.two_step", "account.no_such_factor");
    request.log.info(
      { event: "mfa_factor_removed", userId: signedIn.user.id },
      "factor removed on the account page",
    );
    forgetSession(reply);
    const locale = requestLocale(request);
    return html(
      reply,
      200,
      signedOutPage({
        businessName: await businessName(),
        brand: await brand(),
        title: t(locale, "account.removed_title"),
        message: t(locale, "account.removed_message"),
        locale,
      }),
    );
  });
}
