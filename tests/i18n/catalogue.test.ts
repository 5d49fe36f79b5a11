// Issue 20: one catalogue for the hosted pages' text. Every language has every key, with the same
// `{values}` as the English, none empty and none left in English by mistake; the lookup fills values
// and escapes HTML; Accept-Language is read as RFC 9110 §12.5.4 says (q-values, region fallback).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { html } from "../../src/http/html.js";
import { CATALOGUE, lifetime, plural, t, th, wait } from "../../src/i18n/catalogue.js";
import { en } from "../../src/i18n/en.js";
import {
  chooseLocale,
  LOCALES,
  localeFromAcceptLanguage,
  parseAcceptLanguage,
  requestLocale,
} from "../../src/i18n/locale.js";

const placeholders = (message: string) => [...message.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]).sort();

describe("the catalogue", () => {
  const keys = Object.keys(en).sort();

  for (const locale of LOCALES) {
    it(`${locale} has exactly the English keys, each with the same placeholders`, () => {
      const messages = CATALOGUE[locale] as Record<string, string>;
      assert.deepEqual(Object.keys(messages).sort(), keys);
      for (const key of keys) {
        const message = messages[key]!;
        assert.ok(message.trim().length > 0, `${locale} ${key} is empty`);
        assert.deepEqual(
          placeholders(message),
          placeholders((en as Record<string, string>)[key]!),
          `${locale} ${key}`,
        );
        assert.doesNotMatch(message, /\{(?![a-z_]+\})/, `${locale} ${key} has a stray brace`);
      }
    });
  }

  it("French is a translation: sentences differ from the English", () => {
    // Brand names, codes and single shared words ("Code", "minute") may be the same in both.
    const same = Object.entries(en).filter(
      ([key, message]) =>
        message
          .replace(/\{[a-z_]+\}/g, "")
          .trim()
          .includes(" ") && CATALOGUE.fr[key as keyof typeof en] === message,
    );
    assert.deepEqual(same, []);
  });

  it("every plural pair has both forms", () => {
    for (const key of Object.keys(en)) {
      if (key.endsWith(".one")) assert.ok(`${key.slice(0, -4)}.other` in en, key);
      if (key.endsWith(".other")) assert.ok(`${key.slice(0, -6)}.one` in en, key);
    }
  });

  it("fills values, and th escapes text but keeps markup given as values", () => {
    assert.equal(t("en", "sign_in.lead", { app: "Acme" }), "to continue to Acme");
    assert.equal(t("fr", "sign_in.lead", { app: "Acme" }), "pour continuer vers Acme");
    const markup = th("en", "email_code.sent_to", {
      email: html`<strong>${"a<b>@example.com"}</strong>`,
      app: "<script>",
    }).value;
    assert.equal(
      markup,
      "We sent a 6-digit code to <strong>a&lt;b&gt;@example.com</strong>. Enter it to continue to &lt;script&gt;.",
    );
  });

  it("plurals follow each language's rules (French 0 and 1 are singular)", () => {
    assert.equal(plural("en", "time.hours", 1), "1 hour");
    assert.equal(plural("en", "time.hours", 0), "0 hours");
    assert.equal(plural("fr", "time.hours", 0), "0 heure");
    assert.equal(plural("fr", "time.minutes", 2), "2 minutes");
    assert.equal(lifetime("en", 7200), "2 hours");
    assert.equal(lifetime("fr", 600), "10 minutes");
    assert.equal(wait("en", 61), "2 minutes");
    assert.equal(wait("fr", 3 * 3600), "3 heures");
  });
});

describe("Accept-Language", () => {
  it("orders ranges by q, keeping the header's order for equal weights", () => {
    assert.deepEqual(parseAcceptLanguage("de;q=0.5, fr-CA, en;q=0.8, it"), ["fr-CA", "it", "en", "de"]);
  });

  it("drops q=0, malformed ranges and malformed q-values", () => {
    assert.deepEqual(parseAcceptLanguage("fr;q=0, en;q=0.1"), ["en"]);
    assert.deepEqual(parseAcceptLanguage("fr;q=2, <script>, en-US;q=0.7"), ["en-US"]);
    assert.deepEqual(parseAcceptLanguage("fr;q=0.1234"), []);
    assert.deepEqual(parseAcceptLanguage(""), []);
    assert.deepEqual(parseAcceptLanguage(undefined), []);
    assert.deepEqual(parseAcceptLanguage(`fr,${"x".repeat(2000)}`), [], "an oversized header is not read");
  });

  it("falls back from a region to its language, and skips languages not served", () => {
    assert.equal(localeFromAcceptLanguage("fr-CA"), "fr");
    assert.equal(localeFromAcceptLanguage("de-DE, fr;q=0.9, en;q=0.8"), "fr");
    assert.equal(localeFromAcceptLanguage("en-GB, fr;q=0.9"), "en");
    assert.equal(localeFromAcceptLanguage("de, ja"), undefined);
    assert.equal(localeFromAcceptLanguage("de, *;q=0.1"), "en");
    assert.equal(localeFromAcceptLanguage("FR-be"), "fr");
  });

  it("lang wins, then Accept-Language, then English", () => {
    assert.equal(chooseLocale("fr", "en-US"), "fr");
    assert.equal(chooseLocale("en", "fr-FR"), "en");
    assert.equal(chooseLocale("de", "fr-FR"), "fr", "a lang not served falls back to the browser's");
    assert.equal(chooseLocale(undefined, "fr-FR,fr;q=0.9"), "fr");
    assert.equal(chooseLocale(["fr", "en"], undefined), "en", "a repeated lang is ignored");
    assert.equal(chooseLocale("x".repeat(100), undefined), "en");
    assert.equal(chooseLocale(undefined, undefined), "en");
    assert.equal(requestLocale({ query: { lang: "fr" }, headers: {} }), "fr");
    assert.equal(requestLocale({ query: {}, headers: { "accept-language": "fr-CH" } }), "fr");
  });
});
