// Request and response schemas of Kinde's organization operations (/api/v1/organization…,
// /api/v1/organizations…), field for field as in Kinde's specification.
import { type Static, Type } from "@sinclair/typebox";
import { COUNT_FIELDS, IncludeCount, NameStartsWith } from "../management/listing.schemas.js";
import { nullable, PageSize, SuccessResponse } from "../management/schemas.js";

const Id = Type.String({ minLength: 1, maxLength: 100 });
const Name = Type.String({ minLength: 1, maxLength: 128 });
const Colour = Type.String({ maxLength: 32 });
const Text = Type.String({ maxLength: 255 });
const Key = Type.String({ minLength: 1, maxLength: 128 });

export const OrgCodeParams = Type.Object({ org_code: Id });
export const OrgUserParams = Type.Object({ org_code: Id, user_id: Id });
export const OrgUserRoleParams = Type.Object({ org_code: Id, user_id: Id, role_id: Id });
export const OrgUserPermissionParams = Type.Object({ org_code: Id, user_id: Id, permission_id: Id });
export const OrgUserApiScopeParams = Type.Object({ org_code: Id, user_id: Id, api_id: Id, scope_id: Id });

export const GetOrganizationQuery = Type.Object({
  code: Id,
  expand: Type.Optional(nullable(Type.String({ maxLength: 100 }))),
});

export const ListOrganizationsQuery = Type.Object({
  sort: Type.Optional(
    nullable(
      Type.Union([
        Type.Literal("name_asc"),
        Type.Literal("name_desc"),
        Type.Literal("email_asc"),
        Type.Literal("email_desc"),
        Type.Literal("created_on_desc", {
          description: "Latchkey extension: newest first (a keyset on created_at and code).",
        }),
      ]),
    ),
  ),
  starts_with: NameStartsWith,
  include_count: IncludeCount,
  page_size: PageSize,
  next_token: Type.Optional(nullable(Type.String({ maxLength: 1000 }))),
});

export const ThemeCode = Type.Union([
  Type.Literal("light"),
  Type.Literal("dark"),
  Type.Literal("user_preference"),
]);

const colours = {
  background_color: Type.Optional(Colour),
  button_color: Type.Optional(Colour),
  button_text_color: Type.Optional(Colour),
  link_color: Type.Optional(Colour),
  background_color_dark: Type.Optional(Colour),
  button_color_dark: Type.Optional(Colour),
  button_text_color_dark: Type.Optional(Colour),
  link_color_dark: Type.Optional(Colour),
};

export const COLOUR_FIELDS = Object.keys(colours) as (keyof typeof colours)[];

export const CreateOrganizationBody = Type.Object({
  name: Name,
  /** Initial organization overrides of feature flags: { key: "value as text" }. */
  feature_flags: Type.Optional(Type.Record(Type.String(), Type.String({ maxLength: 1000 }))),
  external_id: Type.Optional(Text),
  ...colours,
  theme_code: Type.Optional(ThemeCode),
  handle: Type.Optional(Text),
  is_allow_registrations: Type.Optional(Type.Boolean()),
  is_auto_membership_enabled: Type.Optional(Type.Boolean()),
  sender_name: Type.Optional(nullable(Text)),
  sender_email: Type.Optional(nullable(Text)),
  is_create_billing_customer: Type.Optional(Type.Boolean()),
  billing_email: Type.Optional(Text),
  billing_plan_code: Type.Optional(Text),
});

export const UpdateOrganizationQuery = Type.Object({
  expand: Type.Optional(nullable(Type.Union([Type.Literal("billing"), Type.Literal("")]))),
});

export const UpdateOrganizationBody = Type.Object({
  name: Type.Optional(Name),
  external_id: Type.Optional(Text),
  ...colours,
  theme_code: Type.Optional(ThemeCode),
  handle: Type.Optional(Text),
  is_allow_registrations: Type.Optional(Type.Boolean()),
  is_auto_membership_enabled: Type.Optional(Type.Boolean()),
  is_auto_join_domain_list: Type.Optional(Type.Boolean()),
  allowed_domains: Type.Optional(Type.Array(Type.String({ maxLength: 253 }), { maxItems: 100 })),
  is_enable_advanced_orgs: Type.Optional(Type.Boolean()),
  is_enforce_mfa: Type.Optional(Type.Boolean()),
  sender_name: Type.Optional(nullable(Text)),
  sender_email: Type.Optional(nullable(Text)),
  is_suspended: Type.Optional(Type.Boolean()),
});

export const ListOrganizationUsersQuery = Type.Object({
  sort: ListOrganizationsQuery.properties.sort,
  page_size: PageSize,
  next_token: Type.Optional(nullable(Type.String({ maxLength: 1000 }))),
  /** Comma-separated permission keys: members holding all of them. */
  permissions: Type.Optional(nullable(Type.String({ maxLength: 2000 }))),
  /** Comma-separated role keys: members holding all of them. */
  roles: Type.Optional(nullable(Type.String({ maxLength: 2000 }))),
});

