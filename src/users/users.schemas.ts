// Request and response schemas of the users operations (Kinde's shapes, COMPAT.md §2.5). Limits
// that Kinde states only in prose (or not at all) are enforced here so oversized input is a 400.
import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { COUNT_FIELDS, IncludeCount } from "../management/listing.schemas.js";
import { nullable, SuccessResponse } from "../management/schemas.js";

/**
 * A nullable response field as OpenAPI 3.0 spells it (the document it ends up in is the same as
 * for `nullable()`, which @fastify/swagger rewrites to this). fast-json-stringify writes it
 * directly, where `anyOf: [T, null]` made it run a validator per value to choose a branch: on a
 * page of 100 users that was most of the serialization.
 */
const orNull = <T extends TSchema>(schema: T) => Type.Unsafe<Static<T> | null>({ ...schema, nullable: true });

const Id = Type.String({ minLength: 1, maxLength: 100 });
const Name = Type.String({ maxLength: 100 });
const Picture = Type.String({ maxLength: 2000 });
const ProvidedId = Type.String({ maxLength: 255 });
const Expand = Type.Optional(nullable(Type.String({ maxLength: 200 })));
/** A comma-separated list in the query string (up to 100 values, checked by the route). */
const CommaList = Type.Optional(nullable(Type.String({ maxLength: 16_000 })));
const Timestamp = orNull(Type.String());

// ---- requests -----------------------------------------------------------------------------------

/**
 * Latchkey's additions to Kinde's list parameters (issue 20: lists that hold up at 100 000 users).
 * Kinde's clients never send them, and without them a list is what Kinde answers.
 */
export const LIST_EXTENSIONS = {
  sort: Type.Optional(
    nullable(
      Type.Union([Type.Literal("created_on_desc"), Type.Literal("created_on_asc")], {
        description:
          "Latchkey extension: order by creation time, newest or oldest first (a keyset on created_at and " +
          "id; next_token keeps the order). Without it users come in Kinde's order, by id.",
      }),
    ),
  ),
  starts_with: Type.Optional(
    nullable(
      Type.String({
        maxLength: 200,
        description:
          "Latchkey extension: only users whose e-mail address, username, first or last name starts with " +
          'this text, in any letter case ("ada lov" also matches first name Ada with a last name starting ' +
          "Lov). An indexed prefix match, not a substring search (that is GET /api/v1/search/users).",
      }),
    ),
  ),
  include_count: IncludeCount,
};

// Not the shared PageSize: a query string cannot carry null, and Ajv's coercion would turn
// page_size=0 into null (the default) instead of refusing it.
export const ListUsersQuery = Type.Object({
  page_size: Type.Optional(Type.Integer({ minimum: 1 })),
  user_id: CommaList,
  next_token: Type.Optional(nullable(Type.String({ maxLength: 500 }))),
  email: CommaList,
  username: CommaList,
  phone: CommaList,
  expand: Expand,
  has_organization: Type.Optional(nullable(Type.Boolean())),
  active_since: Type.Optional(nullable(Type.String({ maxLength: 64 }))),
  ...LIST_EXTENSIONS,
});

export const UserIdQuery = Type.Object({ id: Id, expand: Expand });

/** PATCH /user takes only the id (Kinde's updateUser has no expand). */
export const UpdateUserQuery = Type.Object({ id: Id });

export const DeleteUserQuery = Type.Object({
  id: Id,
  is_delete_profile: Type.Optional(nullable(Type.Boolean())),
});

export const UserIdParams = Type.Object({ user_id: Id });

const IdentityType = Type.Union([Type.Literal("email"), Type.Literal("phone"), Type.Literal("username")]);

export const CreateUserBody = Type.Object({
  profile: Type.Optional(
    Type.Object({
      given_name: Type.Optional(nullable(Name)),
      family_name: Type.Optional(nullable(Name)),
      picture: Type.Optional(nullable(Picture)),
    }),
  ),
  organization_code: Type.Optional(nullable(Type.String({ maxLength: 100 }))),
  provided_id: Type.Optional(nullable(ProvidedId)),
  identities: Type.Optional(
    Type.Array(
      Type.Object({
        type: IdentityType,
        is_verified: Type.Optional(nullable(Type.Boolean())),
        details: Type.Optional(
          Type.Object({
            email: Type.Optional(Type.String({ maxLength: 320 })),
            phone: Type.Optional(Type.String({ maxLength: 50 })),
            phone_country_id: Type.Optional(Type.String({ maxLength: 10 })),
            username: Type.Optional(Type.String({ maxLength: 64 })),
          }),
        ),
      }),
      { maxItems: 10 },
    ),
  ),
});

export const UpdateUserBody = Type.Object({
  given_name: Type.Optional(nullable(Name)),
  family_name: Type.Optional(nullable(Name)),
  picture: Type.Optional(nullable(Picture)),
  is_suspended: Type.Optional(Type.Boolean()),
  is_password_reset_requested: Type.Optional(Type.Boolean()),
  provided_id: Type.Optional(nullable(ProvidedId)),
});

