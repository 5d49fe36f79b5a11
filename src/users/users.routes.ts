import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { sourceOfCaller } from "../events/events.js";
import { ApiError } from "../management/errors.js";
import { normalizePrefix } from "../management/listing.js";
import {
  conflict,
  notFound,
  POST_ERRORS,
  READ_ERRORS,
  WRITE_ERRORS,
} from "../management/responses.schemas.js";
import {
  DEFAULT_PAGE_SIZE,
  decodeCursor,
  encodeCursor,
  isTimeCursor,
  MAX_PAGE_SIZE,
  SuccessResponse,
  success,
} from "../management/schemas.js";
import { ExternalIdentitiesStore, type ExternalIdentityView } from "./external-identities.store.js";
import { registerUserCredentialsRoutes } from "./user-credentials.routes.js";
import {
  findChangeableUser,
  findUser,
  identitiesOf,
  identityValue,
  iso,
  takenConflict,
  unsupportedIdentity,
} from "./users.http.js";
import {
  CreateUserBody,
  CreateUserResponse,
  DeleteUserQuery,
  ListUsersQuery,
  UpdateUserBody,
  UpdateUserQuery,
  UpdateUserResponse,
  UserIdParams,
  UserIdQuery,
  UserResponse,
  UsersResponse,
} from "./users.schemas.js";
import { pictureProblem } from "./users.service.js";
import type { User } from "./users.store.js";

const TAG = { tags: ["Users"] };
const USER_NOT_FOUND = notFound("User");
const USER_EXISTS = conflict("A user with this email or username");

/** Most values a comma-separated filter may list (Kinde's bulk limit). */
const MAX_FILTER_VALUES = 100;

type Cursor = { id: string };
const isCursor = (v: unknown): v is Cursor =>
  typeof v === "object" &&
  v !== null &&
  typeof (v as Cursor).id === "string" &&
  (v as Cursor).id.length > 0 &&
  (v as Cursor).id.length <= 100;

/** A provider account in a user's `identities` (Kinde: its strategy, its name, its connection). */
function externalIdentityItem(identity: ExternalIdentityView) {
  return {
    type: identity.strategy,
    // As GET /identities/{id} names it (identities.routes.ts): the address, else the provider's id.
    identity: identity.email ?? identity.provider_subject,
    connection_id: identity.connection_id as string | null,
  };
}

function expansions(expand: string | null | undefined): Set<string> {
  return new Set(
    (expand ?? "")
      .split(",")
      .map((e) => e.trim().toLowerCase())
      .filter(Boolean),
  );
}

function commaList(name: string, value: string | null | undefined): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  const items = [
    ...new Set(
      value
        .split(",")
        .map((v) => v.trim())
        .filter(Boolean),
    ),
  ];
  if (items.length > MAX_FILTER_VALUES)
    throw new ApiError("INVALID_REQUEST", `${name} may list at most ${MAX_FILTER_VALUES} values`);
  // An empty filter (`email=`) filters nothing.
  return items.length > 0 ? items : undefined;
}

function userFields(user: User, expand: Set<string>, organizations: readonly string[] = []) {
  return {
    id: user.id,
    provided_id: user.provided_id,
    phone: null,
    username: user.username,
    last_name: user.family_name,
    first_name: user.given_name,
    is_suspended: user.is_suspended === 1,
    picture: user.picture,
    total_sign_ins: user.total_sign_ins,
    failed_sign_ins: user.failed_sign_ins,
    last_signed_in: iso(user.last_signed_in_at),
    created_on: iso(user.created_at),
    // Billing is not expanded: there is no billing customer to show.
    ...(expand.has("organizations") ? { organizations: [...organizations] } : {}),
  };
}

