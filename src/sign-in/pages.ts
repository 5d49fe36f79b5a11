// The hosted sign-in and sign-up pages: plain HTML forms with standard field names and
// autocomplete attributes, so password managers (and tests) fill them. The one script is the
// passkeys' (src/passkeys/), on pages that offer one; everything else works without it.

import type { Brand } from "../branding/brand.js";
import { DEFAULT_SIGN_IN_METHODS, type SignInMethods } from "../business/business.store.js";
import { html, page, type SafeHtml } from "../http/html.js";
import { lifetime, t, th } from "../i18n/catalogue.js";
import type { Locale } from "../i18n/locale.js";
import type { AuthorizationRequest } from "../oauth/authorize.js";
import { passkeySignInSection } from "../passkeys/passkey-pages.js";
import { logoPath } from "./provider-logos.js";

/** What a sign-in page needs of its authorization request: the application, and the language. */
export type SignInTarget = Pick<AuthorizationRequest, "clientId" | "locale" | "orgCode" | "invitation">;

export interface FormContext {
  businessName: string;
  applicationName: string;
  requestId: string;
  csrf: string;
  /** The language of the pages (src/i18n/): chosen once for the sign-in and kept with its request. */
  locale: Locale;
  email?: string;
  /** The address may not be changed (an invitation is for one address: src/invitations/). */
  emailLocked?: boolean;
  /** The application takes no sign-ups (the dashboard: dashboard-sign-in.ts): no link to them. */
  noSignUp?: boolean;
  /** Logo, colours and policy links: the environment's, or the org_code organization's over it. */
  brand?: Brand;
  error?: string;
}

function errorBlock(error: string | undefined): SafeHtml | string {
  return error ? html`<p class="error" id="form-error" role="alert">${error}</p>` : "";
}

/**
 * The sign-in form. By default it resumes an OAuth authorization request; `action` and `hidden`
 * let another flow (a connected-app link) post it to itself instead. `methods` (the business's
 * setting, both by default) decides what it offers: the password form, a code by e-mail, or — with
 * passwords off — only the address a code goes to.
 */
export function signInPage(
  ctx: FormContext & {
    action?: string;
    hidden?: Record<string, string>;
    lead?: string;
    methods?: Readonly<SignInMethods>;
    connections?: readonly ConnectionButton[];
    /** Offer a passkey (the button, and passkeys in the e-mail field's autofill: src/passkeys/). */
    passkeys?: boolean;
  },
): string {
  const methods = ctx.methods ?? DEFAULT_SIGN_IN_METHODS;
  const described = ctx.error ? "form-error" : undefined;
  const action = ctx.action ?? "/auth/sign-in";
  const hidden = ctx.hidden ?? { request: ctx.requestId };
  const request = encodeURIComponent(ctx.requestId);
  const passkeys = ctx.passkeys === true && !ctx.action;
  const { locale } = ctx;
  const emailField = html`<label for="email">${t(locale, "form.email")}</label>
  <input id="email" name="email" type="email" autocomplete="${passkeys ? "username webauthn" : "username"}" inputmode="email" required
    value="${ctx.email ?? ""}" ${described ? html`aria-describedby="${described}"` : ""}${ctx.emailLocked ? html` readonly` : html` autofocus`}>`;
  const signUpLink = ctx.noSignUp
    ? ""
    : html`<p class="switch">${t(locale, "sign_in.no_account")} <a href="/auth/sign-up?request=${request}">${t(locale, "sign_in.create_one")}</a></p>`;
  let body: SafeHtml;
  if (methods.password) {
    body = html`<form method="post" action="${action}" novalidate>
  ${Object.entries(hidden).map(
    ([name, value]) => html`<input type="hidden" name="${name}" value="${value}">
  `,
  )}<input type="hidden" name="csrf" value="${ctx.csrf}">
  ${emailField}
  <label for="password">${t(locale, "form.password")}</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit">${t(locale, "sign_in.submit")}</button>
</form>
${
  ctx.action
    ? ""
    : html`<p class="switch"><a href="/auth/forgot-password?request=${request}">${t(locale, "sign_in.forgot_password")}</a>${
        methods.email_code
          ? html`
  &middot; <a href="/auth/email-code?request=${request}">${t(locale, "sign_in.email_me_code")}</a>`
          : ""
      }</p>
${
  // Without codes, an account made without a password (Management API, CLI) gets one by the reset.
  methods.email_code
    ? ""
    : html`<p class="hint">${t(locale, "sign_in.no_password_yet")}</p>
`
}${signUpLink}`
}`;
  } else if (ctx.action) {
    // Only a password signs in on this page; with passwords off, the person signs in to the
    // application (by code) first and comes back to the link with that session.
    body = html`<p class="notice" role="status">${t(locale, "sign_in.code_first", { app: ctx.applicationName })}</p>`;
  } else {
    // Passwords off: the page asks for the address a sign-in code goes to (email-code.routes.ts).
    body = html`<form method="post" action="/auth/email-code" novalidate>
  <input type="hidden" name="request" value="${ctx.requestId}">
  <input type="hidden" name="csrf" value="${ctx.csrf}">
  ${emailField}
  <p class="hint">${t(locale, "sign_in.code_hint")}</p>
  <button type="submit">${t(locale, "sign_in.email_me_code")}</button>
</form>
${signUpLink}`;
  }
  return page({
    title: t(locale, "sign_in.title"),
    businessName: ctx.businessName,
    brand: ctx.brand,
    lang: locale,
    body: html`<h1>${t(locale, "sign_in.title")}</h1>
<p class="lead">${ctx.lead ?? t(locale, "sign_in.lead", { app: ctx.applicationName })}</p>
${errorBlock(ctx.error)}
${ctx.action ? "" : connectionButtons(locale, ctx.requestId, ctx.connections)}${passkeys ? passkeySignInSection(ctx) : ""}${body}`,
  });
}

