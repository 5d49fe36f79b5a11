// The /device pages (RFC 8628 §3.3): where a signed-in person types the code a device shows, sees
// which application asks and for what, and approves or denies. Plain forms like the sign-in pages
// (pages.ts), with the double-submit CSRF token; no script. Each form carries its language
// forward in a hidden `lang` (requestLocale reads it back: src/i18n/locale.ts).
import type { Brand } from "../branding/brand.js";
import { html, page, type SafeHtml } from "../http/html.js";
import { type NoValues, t, th } from "../i18n/catalogue.js";
import type { Locale } from "../i18n/locale.js";

interface Common {
  businessName: string;
  csrf: string;
  /** Who is signed in (the page says so: approving signs *this* account in on the device). */
  email: string;
  locale: Locale;
  /** The environment's brand (src/branding/): a device request names no organization. */
  brand?: Brand;
}

const SCOPE_LABELS: Readonly<Record<string, NoValues>> = {
  openid: "device.scope_openid",
  profile: "device.scope_profile",
  email: "device.scope_email",
  offline: "device.scope_offline",
  offline_access: "device.scope_offline",
};

function scopeLabel(locale: Locale, scope: string): string {
  const key = Object.hasOwn(SCOPE_LABELS, scope) ? SCOPE_LABELS[scope] : undefined;
  return key ? t(locale, key) : t(locale, "device.scope_other", { scope });
}

function errorBlock(error: string | undefined): SafeHtml | string {
  return error ? html`<p class="error" id="form-error" role="alert">${error}</p>` : "";
}

function signedInAs(ctx: Common): SafeHtml {
  return html`<p class="hint">${t(ctx.locale, "device.signed_in_as", { email: ctx.email })}</p>`;
}

function hiddenFields(ctx: Common): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${ctx.csrf}">
  <input type="hidden" name="lang" value="${ctx.locale}">`;
}

/** §3.3: the code the device shows, typed here (prefilled from verification_uri_complete). */
export function deviceEntryPage(ctx: Common & { value?: string; error?: string }): string {
  const { locale } = ctx;
  const described = ctx.error ? "form-error code-hint" : "code-hint";
  return page({
    title: t(locale, "device.entry_title"),
    businessName: ctx.businessName,
    brand: ctx.brand,
    lang: locale,
    body: html`<h1>${t(locale, "device.entry_title")}</h1>
<p class="lead">${t(locale, "device.entry_lead")}</p>
${errorBlock(ctx.error)}
<form method="post" action="/device" novalidate>
  ${hiddenFields(ctx)}
  <label for="user_code">${t(locale, "form.code")}</label>
  <input id="user_code" name="user_code" type="text" autocomplete="off" autocapitalize="characters"
    spellcheck="false" maxlength="32" required value="${ctx.value ?? ""}" aria-describedby="${described}" autofocus>
  <p class="hint" id="code-hint">${t(locale, "device.code_hint")}</p>
  <button type="submit">${t(locale, "form.continue")}</button>
</form>
${signedInAs(ctx)}`,
  });
}

/**
 * §5.4 (remote phishing): before anything is granted the person sees which application asks,
 * for what, and the code they are answering — and must press a button.
 */
export function deviceConfirmPage(
  ctx: Common & {
    userCode: string;
    applicationName: string;
    scopes: readonly string[];
    audiences: readonly string[];
  },
): string {
  const { locale } = ctx;
  const asks = ctx.scopes.map((scope) => scopeLabel(locale, scope));
  return page({
    title: t(locale, "device.confirm_title"),
    businessName: ctx.businessName,
    brand: ctx.brand,
    lang: locale,
    body: html`<h1>${t(locale, "device.confirm_title")}</h1>
<p class="lead">${th(locale, "device.confirm_lead", {
      app: html`<strong>${ctx.applicationName}</strong>`,
      code: html`<strong>${ctx.userCode}</strong>`,
    })}</p>
${
  asks.length > 0
    ? html`<p>${t(locale, "device.able_to")}</p>
<ul class="scopes">${asks.map((label) => html`<li>${label}</li>`)}</ul>`
    : ""
}${
  ctx.audiences.length > 0
    ? html`<p>${th(locale, "device.audiences", {
        audiences: html`${ctx.audiences.map((a, i) => html`${i > 0 ? ", " : ""}<code>${a}</code>`)}`,
      })}</p>`
    : ""
}
<p class="hint">${t(locale, "device.warning", { business: ctx.businessName })}</p>
<form method="post" action="/device/decision">
  ${hiddenFields(ctx)}
  <input type="hidden" name="user_code" value="${ctx.userCode}">
  <button type="submit" name="decision" value="approve">${t(locale, "device.approve")}</button>
  <button type="submit" name="decision" value="deny" class="secondary">${t(locale, "device.deny")}</button>
</form>
${signedInAs(ctx)}`,
  });
}

/** The answer was recorded: the device learns it at its next poll. */
export function deviceDonePage(ctx: {
  businessName: string;
  approved: boolean;
  applicationName: string;
  locale: Locale;
  brand?: Brand;
}): string {
  const { locale } = ctx;
  const app = ctx.applicationName;
  const title = t(locale, ctx.approved ? "device.approved_title" : "device.denied_title");
  return page({
    title,
    businessName: ctx.businessName,
    brand: ctx.brand,
    lang: locale,
    body: html`<h1>${title}</h1>
<p class="lead" role="status">${t(locale, ctx.approved ? "device.approved_lead" : "device.denied_lead", { app })}</p>`,
  });
}

/**
 * The session cannot answer for this application as it is (a second factor the organization asks
 * for, or a connection the application does not offer): a new sign-in first, by the person's choice.
 */
export function deviceSignInAgainPage(ctx: Common & { userCode: string; applicationName: string }): string {
  const { locale } = ctx;
  return page({
    title: t(locale, "device.again_title"),
    businessName: ctx.businessName,
    brand: ctx.brand,
    lang: locale,
    body: html`<h1>${t(locale, "device.again_title")}</h1>
<p class="lead">${t(locale, "device.again_lead", { app: ctx.applicationName })}</p>
<form method="post" action="/device/sign-in">
  ${hiddenFields(ctx)}
  <input type="hidden" name="user_code" value="${ctx.userCode}">
  <button type="submit">${t(locale, "device.sign_in")}</button>
</form>
${signedInAs(ctx)}`,
  });
}
