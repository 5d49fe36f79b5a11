// Request and response schemas of Kinde's application access roles operations (issue 19).
import { Type } from "@sinclair/typebox";
import { nullable, PageSize, SuccessResponse } from "../management/schemas.js";

export const AccessRoleParams = Type.Object({
  application_id: Type.String({ maxLength: 100 }),
  role_id: Type.String({ maxLength: 100 }),
});

export const AccessRolesQuery = Type.Object({
  page_size: PageSize,
  starting_after: Type.Optional(Type.String({ maxLength: 100 })),
  ending_before: Type.Optional(Type.String({ maxLength: 100 })),
});

/** Kinde's get_application_access_roles_response. */
export const AccessRolesResponse = Type.Object({
  ...SuccessResponse.properties,
  roles: Type.Array(
    Type.Object({
      id: Type.String(),
      key: Type.String(),
      name: Type.String(),
      description: nullable(Type.String()),
    }),
  ),
  has_more: Type.Boolean(),
});
