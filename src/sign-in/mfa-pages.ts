// The hosted pages of the second step of a sign-in (issue 22): prove a factor, set up an
// authenticator app, keep the recovery codes. Plain forms like the rest (pages.ts): the QR code is
// inline SVG drawn by the server, so the page loads nothing from anywhere else.
import { html, page, raw } from "../http/html.js";
import { t } from "../i18n/catalogue.js";
import type { ChallengeMethod } from "../mfa/mfa.service.js";
import { passkeySecondFactorForm } from "../passkeys/passkey-pages.js";
import type { FormContext } from "./pages.js";

function errorBlock(error: string | undefined) {
  return error ? html`<p class="error" id="form-error" role="alert">${error}</p>` : "";
}

function hiddenFields(ctx: FormContext) {
  return html`<input type="hidden" name="request" value="${ctx.requestId}">
  <input type="hidden" name="csrf" value="${ctx.csrf}">`;
}

function codeField(ctx: FormContext, label: string, hint: string, numeric = true) {
  const described = ctx.error ? "form-error code-hint" : "code-hint";
  return html`<label for="code">${label}</label>
  <input id="code" name="code" type="text" ${numeric ? raw('inputmode="numeric" pattern="[0-9 ]*"') : ""}
    autocomplete="one-time-code" maxlength="${numeric ? 8 : 16}" required aria-describedby="${described}" autofocus>
  <p class="hint" id="code-hint">${hint}</p>`;
}

/**
 * The second step: the code from the authenticator app, with the other ways the account can prove
 * it as separate forms (an e-mailed code, a recovery code), so none submits another's field.
 */
export function mfaChallengePage(
  ctx: FormContext & {
    methods: readonly ChallengeMethod[];
    method?: ChallengeMethod;
    notice?: string;
    /** The SMS factor's number, masked (maskPhoneNumber). */
    phone?: string;
  },
): string {
  const { locale } = ctx;
  const method = ctx.method ?? ctx.methods[0] ?? "authenticator_app";
  const others = ctx.methods.filter((m) => m !== method);
  const forms = {
    passkey: passkeySecondFactorForm(ctx),
    authenticator_app: html`<form method="post" action="/auth/mfa/verify" novalidate>
  ${hiddenFields(ctx)}
  ${codeField(ctx, t(locale, "mfa.app_code"), t(locale, "mfa.app_code_hint"))}
  <button type="submit">${t(locale, "form.continue")}</button>
</form>`,
    sms: html`<form method="post" action="/auth/mfa/sms/verify" novalidate>
  ${hiddenFields(ctx)}
  ${codeField(ctx, t(locale, "mfa.sms_code"), t(locale, "mfa.sms_code_hint", { phone: ctx.phone ?? "" }))}
  <button type="submit">${t(locale, "form.continue")}</button>
</form>`,
    email: html`<form method="post" action="/auth/mfa/email/verify" novalidate>
  ${hiddenFields(ctx)}
  ${codeField(ctx, t(locale, "mfa.email_code"), t(locale, "mfa.email_code_hint", { email: ctx.email ?? t(locale, "mfa.your_email_address") }))}
  <button type="submit">${t(locale, "form.continue")}</button>
</form>`,
    recovery_code: html`<form method="post" action="/auth/mfa/recovery" novalidate>
  ${hiddenFields(ctx)}
  ${codeField(ctx, t(locale, "mfa.recovery_code"), t(locale, "mfa.recovery_code_hint"), false)}
  <button type="submit">${t(locale, "form.continue")}</button>
</form>`,
  };
  const switchLabel: Record<ChallengeMethod, string> = {
    passkey: t(locale, "mfa.use_passkey"),
    authenticator_app: t(locale, "mfa.use_app"),
    sms: t(locale, "mfa.text_me"),
    email: t(locale, "mfa.email_me"),
    recovery_code: t(locale, "mfa.use_recovery"),
  };
  const switchAction: Record<ChallengeMethod, string> = {
    passkey: "/auth/mfa/method/passkey",
    authenticator_app: "/auth/mfa/method/authenticator_app",
    sms: "/auth/mfa/sms",
    email: "/auth/mfa/email",
    recovery_code: "/auth/mfa/method/recovery_code",
  };
  return page({
    title: t(locale, "mfa.title"),
    businessName: ctx.businessName,
    brand: ctx.brand,
    lang: locale,
    body: html`<h1>${t(locale, "mfa.title")}</h1>
<p class="lead">${t(locale, "mfa.lead", { app: ctx.applicationName })}</p>
${errorBlock(ctx.error)}${ctx.notice ? html`<p class="notice" role="status">${ctx.notice}</p>` : ""}
${forms[method]}
${others.map(
  (other) => html`<form method="post" action="${switchAction[other]}">
  ${hiddenFields(ctx)}
  <button type="submit" class="secondary">${switchLabel[other]}</button>
</form>
`,
)}`,
  });
}

