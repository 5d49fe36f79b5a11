// Request and response schemas of Kinde's SCIM directory operations (/api/v1/directories…), field
// for field as in Kinde's specification. Create's required fields are optional here so that a
// missing one answers Kinde's own code (ORGANIZATION_REQUIRED …) rather than a generic 400.
import { Type } from "@sinclair/typebox";
import { nullable } from "../management/schemas.js";

const Nullable = <T extends Parameters<typeof nullable>[0]>(schema: T) => Type.Optional(nullable(schema));

export const DirectoryParams = Type.Object({ directory_id: Type.String({ minLength: 1, maxLength: 100 }) });

export const ListDirectoriesQuery = Type.Object({
  page_size: Nullable(Type.Integer({ minimum: 1 })),
  starting_after: Nullable(Type.String({ maxLength: 100 })),
  organization_code: Nullable(Type.String({ maxLength: 100 })),
});

export const CreateDirectoryBody = Type.Object({
  org_code: Type.Optional(Type.String({ maxLength: 100 })),
  directory_name: Type.Optional(Type.String({ maxLength: 128 })),
  provider_code: Type.Optional(Type.String({ maxLength: 64 })),
  enterprise_connection_id: Nullable(Type.String({ maxLength: 100 })),
});

/** How many role keys a directory's groups may grant at most. */
export const MAX_ASSIGNABLE_ROLE_KEYS = 100;

const AssignableRoleKeys = Type.Array(Type.String({ minLength: 1, maxLength: 128 }), {
  maxItems: MAX_ASSIGNABLE_ROLE_KEYS,
  description:
    "Latchkey extension: the role keys this directory's groups may grant. A SCIM group whose " +
    "displayName is one of them gives its members that role in the organization; any other group " +
    "grants nothing. Empty by default.",
});

export const UpdateDirectoryBody = Type.Object({
  directory_name: Type.Optional(Type.String({ maxLength: 128 })),
  assignable_role_keys: Type.Optional(AssignableRoleKeys),
});

const Directory = Type.Object({
  id: Type.String(),
  directory_name: Type.String(),
  directory_endpoint_id: Type.String(),
  secret_token: Type.Optional(
    Type.String({
      description: "The bearer token the IdP sends; only in the answer that creates the directory.",
    }),
  ),
  status: Type.String(),
  organization_code: Type.String(),
  provider_code: Type.String({ description: "Latchkey: the provider chosen at creation." }),
  scim_base_url: Type.String({
    description: "Latchkey: the SCIM 2.0 base URL to give the IdP (Okta's base URL, Entra's tenant URL).",
  }),
  enterprise_connection_id: nullable(Type.String()),
  assignable_role_keys: AssignableRoleKeys,
  enterprise_connection_name: nullable(Type.String()),
  last_sync_started_at: nullable(Type.String({ format: "date-time" })),
  last_sync_completed_at: nullable(Type.String({ format: "date-time" })),
  last_sync_error: nullable(Type.String()),
  created_on: Type.String({ format: "date-time" }),
});

export const DirectoriesResponse = Type.Object({
  code: Type.String(),
  message: Type.String(),
  has_more: Type.Boolean(),
  directories: Type.Array(Directory),
});

export const DirectoryResponse = Type.Object({
  code: Type.String(),
  message: Type.String(),
  directory: Directory,
});

export const DeleteDirectoryResponse = Type.Object({
  code: Type.String(),
  message: Type.String(),
  directory_id: Type.String(),
});
