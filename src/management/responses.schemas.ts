// The error responses every Management API operation documents next to its success body
// (`schema.response`), all Kinde's error_response `{errors: [{code, message}]}`. Spread the set that
// fits the method, plus notFound(…) or conflict(…) where the operation can answer them:
//   response: { 200: Body, ...WRITE_ERRORS, ...notFound("User") }
// Fastify serialises each status with its schema, so an error body keeps exactly code and message.
import { ErrorResponse } from "./schemas.js";

const error = (description: string) => ({ ...ErrorResponse, description });

/** What any operation can answer: bad input, no or wrong token, throttled, server trouble. */
export const READ_ERRORS = {
  400: error("Invalid request."),
  401: error("Missing or invalid bearer token."),
  403: error("The token does not grant the scope this operation requires."),
  429: error("Too many requests. Request was throttled."),
  500: error("Unexpected error."),
  503: error("Temporarily unavailable (the database is unreachable); retry shortly."),
};

/** Operations that may carry a request body (PUT, PATCH, DELETE). */
export const WRITE_ERRORS = {
  ...READ_ERRORS,
  413: error("The request body is too large."),
  415: error("The request body must be application/json."),
};

/** POSTs: also Idempotency-Key reused for a different request. */
export const POST_ERRORS = {
  ...WRITE_ERRORS,
  422: error("This Idempotency-Key was used with a different request."),
};

/** `what` is not found: "User", "API or scope". */
export const notFound = (what: string) => ({ 404: error(`${what} not found.`) });

/** Creating or changing it would duplicate an existing one. */
export const conflict = (what: string) => ({ 409: error(`${what} already exists.`) });
