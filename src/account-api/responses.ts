// The Account API's wire conventions (COMPAT.md §1.8): successes are `{data, metadata}` with Kinde's
// cursor paging, errors are Kinde's `{errors: [{code, message}]}` (the Account API's own OpenAPI
// document's ErrorResponse). Errors are values the routes send, never thrown into another surface's
// vocabulary.
import type { FastifyReply } from "fastify";

export type AccountApiErrorCode =
  | "INVALID_CREDENTIALS"
  | "INVALID_REQUEST"
  | "FEATURE_FLAG_NOT_FOUND"
  | "ENTITLEMENT_NOT_FOUND"
  | "ORGANIZATION_NOT_FOUND";

/** An error answer, as a value (routes return it; it is never thrown). */
export class AccountApiError {
  constructor(
    readonly status: number,
    readonly code: AccountApiErrorCode,
    readonly message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {}
}

export function accountApiError(
  status: number,
  code: AccountApiErrorCode,
  message: string,
  headers?: Readonly<Record<string, string>>,
): AccountApiError {
  return new AccountApiError(status, code, message, headers);
}

export function sendAccountApiError(reply: FastifyReply, error: AccountApiError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return reply.code(error.status).send({ errors: [{ code: error.code, message: error.message }] });
}

/** Kinde's page metadata: `next_page_starting_after` is the last item's id while more follow. */
export interface PageMetadata {
  has_more: boolean;
  next_page_starting_after: string | null;
}

/** Kinde's Account API pages 10 items unless told (`page_size`; the .NET client says `limit`). */
export const DEFAULT_PAGE_SIZE = 10;
export const MAX_PAGE_SIZE = 1000;

export interface PageQuery {
  page_size?: unknown;
  limit?: unknown;
  starting_after?: unknown;
}

/**
 * One page of `items` (already in their stable order), after the item whose id is
 * `starting_after`. js-utils follows `next_page_starting_after` until `has_more` is false and merges
 * the pages' `data`, so every page must carry the same shape.
 */
export function pageOf<T>(
  items: readonly T[],
  idOf: (item: T) => string,
  query: PageQuery,
): { page: T[]; metadata: PageMetadata } | { error: AccountApiError } {
  const sizeText = single(query.page_size) ?? single(query.limit);
  let size = DEFAULT_PAGE_SIZE;
  if (sizeText !== undefined) {
    if (!/^\d{1,4}$/.test(sizeText) || Number(sizeText) < 1 || Number(sizeText) > MAX_PAGE_SIZE)
      return { error: invalid(`page_size must be a whole number from 1 to ${MAX_PAGE_SIZE}`) };
    size = Number(sizeText);
  }
  let start = 0;
  const after = single(query.starting_after);
  if (after !== undefined) {
    const index = items.findIndex((item) => idOf(item) === after);
    if (index < 0) return { error: invalid("starting_after names no item of this list") };
    start = index + 1;
  }
  const page = items.slice(start, start + size);
  const hasMore = start + size < items.length;
  const last = page.at(-1);
  return {
    page,
    metadata: { has_more: hasMore, next_page_starting_after: hasMore && last ? idOf(last) : null },
  };
}

function single(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function invalid(message: string): AccountApiError {
  return accountApiError(400, "INVALID_REQUEST", message);
}