export function registerUsersRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    "/users",
    {
      schema: { ...TAG, querystring: ListUsersQuery, response: { 200: UsersResponse, ...READ_ERRORS } },
      config: { scope: "read:users" },
    },
    async (request) => {
      const query = request.query;
      const limit = query.page_size ?? DEFAULT_PAGE_SIZE;
      if (limit > MAX_PAGE_SIZE) throw new ApiError("PAGE_SIZE_LIMIT_EXCEEDED");
      const order = query.sort ?? "id";
      // A token of one order is refused in the other: its key is not the other's.
      const after = order === "id" ? decodeCursor(query.next_token, isCursor) : undefined;
      const afterTime = order === "id" ? undefined : decodeCursor(query.next_token, isTimeCursor);
      if (query.next_token && !after && !afterTime) throw new ApiError("INVALID_NEXT_TOKEN");
      const startsWith = normalizePrefix(query.starts_with);
      let activeSince: number | undefined;
      if (query.active_since) {
        const time = Date.parse(query.active_since);
        if (Number.isNaN(time))
          throw new ApiError("INVALID_REQUEST", "active_since must be an ISO 8601 date and time");
        activeSince = Math.floor(time / 1000);
      }
      const expand = expansions(query.expand);
      const ids = commaList("user_id", query.user_id);
      const emails = commaList("email", query.email);
      const usernames = commaList("username", query.username);
      const phones = commaList("phone", query.phone);
      // No user has a phone number in Latchkey: that filter matches nobody.
      const nobody = phones !== undefined;
      const filters = {
        ids,
        emails,
        usernames,
        activeSince,
        hasOrganization: query.has_organization ?? undefined,
        startsWith,
      };
      const store = request.services.users.store;
      const rows = nobody
        ? []
        : await store.page({ ...filters, limit: limit + 1, order, afterId: after?.id, after: afterTime });
      const total = !query.include_count
        ? undefined
        : nobody
          ? { count: 0, accuracy: "exact" as const }
          : await store.count(filters);
      const count = Math.min(rows.length, limit);
      const withIdentities = expand.has("identities");
      // The provider accounts too (Kinde lists social and enterprise identities with their connection).
      const external = withIdentities
        ? await new ExternalIdentitiesStore(request.services.db).ofUsers(
            rows.slice(0, count).map((user) => user.id),
          )
        : undefined;
      const organizations = expand.has("organizations")
        ? await request.services.users.store.organizationCodes(rows.slice(0, count).map((user) => user.id))
        : undefined;
      // One object shape for every user (what is not expanded is undefined, which the serializer
      // leaves out), built without spreads: a page is 100 of them.
      const users = new Array<UsersResponse["users"][number]>(count);
      for (let i = 0; i < count; i++) {
        const user = rows[i]!;
        users[i] = {
          id: user.id,
          provided_id: user.provided_id,
          phone: null,
          username: user.username,
          last_name: user.family_name,
          first_name: user.given_name,
          is_suspended: user.is_suspended === 1,
          picture: user.picture,
          total_sign_ins: user.total_sign_ins,
          failed_sign_ins: user.failed_sign_ins,
          last_signed_in: iso(user.last_signed_in_at),
          created_on: iso(user.created_at),
          // Billing is not expanded: there is no billing customer to show.
          organizations: organizations ? [...(organizations.get(user.id) ?? [])] : undefined,
          email: user.email,
          identities: withIdentities
            ? [
                ...identitiesOf(user).map((identity) => ({
                  type: identity.type as string,
                  identity: identity.value,
                  connection_id: null as string | null,
                })),
                ...(external?.get(user.id) ?? []).map(externalIdentityItem),
              ]
            : undefined,
        };
      }
      const last = rows[count - 1];
      const cursor = last && (order === "id" ? { id: last.id } : { at: last.created_at, id: last.id });
      return {
        ...success(),
        users,
        // Left out on the last page: Kinde's users_response types next_token as a string.
        ...(rows.length > limit && cursor ? { next_token: encodeCursor(cursor) } : {}),
        total_count: total?.count,
        total_count_accuracy: total?.accuracy,
      };
    },
  );

  api.post(
    "/user",
    {
      schema: {
        ...TAG,
        body: CreateUserBody,
        response: { 200: CreateUserResponse, ...POST_ERRORS, ...USER_EXISTS },
      },
      config: { scope: "create:users" },
      // Kinde's request body is optional: no body creates a user with no identities.
      preValidation: async (request) => {
        if (request.body === undefined || request.body === null) request.body = {};
      },
    },
    async (request) => {
      const body = request.body ?? {};
      // Kinde adds the new user to this organization (besides the default one).
      const organizationCode = body.organization_code ?? undefined;
      if (organizationCode && !(await request.services.organizations.store.find(organizationCode))) {
        throw new ApiError("INVALID_REQUEST", "organization_code names no organization");
      }
      const profile = body.profile ?? {};
      if (profile.picture) {
        const problem = pictureProblem(profile.picture);
        if (problem) throw new ApiError("INVALID_REQUEST", `picture ${problem}`);
      }
      const identities = body.identities ?? [];
      let email: string | undefined;
      let emailVerified = false;
      let username: string | undefined;
      for (const identity of identities) {
        if (identity.type === "phone") throw unsupportedIdentity("phone");
        const value = identity.type === "email" ? identity.details?.email : identity.details?.username;
        if (value === undefined || value.trim() === "") {
          throw new ApiError(
            "INVALID_REQUEST",
            `An identity of type ${identity.type} needs details.${identity.type}`,
          );
        }
        if ((identity.type === "email" ? email : username) !== undefined) {
          throw new ApiError("INVALID_REQUEST", `A user can have only one ${identity.type} identity`);
        }
        if (identity.type === "email") {
          email = identityValue("email", value);
          emailVerified = identity.is_verified === true;
        } else {
          username = identityValue("username", value);
        }
      }
      const blank = (v: string | null | undefined) => (v?.trim() ? v.trim() : null);
      let user: User;
      try {
        user = await request.services.users.create({
          email,
          username,
          emailVerified,
          givenName: blank(profile.given_name),
          familyName: blank(profile.family_name),
          picture: blank(profile.picture),
          providedId: blank(body.provided_id),
          organizationCode,
          source: sourceOfCaller(request.caller),
        });
      } catch (error) {
        takenConflict(error);
      }
      return {
        id: user.id,
        created: true,
        identities: identities.map((i) => ({ type: i.type, result: { created: true } })),
      };
    },
  );

  api.get(
    "/user",
    {
      schema: {
        ...TAG,
        querystring: UserIdQuery,
        response: { 200: UserResponse, ...READ_ERRORS, ...USER_NOT_FOUND },
      },
      config: { scope: "read:users" },
    },
    async (request) => {
      const user = await findUser(request, request.query.id);
      const expand = expansions(request.query.expand);
      const organizations = expand.has("organizations")
        ? await request.services.users.store.organizationCodes([user.id])
        : undefined;
      return {
        ...userFields(user, expand, organizations?.get(user.id)),
        preferred_email: user.email,
        ...(expand.has("identities")
          ? {
              identities: [
                ...identitiesOf(user).map((i) => ({ type: i.type as string, identity: i.value })),
                ...(await new ExternalIdentitiesStore(request.services.db).ofUser(user.id)).map((i) => {
                  const { type, identity } = externalIdentityItem(i);
                  return { type, identity };
                }),
              ],
            }
          : {}),
      };
    },
  );

  api.patch(
    "/user",
    {
      schema: {
        ...TAG,
        querystring: UpdateUserQuery,
        body: UpdateUserBody,
        response: { 200: UpdateUserResponse, ...WRITE_ERRORS, ...USER_NOT_FOUND },
      },
      config: { scope: "update:users" },
    },
    async (request) => {
      const user = await findChangeableUser(request, request.query.id);
      const body = request.body ?? {};
      const { given_name, family_name, picture, is_suspended, is_password_reset_requested, provided_id } =
        body;
      if (
        given_name === undefined &&
        family_name === undefined &&
        picture === undefined &&
        is_suspended === undefined &&
        is_password_reset_requested === undefined &&
        provided_id === undefined
      ) {
        throw new ApiError("NO_FIELDS_TO_UPDATE");
      }
      if (picture) {
        const problem = pictureProblem(picture);
        if (problem) throw new ApiError("INVALID_REQUEST", `picture ${problem}`);
      }
      // null or an empty string clears a field; absent leaves it as it is.
      const clean = (v: string | null | undefined) =>
        v === undefined ? undefined : v?.trim() ? v.trim() : null;
      const changes = {
        given_name: clean(given_name),
        family_name: clean(family_name),
        picture: clean(picture),
        provided_id: clean(provided_id),
      };
      const updated = await request.services.users.update(
        user.id,
        changes,
        is_suspended,
        is_password_reset_requested ?? undefined,
        sourceOfCaller(request.caller),
      );
      if (!updated) throw new ApiError("USER_NOT_FOUND");
      return {
        id: updated.id,
        given_name: updated.given_name,
        family_name: updated.family_name,
        email: updated.email,
        is_suspended: updated.is_suspended === 1,
        is_password_reset_requested: updated.password_change_required === 1,
        picture: updated.picture,
      };
    },
  );

  api.delete(
    "/user",
    {
      schema: {
        ...TAG,
        querystring: DeleteUserQuery,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...USER_NOT_FOUND },
      },
      config: { scope: "delete:users" },
    },
    async (request) => {
      // Latchkey keeps no separate profile or subscriber list: is_delete_profile changes nothing.
      const user = await findChangeableUser(request, request.query.id);
      if (!(await request.services.users.delete(user.id, sourceOfCaller(request.caller))))
        throw new ApiError("USER_NOT_FOUND");
      return success("User successfully deleted");
    },
  );

  api.post(
    "/users/:user_id/refresh_claims",
    {
      schema: {
        ...TAG,
        params: UserIdParams,
        response: { 200: SuccessResponse, ...POST_ERRORS, ...USER_NOT_FOUND },
      },
      config: { scope: "update:user_refresh_claims" },
    },
    async (request) => {
      // Every change to what claims are made of already makes the next refresh compute them again
      // (migration 0045's triggers); the user's cached rows are dropped all the same, as asked.
      const user = await findUser(request, request.params.user_id);
      await request.services.users.store.forgetCachedClaims(user.id);
      return success("Claims successfully refreshed");
    },
  );

  registerUserCredentialsRoutes(app);
}