/** A connection the page offers (connection-sign-in.routes.ts). */
export interface ConnectionButton {
  id: string;
  displayName: string;
  /** Which mark the button shows (provider-logos.ts). */
  strategy: string;
}

/**
 * "Continue with …" per connection: links to our own start route, with a mark served by Latchkey
 * (provider-logos.ts), so the page itself makes no request to any provider or other site. The
 * text names the provider; the mark is decoration (alt="").
 */
function connectionButtons(
  locale: Locale,
  requestId: string,
  connections: readonly ConnectionButton[] | undefined,
) {
  if (!connections || connections.length === 0) return "";
  const request = encodeURIComponent(requestId);
  return html`<ul class="connections">
${connections.map(
  (
    c,
  ) => html`  <li><a class="connection" href="/auth/connections/${c.id}?request=${request}"><img class="mark" src="${logoPath(c.strategy)}" alt="" width="20" height="20"> ${t(locale, "sign_in.continue_with", { provider: c.displayName })}</a></li>
`,
)}</ul>
<p class="divider"><span>${t(locale, "form.or")}</span></p>
`;
}

/** The sign-up form; `passwordless` (passwords off) asks for no password: a code proves the address. */
export function signUpPage(
  ctx: FormContext & {
    givenName?: string;
    familyName?: string;
    passwordless?: boolean;
    connections?: readonly ConnectionButton[];
    lead?: string;
  },
): string {
  const { locale } = ctx;
  return page({
    title: t(locale, "sign_up.title"),
    businessName: ctx.businessName,
    brand: ctx.brand,
    lang: locale,
    body: html`<h1>${t(locale, "sign_up.title")}</h1>
<p class="lead">${ctx.lead ?? t(locale, "sign_in.lead", { app: ctx.applicationName })}</p>
${errorBlock(ctx.error)}
${connectionButtons(locale, ctx.requestId, ctx.connections)}<form method="post" action="/auth/sign-up" novalidate>
  <input type="hidden" name="request" value="${ctx.requestId}">
  <input type="hidden" name="csrf" value="${ctx.csrf}">
  <div class="row">
    <div><label for="given_name">${t(locale, "sign_up.given_name")}</label>
    <input id="given_name" name="given_name" autocomplete="given-name" value="${ctx.givenName ?? ""}"></div>
    <div><label for="family_name">${t(locale, "sign_up.family_name")}</label>
    <input id="family_name" name="family_name" autocomplete="family-name" value="${ctx.familyName ?? ""}"></div>
  </div>
  <label for="email">${t(locale, "form.email")}</label>
  <input id="email" name="email" type="email" autocomplete="email" inputmode="email" required value="${ctx.email ?? ""}"${ctx.emailLocked ? html` readonly` : ""}>
  ${
    ctx.passwordless
      ? html`<p class="hint">${t(locale, "sign_up.passwordless_hint")}</p>`
      : html`<label for="password">${t(locale, "form.password")}</label>
  <input id="password" name="password" type="password" autocomplete="new-password" minlength="8" required
    aria-describedby="password-hint">
  <p class="hint" id="password-hint">${t(locale, "form.password_hint")}</p>`
  }
  <button type="submit">${t(locale, "sign_up.submit")}</button>
</form>
<p class="switch">${t(locale, "sign_up.have_account")} <a href="/auth/sign-in?request=${encodeURIComponent(ctx.requestId)}">${t(locale, "sign_up.sign_in")}</a></p>`,
  });
}

