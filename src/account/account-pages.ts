// The account pages' HTML: the hosted pages' look (their stylesheet, plain forms with the CSRF
// token, no script) with a small stylesheet of their own for lists and sections. The QR code is
// inline SVG drawn by the server, as on the sign-in's enrolment page.
import { html, raw, type SafeHtml, STYLESHEET_PATH } from "../http/html.js";
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
  csrf: string;
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

export const FACTOR_LABELS: Record<MfaFactorType, string> = {
  "mfa:authenticator_app": "Authenticator app",
  "mfa:email": "Codes by email",
  "mfa:sms": "Codes by text message",
};

export function accountLayout(options: { title: string; businessName: string; body: SafeHtml }): string {
  return `<!doctype html>${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${options.title} · ${options.businessName}</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
<link rel="stylesheet" href="${ACCOUNT_STYLESHEET_PATH}">
</head>
<body>
<main class="card account">
<p class="business">${options.businessName}</p>
${options.body}
</main>
</body>
</html>`}`;
}

function csrfField(csrf: string): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${csrf}">`;
}

function when(seconds: number): SafeHtml {
  const date = new Date(seconds * 1000);
  const shown = new Intl.DateTimeFormat("en-GB", {
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
  action?: { path: string; csrf: string; label: string; name?: string; value?: string },
) {
  return html`<li class="item"><span>${body}</span>${
    action
      ? html`<form method="post" action="${action.path}">
    ${csrfField(action.csrf)}${action.name ? html`<input type="hidden" name="${action.name}" value="${action.value ?? ""}">` : ""}
    <button type="submit" class="secondary">${action.label}</button>
  </form>`
      : ""
  }</li>
`;
}

export function accountPage(view: AccountView): string {
  const name = [view.givenName, view.familyName].filter(Boolean).join(" ");
  return accountLayout({
    title: "Your account",
    businessName: view.businessName,
    body: html`<h1>Your account</h1>
<p class="lead">${name ? html`${name} · ` : ""}${view.email ?? "No email address"}</p>
${view.notice ? html`<p class="notice" role="status">${view.notice}</p>` : ""}${
  view.fresh
    ? ""
    : html`<p class="notice" id="sign-in-again">You signed in a while ago: before a change is made here, you will be asked to <a href="/account/sign-in">sign in again</a>.</p>`
}
${profileSection(view)}
${view.passwords ? passwordSection(view) : ""}
${twoStepSection(view)}
${sessionsSection(view)}
${connectedAppsSection(view)}`,
  });
}

function profileSection(view: AccountView): SafeHtml {
  const error = view.errors?.profile;
  return html`<section aria-labelledby="profile-heading">
<h2 id="profile-heading">Profile</h2>
${errorBlock("profile-error", error)}
<form method="post" action="/account/profile" novalidate>
  ${csrfField(view.csrf)}
  <div class="row">
    <div><label for="given_name">First name</label>
    <input id="given_name" name="given_name" autocomplete="given-name" maxlength="100" value="${view.givenName}"></div>
    <div><label for="family_name">Last name</label>
    <input id="family_name" name="family_name" autocomplete="family-name" maxlength="100" value="${view.familyName}"></div>
  </div>
  <p class="hint">Email: <strong id="account-email">${view.email ?? "none"}</strong></p>
  <button type="submit">Save name</button>
</form>
</section>`;
}

function passwordSection(view: AccountView): SafeHtml {
  const error = view.errors?.password;
  const described = error ? "password-error password-hint" : "password-hint";
  return html`<section aria-labelledby="password-heading">
<h2 id="password-heading">Password</h2>
${errorBlock("password-error", error)}
<form method="post" action="/account/password" novalidate>
  ${csrfField(view.csrf)}
  <input type="text" name="username" autocomplete="username" value="${view.email ?? ""}" hidden>
  ${
    view.hasPassword
      ? html`<label for="current_password">Current password</label>
  <input id="current_password" name="current_password" type="password" autocomplete="current-password" required>`
      : html`<p class="hint">Your account has no password yet: you sign in with a code sent to your email. You can choose one.</p>`
  }
  <label for="new_password">New password</label>
  <input id="new_password" name="new_password" type="password" autocomplete="new-password" minlength="8" required
    aria-describedby="${described}">
  <p class="hint" id="password-hint">At least 8 characters. Every browser signed in to your account is signed out, this one too: you then sign in with the new password.</p>
  <button type="submit">${view.hasPassword ? "Change password" : "Choose password"}</button>
</form>
</section>`;
}

function twoStepSection(view: AccountView): SafeHtml {
  const { twoStep, csrf } = view;
  const lead =
    twoStep.policy === "off"
      ? "Signing in here asks for no second step."
      : twoStep.factors.length > 0
        ? "When you sign in, you confirm it is you with one of these as well as your password or email code."
        : twoStep.policy === "required"
          ? "Signing in asks for a second step: you set one up at your next sign-in."
          : "Add a second step to signing in: a code from an authenticator app on your phone.";
  return html`<section aria-labelledby="two-step-heading">
<h2 id="two-step-heading">Two-step verification</h2>
<p class="hint">${lead}</p>
${
  twoStep.factors.length > 0
    ? html`<ul class="items" id="factors">
${twoStep.factors.map((factor) =>
  item(
    html`${FACTOR_LABELS[factor.type]}<span class="meta">Added ${when(factor.createdAt)}${
      factor.lastUsedAt ? html` · last used ${when(factor.lastUsedAt)}` : ""
    }</span>`,
    { path: "/account/two-step/remove", csrf, label: "Remove", name: "factor_id", value: factor.id },
  ),
)}</ul>
<p class="hint">Removing one signs you out everywhere, here too.</p>`
    : ""
}${
  twoStep.canAddAuthenticator
    ? html`<form method="post" action="/account/two-step/authenticator">
  ${csrfField(csrf)}
  <button type="submit">Set up an authenticator app</button>
</form>`
    : ""
}${
  twoStep.recoveryCodesLeft !== undefined
    ? html`<p class="hint" id="recovery-codes-left">Recovery codes left: ${twoStep.recoveryCodesLeft} of 10.</p>
<form method="post" action="/account/two-step/recovery-codes">
  ${csrfField(csrf)}
  <button type="submit" class="secondary">Get new recovery codes</button>
</form>`
    : ""
}${view.passkeys ? html`<p class="switch"><a href="/account/passkeys">Passkeys</a></p>` : ""}
</section>`;
}

function sessionsSection(view: AccountView): SafeHtml {
  return html`<section aria-labelledby="sessions-heading">
<h2 id="sessions-heading">Where you are signed in</h2>
<ul class="items" id="sessions">
${view.sessions.map((session) =>
  item(
    html`${session.userAgent ? describeBrowser(session.userAgent) : "Unknown browser"}${
      session.current ? html` <strong>(this browser)</strong>` : ""
    }<span class="meta">Since ${when(session.createdAt)}${session.ipAddress ? ` · ${session.ipAddress}` : ""}</span>`,
  ),
)}</ul>
<form method="post" action="/account/sessions/sign-out-everywhere">
  ${csrfField(view.csrf)}
  <button type="submit" class="secondary">Sign out everywhere</button>
</form>
</section>`;
}

function connectedAppsSection(view: AccountView): SafeHtml {
  return html`<section aria-labelledby="apps-heading">
<h2 id="apps-heading">Connected apps</h2>
${
  view.connectedApps.length === 0
    ? html`<p class="hint">You have not connected any apps.</p>`
    : html`<p class="hint">Services you let ${view.businessName} use on your behalf.</p>
<ul class="items" id="connected-apps">
${view.connectedApps.map((app) =>
  item(
    html`${app.name}<span class="meta">Connected ${when(app.createdAt)}${
      app.needsReauthorization ? " · needs to be connected again" : ""
    }</span>`,
    {
      path: "/account/connected-apps/revoke",
      csrf: view.csrf,
      label: "Disconnect",
      name: "id",
      value: app.id,
    },
  ),
)}</ul>`
}
</section>`;
}

/** A browser's name as a person recognises it, from its User-Agent (no more than a hint). */
function describeBrowser(userAgent: string): string {
  const browser =
    [
      ["Edg/", "Edge"],
      ["Firefox/", "Firefox"],
      ["Chrome/", "Chrome"],
      ["Safari/", "Safari"],
    ].find(([token]) => userAgent.includes(token!))?.[1] ?? "Browser";
  const system =
    [
      ["Android", "Android"],
      ["iPhone", "iPhone"],
      ["iPad", "iPad"],
      ["Windows", "Windows"],
      ["Mac OS X", "macOS"],
      ["Linux", "Linux"],
    ].find(([token]) => userAgent.includes(token!))?.[1] ?? undefined;
  return system ? `${browser} on ${system}` : browser;
}

/** Setting up an authenticator app: the QR code, the key for typing in, and the first code. */
export function authenticatorPage(ctx: {
  businessName: string;
  csrf: string;
  sealed: string;
  secret: string;
  qrSvg: string;
  error?: string;
}): string {
  const grouped = ctx.secret.replace(/(.{4})/g, "$1 ").trim();
  const described = ctx.error ? "form-error code-hint" : "code-hint";
  return accountLayout({
    title: "Set up an authenticator app",
    businessName: ctx.businessName,
    body: html`<h1>Set up an authenticator app</h1>
<p class="lead">Each time you sign in, you will type the code the app shows.</p>
${errorBlock("form-error", ctx.error)}
<ol class="steps">
  <li>Open an authenticator app (for example Google Authenticator, Microsoft Authenticator, 1Password or Authy) and add an account.</li>
  <li>Scan this QR code, or enter the key below.</li>
</ol>
<figure class="qr" aria-label="QR code for your authenticator app">${raw(ctx.qrSvg)}</figure>
<p class="hint">Key: <code id="totp-secret" data-secret="${ctx.secret}">${grouped}</code></p>
<form method="post" action="/account/two-step/authenticator/confirm" novalidate>
  ${csrfField(ctx.csrf)}
  <input type="hidden" name="sealed" value="${ctx.sealed}">
  <label for="code">Code from the app</label>
  <input id="code" name="code" type="text" inputmode="numeric" pattern="[0-9 ]*" autocomplete="one-time-code"
    maxlength="8" required aria-describedby="${described}" autofocus>
  <p class="hint" id="code-hint">Enter the 6-digit code the app shows to finish.</p>
  <button type="submit">Turn on two-step verification</button>
</form>
<p class="switch"><a href="/account">Cancel</a></p>`,
  });
}

/** Recovery codes, shown once (at set-up, or new ones that replace the old). */
export function recoveryCodesPage(ctx: {
  businessName: string;
  codes: readonly string[];
  enrolled: boolean;
}): string {
  return accountLayout({
    title: "Save your recovery codes",
    businessName: ctx.businessName,
    body: html`<h1>Save your recovery codes</h1>
<p class="lead">${
      ctx.enrolled
        ? "Two-step verification is on. If you lose your phone, each of these codes lets you sign in once."
        : "These replace your earlier recovery codes, which no longer work. Each of these lets you sign in once."
    } Keep them somewhere safe: they are shown only now.</p>
<ul class="recovery-codes" id="recovery-codes">
${ctx.codes.map(
  (code) => html`  <li><code>${code}</code></li>
`,
)}</ul>
${
  ctx.enrolled ? html`<p class="hint">To go on, sign in again with a code from the app.</p>` : ""
}<p class="switch"><a href="/account">I have saved them — back to your account</a></p>`,
  });
}

/** After a change that ended every session (a new password, a factor removed, signing out everywhere). */
export function signedOutPage(ctx: { businessName: string; title: string; message: string }): string {
  return accountLayout({
    title: ctx.title,
    businessName: ctx.businessName,
    body: html`<h1>${ctx.title}</h1>
<p class="notice" role="status">${ctx.message}</p>
<p class="switch"><a href="/account">Sign in again</a></p>`,
  });
}

export function accountErrorPage(ctx: { businessName: string; title: string; message: string }): string {
  return accountLayout({
    title: ctx.title,
    businessName: ctx.businessName,
    body: html`<h1>${ctx.title}</h1>
<p class="error" role="alert">${ctx.message}</p>
<p class="switch"><a href="/account">Back to your account</a></p>`,
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
