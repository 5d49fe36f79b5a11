// Management API: users (Kinde's /api/v1/users, /api/v1/user?id= and /api/v1/users/{user_id}/…).
// Latchkey keeps one email and one username per user (no phone yet); Kinde's identities are derived
// from them.
import { createHash } from "node:crypto";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ApiError } from "../management/errors.js";
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
  MAX_PAGE_SIZE,
  SuccessResponse,
  success,
} from "../management/schemas.js";
import { type PasswordHashKind, passwordHashProblem, passwordProblem } from "./passwords.js";
import {
  CreateIdentityBody,
  CreateIdentityResponse,
  CreateUserBody,
  CreateUserResponse,
  DeleteUserQuery,
  IdentitiesQuery,
  IdentitiesResponse,
  ListUsersQuery,
  SessionsResponse,
  SetPasswordBody,
  UpdateUserBody,
  UpdateUserQuery,
  UpdateUserResponse,
  UserIdParams,
  UserIdQuery,
  UserResponse,
  UsersResponse,
} from "./users.schemas.js";
import {
  emailProblem,
  IdentityTakenError,
  type IdentityType,
  pictureProblem,
  usernameProblem,
} from "./users.service.js";
import { normalizeEmail, normalizeUsername, type User } from "./users.store.js";

const TAG = { tags: ["Users"] };
const USER_NOT_FOUND = notFound("User");
const USER_EXISTS = conflict("A user with this email or username");

/** Most values a comma-separated filter may list (Kinde's bulk limit). */
const MAX_FILTER_VALUES = 100;
/** Sessions listed per user; beyond this `has_more` is true (Kinde's operation has no paging). */
const MAX_SESSIONS = 500;

/** Hashing methods in Kinde's enum that Latchkey cannot verify (yet). */
const KINDE_HASHING_METHODS = [
  "bcrypt",
  "crypt",
  "md5",
  "sha256",
  "wordpress",
  "pbkdf2",
  "firebase-scrypt",
  "aspnet-identity-v2",
];

type Cursor = { id: string };
const isCursor = (v: unknown): v is Cursor =>
  typeof v === "object" &&
  v !== null &&
  typeof (v as Cursor).id === "string" &&
  (v as Cursor).id.length > 0 &&
  (v as Cursor).id.length <= 100;

/** 9999-12-31T23:59:59Z: past it toISOString writes six-digit years. */
const LAST_FOUR_DIGIT_SECOND = 253_402_300_799;
const twoDigits = (n: number) => (n < 10 ? `0${n}` : `${n}`);

/**
 * `new Date(seconds * 1000).toISOString()`, worked out arithmetically for whole seconds from 1970 to
 * 9999 (a page of 100 users formats 200 of them; a Date and its toISOString each were most of that).
 * Days to a civil date: Howard Hinnant's days_from_civil inverse (proleptic Gregorian, as Date).
 */
export function iso(seconds: number | null | undefined): string | null {
  if (seconds === null || seconds === undefined) return null;
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > LAST_FOUR_DIGIT_SECOND)
    return new Date(seconds * 1000).toISOString();
  const days = Math.floor(seconds / 86_400);
  const time = seconds - days * 86_400;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthIndex = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * monthIndex + 2) / 5) + 1;
  const month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const hours = Math.floor(time / 3600);
  const minutes = Math.floor((time - hours * 3600) / 60);
  return `${year}-${twoDigits(month)}-${twoDigits(day)}T${twoDigits(hours)}:${twoDigits(minutes)}:${twoDigits(time % 60)}.000Z`;
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

/** Kinde's identities of a user: its email and its username, in that order. */
function identitiesOf(user: Pick<User, "email" | "username">): { type: IdentityType; value: string }[] {
  const list: { type: IdentityType; value: string }[] = [];
  if (user.email) list.push({ type: "email", value: user.email });
  if (user.username) list.push({ type: "username", value: user.username });
  return list;
}

/**
 * Latchkey has no identities table: an identity's id is derived from its user, type and value, so
 * it is stable for as long as the identity exists and new when the value changes.
 */
