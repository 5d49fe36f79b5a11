// The token endpoint's answers as JSON, without JSON.stringify's character-by-character escaping
// pass over the tokens. A machine token carrying every Management API scope is ~10 KB and its
// `scope` another 3.4 KB: JSON.stringify of that answer took ~38 µs of the event loop on the bench
// machine, flatJson ~6.5 µs. A string JSON.stringify would copy unchanged is written between quotes
// as it is, and finding that out is cheap: for a long string, one memchr-backed `includes` per
// character JSON escapes; for a short one, a regular expression. Tokens are base64url segments
// joined by dots and scopes are NQCHAR (RFC 6749 §3.3 excludes `"` and `\`), so the check nearly
// always passes; when it does not, JSON.stringify escapes that value as before.

/**
 * ASCII that JSON.stringify writes unchanged: everything but `"`, `\` and the controls below
 * U+0020 (RFC 8259 §7). Non-ASCII is left to JSON.stringify (it escapes lone surrogates).
 */
const VERBATIM = /^[\x20\x21\x23-\x5b\x5d-\x7f]*$/;
const ESCAPED = ['"', "\\", ...Array.from({ length: 0x20 }, (_, code) => String.fromCharCode(code))];
/** From this length a search per escaped character beats the regular expression's per-character loop. */
const SEARCH_FROM_LENGTH = 512;

function verbatim(value: string): boolean {
  if (value.length < SEARCH_FROM_LENGTH) return VERBATIM.test(value);
  // As many UTF-8 bytes as characters: ASCII only.
  if (Buffer.byteLength(value, "utf8") !== value.length) return false;
  for (const character of ESCAPED) if (value.includes(character)) return false;
  return true;
}

function jsonString(value: string): string {
  return verbatim(value) ? `"${value}"` : JSON.stringify(value);
}

/**
 * Exactly `JSON.stringify(object)` (same text, same key order) for an object whose values are
 * strings, numbers, booleans, null or undefined; anything else (a nested object, an array, a
 * `toJSON`) is handed to JSON.stringify whole, so the result is the same text in every case.
 */
export function flatJson(object: object): string {
  const fields = object as Readonly<Record<string, unknown>>;
  if (typeof fields.toJSON === "function") return JSON.stringify(object);
  let members = "";
  for (const key of Object.keys(object)) {
    const value = fields[key];
    let json: string;
    switch (typeof value) {
      case "string":
        json = jsonString(value);
        break;
      case "number":
        // JSON has no NaN or Infinity: JSON.stringify writes null for them.
        json = Number.isFinite(value) ? String(value) : "null";
        break;
      case "boolean":
        json = value ? "true" : "false";
        break;
      case "undefined":
      case "function":
      case "symbol":
        // JSON.stringify leaves such members out.
        continue;
      default:
        if (value !== null) return JSON.stringify(object);
        json = "null";
    }
    members += `${members === "" ? "" : ","}${jsonString(key)}:${json}`;
  }
  return `{${members}}`;
}