export const SetPasswordBody = Type.Object({
  hashed_password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
  hashing_method: Type.Optional(nullable(Type.String({ maxLength: 50 }))),
  salt: Type.Optional(nullable(Type.String({ maxLength: 1024 }))),
  salt_position: Type.Optional(nullable(Type.Union([Type.Literal("prefix"), Type.Literal("suffix")]))),
  iterations: Type.Optional(nullable(Type.Integer())),
  variant: Type.Optional(nullable(Type.String({ maxLength: 100 }))),
  signer_key: Type.Optional(nullable(Type.String({ maxLength: 1024 }))),
  salt_separator: Type.Optional(nullable(Type.String({ maxLength: 1024 }))),
  rounds: Type.Optional(nullable(Type.Integer())),
  mem_cost: Type.Optional(nullable(Type.Integer())),
  is_temporary_password: Type.Optional(nullable(Type.Boolean())),
  /** Latchkey extension: a plaintext password, hashed with argon2id and held to the password policy. */
  password: Type.Optional(Type.String({ maxLength: 1024 })),
});

export const IdentitiesQuery = Type.Object({
  starting_after: Type.Optional(nullable(Type.String({ maxLength: 100 }))),
  ending_before: Type.Optional(nullable(Type.String({ maxLength: 100 }))),
});

export const CreateIdentityBody = Type.Object({
  value: Type.String({ minLength: 1, maxLength: 320 }),
  type: Type.Union([
    Type.Literal("email"),
    Type.Literal("username"),
    Type.Literal("phone"),
    Type.Literal("enterprise"),
    Type.Literal("social"),
  ]),
  phone_country_id: Type.Optional(nullable(Type.String({ maxLength: 10 }))),
  connection_id: Type.Optional(nullable(Type.String({ maxLength: 100 }))),
});

// ---- responses (documentation and serialisation) -----------------------------------------------

const Code = SuccessResponse.properties;

const ListIdentity = Type.Object({
  type: Type.String(),
  identity: Type.String(),
  connection_id: orNull(Type.String()),
});

const UserFields = {
  id: Type.String(),
  provided_id: orNull(Type.String()),
  phone: orNull(Type.String()),
  username: orNull(Type.String()),
  last_name: orNull(Type.String()),
  first_name: orNull(Type.String()),
  is_suspended: Type.Boolean(),
  picture: orNull(Type.String()),
  total_sign_ins: orNull(Type.Integer()),
  failed_sign_ins: orNull(Type.Integer()),
  last_signed_in: Timestamp,
  created_on: Timestamp,
  organizations: Type.Optional(Type.Array(Type.String())),
};

export const UsersResponse = Type.Object({
  ...Code,
  users: Type.Array(
    Type.Object({
      ...UserFields,
      email: orNull(Type.String()),
      identities: Type.Optional(Type.Array(ListIdentity)),
    }),
  ),
  next_token: Type.Optional(Type.String()),
  ...COUNT_FIELDS,
});

export const UserResponse = Type.Object({
  ...UserFields,
  preferred_email: orNull(Type.String()),
  identities: Type.Optional(Type.Array(Type.Object({ type: Type.String(), identity: Type.String() }))),
});

export const CreateUserResponse = Type.Object({
  id: Type.String(),
  created: Type.Boolean(),
  identities: Type.Array(
    Type.Object({ type: Type.String(), result: Type.Object({ created: Type.Boolean() }) }),
  ),
});

export const UpdateUserResponse = Type.Object({
  id: Type.String(),
  given_name: orNull(Type.String()),
  family_name: orNull(Type.String()),
  email: orNull(Type.String()),
  is_suspended: Type.Boolean(),
  is_password_reset_requested: Type.Boolean(),
  picture: orNull(Type.String()),
});

export const IdentitiesResponse = Type.Object({
  ...Code,
  identities: Type.Array(
    Type.Object({
      id: Type.String(),
      type: Type.String(),
      is_confirmed: Type.Boolean(),
      created_on: Timestamp,
      last_login_on: Timestamp,
      total_logins: orNull(Type.Integer()),
      name: Type.String(),
      email: orNull(Type.String()),
      connection_id: orNull(Type.String()),
      is_primary: orNull(Type.Boolean()),
    }),
  ),
  has_more: Type.Boolean(),
});

export const CreateIdentityResponse = Type.Object({
  ...Code,
  identity: Type.Object({ id: Type.String() }),
});

export const SessionsResponse = Type.Object({
  ...Code,
  has_more: Type.Boolean(),
  sessions: Type.Array(
    Type.Object({
      user_id: Type.String(),
      org_code: orNull(Type.String()),
      client_id: orNull(Type.String()),
      expires_on: Type.String(),
      session_id: Type.String(),
      started_on: Type.String(),
      updated_on: Type.String(),
      connection_id: orNull(Type.String()),
      last_ip_address: orNull(Type.String()),
      last_user_agent: orNull(Type.String()),
      initial_ip_address: orNull(Type.String()),
      initial_user_agent: orNull(Type.String()),
    }),
  ),
});

export type ListUsersQuery = Static<typeof ListUsersQuery>;
export type CreateUserBody = Static<typeof CreateUserBody>;
export type UpdateUserBody = Static<typeof UpdateUserBody>;
export type SetPasswordBody = Static<typeof SetPasswordBody>;
export type CreateIdentityBody = Static<typeof CreateIdentityBody>;
export type UsersResponse = Static<typeof UsersResponse>;
export type UserResponse = Static<typeof UserResponse>;
export type IdentitiesResponse = Static<typeof IdentitiesResponse>;