function identityId(userId: string, type: IdentityType, value: string): string {
  return `identity_${createHash("sha256").update(`${userId}\n${type}\n${value}`).digest("hex").slice(0, 32)}`;
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

async function findUser(request: FastifyRequest, id: string): Promise<User> {
  const user = await request.services.users.store.findById(id);
  if (!user) throw new ApiError("USER_NOT_FOUND");
  return user;
}

/** Throws a 400 naming the problem when the value is not a valid email or username. */
function checkIdentity(type: IdentityType, value: string): void {
  const problem = type === "email" ? emailProblem(value) : usernameProblem(value);
  if (problem) {
    throw new ApiError(
      type === "email" ? "INVALID_EMAIL" : "INVALID_USERNAME",
      `The ${type === "email" ? "email address" : "username"} ${problem}`,
    );
  }
}

function takenConflict(error: unknown): never {
  if (error instanceof IdentityTakenError) {
    throw new ApiError("USER_EXISTS", `A user with this ${error.identity} already exists`);
  }
  throw error;
}

function unsupportedIdentity(type: string): ApiError {
  return new ApiError(
    "IDENTITY_TYPE_NOT_SUPPORTED",
    type === "phone"
      ? "Phone identities are not supported yet; use an email or username identity"
      : `Identities of type ${type} are not supported yet; use an email or username identity`,
  );
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
      const after = decodeCursor(query.next_token, isCursor);
      if (query.next_token && !after) throw new ApiError("INVALID_NEXT_TOKEN");
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
      const rows = nobody
        ? []
        : await request.services.users.store.page({
            limit: limit + 1,
            afterId: after?.id,
            ids,
            emails,
            usernames,
            activeSince,
            hasOrganization: query.has_organization ?? undefined,
          });
      const count = Math.min(rows.length, limit);
      const withIdentities = expand.has("identities");
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
            ? identitiesOf(user).map((identity) => ({
                type: identity.type,
                identity: identity.value,
                connection_id: null,
              }))
            : undefined,
        };
      }
      const last = rows[count - 1];
      return {
        ...success(),
        users,
        next_token: rows.length > limit && last ? encodeCursor({ id: last.id }) : null,
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
          email = normalizeEmail(value);
          checkIdentity("email", email);
          emailVerified = identity.is_verified === true;
        } else {
          username = normalizeUsername(value);
          checkIdentity("username", username);
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
          ? { identities: identitiesOf(user).map((i) => ({ type: i.type, identity: i.value })) }
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
      const user = await findUser(request, request.query.id);
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
      if (is_password_reset_requested === true) {
        throw new ApiError(
          "INVALID_REQUEST",
          "Password reset requests are not supported yet; set a password with PUT /api/v1/users/{user_id}/password",
        );
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
      const updated = await request.services.users.update(user.id, changes, is_suspended);
      if (!updated) throw new ApiError("USER_NOT_FOUND");
      return {
        id: updated.id,
        given_name: updated.given_name,
        family_name: updated.family_name,
        email: updated.email,
        is_suspended: updated.is_suspended === 1,
        is_password_reset_requested: false,
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
      if (!(await request.services.users.delete(request.query.id))) throw new ApiError("USER_NOT_FOUND");
      return success("User successfully deleted");
    },
  );

  api.put(
    "/users/:user_id/password",
    {
      schema: {
        ...TAG,
        params: UserIdParams,
        body: SetPasswordBody,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...USER_NOT_FOUND },
      },
      config: { scope: "update:user_passwords" },
    },
    async (request) => {
      const { users } = request.services;
      const user = await findUser(request, request.params.user_id);
      const body = request.body;
      if (body.is_temporary_password === true) {
        throw new ApiError("INVALID_REQUEST", "Temporary passwords are not supported yet");
      }
      if (body.password !== undefined) {
        if (body.hashed_password !== undefined)
          throw new ApiError("INVALID_REQUEST", "Send either password or hashed_password, not both");
        const problem = passwordProblem(body.password);
        if (problem)
          throw new ApiError("INVALID_PASSWORD", `The password does not meet the requirements. ${problem}`);
        await users.setPassword(user.id, body.password);
        return success("User password successfully set");
      }
      const hashed = body.hashed_password;
      if (hashed === undefined)
        throw new ApiError("INVALID_REQUEST", "hashed_password (or password) is required");
      // Kinde's default is bcrypt; a Latchkey argon2id PHC string is recognised without a method.
      const method = (
        body.hashing_method ?? (hashed.startsWith("$argon2id$") ? "argon2id" : "bcrypt")
      ).toLowerCase();
      if (method !== "bcrypt" && method !== "argon2id") {
        const known = KINDE_HASHING_METHODS.includes(method);
        throw new ApiError(
          "HASHING_METHOD_NOT_SUPPORTED",
          `${known ? "Hashing method" : "Unknown hashing method"} ${method.slice(0, 50)} is not supported; ` +
            "use bcrypt, argon2id (a PHC string) or a plaintext password",
        );
      }
      const extra = (
        [
          "salt",
          "salt_position",
          "iterations",
          "variant",
          "signer_key",
          "salt_separator",
          "rounds",
          "mem_cost",
        ] as const
      ).find((name) => body[name] !== undefined && body[name] !== null && body[name] !== "");
      if (extra) throw new ApiError("INVALID_REQUEST", `${extra} is not used with hashing_method ${method}`);
      const problem = passwordHashProblem(hashed, method as PasswordHashKind);
      if (problem) throw new ApiError("INVALID_PASSWORD_HASH", problem);
      await users.setPasswordHash(user.id, hashed);
      return success("User password successfully set");
    },
  );

  api.get(
    "/users/:user_id/identities",
    {
      schema: {
        ...TAG,
        params: UserIdParams,
        querystring: IdentitiesQuery,
        response: { 200: IdentitiesResponse, ...READ_ERRORS, ...USER_NOT_FOUND },
      },
      config: { scope: "read:user_identities" },
    },
    async (request) => {
      const user = await findUser(request, request.params.user_id);
      const { starting_after, ending_before } = request.query;
      if (starting_after && ending_before) {
        throw new ApiError("INVALID_REQUEST", "Only one of starting_after or ending_before may be specified");
      }
      let identities = identitiesOf(user).map((i) => ({
        id: identityId(user.id, i.type, i.value),
        type: i.type,
        // A username needs no confirmation; an email is confirmed when it was verified.
        is_confirmed: i.type === "email" ? user.email_verified === 1 : true,
        created_on: iso(user.created_at),
        // Latchkey signs in with email and password only: the email identity carries the sign-ins.
        last_login_on: i.type === "email" ? iso(user.last_signed_in_at) : null,
        total_logins: i.type === "email" ? user.total_sign_ins : 0,
        name: i.value,
        email: i.type === "email" ? i.value : null,
        connection_id: null,
        is_primary: true,
      }));
      const cursor = starting_after ?? ending_before;
      if (cursor) {
        const at = identities.findIndex((i) => i.id === cursor);
        if (at < 0) throw new ApiError("INVALID_REQUEST", "No identity of this user has that id");
        identities = starting_after ? identities.slice(at + 1) : identities.slice(0, at);
      }
      return { ...success(), identities, has_more: false };
    },
  );

  api.post(
    "/users/:user_id/identities",
    {
      schema: {
        ...TAG,
        params: UserIdParams,
        body: CreateIdentityBody,
        response: {
          201: CreateIdentityResponse,
          ...POST_ERRORS,
          ...USER_NOT_FOUND,
          ...conflict("The identity"),
        },
      },
      config: { scope: "create:user_identities" },
    },
    async (request, reply) => {
      const user = await findUser(request, request.params.user_id);
      const { type } = request.body;
      if (type !== "email" && type !== "username") throw unsupportedIdentity(type);
      const value =
        type === "email" ? normalizeEmail(request.body.value) : normalizeUsername(request.body.value);
      checkIdentity(type, value);
      let added: boolean;
      try {
        added = await request.services.users.addIdentity(user.id, type, value);
      } catch (error) {
        takenConflict(error);
      }
      if (!added) {
        throw new ApiError(
          "IDENTITY_EXISTS",
          `This user already has an ${type} identity; Latchkey keeps one ${type} per user`,
        );
      }
      return reply.code(201).send({
        ...success("Identity successfully created"),
        identity: { id: identityId(user.id, type, value) },
      });
    },
  );

  api.get(
    "/users/:user_id/sessions",
    {
      schema: {
        ...TAG,
        params: UserIdParams,
        response: { 200: SessionsResponse, ...READ_ERRORS, ...USER_NOT_FOUND },
      },
      config: { scope: "read:user_sessions" },
    },
    async (request) => {
      const { users, clock } = request.services;
      const user = await findUser(request, request.params.user_id);
      const rows = await users.store.liveSessions(user.id, clock.now(), MAX_SESSIONS + 1);
      const clients = rows.length > 0 ? await users.store.sessionClients(user.id) : new Map<string, string>();
      return {
        ...success(),
        has_more: rows.length > MAX_SESSIONS,
        sessions: rows.slice(0, MAX_SESSIONS).map((s) => ({
          user_id: s.user_id,
          org_code: null,
          client_id: clients.get(s.id) ?? null,
          expires_on: iso(s.expires_at)!,
          session_id: s.id,
          started_on: iso(s.created_at)!,
          // Sessions are not re-authenticated in place: last seen = started, same address and agent.
          updated_on: iso(s.auth_time)!,
          connection_id: null,
          last_ip_address: s.ip_address,
          last_user_agent: s.user_agent,
          initial_ip_address: s.ip_address,
          initial_user_agent: s.user_agent,
        })),
      };
    },
  );

  api.delete(
    "/users/:user_id/sessions",
    {
      schema: {
        ...TAG,
        params: UserIdParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...USER_NOT_FOUND },
      },
      config: { scope: "delete:user_sessions" },
    },
    async (request) => {
      const user = await findUser(request, request.params.user_id);
      await request.services.users.revokeSessions(user.id);
      return success("User sessions successfully invalidated");
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
      // Tokens are built from the database at every issue and refresh: there is no cache to clear.
      await findUser(request, request.params.user_id);
      return success("Claims successfully refreshed");
    },
  );
}
