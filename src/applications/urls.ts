// Rules for registered callback (redirect) and logout URLs (RFC 9700 §2.1, §2.6; RFC 8252 §7).

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);
const FORBIDDEN_SCHEMES = new Set(["javascript:", "data:", "vbscript:", "file:", "blob:", "about:"]);
export const MAX_URL_LENGTH = 2000;

/** Why a URL cannot be registered, or undefined when it can. */
export function redirectUrlProblem(value: string): string | undefined {
  if (value.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "must be an absolute URL";
  }
  if (url.hash || value.includes("#")) return "must not contain a fragment (RFC 6749 §3.1.2)";
  if (FORBIDDEN_SCHEMES.has(url.protocol)) return `the ${url.protocol} scheme is not allowed`;
  if (url.username || url.password) return "must not contain credentials";
  if (url.protocol === "http:" && !LOOPBACK_HOSTS.has(url.hostname)) {
    return "http is only allowed for localhost; use https";
  }
  if ((url.protocol === "http:" || url.protocol === "https:") && url.hostname.includes("*")) {
    return "wildcards are not allowed; register each URL exactly";
  }
  return undefined;
}

/**
 * The registered URL a request's redirect_uri designates, if any. Matching is exact (RFC 9700
 * §4.1.3) with one allowance: Kinde's js-utils strips a trailing slash from a registered URL on the
 * authorization request (COMPAT.md §1.2), so `X` designates a registered `X/`.
 */
export function matchRegisteredUrl(value: string, registered: readonly string[]): string | undefined {
  if (registered.includes(value)) return value;
  const withSlash = `${value}/`;
  return registered.includes(withSlash) ? withSlash : undefined;
}

/**
 * Why a URL cannot be registered by an application other than Latchkey's admin dashboard, or
 * undefined when it can: it lies in Latchkey's own URL space — the issuer's origin, or beneath the
 * issuer's path when ISSUER_URL has one (a proxy mounting Latchkey at https://example.com/auth
 * leaves the rest of that origin to the business's apps). Every page there is Latchkey's: a code or
 * logout redirect sent to one lands in Latchkey's hands (RFC 9700 §4.1: a redirect URI is only as safe
 * as the page it names) (the dashboard's callback runs the
 * dashboard's code exchange), and an application holding the dashboard's callback is one step from
 * being taken for it. The same server is matched whatever name or port spelling reaches it: host
 * case, a trailing dot, loopback aliases, dot segments and percent-encoding in the path.
 */
export function issuerSpaceProblem(value: string, issuer: string): string | undefined {
  let url: URL;
  let base: URL;
  try {
    url = new URL(value);
    base = new URL(issuer);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  if (serverOf(url) !== serverOf(base)) return undefined;
  const prefix = decodedPath(base).replace(/\/+$/, "");
  const path = decodedPath(url);
  if (prefix && path !== prefix && !path.startsWith(`${prefix}/`)) return undefined;
  return `is Latchkey's own URL (under ${issuer}); only Latchkey's admin dashboard is registered there`;
}

/** Host and effective port, with the spellings that reach the same listener made one. */
function serverOf(url: URL): string {
  const host = url.hostname.replace(/\.$/, "");
  const loopback =
    host === "localhost" ||
    host.endsWith(".localhost") ||
    host === "[::1]" ||
    /^127\.\d+\.\d+\.\d+$/.test(host);
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  return `${loopback ? "loopback" : host}:${port}`;
}

/** The path as a server behind a decoding proxy may see it: percent-decoded, case folded. */
function decodedPath(url: URL): string {
  let path = url.pathname;
  try {
    path = decodeURIComponent(path);
  } catch {
    // Malformed escapes: compare the path as written.
  }
  return path.toLowerCase();
}
