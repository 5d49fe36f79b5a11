// One mailbox, one account: every e-mail address Latchkey stores or looks up goes through
// canonicalEmail first, so two spellings of one mailbox can never become two users (or a second
// "admin"). The canonical form:
//   - Unicode NFC over the whole address (`josé` typed precomposed or decomposed is one address);
//   - the local part lower-cased (as Latchkey always has; RFC 5321 §2.4 lets a host tell case apart,
//     but no mailbox provider a sign-in service meets does, and treating them apart invites
//     look-alike accounts);
//   - the domain through UTS #46 / IDNA 2008 to ASCII (RFC 5891 A-labels: `bücher.example` and
//     `xn--bcher-kva.example` are one domain), which also folds full-width and other compatibility
//     forms and lower-cases, with one trailing root dot removed (`example.org.` is `example.org`).
// Compatibility characters in the local part (full-width letters, ligatures) are refused rather than
// folded: the local part is the mailbox owner's own text, and folding it could join two mailboxes
// the receiving server tells apart.
import { domainToASCII } from "node:url";

// Local part: 1-64 characters without whitespace, quotes or separators, and without any character
// that does not show — controls, format characters (zero-width space, soft hyphen, bidirectional
// overrides), private-use, unassigned or lone surrogate code points (stored, a surrogate would become U+FFFD) — so no account can look exactly like
// another on a screen; domain: a DNS name with at least two labels (ASCII letters, digits, inner
// hyphens, after IDNA), at most 253.
const EMAIL_LOCAL = /^[^\s\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}@"(),:;<>[\]\\]{1,64}$/u;
const DOMAIN_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** RFC 5321 §4.5.3.1.3: a path holds at most 256 octets, so an address at most 254 characters. */
export const MAX_EMAIL_LENGTH = 254;

interface Parts {
  local: string;
  /** The domain in ASCII, or undefined when IDNA processing refused it. */
  domain: string | undefined;
}

/**
 * Longer text is no address (254 at most) and is not normalised: NFC reorders runs of combining
 * marks in quadratic time, so a megabyte of them would hold the event loop for seconds.
 */
const MAX_TYPED_LENGTH = 1024;

function split(input: string): Parts | undefined {
  if (input.length > MAX_TYPED_LENGTH) return undefined;
  const text = input.trim().normalize("NFC");
  const at = text.lastIndexOf("@");
  if (at <= 0) return undefined;
  const local = text.slice(0, at);
  // domainToASCII answers "" for a name UTS #46 refuses (forbidden code points, bad A-labels).
  const ascii = domainToASCII(text.slice(at + 1));
  const domain = ascii.endsWith(".") ? ascii.slice(0, -1) : ascii;
  return { local, domain: domain === "" ? undefined : domain };
}

/**
 * The canonical form of an address, for storing and comparing. Never throws: text that is not an
 * address comes back trimmed, NFC-normalised and lower-cased, so a lookup with it finds nobody
 * (stored addresses passed emailProblem).
 */
export function canonicalEmail(input: string): string {
  if (input.length > MAX_TYPED_LENGTH) return input.toLowerCase();
  const parts = split(input);
  if (!parts || parts.domain === undefined) return input.trim().normalize("NFC").toLowerCase();
  return `${parts.local.toLowerCase()}@${parts.domain}`;
}

/** Why the text cannot be stored as an e-mail address, as the end of "The email address …"; or undefined. */
export function emailProblem(input: string): string | undefined {
  const parts = split(input);
  if (!parts) return "is not valid";
  const { local, domain } = parts;
  if (local.normalize("NFKC") !== local)
    return "contains full-width or other compatibility characters before the @; type it with ordinary characters";
  if (domain === undefined) return "has a domain that is not a valid internationalised domain name";
  const labels = domain.split(".");
  const valid =
    EMAIL_LOCAL.test(local) &&
    !local.startsWith(".") &&
    !local.endsWith(".") &&
    !local.includes("..") &&
    domain.length <= 253 &&
    labels.length >= 2 &&
    labels.every((label) => DOMAIN_LABEL.test(label)) &&
    !/^\d+$/.test(labels.at(-1)!) &&
    canonicalEmail(input).length <= MAX_EMAIL_LENGTH;
  return valid ? undefined : "is not valid";
}
