// The hosted sign-in and sign-up pages: plain HTML forms with standard field names and
// autocomplete attributes, so password managers (and tests) fill them. The one script is the
// passkeys' (src/passkeys/), on pages that offer one; everything else works without it.
import { DEFAULT_SIGN_IN_METHODS, type SignInMethods } from "../business/business.store.js";
import { html, page, type SafeHtml } from "../http/html.js";
import { passkeySignInSection } from "../passkeys/passkey-pages.js";
import { logoPath } from "./provider-logos.js";

export interface FormContext {
  businessName: string;
  applicationName: string;
  requestId: string;
  csrf: string;
  email?: string;
  /** The address may not be changed (an invitation is for one address: src/invitations/). */
  emailLocked?: boolean;
  /** The application takes no sign-ups (the dashboard: dashboard-sign-in.ts): no link to them. */
  noSignUp?: boolean;
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
  const emailField = html`<label for="email">Email</label>
  <input id="email" name="email" type="email" autocomplete="${passkeys ? "username webauthn" : "username"}" inputmode="email" required
    value="${ctx.email ?? ""}" ${described ? html`aria-describedby="${described}"` : ""}${ctx.emailLocked ? html` readonly` : html` autofocus`}>`;
  const signUpLink = ctx.noSignUp
    ? ""
    : html`<p class="switch">No account? <a href="/auth/sign-up?request=${request}">Create one</a></p>`;
  let body: SafeHtml;
  if (methods.password) {
    body = html`<form method="post" action="${action}" novalidate>
  ${Object.entries(hidden).map(
    ([name, value]) => html`<input type="hidden" name="${name}" value="${value}">
  `,
  )}<input type="hidden" name="csrf" value="${ctx.csrf}">
  ${emailField}
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit">Sign in</button>
</form>
${
  ctx.action
    ? ""
    : html`<p class="switch"><a href="/auth/forgot-password?request=${request}">Forgot your password?</a>${
        methods.email_code
          ? html`
  · <a href="/auth/email-code?request=${request}">Email me a sign-in code</a>`
          : ""
      }</p>
${
  // Without codes, an account made without a password (Management API, CLI) gets one by the reset.
  methods.email_code
    ? ""
    : html`<p class="hint">No password yet, because someone made your account for you? Choose one with “Forgot your password?”.</p>
`
}${signUpLink}`
}`;
  } else if (ctx.action) {
    // Only a password signs in on this page; with passwords off, the person signs in to the
    // application (by code) first and comes back to the link with that session.
    body = html`<p class="notice" role="status">Sign in to ${ctx.applicationName} with a code sent to your email first, then open this link again.</p>`;
  } else {
    // Passwords off: the page asks for the address a sign-in code goes to (email-code.routes.ts).
    body = html`<form method="post" action="/auth/email-code" novalidate>
  <input type="hidden" name="request" value="${ctx.requestId}">
  <input type="hidden" name="csrf" value="${ctx.csrf}">
  ${emailField}
  <p class="hint">We will email you a 6-digit code to sign in with, no password needed.</p>
  <button type="submit">Email me a sign-in code</button>
</form>
${signUpLink}`;
  }
  return page({
    title: "Sign in",
    businessName: ctx.businessName,
    body: html`<h1>Sign in</h1>
<p class="lead">${ctx.lead ?? `to continue to ${ctx.applicationName}`}</p>
${errorBlock(ctx.error)}
${ctx.action ? "" : connectionButtons(ctx.requestId, ctx.connections)}${passkeys ? passkeySignInSection(ctx) : ""}${body}`,
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
function connectionButtons(requestId: string, connections: readonly ConnectionButton[] | undefined) {
  if (!connections || connections.length === 0) return "";
  const request = encodeURIComponent(requestId);
  return html`<ul class="connections">
${connections.map(
  (
    c,
  ) => html`  <li><a class="connection" href="/auth/connections/${c.id}?request=${request}"><img class="mark" src="${logoPath(c.strategy)}" alt="" width="20" height="20"> Continue with ${c.displayName}</a></li>
`,
)}</ul>
<p class="divider"><span>or</span></p>
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
  return page({
    title: "Create your account",
    businessName: ctx.businessName,
    body: html`<h1>Create your account</h1>
<p class="lead">${ctx.lead ?? `to continue to ${ctx.applicationName}`}</p>
${errorBlock(ctx.error)}
${connectionButtons(ctx.requestId, ctx.connections)}<form method="post" action="/auth/sign-up" novalidate>
  <input type="hidden" name="request" value="${ctx.requestId}">
  <input type="hidden" name="csrf" value="${ctx.csrf}">
  <div class="row">
    <div><label for="given_name">First name</label>
    <input id="given_name" name="given_name" autocomplete="given-name" value="${ctx.givenName ?? ""}"></div>
    <div><label for="family_name">Last name</label>
    <input id="family_name" name="family_name" autocomplete="family-name" value="${ctx.familyName ?? ""}"></div>
  </div>
  <label for="email">Email</label>
  <input id="email" name="email" type="email" autocomplete="email" inputmode="email" required value="${ctx.email ?? ""}"${ctx.emailLocked ? html` readonly` : ""}>
  ${
    ctx.passwordless
      ? html`<p class="hint">We will email you a 6-digit code to confirm the address, no password needed.</p>`
      : html`<label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="new-password" minlength="8" required
    aria-describedby="password-hint">
  <p class="hint" id="password-hint">At least 8 characters.</p>`
  }
  <button type="submit">Create account</button>
</form>
<p class="switch">Already have an account? <a href="/auth/sign-in?request=${encodeURIComponent(ctx.requestId)}">Sign in</a></p>`,
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
  return page({
    title: "Check your email",
    businessName: ctx.businessName,
    body: html`<h1>Check your email</h1>
<p class="lead">${ctx.lead ?? html`We sent a 6-digit code to <strong>${ctx.email}</strong>. Enter it to continue to ${ctx.applicationName}.`}</p>
${errorBlock(ctx.error)}${ctx.notice ? html`<p class="notice" role="status">${ctx.notice}</p>` : ""}
<form method="post" action="${action}" novalidate>
  <input type="hidden" name="request" value="${ctx.requestId}">
  <input type="hidden" name="csrf" value="${ctx.csrf}">
  <label for="code">Code</label>
  <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 -]*"
    maxlength="12" required aria-describedby="${described}" autofocus>
  <p class="hint" id="code-hint">The code is valid for ${validFor(ctx.lifetimeSeconds ?? 7200)}. Check your spam folder if it has not arrived.</p>
  ${
    ctx.newPassword
      ? html`<label for="password">New password</label>
  <input id="password" name="password" type="password" autocomplete="new-password" minlength="8" required
    aria-describedby="password-hint">
  <p class="hint" id="password-hint">At least 8 characters.</p>`
      : ""
  }
  <button type="submit">Continue</button>
</form>
<form method="post" action="${resendAction}">
  <input type="hidden" name="request" value="${ctx.requestId}">
  <input type="hidden" name="csrf" value="${ctx.csrf}">
  <button type="submit" class="secondary">Send a new code</button>
</form>`,
  });
}

/** "2 hours", "30 minutes": a code's life as a person reads it. */
function validFor(seconds: number): string {
  const [amount, unit] =
    seconds % 3600 === 0 ? [seconds / 3600, "hour"] : [Math.ceil(seconds / 60), "minute"];
  return `${amount} ${unit}${amount === 1 ? "" : "s"}`;
}

/** A new password the account must choose before its sign-in finishes (steps.ts). */
export function choosePasswordPage(ctx: FormContext): string {
  return page({
    title: "Choose a new password",
    businessName: ctx.businessName,
    body: html`<h1>Choose a new password</h1>
<p class="lead">Your account needs a new password before you continue to ${ctx.applicationName}.</p>
${errorBlock(ctx.error)}
<form method="post" action="/auth/choose-password" novalidate>
  <input type="hidden" name="request" value="${ctx.requestId}">
  <input type="hidden" name="csrf" value="${ctx.csrf}">
  <label for="password">New password</label>
  <input id="password" name="password" type="password" autocomplete="new-password" minlength="8" required
    aria-describedby="password-hint" autofocus>
  <p class="hint" id="password-hint">At least 8 characters.</p>
  <button type="submit">Continue</button>
</form>`,
  });
}

/** Asks for the address a code goes to: passwordless sign-in, or a forgotten password. */
export function emailCodeRequestPage(
  ctx: FormContext & { title: string; lead: string; action: string; button: string },
): string {
  const described = ctx.error ? "form-error" : undefined;
  return page({
    title: ctx.title,
    businessName: ctx.businessName,
    body: html`<h1>${ctx.title}</h1>
<p class="lead">${ctx.lead}</p>
${errorBlock(ctx.error)}
<form method="post" action="${ctx.action}" novalidate>
  <input type="hidden" name="request" value="${ctx.requestId}">
  <input type="hidden" name="csrf" value="${ctx.csrf}">
  <label for="email">Email</label>
  <input id="email" name="email" type="email" autocomplete="username" inputmode="email" required
    value="${ctx.email ?? ""}" ${described ? html`aria-describedby="${described}"` : ""} autofocus>
  <button type="submit">${ctx.button}</button>
</form>
<p class="switch"><a href="/auth/sign-in?request=${encodeURIComponent(ctx.requestId)}">Back to sign in</a></p>`,
  });
}

/** Right after sign-in: connect the apps the business offers, or skip. */
export function connectOfferPage(ctx: {
  businessName: string;
  applicationName: string;
  requestId: string;
  csrf: string;
  offers: { key: string; name: string }[];
}): string {
  return page({
    title: "Connect your accounts",
    businessName: ctx.businessName,
    body: html`<h1>Connect your accounts</h1>
<p class="lead">${ctx.applicationName} can work with these services. You can connect them now or later.</p>
${ctx.offers.map(
  (offer) => html`<form method="post" action="/auth/connect">
  <input type="hidden" name="request" value="${ctx.requestId}">
  <input type="hidden" name="csrf" value="${ctx.csrf}">
  <input type="hidden" name="key_code_ref" value="${offer.key}">
  <button type="submit">Connect ${offer.name}</button>
</form>`,
)}
<form method="post" action="/auth/continue">
  <input type="hidden" name="request" value="${ctx.requestId}">
  <input type="hidden" name="csrf" value="${ctx.csrf}">
  <button type="submit" class="secondary">Skip for now</button>
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
}): string {
  return page({
    title: "Sign out?",
    businessName: ctx.businessName,
    body: html`<h1>Sign out?</h1>
<p class="lead">You are about to sign out of ${ctx.businessName} on this browser.</p>
<form method="post" action="/logout">
  <input type="hidden" name="csrf" value="${ctx.csrf}">
  ${ctx.redirect ? html`<input type="hidden" name="redirect" value="${ctx.redirect}">` : ""}
  ${ctx.state ? html`<input type="hidden" name="state" value="${ctx.state}">` : ""}
  <button type="submit" autofocus>Sign out</button>
</form>
${ctx.redirect ? html`<p class="switch"><a href="${ctx.redirect}">Stay signed in</a></p>` : ""}`,
  });
}

export function signedOutPage(businessName: string): string {
  return page({
    title: "Signed out",
    businessName,
    body: html`<h1>You are signed out</h1><p>You can close this window.</p>`,
  });
}

export const STYLESHEET = `
:root { color-scheme: light dark; --accent: #3b5bdb; --error: #c92a2a; --border: #ced4da; }
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; padding: 1rem;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: Canvas; color: CanvasText; }
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
button { width: 100%; margin-top: 1.5rem; padding: .75rem; font: inherit; font-weight: 600; color: #fff;
  background: var(--accent); border: 0; border-radius: 8px; cursor: pointer; }
button.secondary { color: var(--accent); background: transparent; border: 1px solid var(--border); }
.error { padding: .75rem; border-radius: 8px; color: var(--error); border: 1px solid var(--error); }
.notice { padding: .75rem; border-radius: 8px; border: 1px solid var(--border); }
.switch { margin: 1.5rem 0 0; text-align: center; }
a { color: var(--accent); }
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
@media (prefers-color-scheme: dark) { :root { --accent: #91a7ff; --error: #ff8787; } button { color: #10131a; } }
@media (max-width: 400px) { .card { padding: 1.25rem; border: 0; } .row { grid-template-columns: 1fr; } }
`;
