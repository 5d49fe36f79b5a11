// The passkey parts of the hosted sign-in pages (issue 22). Each is an ordinary form that the one
// script (/assets/passkeys.js) completes: it asks data-options for the ceremony's options, runs
// the ceremony and posts the authenticator's answer in the hidden `response` field. Without the
// script (or WebAuthn) the sign-in's passkey button stays hidden: nothing there depends on it.
import { html, page, raw, type SafeHtml } from "../http/html.js";
import { t } from "../i18n/catalogue.js";
import type { Locale } from "../i18n/locale.js";
import type { FormContext } from "../sign-in/pages.js";
import { PASSKEYS_SCRIPT_PATH } from "./passkeys-asset.js";

/** The script tag every page with a passkey form carries (a module: deferred, strict). */
export const passkeysScript = raw(`<script type="module" src="${PASSKEYS_SCRIPT_PATH}"></script>`);

function hiddenFields(fields: Record<string, string>) {
  return html`${Object.entries(fields).map(
    ([name, value]) => html`<input type="hidden" name="${name}" value="${value}">
  `,
  )}<input type="hidden" name="response" value="">`;
}

/**
 * Where the script shows what went wrong; the words it may need of its own (a prompt closed, no
 * WebAuthn) come with it, in the page's language (issue 20): the script has no catalogue.
 */
function scriptError(locale: Locale): SafeHtml {
  return html`<p class="error" data-passkey-error role="alert" hidden data-closed="${t(locale, "passkey_script.closed")}" data-exists="${t(locale, "passkey_script.exists")}" data-unsupported="${t(locale, "passkey_script.unsupported")}" data-failed="${t(locale, "passkey_script.failed")}" data-expired="${t(locale, "passkey_script.expired")}"></p>`;
}

/**
 * "Use a passkey" above the sign-in form, revealed by the script where WebAuthn works; it
 * also offers the passkeys in the e-mail field's autofill (data-autofill, `autocomplete="username
 * webauthn"` on that field: pages.ts).
 */
export function passkeySignInSection(ctx: Pick<FormContext, "requestId" | "csrf" | "locale">): SafeHtml {
  return html`<div class="passkey" data-passkey-section hidden>
<form method="post" action="/auth/passkey/sign-in" data-passkey="authenticate" data-options="/auth/passkey/options" data-autofill="on">
  ${hiddenFields({ request: ctx.requestId, csrf: ctx.csrf })}
  ${scriptError(ctx.locale)}
  <button type="submit" class="secondary" id="passkey-sign-in">${t(ctx.locale, "passkey.use")}</button>
</form>
<p class="divider"><span>${t(ctx.locale, "form.or")}</span></p>
</div>
${passkeysScript}
`;
}

/** The second step's passkey form (mfa-pages.ts shows it as one of the ways to prove a factor). */
export function passkeySecondFactorForm(ctx: Pick<FormContext, "requestId" | "csrf" | "locale">): SafeHtml {
  return html`<form method="post" action="/auth/mfa/passkey" data-passkey="authenticate" data-options="/auth/mfa/passkey/options">
  ${hiddenFields({ request: ctx.requestId, csrf: ctx.csrf })}
  <p class="hint">${t(ctx.locale, "passkey.second_factor_hint")}</p>
  ${scriptError(ctx.locale)}
  <button type="submit" id="passkey-second-factor">${t(ctx.locale, "mfa.use_passkey")}</button>
</form>
${passkeysScript}`;
}

/** The registration form: a name for the passkey and the button that creates it. */
export function passkeyRegisterForm(
  fields: Record<string, string>,
  action: string,
  optionsUrl: string,
  button: string,
  locale: Locale,
): SafeHtml {
  return html`<form method="post" action="${action}" data-passkey="register" data-options="${optionsUrl}">
  ${hiddenFields(fields)}
  <label for="passkey-name">${t(locale, "passkey.name")}</label>
  <input id="passkey-name" name="name" type="text" maxlength="100" autocomplete="off" placeholder="${t(locale, "passkey.name_placeholder")}" aria-describedby="passkey-name-hint">
  <p class="hint" id="passkey-name-hint">${t(locale, "passkey.name_hint")}</p>
  ${scriptError(locale)}
  <button type="submit" id="passkey-register">${button}</button>
</form>
${passkeysScript}`;
}

/** The sign-in step under the "mandatory" passkey policy: create one before continuing. */
export function passkeyEnrollPage(ctx: FormContext): string {
  const { locale } = ctx;
  return page({
    title: t(locale, "passkey.enroll_title"),
    businessName: ctx.businessName,
    brand: ctx.brand,
    lang: locale,
    body: html`<h1>${t(locale, "passkey.enroll_title")}</h1>
<p class="lead">${t(locale, "passkey.enroll_lead", { app: ctx.applicationName })}</p>
${ctx.error ? html`<p class="error" id="form-error" role="alert">${ctx.error}</p>` : ""}
${passkeyRegisterForm(
  { request: ctx.requestId, csrf: ctx.csrf },
  "/auth/passkey/register",
  "/auth/passkey/register/options",
  t(locale, "passkey.create"),
  locale,
)}`,
  });
}
