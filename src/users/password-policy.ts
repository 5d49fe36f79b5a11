// What a chosen password must be (NIST SP 800-63B §3.1.1.2, ASVS 6.2): long enough, not absurdly
// long, and not on a list of commonly used or breached passwords. No composition rules (they make
// passwords harder to remember, not harder to guess: §3.1.1.2 says not to impose them). Kept apart
// from the hashing (passwords.ts): judging a password (e.g. BOOTSTRAP_ADMIN_PASSWORD, in bootstrap)
// needs no hashing pool. Imported hashes (the Management API's hashed_password) cannot be
// checked: only a password chosen in plain text is.
import { readFileSync } from "node:fs";
import { COMMON_PASSWORDS_FILE } from "../paths.js";

/** ASVS 6.2.1/6.2.9: at least 8 characters, up to 256 accepted, no composition rules, no truncation. */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;

export const COMMON_PASSWORD_MESSAGE =
  "This password is too common (it appears in lists of breached passwords).";

/** Why `password` may not be chosen, or undefined when it may. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < PASSWORD_MIN_LENGTH) return `Use at least ${PASSWORD_MIN_LENGTH} characters.`;
  if (password.length > PASSWORD_MAX_LENGTH) return `Use at most ${PASSWORD_MAX_LENGTH} characters.`;
  if (isCommonPassword(password)) return COMMON_PASSWORD_MESSAGE;
  return undefined;
}

/**
 * The form in which a password is looked up in the list (and in which the list is written by
 * scripts/common-passwords.mjs, which must stay in step). NFKC folds compatibility forms (fullwidth
 * letters, ligatures) as §5.1.1.2 suggests for Unicode passwords; lower case because a breach list
 * is matched case-insensitively ("Password" is as common as "password"). Only the lookup uses it:
 * the password itself is hashed as typed.
 */
export function normalizeForLookup(password: string): string {
  return password.normalize("NFKC").toLowerCase();
}

// resources/common-passwords.txt, read once when first needed (~355 KB, held for the process's
// life: constant memory whatever the traffic). A missing or unreadable file throws — a check that
// silently passed every password would be worse than an error.
let list: Buffer | undefined;

function commonPasswords(): Buffer {
  list ??= readFileSync(COMMON_PASSWORDS_FILE);
  return list;
}

/** True when `password` is on the list of common passwords (resources/README.md). */
export function isCommonPassword(password: string): boolean {
  return sortedLinesInclude(commonPasswords(), Buffer.from(normalizeForLookup(password), "utf8"));
}

const NEWLINE = 0x0a;

/**
 * Binary search for `needle` among the lines of `lines` (each ending in "\n", sorted by bytes),
 * over the bytes themselves: no index, no per-entry strings. `low` and `high` are always line
 * starts; the line around the middle byte is compared and the half that cannot hold it dropped.
 */
function sortedLinesInclude(lines: Buffer, needle: Buffer): boolean {
  if (needle.includes(NEWLINE)) return false;
  let low = 0;
  let high = lines.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    // (lastIndexOf with a negative offset would count from the end.)
    const start = middle === 0 ? 0 : lines.lastIndexOf(NEWLINE, middle - 1) + 1;
    let end = lines.indexOf(NEWLINE, start);
    if (end === -1) end = lines.length;
    const order = lines.compare(needle, 0, needle.length, start, end);
    if (order === 0) return true;
    if (order < 0) low = end + 1;
    else high = start;
  }
  return false;
}