/** Kinde's bulk limit: at most 100 objects per request. */
export const AddOrganizationUsersBody = Type.Object({
  users: Type.Array(
    Type.Object({
      id: Id,
      roles: Type.Optional(Type.Array(Key, { maxItems: 100 })),
      permissions: Type.Optional(Type.Array(Key, { maxItems: 100 })),
    }),
    { minItems: 1, maxItems: 100 },
  ),
});

export const UpdateOrganizationUsersBody = Type.Object({
  users: Type.Array(
    Type.Object({
      id: Id,
      operation: Type.Optional(nullable(Type.String({ maxLength: 20 }))),
      roles: Type.Optional(Type.Array(Key, { maxItems: 100 })),
      permissions: Type.Optional(Type.Array(Key, { maxItems: 100 })),
    }),
    { minItems: 1, maxItems: 100 },
  ),
});

export const AddOrganizationUserRoleBody = Type.Object({ role_id: Id });
export const AddOrganizationUserPermissionBody = Type.Object({ permission_id: Id });
export const OrganizationUserPermissionsQuery = Type.Object({
  expand: Type.Optional(nullable(Type.Union([Type.Literal("roles"), Type.Literal("")]))),
});

// ---- responses -----------------------------------------------------------------------------------

const Code = SuccessResponse.properties;
const ColourValue = nullable(Type.Object({ raw: Type.String(), hex: Type.String(), hsl: Type.String() }));

export const OrganizationSummary = Type.Object({
  code: Type.String(),
  name: Type.String(),
  handle: nullable(Type.String()),
  is_default: Type.Boolean(),
  external_id: nullable(Type.String()),
  is_auto_membership_enabled: Type.Boolean(),
});

/** Kinde's get-organization body is the organization itself, not wrapped. */
export const OrganizationResponse = Type.Object({
  ...OrganizationSummary.properties,
  allowed_domains: Type.Array(Type.String()),
  link_color: ColourValue,
  background_color: ColourValue,
  button_color: ColourValue,
  button_text_color: ColourValue,
  link_color_dark: ColourValue,
  background_color_dark: ColourValue,
  button_text_color_dark: ColourValue,
  button_color_dark: ColourValue,
  theme_code: ThemeCode,
  color_scheme: Type.Union([Type.Literal("light"), Type.Literal("dark"), Type.Literal("light dark")]),
  created_on: Type.String(),
  is_allow_registrations: Type.Boolean(),
  sender_name: nullable(Type.String()),
  sender_email: nullable(Type.String()),
  is_suspended: Type.Boolean(),
  suspended_on: nullable(Type.String()),
});

export const OrganizationsResponse = Type.Object({
  ...Code,
  organizations: Type.Array(OrganizationSummary),
  next_token: Type.Optional(Type.String()),
  ...COUNT_FIELDS,
});

export const CreateOrganizationResponse = Type.Object({
  ...Code,
  organization: Type.Object({ code: Type.String() }),
});

export const OrganizationUsersResponse = Type.Object({
  ...Code,
  organization_users: Type.Array(
    Type.Object({
      id: Type.String(),
      email: nullable(Type.String()),
      full_name: Type.String(),
      last_name: nullable(Type.String()),
      first_name: nullable(Type.String()),
      picture: nullable(Type.String()),
      joined_on: Type.String(),
      last_accessed_on: nullable(Type.String()),
      is_suspended: Type.Boolean(),
      /** Role keys. */
      roles: Type.Array(Type.String()),
    }),
  ),
  next_token: Type.Optional(Type.String()),
});

export const AddOrganizationUsersResponse = Type.Object({ ...Code, users_added: Type.Array(Type.String()) });
export const UpdateOrganizationUsersResponse = Type.Object({
  ...Code,
  users_added: Type.Array(Type.String()),
  users_updated: Type.Array(Type.String()),
  users_removed: Type.Array(Type.String()),
});

export const OrganizationUserRolesResponse = Type.Object({
  ...Code,
  roles: Type.Array(Type.Object({ id: Type.String(), key: Type.String(), name: Type.String() })),
  next_token: Type.Optional(Type.String()),
});

export const OrganizationUserPermissionsResponse = Type.Object({
  ...Code,
  permissions: Type.Array(
    Type.Object({
      id: Type.String(),
      key: Type.String(),
      name: Type.String(),
      description: nullable(Type.String()),
      roles: Type.Optional(Type.Array(Type.Object({ id: Type.String(), key: Type.String() }))),
    }),
  ),
});

export type CreateOrganizationBody = Static<typeof CreateOrganizationBody>;
export type UpdateOrganizationBody = Static<typeof UpdateOrganizationBody>;