/**
 * The code-entry page (NIST SP 800-63B §5.1.3): one numeric field the browser can fill from the
 * message (autocomplete="one-time-code"), working without JavaScript; "send a new code" is a second
 * form so it never submits the code. The address-verification step by default; `action`,
 * `resendAction`, `lead` and `newPassword` make it the passwordless and password-reset step.
 */
export function emailCodePage(
  ctx: FormContext & {
    email: string;
    notice?: string;
    action?: string;
    resendAction?: string;
    lead?: string;
    newPassword?: boolean;
    /** How long the code stays valid, for the hint. */
    lifetimeSeconds?: number;
  },
): string {
  const described = ctx.error ? "form-error code-hint" : "code-hint";
  const action = ctx.action ?? "/auth/verify-email";
  const resendAction = ctx.resendAction ?? `${action}/resend`;
  const { locale } = ctx;
  return page({
    title: t(locale, "email_code.title"),
    businessName: ctx.businessName,
    brand: ctx.brand,
    lang: locale,
    body: html`<h1>${t(locale, "email_code.title")}</h1>
<p class="lead">${ctx.lead ?? th(locale, "email_code.sent_to", { email: html`<strong>${ctx.email}</strong>`, app: ctx.applicationName })}</p>
${errorBlock(ctx.error)}${ctx.notice ? html`<p class="notice" role="status">${ctx.notice}</p>` : ""}
<form method="post" action="${action}" novalidate>
  <input type="hidden" name="request" value="${ctx.requestId}">
  <input type="hidden" name="csrf" value="${ctx.csrf}">
  <label for="code">${t(locale, "form.code")}</label>
  <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 -]*"
    maxlength="12" required aria-describedby="${described}" autofocus>
  <p class="hint" id="code-hint">${t(locale, "email_code.valid_for", { duration: lifetime(locale, ctx.lifetimeSeconds ?? 7200) })}</p>
  ${
    ctx.newPassword
      ? html`<label for="password">${t(locale, "form.new_password")}</label>
  <input id="password" name="password" type="password" autocomplete="new-password" minlength="8" required
    aria-describedby="password-hint">
  <p class="hint" id="password-hint">${t(locale, "form.password_hint")}</p>`
      : ""
  }
  <button type="submit">${t(locale, "form.continue")}</button>
</form>
<form method="post" action="${resendAction}">
  <input type="hidden" name="request" value="${ctx.requestId}">
  <input type="hidden" name="csrf" value="${ctx.csrf}">
  <button type="submit" class="secondary">${t(locale, "email_code.resend")}</button>
</form>`,
  });
}

