// The account pages' HTML: the hosted pages' look (their stylesheet, plain forms with the CSRF
// token, no script) with a small stylesheet of their own for lists and sections. The QR code is
// inline SVG drawn by the server, as on the sign-in's enrolment page.
import type { Brand } from "../branding/brand.js";
import { html, page, raw, type SafeHtml } from "../http/html.js";
import { type NoValues, t, th } from "../i18n/catalogue.js";
import { DEFAULT_LOCALE, type Locale } from "../i18n/locale.js";
import type { MfaPolicy } from "../mfa/policy.js";
import type { MfaFactorType } from "../storage/schema.js";

export const ACCOUNT_STYLESHEET_PATH = "/assets/account.css";

export interface FactorView {
  id: string;
  type: MfaFactorType;
  createdAt: number;
  lastUsedAt: number | null;
}

export interface SessionView {
  id: string;
  createdAt: number;
  ipAddress: string | null;
  userAgent: string | null;
  current: boolean;
}

export interface ConnectedAppView {
  id: string;
  name: string;
  needsReauthorization: boolean;
  createdAt: number;
}

export interface AccountView {
  businessName: string;
  brand?: Brand;
  csrf: string;
  /** The pages' language (requestLocale: `lang`, then the browser's languages). */
  locale: Locale;
  email: string | null;
  givenName: string;
  familyName: string;
  /** Whether the sign-in is recent enough for changes (account-sign-in.ts). */
  fresh: boolean;
  notice?: string;
  errors?: Partial<Record<"profile" | "password", string>>;
  /** Passwords sign in here (the business's setting); the section is left out otherwise. */
  passwords: boolean;
  hasPassword: boolean;
  twoStep: {
    policy: MfaPolicy;
    factors: readonly FactorView[];
    canAddAuthenticator: boolean;
    /** Unused recovery codes, when the account has an authenticator app and the setting offers them. */
    recoveryCodesLeft?: number;
  };
  /** Link to /account/passkeys (passkeys not off). */
  passkeys: boolean;
  sessions: readonly SessionView[];
  connectedApps: readonly ConnectedAppView[];
}

export const FACTOR_LABELS: Record<MfaFactorType, NoValues> = {
  "mfa:authenticator_app": "account.factor_app",
  "mfa:email": "account.factor_email",
  "mfa:sms": "account.factor_sms",
};

/** The hosted pages' layout (page() in http/html.ts: logo, theme, brand colours, policy links). */
export function accountLayout(options: {
  title: string;
  businessName: string;
  body: SafeHtml;
  locale: Locale;
  /** The environment's brand (src/branding/), as on the sign-in pages. */
  brand?: Brand;
}): string {
  return page({
    title: options.title,
    businessName: options.businessName,
    lang: options.locale,
    brand: options.brand,
    body: options.body,
    stylesheet: ACCOUNT_STYLESHEET_PATH,
    cardClass: "card account",
  });
}

/** A link to another account page, keeping a language other than the default (`?lang=`). */
function href(path: string, locale: Locale): string {
  return locale === DEFAULT_LOCALE ? path : `${path}?lang=${locale}`;
}

/** The CSRF token, and the page's language carried forward (a POST has no `?lang=`). */
function csrfField(csrf: string, locale: Locale): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${csrf}">
  <input type="hidden" name="lang" value="${locale}">`;
}

function when(locale: Locale, seconds: number): SafeHtml {
  const date = new Date(seconds * 1000);
  const shown = new Intl.DateTimeFormat(locale === "fr" ? "fr-FR" : "en-GB", {
    dateStyle: "medium",
    timeStyle: "short",
    timeZone: "UTC",
  }).format(date);
  return html`<time datetime="${date.toISOString()}">${shown} UTC</time>`;
}

function errorBlock(id: string, error: string | undefined): SafeHtml | string {
  return error ? html`<p class="error" id="${id}" role="alert">${error}</p>` : "";
}

/** One row of a list, with its action as a form of its own. */
function item(
  body: SafeHtml,
  action?: { path: string; csrf: string; locale: Locale; label: string; name?: string; value?: string },
) {
  return html`<li class="item"><span>${body}</span>${
    action
      ? html`<form method="post" action="${action.path}">
    ${csrfField(action.csrf, action.locale)}${action.name ? html`<input type="hidden" name="${action.name}" value="${action.value ?? ""}">` : ""}
    <button type="submit" class="secondary">${action.label}</button>
  </form>`
      : ""
  }</li>
