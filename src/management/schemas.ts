// Shapes shared by every Management API operation (Kinde's success_response and error_response),
// as TypeBox schemas: the one source for validation, the OpenAPI document and TypeScript types.
import { type TSchema, Type } from "@sinclair/typebox";

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

export function nullable<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()]);
}
