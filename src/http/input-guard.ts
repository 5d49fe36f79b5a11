// Text that no surface can store or compare safely is refused before any handler sees it:
// PostgreSQL rejects NUL in text columns (SQLSTATE 22021), which would otherwise surface as a 500.
import type { FastifyInstance } from "fastify";

const MAX_DEPTH = 32;

// Loops rather than Object.entries(…).some(…): every form post passes through here, and the
// entry arrays and closures were its only allocations.
function containsNul(value: unknown, depth = 0): boolean {
  if (typeof value === "string") return value.includes("\u0000");
  if (depth > MAX_DEPTH || value === null || typeof value !== "object") return false;
  if (Array.isArray(value)) {
    for (const item of value) if (containsNul(item, depth + 1)) return true;
    return false;
  }
  const fields = value as Record<string, unknown>;
  for (const key of Object.keys(fields))
    if (key.includes("\u0000") || containsNul(fields[key], depth + 1)) return true;
  return false;
}

/**
 * Whether the URL can carry a NUL into the query or path parameters. Both are decoded from the
 * URL alone, and percent-decoding yields U+0000 only from `%00` (overlong forms such as `%C0%80`
 * are invalid UTF-8 and do not decode); a raw NUL byte never gets past Node's HTTP parser, but
 * inject() could send one.
 */
function urlMayCarryNul(url: string): boolean {
  return url.includes("%00") || url.includes("\u0000");
}

export function registerInputGuard(app: FastifyInstance): void {
  // A callback hook: an async one costs every request a promise and a microtask turn.
  app.addHook("preValidation", (request, _reply, done) => {
    if (
      (urlMayCarryNul(request.url) && (containsNul(request.query) || containsNul(request.params))) ||
      (request.body !== undefined && containsNul(request.body))
    ) {
      done(Object.assign(new Error("The request contains a NUL character"), { statusCode: 400 }));
      return;
    }
    done();
  });
}
