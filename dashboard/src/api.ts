// The Management API client: every call carries the administrator's bearer token (RFC 6750 §2.1);
// failures become ApiFailure with a message people can read.
import { currentSession } from "./auth.js";

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Raised when the token is missing or no longer accepted: the caller signs in again. `refused`
 * tells a token the server turned down (401) from having none.
 */
export class SignInRequired extends Error {
  constructor(readonly refused = false) {
    super(refused ? "The token was refused" : "Not signed in");
  }
}

/** Raised when the signed-in user is not an administrator. */
export class NotAdministrator extends Error {}

const FRIENDLY: Record<string, string> = {
  TOO_MANY_REQUESTS: "Too many requests in a short time. Wait a minute and try again.",
  SERVICE_UNAVAILABLE: "Latchkey cannot reach its database right now. Try again in a moment.",
  INTERNAL_SERVER_ERROR:
    "Something went wrong on the server. Try again; if it keeps happening, check the logs.",
};

function failureOf(status: number, body: unknown): ApiFailure {
  const errors = (body as { errors?: unknown } | null)?.errors;
  const first = (Array.isArray(errors) ? errors[0] : errors) as
    | { code?: unknown; message?: unknown }
    | undefined;
  const code = typeof first?.code === "string" ? first.code : `HTTP_${status}`;
  const message =
    FRIENDLY[code] ??
    (typeof first?.message === "string" && first.message
      ? first.message
      : `The request failed (HTTP ${status}). Try again.`);
  return new ApiFailure(status, code, message);
}

export async function api<T = Record<string, unknown>>(
  method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE",
  path: string,
  body?: unknown,
): Promise<T> {
  const session = currentSession();
  if (!session) throw new SignInRequired();
  const headers: Record<string, string> = {
    authorization: `Bearer ${session.accessToken}`,
    accept: "application/json",
  };
  // A FormData body (a logo upload) goes as multipart/form-data, its boundary set by fetch.
  const form = body instanceof FormData;
  if (body !== undefined && !form) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : form ? body : JSON.stringify(body),
    });
  } catch {
    throw new ApiFailure(0, "NETWORK", "Latchkey could not be reached. Check your connection and try again.");
  }
  const text = await response.text();
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  if (response.status === 401) throw new SignInRequired(true);
  if (response.ok) return parsed as T;
  const failure = failureOf(response.status, parsed);
  if (response.status === 403 && /administrator/i.test(failure.message)) throw new NotAdministrator();
  throw failure;
}

/** The message to show for any error thrown while talking to the API. */
export function describeError(error: unknown): string {
  if (error instanceof ApiFailure) return error.message;
  if (error instanceof Error && error.message) return error.message;
  return "Something went wrong. Try again.";
}

export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : "";
}
