// Management API: Kinde's GET /api/v1/search/users (scope read:users). `query` is words that must
// each appear in a user's e-mail, names, username, id, provided id or a property value ("*" or
// nothing: every user); `properties[<key>]=<value>` keeps users holding one of the given values of
// each named user property; `api_scopes` (comma-separated keys) keeps users holding one of those
// API scopes directly in an organization, and then lists each result's scopes. Paging is Kinde's
// second style: starting_after / ending_before by user id, page_size (10 by default, at most 500).
// expand: organizations, identities, properties.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { ApiError } from "../management/errors.js";
import { READ_ERRORS } from "../management/responses.schemas.js";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, success } from "../management/schemas.js";
import { PropertiesStore } from "../properties/properties.store.js";
import { ExternalIdentitiesStore } from "./external-identities.store.js";
import { SearchUsersQuery, SearchUsersResponse } from "./search.schemas.js";
import { UserSearchStore } from "./search.store.js";
import { identitiesOf, iso } from "./users.http.js";

const TAG = { tags: ["Search"] };
const USER_ID = /^kp_[0-9a-z]{1,64}$/;
const MAX_WORDS = 10;
const MAX_PROPERTY_FILTERS = 10;
const MAX_PROPERTY_VALUES = 100;
const MAX_API_SCOPES = 100;
const BRACKETED = /^properties\[([^\]]{1,128})\]$/;

function cursor(name: string, value: string | null | undefined): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (!USER_ID.test(value)) throw new ApiError("INVALID_REQUEST", `${name} is not a user id`);
  return value;
}

/** The words of `query`, lower-case; none for "*" or nothing (every user). */
function wordsOf(query: string | null | undefined): string[] {
  const text = (query ?? "").trim();
  if (text === "" || text === "*") return [];
  const words = [...new Set(text.toLowerCase().split(/\s+/))];
  if (words.length > MAX_WORDS)
    throw new ApiError("INVALID_REQUEST", `query may have at most ${MAX_WORDS} words`);
  return words;
}

/** properties[<key>]=<value> of the raw query string: key → values. */
function propertyFilters(raw: Record<string, unknown>): Map<string, string[]> {
  const filters = new Map<string, string[]>();
  for (const [name, value] of Object.entries(raw)) {
    if (name === "properties")
      throw new ApiError("INVALID_REQUEST", "properties is written properties[<key>]=<value>");
    const key = BRACKETED.exec(name)?.[1];
    if (key === undefined) continue;
    const values = (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === "string");
    if (values.length === 0 || values.length > MAX_PROPERTY_VALUES || values.some((v) => v.length > 4000))
      throw new ApiError(
        "INVALID_REQUEST",
        `properties[${key}] takes 1-${MAX_PROPERTY_VALUES} values of at most 4000 characters`,
      );
    filters.set(key, [...new Set(values)]);
  }
  if (filters.size > MAX_PROPERTY_FILTERS)
    throw new ApiError("INVALID_REQUEST", `At most ${MAX_PROPERTY_FILTERS} properties may be filtered on`);
  return filters;
}

function commaList(value: string | null | undefined): string[] | undefined {
  const items = [
    ...new Set(
      (value ?? "")
        .split(",")
        .map((v) => v.trim())
        .filter(Boolean),
    ),
  ];
  if (items.length > MAX_API_SCOPES)
    throw new ApiError("INVALID_REQUEST", `api_scopes may list at most ${MAX_API_SCOPES} scopes`);
  return items.length > 0 ? items : undefined;
}

export function registerUserSearchRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    "/search/users",
    {
      schema: {
        ...TAG,
        querystring: SearchUsersQuery,
        response: { 200: SearchUsersResponse, ...READ_ERRORS },
      },
      config: { scope: "read:users" },
    },
    async (request) => {
      const query = request.query;
      const limit = query.page_size ?? DEFAULT_PAGE_SIZE;
      if (limit > MAX_PAGE_SIZE) throw new ApiError("PAGE_SIZE_LIMIT_EXCEEDED");
      const startingAfter = cursor("starting_after", query.starting_after);
      const endingBefore = cursor("ending_before", query.ending_before);
      if (startingAfter && endingBefore)
        throw new ApiError("INVALID_REQUEST", "Only one of starting_after or ending_before may be given");
      const properties = new PropertiesStore(request.services.db);
      const filters = propertyFilters(request.query as Record<string, unknown>);
      const defined = await properties.byKeys("usr", [...filters.keys()]);
      const byProperty = new Map<string, string[]>();
      for (const [key, values] of filters) {
        const property = defined.get(key);
        if (!property) throw new ApiError("INVALID_REQUEST", `No user property has the key ${key}`);
        byProperty.set(property.id, values);
      }
      const apiScopes = commaList(query.api_scopes);
      const search = new UserSearchStore(request.services.db);
      const { users, hasMore } = await search.search({
        limit,
        startingAfter,
        endingBefore,
        words: wordsOf(query.query),
        properties: byProperty,
        apiScopes,
      });

      const expand = new Set(
        (query.expand ?? "")
          .split(",")
          .map((e) => e.trim().toLowerCase())
          .filter(Boolean),
      );
      const ids = users.map((u) => u.id);
      const [organizations, external, values, scopes] = await Promise.all([
        expand.has("organizations") ? request.services.users.store.organizationCodes(ids) : undefined,
        expand.has("identities") ? new ExternalIdentitiesStore(request.services.db).ofUsers(ids) : undefined,
        expand.has("properties") ? properties.valuesOfUsers(ids) : undefined,
        apiScopes ? search.apiScopesOf(ids) : undefined,
      ]);
      return {
        ...success(),
        results: users.map((user) => ({
          id: user.id,
          provided_id: user.provided_id,
          email: user.email,
          username: user.username,
          last_name: user.family_name ?? undefined,
          first_name: user.given_name ?? undefined,
          is_suspended: user.is_suspended === 1,
          picture: user.picture,
          total_sign_ins: user.total_sign_ins,
          failed_sign_ins: user.failed_sign_ins,
          last_signed_in: iso(user.last_signed_in_at),
          created_on: iso(user.created_at),
          organizations: organizations?.get(user.id),
          identities: external
            ? [
                ...identitiesOf(user).map((i) => ({ type: i.type as string, identity: i.value })),
                ...(external.get(user.id) ?? []).map((i) => ({
                  type: i.strategy,
                  identity: i.email ?? i.provider_subject,
                })),
              ]
            : undefined,
          properties: values?.get(user.id),
          api_scopes: scopes?.get(user.id),
        })),
        has_more: hasMore,
      };
    },
  );
}