/** A new password the account must choose before its sign-in finishes (steps.ts). */
export function choosePasswordPage(ctx: FormContext): string {
  const { locale } = ctx;
  return page({
    title: t(locale, "choose_password.title"),
    businessName: ctx.businessName,
    brand: ctx.brand,
    lang: locale,
    body: html`<h1>${t(locale, "choose_password.title")}</h1>
<p class="lead">${t(locale, "choose_password.lead", { app: ctx.applicationName })}</p>
${errorBlock(ctx.error)}
<form method="post" action="/auth/choose-password" novalidate>
  <input type="hidden" name="request" value="${ctx.requestId}">
  <input type="hidden" name="csrf" value="${ctx.csrf}">
  <label for="password">${t(locale, "form.new_password")}</label>
  <input id="password" name="password" type="password" autocomplete="new-password" minlength="8" required
    aria-describedby="password-hint" autofocus>
  <p class="hint" id="password-hint">${t(locale, "form.password_hint")}</p>
  <button type="submit">${t(locale, "form.continue")}</button>
</form>`,
  });
}

/** Asks for the address a code goes to: passwordless sign-in, or a forgotten password. */
export function emailCodeRequestPage(
  ctx: FormContext & { title: string; lead: string; action: string; button: string },
): string {
  const described = ctx.error ? "form-error" : undefined;
  const { locale } = ctx;
  return page({
    title: ctx.title,
    businessName: ctx.businessName,
    brand: ctx.brand,
    lang: locale,
    body: html`<h1>${ctx.title}</h1>
<p class="lead">${ctx.lead}</p>
${errorBlock(ctx.error)}
<form method="post" action="${ctx.action}" novalidate>
  <input type="hidden" name="request" value="${ctx.requestId}">
  <input type="hidden" name="csrf" value="${ctx.csrf}">
  <label for="email">${t(locale, "form.email")}</label>
  <input id="email" name="email" type="email" autocomplete="username" inputmode="email" required
    value="${ctx.email ?? ""}" ${described ? html`aria-describedby="${described}"` : ""} autofocus>
  <button type="submit">${ctx.button}</button>
</form>
<p class="switch"><a href="/auth/sign-in?request=${encodeURIComponent(ctx.requestId)}">${t(locale, "form.back_to_sign_in")}</a></p>`,
  });
}

/** Right after sign-in: connect the apps the business offers, or skip. */
export function connectOfferPage(ctx: {
  businessName: string;
  applicationName: string;
  requestId: string;
  csrf: string;
  locale: Locale;
  offers: { key: string; name: string }[];
  brand?: Brand;
}): string {
  const { locale } = ctx;
  return page({
    title: t(locale, "connect.title"),
    businessName: ctx.businessName,
    lang: locale,
    brand: ctx.brand,
    body: html`<h1>${t(locale, "connect.title")}</h1>
<p class="lead">${t(locale, "connect.lead", { app: ctx.applicationName })}</p>
${ctx.offers.map(
  (offer) => html`<form method="post" action="/auth/connect">
  <input type="hidden" name="request" value="${ctx.requestId}">
  <input type="hidden" name="csrf" value="${ctx.csrf}">
  <input type="hidden" name="key_code_ref" value="${offer.key}">
  <button type="submit">${t(locale, "connect.connect", { name: offer.name })}</button>
</form>`,
)}
<form method="post" action="/auth/continue">
  <input type="hidden" name="request" value="${ctx.requestId}">
  <input type="hidden" name="csrf" value="${ctx.csrf}">
  <button type="submit" class="secondary">${t(locale, "connect.skip")}</button>
</form>`,
  });
}

/**
 * Asked when a sign-out request cannot prove it came from an application the user uses
 * (RP-Initiated Logout §2): one button that POSTs with the CSRF token.
 */
export function logoutConfirmPage(ctx: {
  businessName: string;
  csrf: string;
  redirect: string;
  state: string;
  locale: Locale;
  brand?: Brand;
}): string {
  const { locale } = ctx;
  return page({
    title: t(locale, "logout.confirm_title"),
    businessName: ctx.businessName,
    lang: locale,
    brand: ctx.brand,
    body: html`<h1>${t(locale, "logout.confirm_title")}</h1>
<p class="lead">${t(locale, "logout.confirm_lead", { business: ctx.businessName })}</p>
<form method="post" action="/logout">
  <input type="hidden" name="csrf" value="${ctx.csrf}">
  <input type="hidden" name="lang" value="${locale}">
  ${ctx.redirect ? html`<input type="hidden" name="redirect" value="${ctx.redirect}">` : ""}
  ${ctx.state ? html`<input type="hidden" name="state" value="${ctx.state}">` : ""}
  <button type="submit" autofocus>${t(locale, "logout.sign_out")}</button>
</form>
${ctx.redirect ? html`<p class="switch"><a href="${ctx.redirect}">${t(locale, "logout.stay")}</a></p>` : ""}`,
  });
}

