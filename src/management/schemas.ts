// Shapes shared by every Management API operation (Kinde's success_response and error_response),
// as TypeBox schemas: the one source for validation, the OpenAPI document and TypeScript types.
import { type TSchema, Type } from "@sinclair/typebox";
import { ApiError } from "./errors.js";

export const SuccessResponse = Type.Object({ code: Type.String(), message: Type.String() });

export const ErrorResponse = Type.Object({
  errors: Type.Array(Type.Object({ code: Type.String(), message: Type.String() })),
});

export function success(message = "Success", code = "OK"): { code: string; message: string } {
  return { code, message };
}

/** Standard error responses documented on every operation. */
export const ERROR_RESPONSES = {
  400: ErrorResponse,
  401: ErrorResponse,
  403: ErrorResponse,
  404: ErrorResponse,
};

// No null branch: with type coercion, "0" would otherwise silently become null (the default page).
export const PageSize = Type.Optional(Type.Integer({ minimum: 1 }));
export const MAX_PAGE_SIZE = 500;
export const DEFAULT_PAGE_SIZE = 10;

/** Opaque keyset cursor for `next_token` pagination: base64url JSON of the last row's sort key. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

export function decodeCursor<T>(
  token: string | undefined | null,
  check: (value: unknown) => value is T,
): T | undefined {
  if (!token) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (check(value)) return value;
  } catch {
    // fall through to the error below
  }
  return undefined;
}

/**
 * The page a list request asks for: its size (PAGE_SIZE_LIMIT_EXCEEDED past MAX_PAGE_SIZE) and the
 * decoded `next_token` (INVALID_NEXT_TOKEN when it is not a cursor `check` accepts) — a 400, never
 * a query built from a forged token.
 */
export function readPage<T>(
  pageSize: number | undefined,
  nextToken: string | undefined | null,
  check: (value: unknown) => value is T,
): { limit: number; after: T | undefined } {
  const limit = pageSize ?? DEFAULT_PAGE_SIZE;
  if (limit > MAX_PAGE_SIZE) throw new ApiError("PAGE_SIZE_LIMIT_EXCEEDED");
  const after = decodeCursor(nextToken, check);
  if (nextToken && !after) throw new ApiError("INVALID_NEXT_TOKEN");
  return { limit, after };
}

/**
 * The keyset cursor of a list read newest first by (time, id) — the audit log, the authentication
 * log, the mail outbox, a webhook's deliveries: the last row's time and id, compared as a row value.
 */
export type TimeCursor = { at: number; id: string };

/**
 * A safe integer time (a forged 1e300 or 1.5 would reach an integer column as a bound the database
 * refuses, a 500) and an id no longer than any id this server writes.
 */
export const isTimeCursor = (v: unknown): v is TimeCursor =>
  typeof v === "object" &&
  v !== null &&
  Number.isSafeInteger((v as TimeCursor).at) &&
  typeof (v as TimeCursor).id === "string" &&
  (v as TimeCursor).id.length <= 100;

/** Epoch seconds (how every table stores time) as the ISO 8601 date-time the API answers with. */
export function isoSeconds(seconds: number): string;
export function isoSeconds(seconds: number | null): string | null;
export function isoSeconds(seconds: number | null): string | null {
  return seconds === null ? null : new Date(seconds * 1000).toISOString();
}

export function nullable<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()]);
}