/** Setting up an authenticator app: the QR code, the secret for typing in, and the first code. */
export function mfaEnrollPage(
  ctx: FormContext & {
    qrSvg: string;
    secret: string;
    optional: boolean;
    /** Text messages are an enabled factor: offer a phone number instead of an app. */
    sms?: boolean;
  },
): string {
  const grouped = ctx.secret.replace(/(.{4})/g, "$1 ").trim();
  const { locale } = ctx;
  const app = ctx.applicationName;
  return page({
    title: t(locale, "mfa.enroll_title"),
    businessName: ctx.businessName,
    brand: ctx.brand,
    lang: locale,
    body: html`<h1>${t(locale, "mfa.enroll_title")}</h1>
<p class="lead">${ctx.optional ? t(locale, "mfa.enroll_optional", { app }) : t(locale, "mfa.enroll_required", { app })}</p>
${errorBlock(ctx.error)}
<ol class="steps">
  <li>${t(locale, "mfa.enroll_step_open")}</li>
  <li>${t(locale, "mfa.enroll_step_scan")}</li>
</ol>
<figure class="qr" aria-label="${t(locale, "mfa.qr_label")}">${raw(ctx.qrSvg)}</figure>
<p class="hint">${t(locale, "mfa.key")} <code id="totp-secret" data-secret="${ctx.secret}">${grouped}</code></p>
<form method="post" action="/auth/mfa/enroll" novalidate>
  ${hiddenFields(ctx)}
  ${codeField(ctx, t(locale, "mfa.enroll_code"), t(locale, "mfa.enroll_code_hint"))}
  <button type="submit">${t(locale, "mfa.turn_on")}</button>
</form>
${
  ctx.sms
    ? html`<h2>${t(locale, "mfa.no_app")}</h2>
<form method="post" action="/auth/mfa/sms/enroll" novalidate>
  ${hiddenFields(ctx)}
  <label for="phone">${t(locale, "mfa.mobile_number")}</label>
  <input id="phone" name="phone" type="tel" autocomplete="tel" inputmode="tel" maxlength="24"
    aria-describedby="phone-hint">
  <p class="hint" id="phone-hint">${t(locale, "mfa.mobile_hint")}</p>
  <button type="submit" class="secondary">${t(locale, "mfa.text_me")}</button>
</form>
`
    : ""
}${
  ctx.optional
    ? html`<form method="post" action="/auth/mfa/skip">
  ${hiddenFields(ctx)}
  <button type="submit" class="secondary">${t(locale, "mfa.not_now")}</button>
</form>`
    : ""
}`,
  });
}

/** The recovery codes, shown once; the sign-in goes on when the person says they kept them. */
export function recoveryCodesPage(ctx: FormContext & { codes: readonly string[] }): string {
  const { locale } = ctx;
  return page({
    title: t(locale, "mfa.recovery_title"),
    businessName: ctx.businessName,
    brand: ctx.brand,
    lang: locale,
    body: html`<h1>${t(locale, "mfa.recovery_title")}</h1>
<p class="lead">${t(locale, "mfa.recovery_lead")}</p>
<ul class="recovery-codes" id="recovery-codes">
${ctx.codes.map(
  (code) => html`  <li><code>${code}</code></li>
`,
)}</ul>
<form method="post" action="/auth/mfa/continue">
  ${hiddenFields(ctx)}
  <button type="submit">${t(locale, "mfa.recovery_saved")}</button>
</form>`,
  });
}

/** Confirming a mobile number for text-message codes: the code just sent to it. */
export function smsConfirmPage(ctx: FormContext & { phone: string }): string {
  const { locale } = ctx;
  return page({
    title: t(locale, "mfa.sms_confirm_title"),
    businessName: ctx.businessName,
    brand: ctx.brand,
    lang: locale,
    body: html`<h1>${t(locale, "mfa.sms_confirm_title")}</h1>
<p class="lead">${t(locale, "mfa.sms_confirm_lead", { phone: ctx.phone })}</p>
${errorBlock(ctx.error)}
<form method="post" action="/auth/mfa/sms/confirm" novalidate>
  ${hiddenFields(ctx)}
  ${codeField(ctx, t(locale, "mfa.sms_code"), t(locale, "mfa.sms_valid"))}
  <button type="submit">${t(locale, "mfa.turn_on")}</button>
</form>`,
  });
}
