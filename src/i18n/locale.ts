// Which language a hosted page speaks (issue 20). Kinde's `lang` parameter on the authorization
// request wins (COMPAT.md §1.2: a 2-letter ISO code), then the browser's Accept-Language
// (RFC 9110 §12.5.4, ranges weighed by q), then English. A region falls back to its language
// (RFC 4647 §3.4 lookup: fr-CA → fr).

export const LOCALES = ["en", "fr"] as const;
export type Locale = (typeof LOCALES)[number];
export const DEFAULT_LOCALE: Locale = "en";

/** Past this, a header is not a browser's list of languages; it is read no further. */
const MAX_HEADER_LENGTH = 1024;
const MAX_RANGES = 32;
// RFC 4647 §2.1 language-range: 1–8 letters, then subtags of 1–8 alphanumerics; or "*".
const LANGUAGE_RANGE = /^(?:\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)$/;
// RFC 9110 §12.4.2 qvalue.
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

function isLocale(value: string): value is Locale {
  return (LOCALES as readonly string[]).includes(value);
}

/** The supported locale a language tag names, its region and script dropped (fr-CA → fr); or undefined. */
export function localeOfTag(tag: string | undefined): Locale | undefined {
  if (!tag || tag.length > 35 || !LANGUAGE_RANGE.test(tag)) return undefined;
  const language = tag.split("-")[0]!.toLowerCase();
  return isLocale(language) ? language : undefined;
}

/**
 * The language ranges of an Accept-Language header, best first (q descending; equal q keeps the
 * header's order). Malformed entries and q=0 ("not acceptable") are dropped, never an error.
 */
export function parseAcceptLanguage(header: string | undefined): string[] {
  if (!header || header.length > MAX_HEADER_LENGTH) return [];
  const ranges: { range: string; q: number; index: number }[] = [];
  for (const [index, entry] of header.split(",").slice(0, MAX_RANGES).entries()) {
    const [rangePart, ...params] = entry.split(";").map((part) => part.trim());
    if (!rangePart || !LANGUAGE_RANGE.test(rangePart)) continue;
    let q = 1;
    for (const param of params) {
      const match = /^q\s*=\s*(.*)$/i.exec(param);
      if (!match) continue;
      const value = match[1]!.trim();
      q = QVALUE.test(value) ? Number(value) : Number.NaN;
    }
    if (!(q > 0)) continue;
    ranges.push({ range: rangePart, q, index });
  }
  return ranges.sort((a, b) => b.q - a.q || a.index - b.index).map((r) => r.range);
}

/** The first supported locale the header accepts ("*" accepts the default); or undefined. */
export function localeFromAcceptLanguage(header: string | undefined): Locale | undefined {
  for (const range of parseAcceptLanguage(header)) {
    if (range === "*") return DEFAULT_LOCALE;
    const locale = localeOfTag(range);
    if (locale) return locale;
  }
  return undefined;
}

/** `lang` (Kinde's parameter, or a page's `?lang=`), then Accept-Language, then English. */
export function chooseLocale(lang: unknown, acceptLanguage: unknown): Locale {
  return (
    (typeof lang === "string" ? localeOfTag(lang) : undefined) ??
    (typeof acceptLanguage === "string" ? localeFromAcceptLanguage(acceptLanguage) : undefined) ??
    DEFAULT_LOCALE
  );
}

/** A stored locale read back (an authorization request's JSON): trusted only if it is one we serve. */
export function storedLocale(value: unknown): Locale | undefined {
  return typeof value === "string" && isLocale(value) ? value : undefined;
}

function langOf(params: unknown): unknown {
  return params && typeof params === "object" && "lang" in params ? params.lang : undefined;
}

/**
 * A page outside a sign-in (account, device, invitation, logout, an expired request): its own
 * `?lang=`, or the `lang` its form carried forward (a POST has no query: the page that drew the
 * form put the language in a hidden field), then the browser's languages. Structural, so this
 * module needs no HTTP framework.
 */
export function requestLocale(request: {
  query?: unknown;
  body?: unknown;
  headers: Record<string, unknown>;
}): Locale {
  const lang = langOf(request.query) ?? langOf(request.body);
  return chooseLocale(lang, request.headers["accept-language"]);
}
