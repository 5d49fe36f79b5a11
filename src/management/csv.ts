// CSV as RFC 4180 §2 writes it, made safe to open in a spreadsheet.

/**
 * OWASP "CSV Injection": a cell a spreadsheet would read as a formula (it starts with =, +, -, @,
 * a tab or a carriage return) is prefixed with an apostrophe, so it shows as text and never runs.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/** One field: neutralised, then quoted when it holds a comma, a quote or a line break (RFC 4180 §2.6–2.7). */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return "";
  let text = String(value);
  if (typeof value === "string" && FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One record, CRLF-terminated (RFC 4180 §2.1). */
export function csvRecord(values: readonly (string | number | null | undefined)[]): string {
  return `${values.map(csvField).join(",")}\r\n`;
}
