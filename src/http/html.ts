// Minimal server-rendered HTML: one layout, escaping for every interpolated value, no third-party
// resources (RFC 9700 §4.2.4: nothing on our pages may leak the URL through Referer).
import { type Brand, colorSchemeOf, NO_BRAND, type ThemeCode } from "../branding/brand.js";
import { brandStylesheetHref } from "../branding/brand-css.js";
import { t } from "../i18n/catalogue.js";
import { DEFAULT_LOCALE, localeOfTag } from "../i18n/locale.js";

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Tagged template that escapes every interpolation except values wrapped in `raw()`. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? "";
  values.forEach((value, i) => {
    out += renderValue(value) + (strings[i + 1] ?? "");
  });
  return new SafeHtml(out);
}

export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export function raw(value: string): SafeHtml {
  return new SafeHtml(value);
}

function renderValue(value: unknown): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(renderValue).join("");
  if (value === undefined || value === null || value === false) return "";
  return escapeHtml(String(value));
}

export const STYLESHEET_PATH = "/assets/latchkey.css";

/** <html data-theme>: the stylesheets key forced light or dark on it (sign-in/pages.ts, branding/brand-css.ts). */
const THEME_ATTRIBUTE: Record<ThemeCode, string> = { light: "light", dark: "dark", user_preference: "auto" };

/**
 * The logo in place of the business's name (named by its alt text), the dark one where the page is
 * dark (forced, or by prefers-color-scheme under user_preference); the name alone without a logo.
 */
function brandHeading(brand: Brand, businessName: string | undefined): SafeHtml | string {
  const light = brand.logo;
  const dark = brand.logoDark;
  if (!light || !dark) return businessName ? html`<p class="business">${businessName}</p>` : "";
  const alt = businessName ?? "";
  const img = (src: string) => html`<img class="logo" src="${src}" alt="${alt}">`;
  if (brand.theme === "light") return html`<p class="business">${img(light)}</p>`;
  if (brand.theme === "dark") return html`<p class="business">${img(dark)}</p>`;
  return html`<p class="business"><picture><source srcset="${dark}" media="(prefers-color-scheme: dark)">${img(light)}</picture></p>`;
}

/** The business's privacy policy and terms (PATCH /api/v1/business privacy_url, terms_url). */
function legalFooter(brand: Brand, lang: string | undefined): SafeHtml | string {
  const locale = localeOfTag(lang) ?? DEFAULT_LOCALE;
  const links = [
    brand.privacyUrl
      ? html`<a href="${brand.privacyUrl}" rel="noopener noreferrer">${t(locale, "footer.privacy")}</a>`
      : "",
    brand.termsUrl
      ? html`<a href="${brand.termsUrl}" rel="noopener noreferrer">${t(locale, "footer.terms")}</a>`
      : "",
  ].filter((link) => link !== "");
  if (links.length === 0) return "";
  return html`<footer class="legal">${links.map((link, i) => html`${i > 0 ? " · " : ""}${link}`)}</footer>`;
}

export function page(options: {
  title: string;
  body: SafeHtml;
  businessName?: string;
  /** The page's language (src/i18n/locale.ts), for screen readers and hyphenation; English by default. */
  lang?: string;
  /** Logo, colours, theme and policy links (src/branding/); the environment's or an organization's. */
  brand?: Brand;
  /** A page family's own stylesheet (e.g. /account's), after the base one and before the brand's. */
  stylesheet?: string;
  /** Classes of the <main> card, "card" by default (a page family's stylesheet keys on its own). */
  cardClass?: string;
}): string {
  const brand = options.brand ?? NO_BRAND;
  const brandCss = brandStylesheetHref(brand);
  return `<!doctype html>${html`<html lang="${options.lang ?? "en"}" data-theme="${THEME_ATTRIBUTE[brand.theme]}">
<head>
<meta name="color-scheme" content="${colorSchemeOf(brand.theme)}">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${options.title}${options.businessName ? ` · ${options.businessName}` : ""}</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
${
  options.stylesheet
    ? html`<link rel="stylesheet" href="${options.stylesheet}">
`
    : ""
}${
  brandCss
    ? html`<link rel="stylesheet" href="${brandCss}">
`
    : ""
}<link rel="icon" href="/favicon.svg" type="image/svg+xml">
</head>
<body>
<main class="${options.cardClass ?? "card"}">
${brandHeading(brand, options.businessName)}
${options.body}
</main>
${legalFooter(brand, options.lang)}
</body>
</html>`}`;
}

export function errorPage(
  title: string,
  message: string,
  businessName?: string,
  lang?: string,
  /** The environment's brand (or the organization's) where the caller knows it; none otherwise. */
  brand?: Brand,
): string {
  return page({
    title,
    businessName,
    lang,
    brand,
    body: html`<h1>${title}</h1><p class="error" role="alert">${message}</p>`,
  });
}