export function signedOutPage(businessName: string, locale: Locale, brand?: Brand): string {
  return page({
    title: t(locale, "logout.done_title"),
    businessName,
    lang: locale,
    brand,
    body: html`<h1>${t(locale, "logout.done_heading")}</h1><p>${t(locale, "logout.done_message")}</p>`,
  });
}

export const STYLESHEET = `
:root { color-scheme: light dark; --accent: #3b5bdb; --error: #c92a2a; --border: #ced4da; --button-text: #fff; }
:root[data-theme=light] { color-scheme: light; }
:root[data-theme=dark] { color-scheme: dark; --accent: #91a7ff; --error: #ff8787; --button-text: #10131a; }
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; padding: 1rem;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  background: var(--background, Canvas); color: var(--text, CanvasText); }
.card { width: 100%; max-width: 26rem; padding: 2rem; border: 1px solid var(--border); border-radius: 12px; }
.business { margin: 0 0 1rem; font-weight: 600; color: var(--accent); }
h1 { margin: 0 0 .25rem; font-size: 1.5rem; }
.lead { margin: 0 0 1.5rem; opacity: .8; }
label { display: block; margin: 1rem 0 .25rem; font-weight: 500; }
input { width: 100%; padding: .625rem .75rem; font: inherit; border: 1px solid var(--border); border-radius: 8px;
  background: Field; color: FieldText; }
input:focus-visible, button:focus-visible, a:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.row { display: grid; grid-template-columns: 1fr 1fr; gap: .75rem; }
.hint { margin: .25rem 0 0; font-size: .875rem; opacity: .8; }
button { width: 100%; margin-top: 1.5rem; padding: .75rem; font: inherit; font-weight: 600; color: var(--button-text);
  background: var(--button, var(--accent)); border: 0; border-radius: 8px; cursor: pointer; }
button.secondary { color: var(--link, var(--accent)); background: transparent; border: 1px solid var(--border); }
.error { padding: .75rem; border-radius: 8px; color: var(--error); border: 1px solid var(--error); }
.notice { padding: .75rem; border-radius: 8px; border: 1px solid var(--border); }
.switch { margin: 1.5rem 0 0; text-align: center; }
a { color: var(--link, var(--accent)); }
.business .logo { display: block; max-width: 100%; max-height: 4rem; width: auto; height: auto; }
.legal { padding: .5rem 1rem; font-size: .875rem; text-align: center; }
.connections { list-style: none; margin: 0; padding: 0; display: grid; gap: .5rem; }
a.connection { display: flex; gap: .5rem; align-items: center; justify-content: center; padding: .75rem;
  font-weight: 600; text-decoration: none; border: 1px solid var(--border); border-radius: 8px; }
a.connection .mark { width: 1.25rem; height: 1.25rem; flex: none; }
.divider { margin: 1.25rem 0 0; text-align: center; font-size: .875rem; opacity: .8; }
h2 { margin: 1.75rem 0 0; font-size: 1.125rem; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.steps { margin: 0 0 1rem; padding-left: 1.25rem; }
.qr { width: 12rem; margin: 0 auto; padding: .5rem; background: #fff; border-radius: 8px; }
.qr svg { display: block; width: 100%; height: auto; }
.recovery-codes { columns: 2; margin: 0; padding: 0; list-style: none; line-height: 2; }
@media (prefers-color-scheme: dark) {
  :root:not([data-theme=light]) { --accent: #91a7ff; --error: #ff8787; --button-text: #10131a; } }
@media (max-width: 400px) { .card { padding: 1.25rem; border: 0; } .row { grid-template-columns: 1fr; } }
`;