`;
}

export function accountPage(view: AccountView): string {
  const { locale } = view;
  const name = [view.givenName, view.familyName].filter(Boolean).join(" ");
  return accountLayout({
    title: t(locale, "account.title"),
    businessName: view.businessName,
    brand: view.brand,
    locale,
    body: html`<h1>${t(locale, "account.title")}</h1>
<p class="lead">${name ? html`${name} &middot; ` : ""}${view.email ?? t(locale, "account.no_email")}</p>
${view.notice ? html`<p class="notice" role="status">${view.notice}</p>` : ""}${
  view.fresh
    ? ""
    : html`<p class="notice" id="sign-in-again">${th(locale, "account.sign_in_again_notice", {
        link: html`<a href="${href("/account/sign-in", locale)}">${t(locale, "account.sign_in_again_link")}</a>`,
      })}</p>`
}
${profileSection(view)}
${view.passwords ? passwordSection(view) : ""}
${twoStepSection(view)}
${sessionsSection(view)}
${connectedAppsSection(view)}`,
  });
}

function profileSection(view: AccountView): SafeHtml {
  const { locale } = view;
  const error = view.errors?.profile;
  return html`<section aria-labelledby="profile-heading">
<h2 id="profile-heading">${t(locale, "account.profile")}</h2>
${errorBlock("profile-error", error)}
<form method="post" action="/account/profile" novalidate>
  ${csrfField(view.csrf, locale)}
  <div class="row">
    <div><label for="given_name">${t(locale, "sign_up.given_name")}</label>
    <input id="given_name" name="given_name" autocomplete="given-name" maxlength="100" value="${view.givenName}"></div>
    <div><label for="family_name">${t(locale, "sign_up.family_name")}</label>
    <input id="family_name" name="family_name" autocomplete="family-name" maxlength="100" value="${view.familyName}"></div>
  </div>
  <p class="hint">${th(locale, "account.email_is", {
    email: html`<strong id="account-email">${view.email ?? t(locale, "account.email_none")}</strong>`,
  })}</p>
  <button type="submit">${t(locale, "account.save_name")}</button>
</form>
</section>`;
}

function passwordSection(view: AccountView): SafeHtml {
  const { locale } = view;
  const error = view.errors?.password;
  const described = error ? "password-error password-hint" : "password-hint";
  return html`<section aria-labelledby="password-heading">
<h2 id="password-heading">${t(locale, "account.password")}</h2>
${errorBlock("password-error", error)}
<form method="post" action="/account/password" novalidate>
  ${csrfField(view.csrf, locale)}
  <input type="text" name="username" autocomplete="username" value="${view.email ?? ""}" hidden>
  ${
    view.hasPassword
      ? html`<label for="current_password">${t(locale, "account.current_password")}</label>
  <input id="current_password" name="current_password" type="password" autocomplete="current-password" required>`
      : html`<p class="hint">${t(locale, "account.no_password_yet")}</p>`
  }
  <label for="new_password">${t(locale, "form.new_password")}</label>
  <input id="new_password" name="new_password" type="password" autocomplete="new-password" minlength="8" required
    aria-describedby="${described}">
  <p class="hint" id="password-hint">${t(locale, "account.password_hint")}</p>
  <button type="submit">${t(locale, view.hasPassword ? "account.change_password" : "account.choose_password")}</button>
</form>
</section>`;
}

function twoStepSection(view: AccountView): SafeHtml {
  const { twoStep, csrf, locale } = view;
  const lead = t(
    locale,
    twoStep.policy === "off"
      ? "account.two_step_off"
      : twoStep.factors.length > 0
        ? "account.two_step_on"
        : twoStep.policy === "required"
          ? "account.two_step_required"
          : "account.two_step_optional",
  );
  return html`<section aria-labelledby="two-step-heading">
