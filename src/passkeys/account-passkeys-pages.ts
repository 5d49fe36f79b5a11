// /account/passkeys' HTML: the person's passkeys (name, created, last used) with rename and remove,
// and the form that creates another (run by /assets/passkeys.js). The hosted pages' layout.
import { html, page } from "../http/html.js";
import { passkeyRegisterForm } from "./passkey-pages.js";
import type { Passkey } from "./passkeys.store.js";

export interface AccountPasskeysView {
  businessName: string;
  csrf: string;
  passkeys: readonly Passkey[];
  /** The passkey policy allows them here (off: the list shows, nothing can be added). */
  enabled: boolean;
  notice?: string;
  error?: string;
}

/** A time as a person reads it, in UTC (the page knows no time zone). */
function when(seconds: number | null): string {
  if (seconds === null) return "Never";
  return `${new Date(seconds * 1000).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

export function accountPasskeysPage(view: AccountPasskeysView): string {
  const csrf = html`<input type="hidden" name="csrf" value="${view.csrf}">`;
  const list =
    view.passkeys.length === 0
      ? html`<p class="hint" id="no-passkeys">You have no passkeys yet.</p>`
      : html`<ul class="passkeys" id="passkey-list">
${view.passkeys.map(
  (p) => html`<li data-passkey-id="${p.id}">
  <h2>${p.name}</h2>
  <p class="hint">${p.deviceType === "multiDevice" ? "Synced passkey" : "Device-bound passkey"} · Created ${when(p.createdAt)} · Last used ${when(p.lastUsedAt)}</p>
  <form method="post" action="/account/passkeys/${p.id}/rename">
    ${csrf}
    <label for="name-${p.id}">New name</label>
    <input id="name-${p.id}" name="name" type="text" maxlength="100" required value="${p.name}">
    <button type="submit" class="secondary">Rename</button>
  </form>
  <form method="post" action="/account/passkeys/${p.id}/remove">
    ${csrf}
    <button type="submit" class="secondary">Remove “${p.name}”</button>
  </form>
</li>
`,
)}</ul>`;
  return page({
    title: "Passkeys",
    businessName: view.businessName,
    body: html`<h1>Passkeys</h1>
<p class="lead">Sign in with your fingerprint, face or screen lock instead of a password. Removing a passkey signs you out on every other device.</p>
${view.error ? html`<p class="error" id="form-error" role="alert">${view.error}</p>` : ""}${
  view.notice ? html`<p class="notice" role="status">${view.notice}</p>` : ""
}
${list}
${
  view.enabled
    ? html`<h2>Add a passkey</h2>
${passkeyRegisterForm({ csrf: view.csrf }, "/account/passkeys", "/account/passkeys/options", "Add a passkey")}`
    : html`<p class="notice" role="status">Passkeys are turned off here.</p>`
}
<p class="switch"><a href="/account">Back to your account</a></p>`,
  });
}
