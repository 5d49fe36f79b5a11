// The hosted pages of the second step of a sign-in (issue 22): prove a factor, set up an
// authenticator app, keep the recovery codes. Plain forms like the rest (pages.ts): the QR code is
// inline SVG drawn by the server, so the page loads nothing from anywhere else.
import { html, page, raw } from "../http/html.js";
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
  const method = ctx.method ?? ctx.methods[0] ?? "authenticator_app";
  const others = ctx.methods.filter((m) => m !== method);
  const forms = {
    passkey: passkeySecondFactorForm(ctx),
    authenticator_app: html`<form method="post" action="/auth/mfa/verify" novalidate>
  ${hiddenFields(ctx)}
  ${codeField(ctx, "Code from your authenticator app", "The 6-digit code your app shows for this account now.")}
  <button type="submit">Continue</button>
</form>`,
    sms: html`<form method="post" action="/auth/mfa/sms/verify" novalidate>
  ${hiddenFields(ctx)}
  ${codeField(ctx, "Code from the text message", `We sent a 6-digit code to your phone ${ctx.phone ?? ""}.`)}
  <button type="submit">Continue</button>
</form>`,
    email: html`<form method="post" action="/auth/mfa/email/verify" novalidate>
  ${hiddenFields(ctx)}
  ${codeField(ctx, "Code from your email", `We sent a 6-digit code to ${ctx.email ?? "your email address"}.`)}
  <button type="submit">Continue</button>
</form>`,
    recovery_code: html`<form method="post" action="/auth/mfa/recovery" novalidate>
  ${hiddenFields(ctx)}
  ${codeField(ctx, "Recovery code", "One of the codes you saved when you set up two-step verification. Each works once.", false)}
  <button type="submit">Continue</button>
</form>`,
  };
  const switchLabel: Record<ChallengeMethod, string> = {
    passkey: "Use your passkey",
    authenticator_app: "Use your authenticator app",
    sms: "Text me a code instead",
    email: "Email me a code instead",
    recovery_code: "Use a recovery code",
  };
  const switchAction: Record<ChallengeMethod, string> = {
    passkey: "/auth/mfa/method/passkey",
    authenticator_app: "/auth/mfa/method/authenticator_app",
    sms: "/auth/mfa/sms",
    email: "/auth/mfa/email",
    recovery_code: "/auth/mfa/method/recovery_code",
  };
  return page({
    title: "Two-step verification",
    businessName: ctx.businessName,
    body: html`<h1>Two-step verification</h1>
<p class="lead">Confirm it is you to continue to ${ctx.applicationName}.</p>
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
  return page({
    title: "Set up two-step verification",
    businessName: ctx.businessName,
    body: html`<h1>Set up two-step verification</h1>
<p class="lead">${
      ctx.optional
        ? `Protect your account with a code from an authenticator app each time you sign in to ${ctx.applicationName}.`
        : `${ctx.applicationName} asks for a second step when you sign in. Set up an authenticator app to continue.`
    }</p>
${errorBlock(ctx.error)}
<ol class="steps">
  <li>Open an authenticator app (for example Google Authenticator, Microsoft Authenticator, 1Password or Authy) and add an account.</li>
  <li>Scan this QR code, or enter the key below.</li>
</ol>
<figure class="qr" aria-label="QR code for your authenticator app">${raw(ctx.qrSvg)}</figure>
<p class="hint">Key: <code id="totp-secret" data-secret="${ctx.secret}">${grouped}</code></p>
<form method="post" action="/auth/mfa/enroll" novalidate>
  ${hiddenFields(ctx)}
  ${codeField(ctx, "Code from the app", "Enter the 6-digit code the app shows to finish.")}
  <button type="submit">Turn on two-step verification</button>
</form>
${
  ctx.sms
    ? html`<h2>No authenticator app?</h2>
<form method="post" action="/auth/mfa/sms/enroll" novalidate>
  ${hiddenFields(ctx)}
  <label for="phone">Mobile number</label>
  <input id="phone" name="phone" type="tel" autocomplete="tel" inputmode="tel" maxlength="24"
    aria-describedby="phone-hint">
  <p class="hint" id="phone-hint">With the country code, e.g. +44 7700 900123. We text a code to it at each sign-in.</p>
  <button type="submit" class="secondary">Text me a code instead</button>
</form>
`
    : ""
}${
  ctx.optional
    ? html`<form method="post" action="/auth/mfa/skip">
  ${hiddenFields(ctx)}
  <button type="submit" class="secondary">Not now</button>
</form>`
    : ""
}`,
  });
}

/** The recovery codes, shown once; the sign-in goes on when the person says they kept them. */
export function recoveryCodesPage(ctx: FormContext & { codes: readonly string[] }): string {
  return page({
    title: "Save your recovery codes",
    businessName: ctx.businessName,
    body: html`<h1>Save your recovery codes</h1>
<p class="lead">Two-step verification is on. If you lose your phone, each of these codes lets you sign in once. Keep them somewhere safe: they are shown only now.</p>
<ul class="recovery-codes" id="recovery-codes">
${ctx.codes.map(
  (code) => html`  <li><code>${code}</code></li>
`,
)}</ul>
<form method="post" action="/auth/mfa/continue">
  ${hiddenFields(ctx)}
  <button type="submit">I have saved them — continue</button>
</form>`,
  });
}

/** Confirming a mobile number for text-message codes: the code just sent to it. */
export function smsConfirmPage(ctx: FormContext & { phone: string }): string {
  return page({
    title: "Confirm your mobile number",
    businessName: ctx.businessName,
    body: html`<h1>Confirm your mobile number</h1>
<p class="lead">We sent a 6-digit code to ${ctx.phone}. Enter it to turn on two-step verification.</p>
${errorBlock(ctx.error)}
<form method="post" action="/auth/mfa/sms/confirm" novalidate>
  ${hiddenFields(ctx)}
  ${codeField(ctx, "Code from the text message", "The code is valid for 10 minutes.")}
  <button type="submit">Turn on two-step verification</button>
</form>`,
  });
}