<h2 id="two-step-heading">${t(locale, "account.two_step")}</h2>
<p class="hint">${lead}</p>
${
  twoStep.factors.length > 0
    ? html`<ul class="items" id="factors">
${twoStep.factors.map((factor) =>
  item(
    html`${t(locale, FACTOR_LABELS[factor.type])}<span class="meta">${th(locale, "account.added", { when: when(locale, factor.createdAt) })}${
      factor.lastUsedAt
        ? html` &middot; ${th(locale, "account.last_used", { when: when(locale, factor.lastUsedAt) })}`
        : ""
    }</span>`,
    {
      path: "/account/two-step/remove",
      csrf,
      locale,
      label: t(locale, "account.remove"),
      name: "factor_id",
      value: factor.id,
    },
  ),
)}</ul>
<p class="hint">${t(locale, "account.remove_signs_out")}</p>`
    : ""
}${
  twoStep.canAddAuthenticator
    ? html`<form method="post" action="/account/two-step/authenticator">
  ${csrfField(csrf, locale)}
  <button type="submit">${t(locale, "account.set_up_app")}</button>
</form>`
    : ""
}${
  twoStep.recoveryCodesLeft !== undefined
    ? html`<p class="hint" id="recovery-codes-left">${t(locale, "account.recovery_left", { count: twoStep.recoveryCodesLeft })}</p>
<form method="post" action="/account/two-step/recovery-codes">
  ${csrfField(csrf, locale)}
  <button type="submit" class="secondary">${t(locale, "account.new_recovery_codes")}</button>
</form>`
    : ""
}${view.passkeys ? html`<p class="switch"><a href="${href("/account/passkeys", locale)}">${t(locale, "account.passkeys")}</a></p>` : ""}
</section>`;
}

function sessionsSection(view: AccountView): SafeHtml {
  const { locale } = view;
  return html`<section aria-labelledby="sessions-heading">
<h2 id="sessions-heading">${t(locale, "account.sessions")}</h2>
<ul class="items" id="sessions">
${view.sessions.map((session) =>
  item(
    html`${session.userAgent ? describeBrowser(locale, session.userAgent) : t(locale, "account.unknown_browser")}${
      session.current ? html` <strong>${t(locale, "account.this_browser")}</strong>` : ""
    }<span class="meta">${th(locale, "account.since", { when: when(locale, session.createdAt) })}${session.ipAddress ? ` · ${session.ipAddress}` : ""}</span>`,
  ),
)}</ul>
<form method="post" action="/account/sessions/sign-out-everywhere">
  ${csrfField(view.csrf, locale)}
  <button type="submit" class="secondary">${t(locale, "account.sign_out_everywhere")}</button>
</form>
</section>`;
}

function connectedAppsSection(view: AccountView): SafeHtml {
  const { locale } = view;
  return html`<section aria-labelledby="apps-heading">
<h2 id="apps-heading">${t(locale, "account.connected_apps")}</h2>
${
  view.connectedApps.length === 0
    ? html`<p class="hint">${t(locale, "account.no_apps")}</p>`
    : html`<p class="hint">${t(locale, "account.apps_lead", { business: view.businessName })}</p>
<ul class="items" id="connected-apps">
${view.connectedApps.map((app) =>
  item(
    html`${app.name}<span class="meta">${th(locale, "account.connected", { when: when(locale, app.createdAt) })}${
      app.needsReauthorization ? ` · ${t(locale, "account.needs_reconnect")}` : ""
    }</span>`,
    {
      path: "/account/connected-apps/revoke",
      csrf: view.csrf,
      locale,
      label: t(locale, "account.disconnect"),
      name: "id",
      value: app.id,
    },
  ),
)}</ul>`
}
</section>`;
}

/** A browser's name as a person recognises it, from its User-Agent (no more than a hint). */
function describeBrowser(locale: Locale, userAgent: string): string {
  const browser =
    [
      ["Edg/", "Edge"],
      ["Firefox/", "Firefox"],
      ["Chrome/", "Chrome"],
      ["Safari/", "Safari"],
    ].find(([token]) => userAgent.includes(token!))?.[1] ?? t(locale, "account.browser");
  const system =
    [
      ["Android", "Android"],
      ["iPhone", "iPhone"],
      ["iPad", "iPad"],
      ["Windows", "Windows"],
      ["Mac OS X", "macOS"],
      ["Linux", "Linux"],
    ].find(([token]) => userAgent.includes(token!))?.[1] ?? undefined;
  return system ? t(locale, "account.browser_on", { browser, system }) : browser;
}

/** Setting up an authenticator app: the QR code, the key for typing in, and the first code. */
export function authenticatorPage(ctx: {
  businessName: string;
  brand?: Brand;
  csrf: string;
  sealed: string;
  secret: string;
  qrSvg: string;
  locale: Locale;
  error?: string;
}): string {
  const { locale } = ctx;
  const grouped = ctx.secret.replace(/(.{4})/g, "$1 ").trim();
  const described = ctx.error ? "form-error code-hint" : "code-hint";
  return accountLayout({
    title: t(locale, "account.set_up_app"),
    businessName: ctx.businessName,
    brand: ctx.brand,
    locale,
    body: html`<h1>${t(locale, "account.set_up_app")}</h1>
