// Request and response schemas of Kinde's user search (GET /api/v1/search/users, its
// search_users_response). Limits Kinde states nowhere are Latchkey's, so oversized input is a 400.
import { Type } from "@sinclair/typebox";
import { nullable, PageSize, SuccessResponse } from "../management/schemas.js";

const Cursor = Type.Optional(nullable(Type.String({ maxLength: 100 })));

export const SearchUsersQuery = Type.Object({
  page_size: PageSize,
  query: Type.Optional(nullable(Type.String({ maxLength: 200 }))),
  /** Comma-separated API scope keys. */
  api_scopes: Type.Optional(nullable(Type.String({ maxLength: 2000 }))),
  /**
   * Kinde's deepObject `properties[<key>]=<value>` (repeated for several values). The query string
   * carries it as bracketed names, which the route reads; this entry documents it.
   */
  properties: Type.Optional(Type.Record(Type.String(), Type.Array(Type.String()))),
  starting_after: Cursor,
  ending_before: Cursor,
  expand: Type.Optional(nullable(Type.String({ maxLength: 200 }))),
});

export const SearchUsersResponse = Type.Object({
  ...SuccessResponse.properties,
  results: Type.Array(
    Type.Object({
      id: Type.String(),
      provided_id: nullable(Type.String()),
      email: nullable(Type.String()),
      username: nullable(Type.String()),
      // Left out when unknown: Kinde's schema has no null for the names.
      last_name: Type.Optional(Type.String()),
      first_name: Type.Optional(Type.String()),
      is_suspended: Type.Boolean(),
      picture: nullable(Type.String()),
      total_sign_ins: nullable(Type.Integer()),
      failed_sign_ins: nullable(Type.Integer()),
      last_signed_in: nullable(Type.String()),
      created_on: nullable(Type.String()),
      organizations: Type.Optional(Type.Array(Type.String())),
      identities: Type.Optional(Type.Array(Type.Object({ type: Type.String(), identity: Type.String() }))),
      properties: Type.Optional(Type.Record(Type.String(), Type.String())),
      api_scopes: Type.Optional(
        Type.Array(Type.Object({ org_code: Type.String(), scope: Type.String(), api_id: Type.String() })),
      ),
    }),
  ),
  /** Latchkey's addition: whether another page follows (Kinde's starting_after paging needs it). */
  has_more: Type.Boolean(),
});
