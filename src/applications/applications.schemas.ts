// Request and response schemas of the applications and callbacks operations (Kinde's shapes).
import { type Static, Type } from "@sinclair/typebox";
import { COUNT_FIELDS, IncludeCount, NameStartsWith } from "../management/listing.schemas.js";
import { nullable, PageSize, SuccessResponse } from "../management/schemas.js";
import { SessionLifetime } from "../organizations/organization-sessions.schemas.js";

export const ApplicationIdParams = Type.Object({ application_id: Type.String({ maxLength: 100 }) });
export const AppIdParams = Type.Object({ app_id: Type.String({ maxLength: 100 }) });

export const ListApplicationsQuery = Type.Object({
  sort: Type.Optional(
    nullable(
      Type.Union([
        Type.Literal("name_asc"),
        Type.Literal("name_desc"),
        Type.Literal("created_on_desc", {
          description: "Latchkey extension: newest first (a keyset on created_at and id).",
        }),
      ]),
    ),
  ),
  page_size: PageSize,
  next_token: Type.Optional(nullable(Type.String({ maxLength: 500 }))),
  starts_with: NameStartsWith,
  include_count: IncludeCount,
});

export const CreateApplicationBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  type: Type.String({ maxLength: 20 }),
  org_code: Type.Optional(nullable(Type.String({ maxLength: 100 }))),
});

const UrlList = Type.Array(Type.String({ maxLength: 2000 }), { maxItems: 100 });

export const UpdateApplicationBody = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  language_key: Type.Optional(Type.String({ maxLength: 20 })),
  logout_uris: Type.Optional(UrlList),
  redirect_uris: Type.Optional(UrlList),
  login_uri: Type.Optional(Type.String({ maxLength: 2000 })),
  homepage_uri: Type.Optional(Type.String({ maxLength: 2000 })),
  is_allow_faceless_auth: Type.Optional(Type.Boolean()),
  is_ask_for_name: Type.Optional(Type.Boolean()),
  has_marketing_consent: Type.Optional(Type.Boolean()),
  has_sign_in_link_on_sign_up_page: Type.Optional(Type.Boolean()),
  has_register_link_on_sign_in_page: Type.Optional(Type.Boolean()),
  has_sign_in_with_sso_button: Type.Optional(Type.Boolean()),
  use_gravatar_fallback: Type.Optional(Type.Boolean()),
  is_access_control_enabled: Type.Optional(Type.Boolean()),
});

/** Lifetimes in seconds: at least a minute, at most a year. */
const Lifetime = Type.Integer({ minimum: 60, maximum: 31_536_000 });
export const UpdateTokensBody = Type.Object({
  access_token_lifetime: Type.Optional(Lifetime),
  refresh_token_lifetime: Type.Optional(Lifetime),
  id_token_lifetime: Type.Optional(Lifetime),
  // How old a browser session may be to sign in silently to this application (seconds, at most the
  // environment's 14 days; null = no bound of its own): src/sign-in/session-lifetime.ts.
  authenticated_session_lifetime: Type.Optional(nullable(SessionLifetime)),
  is_hasura_mapping_enabled: Type.Optional(Type.Boolean()),
});

export const UrlsBody = Type.Object({ urls: UrlList });
export const UrlsQuery = Type.Object({ urls: Type.String({ minLength: 1, maxLength: 20_000 }) });

// ---- responses (documentation and serialisation: a field missing here is dropped from the reply) --

const Code = SuccessResponse.properties;

export const ApplicationsResponse = Type.Object({
  ...Code,
  applications: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), type: Type.String() })),
  next_token: Type.Optional(Type.String()),
  ...COUNT_FIELDS,
});

/** The new client's credentials; the secret is null for a front-end (public) application. */
export const CreateApplicationResponse = Type.Object({
  ...Code,
  application: Type.Object({
    id: Type.String(),
    client_id: Type.String(),
    client_secret: nullable(Type.String()),
  }),
});

export const ApplicationResponse = Type.Object({
  ...Code,
  application: Type.Object({
    id: Type.String(),
    name: Type.String(),
    type: Type.String(),
    client_id: Type.String(),
    client_secret: nullable(Type.String()),
    // Latchkey extension: Kinde sets these with PATCH …/tokens but has no way to read them back.
    access_token_lifetime: Type.Integer(),
    refresh_token_lifetime: Type.Integer(),
    id_token_lifetime: Type.Integer(),
    authenticated_session_lifetime: nullable(Type.Integer()),
    /** Kinde's field: only holders of the application's access roles sign in. */
    is_access_control_enabled: Type.Boolean(),
    // Latchkey extension, like the lifetimes: Kinde's Hasura mode, set with PATCH …/tokens.
    is_hasura_mapping_enabled: Type.Boolean(),
  }),
});

/** Latchkey extension (POST …/rotate_secret): the new secret, shown once. */
export const RotateSecretResponse = Type.Object({
  ...Code,
  application: Type.Object({ id: Type.String(), client_id: Type.String(), client_secret: Type.String() }),
});

/** Kinde's redirect_callback_urls: no code and message, unlike the logout list. */
export const RedirectUrlsResponse = Type.Object({ redirect_urls: Type.Array(Type.String()) });
export const LogoutUrlsResponse = Type.Object({ logout_urls: Type.Array(Type.String()), ...Code });

export type ListApplicationsQuery = Static<typeof ListApplicationsQuery>;
export type CreateApplicationBody = Static<typeof CreateApplicationBody>;
export type UpdateApplicationBody = Static<typeof UpdateApplicationBody>;
export type UpdateTokensBody = Static<typeof UpdateTokensBody>;
