// The one catalogue of the hosted pages' text (issue 20): every language, and the typed lookup.
// `t(locale, "sign_in.lead", { app })` checks at compile time that the key exists and that the
// values named in the English text are given; en.ts and fr.ts share one key type (Messages).
import { escapeHtml, SafeHtml } from "../http/html.js";
import { en, type MessageKey, type Messages } from "./en.js";
import { fr } from "./fr.js";
import type { Locale } from "./locale.js";

export type { MessageKey } from "./en.js";
export type { Locale } from "./locale.js";

export const CATALOGUE: Readonly<Record<Locale, Messages>> = { en, fr };

/** The `{name}`s of an English message, as a union of names. */
type Placeholders<S extends string> = S extends `${string}{${infer Name}}${infer Rest}`
  ? Name | Placeholders<Rest>
  : never;
type Values<K extends MessageKey, V> = [Placeholders<(typeof en)[K]>] extends [never]
  ? []
  : [values: Record<Placeholders<(typeof en)[K]>, V>];

/** The keys whose message takes no values: what a route may name without filling anything in. */
export type NoValues = {
  [K in MessageKey]: [Placeholders<(typeof en)[K]>] extends [never] ? K : never;
}[MessageKey];

const PLACEHOLDER = /\{([a-z_]+)\}/g;

/** The message for `key` in `locale`, its `{name}`s filled in (plain text: the page escapes it). */
export function t<K extends MessageKey>(
  locale: Locale,
  key: K,
  ...values: Values<K, string | number>
): string {
  const message = CATALOGUE[locale][key];
  const given = values[0] as Record<string, string | number> | undefined;
  return given
    ? message.replace(PLACEHOLDER, (whole, name: string) => String(given[name] ?? whole))
    : message;
}

/** As t, for HTML: the text is escaped, and a value may be markup (html`<strong>…</strong>`). */
export function th<K extends MessageKey>(
  locale: Locale,
  key: K,
  ...values: Values<K, string | number | SafeHtml>
): SafeHtml {
  const message = CATALOGUE[locale][key];
  const given = (values[0] ?? {}) as Record<string, string | number | SafeHtml>;
  let out = "";
  let last = 0;
  for (const match of message.matchAll(PLACEHOLDER)) {
    out += escapeHtml(message.slice(last, match.index));
    const value = given[match[1]!];
    out += value instanceof SafeHtml ? value.value : escapeHtml(String(value ?? match[0]));
    last = match.index + match[0].length;
  }
  return new SafeHtml(out + escapeHtml(message.slice(last)));
}

type PluralKey<K extends string> = K extends `${infer Base}.one` ? Base : never;
/** The bases of the plural pairs: "time.hours" for "time.hours.one" / "time.hours.other". */
export type PluralBase = PluralKey<MessageKey>;

/** `count` with the plural form its language uses (Intl.PluralRules: French 0 and 1 are "one"). */
export function plural(locale: Locale, base: PluralBase, count: number): string {
  const form = new Intl.PluralRules(locale).select(count) === "one" ? "one" : "other";
  const message = CATALOGUE[locale][`${base}.${form}` as MessageKey];
  return message.replace("{count}", String(count));
}

/** A code's life as a person reads it: "2 hours", "30 minutes". */
export function lifetime(locale: Locale, seconds: number): string {
  return seconds % 3600 === 0
    ? plural(locale, "time.hours", seconds / 3600)
    : plural(locale, "time.minutes", Math.ceil(seconds / 60));
}

/** How long until a limit lifts (RFC 6585 §4's Retry-After, in words): hours past 90 minutes. */
export function wait(locale: Locale, seconds: number): string {
  return seconds > 90 * 60
    ? plural(locale, "time.hours", Math.ceil(seconds / 3600))
    : plural(locale, "time.minutes", Math.ceil(seconds / 60));
}
