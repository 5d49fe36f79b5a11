// Request and response schemas of Kinde's Connections operations (/api/v1/connections) and of the
// per-application and per-organization enablement operations.
import { type TProperties, Type } from "@sinclair/typebox";
import { nullable, PageSize, SuccessResponse } from "../management/schemas.js";
import { STRATEGIES } from "./strategies.js";

const Bool = Type.Optional(Type.Boolean());
const Url = Type.Optional(Type.String({ maxLength: 2000 }));
const JsonPath = Type.Optional(Type.String({ maxLength: 200 }));

/** The options every strategy may take (strategies.ts says which strategy takes which). */
const optionProperties = {
  client_id: Type.Optional(Type.String({ maxLength: 500, description: "OAuth client ID." })),
  is_trusted: Type.Optional(
    Type.Boolean({
      description:
        "Trust the provider's verified e-mail addresses for linking to an existing account with the same address.",
    }),
  ),
  is_use_custom_domain: Bool,
  is_retrieve_provider_user_tokens: Bool,
  is_retrieve_provider_user_groups: Bool,
  is_extended_attributes_required: Bool,
  is_force_show_sso_button: Bool,
  is_sync_user_profile_on_login: Bool,
  is_auto_join_organization_enabled: Bool,
  is_create_missing_user: Bool,
  upstream_params: Type.Optional(
    Type.Record(Type.String(), Type.Unknown(), {
      description: 'Parameters passed on to the provider, as {"prompt": {"value": "select_account"}}.',
    }),
  ),
  home_realm_domains: Type.Optional(
    Type.Array(Type.String({ maxLength: 300 }), {
      maxItems: 100,
      description: "Enterprise connections: e-mail domains whose users sign in through this connection.",
    }),
  ),
  entra_id_domain: Type.Optional(Type.String({ maxLength: 300 })),
  is_use_common_endpoint: Bool,
  apple_team_id: Type.Optional(
    Type.String({ maxLength: 10, description: "Latchkey: oauth2:apple's team ID." }),
  ),
  apple_key_id: Type.Optional(
    Type.String({ maxLength: 10, description: "Latchkey: oauth2:apple's key ID." }),
  ),
  issuer: Type.Optional(
    Type.String({
      maxLength: 2000,
      description: "Latchkey, oidc:custom: the provider's issuer (discovery).",
    }),
  ),
  scopes: Type.Optional(
    Type.Array(Type.String({ maxLength: 200 }), {
      maxItems: 50,
      description: "Latchkey, oidc:custom and oauth2:custom: scopes asked of the provider.",
    }),
  ),
  authorization_endpoint: Url,
  token_endpoint: Url,
  userinfo_endpoint: Url,
  userinfo_mapping: Type.Optional(
    Type.Object(
      {
        sub: JsonPath,
        email: JsonPath,
        email_verified: JsonPath,
        given_name: JsonPath,
        family_name: JsonPath,
        picture: JsonPath,
      },
      { description: "Latchkey, oauth2:custom: JSON paths of the user's claims in the userinfo answer." },
    ),
  ),
} satisfies TProperties;

/**
 * Kinde's SAML options, accepted by the schema only so that a SAML connection is refused with
 * "not supported yet" rather than with a list of unexpected fields.
 */
const samlProperties = Object.fromEntries(
  [
    "saml_entity_id",
    "saml_idp_metadata_url",
    "saml_idp_metadata_xml",
    "saml_sign_in_url",
    "sign_request_algorithm",
    "protocol_binding",
    "name_id_format",
    "saml_email_key_attr",
    "saml_user_id_key_attr",
    "saml_first_name_key_attr",
    "saml_last_name_key_attr",
    "saml_signing_certificate",
    "saml_signing_private_key",
  ].map((name) => [name, Type.Optional(Type.String({ maxLength: 100_000 }))]),
);

const OptionsInput = Type.Object({
  ...optionProperties,
  client_secret: Type.Optional(
    Type.String({ maxLength: 8192, description: "Write-only: stored sealed, never returned." }),
  ),
  ...samlProperties,
});

const Name = Type.String({ minLength: 1, maxLength: 200 });
const EnabledApplications = Type.Array(Type.String({ maxLength: 100 }), {
  maxItems: 100,
  description: "Client IDs of the applications this connection is enabled for (the complete list).",
});

export const CreateConnectionBody = Type.Object({
  name: Name,
  display_name: Name,
  strategy: Type.String({ maxLength: 100, description: `One of ${STRATEGIES.join(", ")}.` }),
  enabled_applications: Type.Optional(EnabledApplications),
  organization_code: Type.Optional(nullable(Type.String({ maxLength: 100 }))),
  options: Type.Optional(OptionsInput),
});

export const UpdateConnectionBody = Type.Object({
  name: Type.Optional(Name),
  display_name: Type.Optional(Name),
  enabled_applications: Type.Optional(EnabledApplications),
  options: Type.Optional(OptionsInput),
});

export const ReplaceConnectionBody = Type.Object({
  name: Name,
  display_name: Name,
  enabled_applications: Type.Optional(EnabledApplications),
  options: Type.Optional(OptionsInput),
});

export const ConnectionParams = Type.Object({ connection_id: Type.String({ maxLength: 100 }) });
export const ApplicationConnectionParams = Type.Object({
  application_id: Type.String({ maxLength: 100 }),
  connection_id: Type.String({ maxLength: 100 }),
});
export const ApplicationParams = Type.Object({ application_id: Type.String({ maxLength: 100 }) });
export const OrganizationConnectionParams = Type.Object({
  organization_code: Type.String({ maxLength: 100 }),
  connection_id: Type.String({ maxLength: 100 }),
});
export const OrganizationParams = Type.Object({ organization_code: Type.String({ maxLength: 100 }) });

const Cursor = Type.Optional(nullable(Type.String({ maxLength: 100 })));
export const ListConnectionsQuery = Type.Object({
  page_size: PageSize,
  home_realm_domain: Type.Optional(nullable(Type.String({ maxLength: 300 }))),
  starting_after: Cursor,
  ending_before: Cursor,
});

// ---- responses (a field missing here is dropped from the reply) --------------------------------

const ConnectionItem = Type.Object({
  id: Type.String(),
  name: Type.String(),
  display_name: Type.String(),
  strategy: Type.String(),
});

export const ConnectionsResponse = Type.Object({
  ...SuccessResponse.properties,
  connections: Type.Array(ConnectionItem),
  has_more: Type.Boolean(),
});

/**
 * An organization's list, with Latchkey's has_own_connection_list: whether the organization chose
 * its own list (its sign-in offers only these, even none) or never did (its sign-in offers what
 * its applications offer) — an empty list alone cannot say which.
 */
export const OrganizationConnectionsResponse = Type.Object({
  ...ConnectionsResponse.properties,
  has_own_connection_list: Type.Boolean(),
});

export const CreateConnectionResponse = Type.Object({
  ...SuccessResponse.properties,
  connection: Type.Object({ id: Type.String() }),
});

export const ConnectionResponse = Type.Object({
  ...SuccessResponse.properties,
  connection: Type.Object({
    ...ConnectionItem.properties,
    // Latchkey's: what Kinde's answer leaves out, so a configuration can be read back and edited
    // (never the client secret: only whether one is set).
    options: Type.Object(optionProperties),
    has_client_secret: Type.Boolean(),
    organization_code: nullable(Type.String()),
    enabled_applications: Type.Array(Type.String()),
  }),
});
