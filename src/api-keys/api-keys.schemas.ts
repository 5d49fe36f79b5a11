// Request and response schemas of Kinde's API key operations (/api/v1/api_keys…), field for field
// as in Kinde's specification. The key itself appears only in the answers that make one (create,
// rotate).
import { type Static, Type } from "@sinclair/typebox";
import { nullable, PageSize } from "../management/schemas.js";

const Id = Type.String({ minLength: 1, maxLength: 100 });
const Nullable = <T extends Parameters<typeof nullable>[0]>(schema: T) => Type.Optional(nullable(schema));

export const ApiKeyParams = Type.Object({ key_id: Id });

export const ListApiKeysQuery = Type.Object({
  page_size: PageSize,
  starting_after: Nullable(Type.String({ maxLength: 100 })),
  key_type: Nullable(Type.Union([Type.Literal("organization"), Type.Literal("user")])),
  status: Nullable(Type.Union([Type.Literal("active"), Type.Literal("inactive"), Type.Literal("revoked")])),
  user_id: Nullable(Type.String({ maxLength: 100 })),
  org_code: Nullable(Type.String({ maxLength: 100 })),
});

export const CreateApiKeyBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 128 }),
  type: Type.Union([Type.Literal("user"), Type.Literal("organization"), Type.Literal("environment")]),
  api_id: Id,
  scope_ids: Nullable(Type.Array(Id, { maxItems: 100 })),
  user_id: Nullable(Id),
  org_code: Nullable(Id),
});
export type CreateApiKeyBody = Static<typeof CreateApiKeyBody>;

export const VerifyApiKeyBody = Type.Object({ api_key: Type.String({ minLength: 1, maxLength: 200 }) });

const keyFields = {
  id: Type.String(),
  name: Type.String(),
  type: Type.String(),
  status: Type.String(),
  key_prefix: Type.String({ description: "The key's visible prefix (lk_ and 16 hex), which finds it." }),
  key_suffix: nullable(Type.String()),
  created_on: Type.String({ format: "date-time" }),
  last_verified_on: nullable(Type.String({ format: "date-time" })),
  last_verified_ip: nullable(Type.String()),
  created_by: nullable(Type.String()),
  api_ids: Type.Array(Type.String()),
  scopes: Type.Array(Type.String()),
};

export const ApiKeysResponse = Type.Object({
  code: Type.String(),
  message: Type.String(),
  has_more: Type.Boolean(),
  api_keys: Type.Array(Type.Object(keyFields)),
});

export const ApiKeyResponse = Type.Object({
  code: Type.String(),
  message: Type.String(),
  api_key: Type.Object({
    ...keyFields,
    verification_count: nullable(Type.Integer()),
    organization_id: nullable(Type.String()),
    user_id: nullable(Type.String()),
  }),
});

const NewKey = Type.Object({
  id: Type.String(),
  key: Type.String({ description: "The API key; shown only here." }),
});

export const CreateApiKeyResponse = Type.Object({
  message: Type.String(),
  code: Type.String(),
  api_key: NewKey,
});

export const RotateApiKeyResponse = Type.Object({
  code: Type.String(),
  message: Type.String(),
  api_key: NewKey,
});

export const VerifyApiKeyResponse = Type.Object({
  code: Type.String(),
  message: Type.String(),
  is_valid: Type.Boolean(),
  key_id: Type.String(),
  status: Type.String(),
  scopes: Type.Array(Type.String()),
  org_code: nullable(Type.String()),
  user_id: nullable(Type.String()),
  last_verified_on: nullable(Type.String({ format: "date-time" })),
  verification_count: Type.Integer(),
  api_ids: Type.Array(Type.String(), {
    description: "The API the key is for: an API accepts only its own keys.",
  }),
});
