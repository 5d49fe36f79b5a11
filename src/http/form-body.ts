// The one parser of application/x-www-form-urlencoded bodies, for every surface that accepts them
// (OAuth endpoints, the authorization endpoint, sign-in pages, logout; the Management API takes
// JSON only). A form carries at most MAX_FORM_PARAMETERS parameters: ours need a handful, and
// parsing tens of thousands into an object is work a caller can demand for free. The count is
// taken first, in one pass that stops at the first parameter too many, and nothing is parsed then.

/** More parameters than any of our forms has by far; the limit Node's own querystring.parse uses. */
export const MAX_FORM_PARAMETERS = 1000;

/** A 400 the error handler answers in the route's vocabulary (OAuth JSON or an HTML page). */
export class FormTooManyParametersError extends Error {
  readonly statusCode = 400;

  constructor() {
    super(`The request body has more than ${MAX_FORM_PARAMETERS} parameters`);
    this.name = "FormTooManyParametersError";
  }
}

export type FormFields = Record<string, string | string[]>;

const AMPERSAND = 0x26;

/**
 * Whether `body` has more than `max` parameters: non-empty `&`-separated segments, which is what
 * the URL Standard's parser (§5.1) turns into name-value pairs.
 */
export function exceedsParameterLimit(body: string, max = MAX_FORM_PARAMETERS): boolean {
  let count = 0;
  let inSegment = false;
  for (let i = 0; i < body.length; i++) {
    if (body.charCodeAt(i) === AMPERSAND) {
      inSegment = false;
    } else if (!inSegment) {
      inSegment = true;
      if (++count > max) return true;
    }
  }
  return false;
}

/**
 * The form as an object without a prototype (a `__proto__` field is just a field); a repeated name
 * gives an array, as before, so Params can refuse it (RFC 6749 §3.1).
 */
export function parseFormBody(body: string): FormFields {
  if (exceedsParameterLimit(body)) throw new FormTooManyParametersError();
  const fields: FormFields = Object.create(null);
  // The URL Standard's application/x-www-form-urlencoded parser: `+` is a space, percent-decoding
  // never throws, and empty segments are skipped. URLSearchParams would drop a leading `?` (a
  // query string's); behind an empty segment it stays part of the first name, as the parser says.
  for (const [name, value] of new URLSearchParams(body.startsWith("?") ? `&${body}` : body)) {
    const seen = fields[name];
    if (seen === undefined) fields[name] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else fields[name] = [seen, value];
  }
  return fields;
}
