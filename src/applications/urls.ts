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
