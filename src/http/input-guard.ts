// Text that no surface can store or compare safely is refused before any handler sees it:
// PostgreSQL rejects NUL in text columns (SQLSTATE 22021), which would otherwise surface as a 500.
import type { FastifyInstance } from "fastify";

const MAX_DEPTH = 32;

function containsNul(value: unknown, depth = 0): boolean {
  if (typeof value === "string") return value.includes("\u0000");
  if (depth > MAX_DEPTH || value === null || typeof value !== "object") return false;
  if (Array.isArray(value)) return value.some((v) => containsNul(v, depth + 1));
  return Object.entries(value).some(([k, v]) => k.includes("\u0000") || containsNul(v, depth + 1));
}

export function registerInputGuard(app: FastifyInstance): void {
  app.addHook("preValidation", async (request) => {
    if (containsNul(request.query) || containsNul(request.params) || containsNul(request.body)) {
      throw Object.assign(new Error("The request contains a NUL character"), { statusCode: 400 });
    }
  });
}
