// The /device pages (RFC 8628 §3.3): where a signed-in person types the code a device shows, sees
// which application asks and for what, and approves or denies. Plain forms like the sign-in pages
// (pages.ts), with the double-submit CSRF token; no script.
import { html, page, type SafeHtml } from "../http/html.js";

interface Common {
  businessName: string;
  csrf: string;
  /** Who is signed in (the page says so: approving signs *this* account in on the device). */
  email: string;
}

const SCOPE_LABELS: Record<string, string> = {
  openid: "Know who you are",
  profile: "See your name and picture",
  email: "See your email address",
  offline: "Stay signed in (refresh its access without asking you)",
  offline_access: "Stay signed in (refresh its access without asking you)",
};

function errorBlock(error: string | undefined): SafeHtml | string {
  return error ? html`<p class="error" id="form-error" role="alert">${error}</p>` : "";
}

function signedInAs(ctx: Common): SafeHtml {
  return html`<p class="hint">Signed in as ${ctx.email}.</p>`;
}

/** §3.3: the code the device shows, typed here (prefilled from verification_uri_complete). */
export function deviceEntryPage(ctx: Common & { value?: string; error?: string }): string {
  const described = ctx.error ? "form-error code-hint" : "code-hint";
  return page({
    title: "Connect a device",
    businessName: ctx.businessName,
    body: html`<h1>Connect a device</h1>
<p class="lead">Enter the code shown on your device.</p>
${errorBlock(ctx.error)}
<form method="post" action="/device" novalidate>
  <input type="hidden" name="csrf" value="${ctx.csrf}">
  <label for="user_code">Code</label>
  <input id="user_code" name="user_code" type="text" autocomplete="off" autocapitalize="characters"
    spellcheck="false" maxlength="32" required value="${ctx.value ?? ""}" aria-describedby="${described}" autofocus>
  <p class="hint" id="code-hint">Eight letters, like BCDF-GHJK.</p>
  <button type="submit">Continue</button>
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
  const asks = ctx.scopes.map((scope) => SCOPE_LABELS[scope] ?? `Use ${scope}`);
  return page({
    title: "Sign in on your device?",
    businessName: ctx.businessName,
    body: html`<h1>Sign in on your device?</h1>
<p class="lead"><strong>${ctx.applicationName}</strong> asks to sign in as you on the device showing the code <strong>${ctx.userCode}</strong>.</p>
${
  asks.length > 0
    ? html`<p>It will be able to:</p>
<ul class="scopes">${asks.map((label) => html`<li>${label}</li>`)}</ul>`
    : ""
}${
  ctx.audiences.length > 0
    ? html`<p>It asks for access to: ${ctx.audiences.map((a, i) => html`${i > 0 ? ", " : ""}<code>${a}</code>`)}.</p>`
    : ""
}
<p class="hint">Only continue if you started this on a device you have in front of you. Nobody from ${ctx.businessName} will ever ask you for this code.</p>
<form method="post" action="/device/decision">
  <input type="hidden" name="csrf" value="${ctx.csrf}">
  <input type="hidden" name="user_code" value="${ctx.userCode}">
  <button type="submit" name="decision" value="approve">Approve</button>
  <button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>
${signedInAs(ctx)}`,
  });
}

/** The answer was recorded: the device learns it at its next poll. */
export function deviceDonePage(ctx: {
  businessName: string;
  approved: boolean;
  applicationName: string;
}): string {
  const title = ctx.approved ? "Your device is signed in" : "Request denied";
  return page({
    title,
    businessName: ctx.businessName,
    body: ctx.approved
      ? html`<h1>${title}</h1>
<p class="lead" role="status">${ctx.applicationName} is signing you in on your device. You can close this page.</p>`
      : html`<h1>${title}</h1>
<p class="lead" role="status">${ctx.applicationName} was not signed in. You can close this page.</p>`,
  });
}

/**
 * The session cannot answer for this application as it is (a second factor the organization asks
 * for, or a connection the application does not offer): a new sign-in first, by the person's choice.
 */
export function deviceSignInAgainPage(ctx: Common & { userCode: string; applicationName: string }): string {
  return page({
    title: "Sign in again",
    businessName: ctx.businessName,
    body: html`<h1>Sign in again</h1>
<p class="lead">To sign in on your device to ${ctx.applicationName}, confirm it is you once more.</p>
<form method="post" action="/device/sign-in">
  <input type="hidden" name="csrf" value="${ctx.csrf}">
  <input type="hidden" name="user_code" value="${ctx.userCode}">
  <button type="submit">Sign in</button>
</form>
${signedInAs(ctx)}`,
  });
}
