// The server's rules for callback and logout URLs (src/applications/urls.ts: RFC 9700 §2.1 and
// §2.6, RFC 8252 §7), repeated here so the form can say what is wrong while the administrator
// types. The server stays the judge: it checks again on save.

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);
const FORBIDDEN_SCHEMES = new Set(["javascript:", "data:", "vbscript:", "file:", "blob:", "about:"]);

export function urlProblem(value: string): string | undefined {
  if (value.length > 2000) return "must be at most 2000 characters";
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "is not an absolute URL (include https://)";
  }
  if (url.hash || value.includes("#")) return "must not contain a fragment (#…)";
  if (FORBIDDEN_SCHEMES.has(url.protocol)) return `cannot use the ${url.protocol} scheme`;
  if (url.username || url.password) return "must not contain a user name or password";
  if (url.protocol === "http:" && !LOOPBACK_HOSTS.has(url.hostname))
    return "must use https (http is only allowed for localhost)";
  if ((url.protocol === "http:" || url.protocol === "https:") && url.hostname.includes("*"))
    return "cannot contain wildcards; list each URL";
  return undefined;
}

/** One URL a line; blank lines are ignored. */
export function urlLines(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
}

/** The first problem in a list of URLs, naming the line, or undefined when all are fine. */
export function urlListProblem(text: string): string | undefined {
  const lines = urlLines(text);
  for (const [index, line] of lines.entries()) {
    const problem = urlProblem(line);
    if (problem) return lines.length > 1 ? `Line ${index + 1}: ${line} ${problem}` : `${line} ${problem}`;
  }
  if (lines.length > 100) return "List at most 100 URLs";
  return undefined;
}