<p class="lead">${t(locale, "account.app_lead")}</p>
${errorBlock("form-error", ctx.error)}
<ol class="steps">
  <li>${t(locale, "mfa.enroll_step_open")}</li>
  <li>${t(locale, "mfa.enroll_step_scan")}</li>
</ol>
<figure class="qr" aria-label="${t(locale, "mfa.qr_label")}">${raw(ctx.qrSvg)}</figure>
<p class="hint">${t(locale, "mfa.key")} <code id="totp-secret" data-secret="${ctx.secret}">${grouped}</code></p>
<form method="post" action="/account/two-step/authenticator/confirm" novalidate>
  ${csrfField(ctx.csrf, locale)}
  <input type="hidden" name="sealed" value="${ctx.sealed}">
  <label for="code">${t(locale, "mfa.enroll_code")}</label>
  <input id="code" name="code" type="text" inputmode="numeric" pattern="[0-9 ]*" autocomplete="one-time-code"
    maxlength="8" required aria-describedby="${described}" autofocus>
  <p class="hint" id="code-hint">${t(locale, "mfa.enroll_code_hint")}</p>
  <button type="submit">${t(locale, "mfa.turn_on")}</button>
</form>
<p class="switch"><a href="${href("/account", locale)}">${t(locale, "account.cancel")}</a></p>`,
  });
}

/** Recovery codes, shown once (at set-up, or new ones that replace the old). */
export function recoveryCodesPage(ctx: {
  businessName: string;
  brand?: Brand;
  codes: readonly string[];
  enrolled: boolean;
  locale: Locale;
}): string {
  const { locale } = ctx;
  return accountLayout({
    title: t(locale, "mfa.recovery_title"),
    businessName: ctx.businessName,
    brand: ctx.brand,
    locale,
    body: html`<h1>${t(locale, "mfa.recovery_title")}</h1>
<p class="lead">${t(locale, ctx.enrolled ? "account.recovery_enrolled" : "account.recovery_replaced")} ${t(locale, "account.recovery_keep")}</p>
<ul class="recovery-codes" id="recovery-codes">
${ctx.codes.map(
  (code) => html`  <li><code>${code}</code></li>
`,
)}</ul>
${
  ctx.enrolled ? html`<p class="hint">${t(locale, "account.recovery_sign_in_again")}</p>` : ""
}<p class="switch"><a href="${href("/account", locale)}">${t(locale, "account.recovery_saved")}</a></p>`,
  });
}

/** After a change that ended every session (a new password, a factor removed, signing out everywhere). */
export function signedOutPage(ctx: {
  businessName: string;
  brand?: Brand;
  title: string;
  message: string;
  locale: Locale;
}): string {
  return accountLayout({
    title: ctx.title,
    businessName: ctx.businessName,
    brand: ctx.brand,
    locale: ctx.locale,
    body: html`<h1>${ctx.title}</h1>
<p class="notice" role="status">${ctx.message}</p>
<p class="switch"><a href="${href("/account", ctx.locale)}">${t(ctx.locale, "account.sign_in_again")}</a></p>`,
  });
}

export function accountErrorPage(ctx: {
  businessName: string;
  brand?: Brand;
  title: string;
  message: string;
  locale: Locale;
}): string {
  return accountLayout({
    title: ctx.title,
    businessName: ctx.businessName,
    brand: ctx.brand,
    locale: ctx.locale,
    body: html`<h1>${ctx.title}</h1>
<p class="error" role="alert">${ctx.message}</p>
<p class="switch"><a href="${href("/account", ctx.locale)}">${t(ctx.locale, "account.back")}</a></p>`,
  });
}

export const ACCOUNT_STYLESHEET = `
.card.account { max-width: 38rem; }
.account section { margin-top: 2rem; padding-top: 1.5rem; border-top: 1px solid var(--border); }
.account h2 { margin: 0 0 .5rem; font-size: 1.125rem; }
.account .items { list-style: none; margin: .75rem 0 0; padding: 0; display: grid; gap: .5rem; }
.account .item { display: flex; gap: .75rem; align-items: center; justify-content: space-between; padding: .75rem;
  border: 1px solid var(--border); border-radius: 8px; }
.account .item form { flex: none; }
.account .item button { width: auto; margin: 0; padding: .375rem .75rem; }
.account .meta { display: block; font-size: .875rem; opacity: .8; }
.account .steps { padding-left: 1.25rem; }
.account .qr { margin: 1rem auto; width: 12rem; }
.account .qr svg { display: block; width: 100%; height: auto; }
.account .recovery-codes { columns: 2; padding-left: 1.5rem; font-size: 1.05rem; }
`;
