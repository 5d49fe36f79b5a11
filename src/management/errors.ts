// The Management API's error vocabulary: Kinde's `{errors: [{code, message}]}` with codes from this
// one registry (COMPAT.md §2.3).

export const API_ERRORS = {
  INVALID_REQUEST: { status: 400, message: "The request is invalid" },
  INVALID_CREDENTIALS: { status: 401, message: "Invalid credentials used to access API" },
  FORBIDDEN: { status: 403, message: "The token does not grant the scope this operation needs" },
  ROUTE_NOT_FOUND: { status: 404, message: "The requested API route does not exist" },
  METHOD_NOT_ALLOWED: { status: 405, message: "The method is not allowed on this route" },
  PAYLOAD_TOO_LARGE: { status: 413, message: "The request body is too large" },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: "The request body must be application/json" },
  TOO_MANY_REQUESTS: { status: 429, message: "Too many requests" },
  INTERNAL_SERVER_ERROR: { status: 500, message: "An unexpected error occurred" },
  SERVICE_UNAVAILABLE: { status: 503, message: "The service is temporarily unavailable; retry shortly" },
} as const satisfies Record<string, { status: number; message: string }>;

export type ApiErrorCode = keyof typeof API_ERRORS;

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ApiErrorCode,
    message: string = API_ERRORS[code].message,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.status = API_ERRORS[code].status;
  }

  toJSON(): { errors: { code: string; message: string }[] } {
    return { errors: [{ code: this.code, message: this.message }] };
  }
}
