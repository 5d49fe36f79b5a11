// Request and response schemas of the APIs operations (Kinde's /api/v1/apis…): resource servers, their scopes,
// and which applications are authorized for them with which scopes.
import { type Static, Type } from "@sinclair/typebox";
import { nullable, SuccessResponse } from "../management/schemas.js";

const Id = Type.String({ minLength: 1, maxLength: 100 });

export const ApiIdParams = Type.Object({ api_id: Id });
export const ApiScopeParams = Type.Object({ api_id: Id, scope_id: Id });
export const ApiApplicationScopeParams = Type.Object({ api_id: Id, application_id: Id, scope_id: Id });

export const ListApisQuery = Type.Object({
  expand: Type.Optional(nullable(Type.Union([Type.Literal("scopes"), Type.Literal("")]))),
});

/** Kinde: name and audience are 1-64 characters each. */
export const CreateApiBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 64 }),
  audience: Type.String({ minLength: 1, maxLength: 64 }),
});

const Description = Type.String({ maxLength: 1000 });

/** Kinde: key is 1-64 characters, no white space. */
export const CreateScopeBody = Type.Object({
  key: Type.String({ minLength: 1, maxLength: 64 }),
  description: Type.Optional(nullable(Description)),
});

/** Only the description of a scope can change; its key is what tokens carry. */
export const UpdateScopeBody = Type.Object({
  description: Type.Optional(nullable(Description)),
});

/** Kinde's bulk limit: at most 100 objects per request. */
export const UpdateApiApplicationsBody = Type.Object({
  applications: Type.Array(
    Type.Object({
      id: Id,
      operation: Type.Optional(nullable(Type.String({ maxLength: 20 }))),
    }),
    { minItems: 1, maxItems: 100 },
  ),
});

// ---- responses (documentation and serialisation: a field missing here is dropped from the reply) --

const Code = SuccessResponse.properties;

const ScopeSummary = Type.Object({ id: Type.String(), key: Type.String() });
const ScopeDetail = Type.Object({
  id: Type.String(),
  key: Type.String(),
  description: nullable(Type.String()),
});

/** `scopes` only with expand=scopes; no `next_token`: every API is on the one page. */
export const ApisResponse = Type.Object({
  ...Code,
  next_token: Type.Optional(Type.String()),
  apis: Type.Array(
    Type.Object({
      id: Type.String(),
      name: Type.String(),
      audience: Type.String(),
      is_management_api: Type.Boolean(),
      scopes: Type.Optional(Type.Array(ScopeSummary)),
    }),
  ),
});

export const CreateApiResponse = Type.Object({ ...Code, api: Type.Object({ id: Type.String() }) });

/** Every application, each saying whether it is authorized for the API (`is_active`). */
export const ApiResponse = Type.Object({
  ...Code,
  api: Type.Object({
    id: Type.String(),
    name: Type.String(),
    audience: Type.String(),
    is_management_api: Type.Boolean(),
    scopes: Type.Array(ScopeSummary),
    applications: Type.Array(
      Type.Object({
        id: Type.String(),
        name: Type.String(),
        /** Kinde's dashboard label, e.g. "Machine to machine (M2M)". */
        type: Type.String(),
        is_active: Type.Boolean(),
      }),
    ),
  }),
});

export const ScopesResponse = Type.Object({ ...Code, scopes: Type.Array(ScopeDetail) });
export const CreateScopeResponse = Type.Object({ ...Code, scope: Type.Object({ id: Type.String() }) });
export const ScopeResponse = Type.Object({ ...Code, scope: ScopeDetail });

/** Client ids whose authorization this request added or removed. */
export const UpdateApiApplicationsResponse = Type.Object({
  ...Code,
  applications_connected: Type.Array(Type.String()),
  applications_disconnected: Type.Array(Type.String()),
});

export type CreateApiBody = Static<typeof CreateApiBody>;
export type CreateScopeBody = Static<typeof CreateScopeBody>;
export type UpdateScopeBody = Static<typeof UpdateScopeBody>;
export type UpdateApiApplicationsBody = Static<typeof UpdateApiApplicationsBody>;
