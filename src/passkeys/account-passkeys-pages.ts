// /account/passkeys' HTML: the person's passkeys (name, created, last used) with rename and remove,
// and the form that creates another (run by /assets/passkeys.js). The hosted pages' layout.
import type { Brand } from "../branding/brand.js";
import { html, page } from "../http/html.js";
import { t } from "../i18n/catalogue.js";
import type { Locale } from "../i18n/locale.js";
import { passkeyRegisterForm } from "./passkey-pages.js";
import type { Passkey } from "./passkeys.store.js";

export interface AccountPasskeysView {
  businessName: string;
  /** The environment's brand, as on every account page (src/branding/). */
  brand?: Brand;
  csrf: string;
  locale: Locale;
  passkeys: readonly Passkey[];
  /** The passkey policy allows them here (off: the list shows, nothing can be added). */
  enabled: boolean;
  notice?: string;
  error?: string;
}

/** A time as a person reads it, in UTC (the page knows no time zone). */
function when(locale: Locale, seconds: number | null): string {
  if (seconds === null) return t(locale, "account_passkeys.never");
  return `${new Date(seconds * 1000).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

export function accountPasskeysPage(view: AccountPasskeysView): string {
  const csrf = html`<input type="hidden" name="csrf" value="${view.csrf}">`;
  const { locale } = view;
  const list =
    view.passkeys.length === 0
      ? html`<p class="hint" id="no-passkeys">${t(locale, "account_passkeys.none")}</p>`
      : html`<ul class="passkeys" id="passkey-list">
${view.passkeys.map(
  (p) => html`<li data-passkey-id="${p.id}">
  <h2>${p.name}</h2>
  <p class="hint">${t(locale, "account_passkeys.details", {
    kind: t(
      locale,
      p.deviceType === "multiDevice" ? "account_passkeys.synced" : "account_passkeys.device_bound",
    ),
    created: when(locale, p.createdAt),
    used: when(locale, p.lastUsedAt),
  })}</p>
  <form method="post" action="/account/passkeys/${p.id}/rename">
    ${csrf}
    <label for="name-${p.id}">${t(locale, "account_passkeys.new_name")}</label>
    <input id="name-${p.id}" name="name" type="text" maxlength="100" required value="${p.name}">
    <button type="submit" class="secondary">${t(locale, "account_passkeys.rename")}</button>
  </form>
  <form method="post" action="/account/passkeys/${p.id}/remove">
    ${csrf}
    <button type="submit" class="secondary">${t(locale, "account_passkeys.remove", { name: p.name })}</button>
  </form>
</li>
`,
)}</ul>`;
  return page({
    title: t(locale, "account_passkeys.title"),
    businessName: view.businessName,
    lang: locale,
    brand: view.brand,
    body: html`<h1>${t(locale, "account_passkeys.title")}</h1>
<p class="lead">${t(locale, "account_passkeys.lead")}</p>
${view.error ? html`<p class="error" id="form-error" role="alert">${view.error}</p>` : ""}${
  view.notice ? html`<p class="notice" role="status">${view.notice}</p>` : ""
}
${list}
${
  view.enabled
    ? html`<h2>${t(locale, "account_passkeys.add")}</h2>
${passkeyRegisterForm({ csrf: view.csrf }, "/account/passkeys", "/account/passkeys/options", t(locale, "account_passkeys.add"), locale)}`
    : html`<p class="notice" role="status">${t(locale, "account_passkeys.off")}</p>`
}
<p class="switch"><a href="/account">${t(locale, "account_passkeys.back")}</a></p>`,
  });
}
