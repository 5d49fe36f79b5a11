// /account/organizations/{org_code}'s HTML: the organization's details and members, each section
// drawn only when the member's roles grant its system permission (organization.routes.ts decides;
// this file only draws). The hosted pages' layout, plain forms with the CSRF token, no script.
import type { Brand } from "../branding/brand.js";
import { html, page, type SafeHtml } from "../http/html.js";
import { t } from "../i18n/catalogue.js";
import type { Locale } from "../i18n/locale.js";

export const ORG_NAME_MAX_LENGTH = 128;

export interface OrganizationMemberView {
  id: string;
  email: string | null;
  name: string;
}

export interface OrganizationPageView {
  businessName: string;
  /** The organization's brand over the environment's (src/branding/). */
  brand?: Brand;
  csrf: string;
  locale: Locale;
  orgCode: string;
  orgName: string;
  /** Only the sections the member may see are present. */
  details: { editable: boolean };
  members?: { list: readonly OrganizationMemberView[]; more: boolean; manage: boolean; selfId: string };
  notice?: string;
  error?: string;
}

export const organizationPath = (orgCode: string) => `/account/organizations/${encodeURIComponent(orgCode)}`;

function detailsSection(view: OrganizationPageView, csrf: SafeHtml, base: string): SafeHtml {
  const { locale } = view;
  const body = view.details.editable
    ? html`<form method="post" action="${base}/details">
  ${csrf}
  <label for="org-name">${t(locale, "account_org.name")}</label>
  <input id="org-name" name="name" type="text" maxlength="${ORG_NAME_MAX_LENGTH}" required value="${view.orgName}">
  <button type="submit">${t(locale, "account_org.save_name")}</button>
</form>`
    : html`<p><span class="hint">${t(locale, "account_org.name")}</span> ${view.orgName}</p>`;
  return html`<section id="details" aria-labelledby="details-heading">
<h2 id="details-heading">${t(locale, "account_org.details")}</h2>
${body}
</section>`;
}

function membersSection(
  view: OrganizationPageView,
  members: NonNullable<OrganizationPageView["members"]>,
  csrf: SafeHtml,
  base: string,
): SafeHtml {
  const { locale } = view;
  const list =
    members.list.length === 0
      ? html`<p class="hint">${t(locale, "account_org.no_members")}</p>`
      : html`<ul class="members" id="member-list">
${members.list.map((m) => {
  const label = m.name || m.email || m.id;
  const self = m.id === members.selfId;
  return html`<li data-user-id="${m.id}">
  <span>${label}${m.email && m.name ? html` <span class="hint">${m.email}</span>` : ""}${
    self ? html` <span class="hint">(${t(locale, "account_org.you")})</span>` : ""
  }</span>
  ${
    members.manage && !self
      ? html`<form method="post" action="${base}/members/remove">
    ${csrf}
    <input type="hidden" name="user_id" value="${m.id}">
    <button type="submit" class="secondary">${t(locale, "account_org.remove", { who: label })}</button>
  </form>`
      : ""
  }
</li>
`;
})}</ul>`;
  const invite = members.manage
    ? html`<h3>${t(locale, "account_org.invite")}</h3>
<form method="post" action="${base}/members/invite">
  ${csrf}
  <label for="invite-email">${t(locale, "account_org.invite_email")}</label>
  <input id="invite-email" name="email" type="email" autocomplete="off" maxlength="320" required>
  <button type="submit">${t(locale, "account_org.invite_submit")}</button>
</form>`
    : "";
  return html`<section id="members" aria-labelledby="members-heading">
<h2 id="members-heading">${t(locale, "account_org.members")}</h2>
${list}
${members.more ? html`<p class="hint">${t(locale, "account_org.more_members", { count: members.list.length })}</p>` : ""}
${invite}
</section>`;
}

export function organizationPage(view: OrganizationPageView): string {
  const { locale } = view;
  const csrf = html`<input type="hidden" name="csrf" value="${view.csrf}"><input type="hidden" name="lang" value="${locale}">`;
  const base = organizationPath(view.orgCode);
  return page({
    title: view.orgName,
    businessName: view.businessName,
    lang: locale,
    brand: view.brand,
    body: html`<h1>${view.orgName}</h1>
<p class="lead">${t(locale, "account_org.lead")}</p>
${view.error ? html`<p class="error" id="form-error" role="alert">${view.error}</p>` : ""}${
  view.notice ? html`<p class="notice" role="status">${view.notice}</p>` : ""
}
${detailsSection(view, csrf, base)}
${view.members ? membersSection(view, view.members, csrf, base) : ""}
<p class="switch"><a href="/account">${t(locale, "account_org.back")}</a></p>`,
  });
}
