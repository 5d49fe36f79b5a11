import { Type } from "@sinclair/typebox";
import { nullable } from "../management/schemas.js";

const Url = Type.String({ minLength: 1, maxLength: 2000 });
const Scopes = Type.Array(Type.String({ minLength: 1, maxLength: 200, pattern: "^[\\x21-\\x7e]+$" }), {
  maxItems: 100,
});
const Settings = Type.Object({
  issuer: Type.Optional(Url),
  authorization_url: Type.Optional(Url),
  token_url: Type.Optional(Url),
  revocation_url: Type.Optional(Url),
  /** How a generic provider wants the client to authenticate at its token endpoint. */
  client_auth: Type.Optional(Type.Union([Type.Literal("basic"), Type.Literal("body")])),
});

/** Reference keys are used in code and URLs: letters, digits, - and _. */
export const KeyCodeRef = Type.String({ minLength: 1, maxLength: 100, pattern: "^[A-Za-z0-9_-]+$" });

export const CreateConnectedAppBody = Type.Object({
  key_code_ref: KeyCodeRef,
  provider: Type.String({ minLength: 1, maxLength: 100 }),
  name: Type.Optional(Type.String({ maxLength: 200 })),
  client_id: Type.String({ minLength: 1, maxLength: 500 }),
  client_secret: Type.String({ minLength: 1, maxLength: 2000 }),
  callback_url: Url,
  scopes: Type.Optional(Scopes),
  offer_at_sign_in: Type.Optional(Type.Boolean()),
  settings: Type.Optional(Settings),
});

export const UpdateConnectedAppBody = Type.Object({
  name: Type.Optional(Type.String({ maxLength: 200 })),
  client_id: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
  client_secret: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
  callback_url: Type.Optional(Url),
  scopes: Type.Optional(Scopes),
  offer_at_sign_in: Type.Optional(Type.Boolean()),
  settings: Type.Optional(Settings),
});

export const KeyParams = Type.Object({ key_code_ref: KeyCodeRef });

export const AuthUrlQuery = Type.Object({
  key_code_ref: KeyCodeRef,
  // Kinde: whose connection it is — a user's, or an organization's (either or both).
  user_id: Type.Optional(Type.String({ maxLength: 100 })),
  org_code: Type.Optional(Type.String({ maxLength: 100 })),
  override_callback_url: Type.Optional(Url),
});

export const SessionQuery = Type.Object({ session_id: Type.String({ minLength: 1, maxLength: 200 }) });

export const ConnectedApp = Type.Object({
  key_code_ref: Type.String(),
  provider: Type.String(),
  name: Type.String(),
  client_id: Type.String(),
  callback_url: Type.String(),
  provider_callback_url: Type.String(),
  scopes: Type.Array(Type.String()),
  offer_at_sign_in: Type.Boolean(),
  settings: Settings,
  created_on: Type.String(),
  updated_on: Type.String(),
});

export const ConnectedAppResponse = Type.Object({
  code: Type.String(),
  message: Type.String(),
  connected_app: ConnectedApp,
});
export const ConnectedAppsResponse = Type.Object({
  code: Type.String(),
  message: Type.String(),
  connected_apps: Type.Array(ConnectedApp),
});
export const ProvidersResponse = Type.Object({
  code: Type.String(),
  message: Type.String(),
  provider_callback_url: Type.String(),
  providers: Type.Array(
    Type.Object({
      id: Type.String(),
      name: Type.String(),
      has_revocation: Type.Boolean(),
      docs: nullable(Type.String()),
      logo: nullable(
        Type.String({
          description:
            "Same-origin path of the provider's mark (image/svg+xml, served by Latchkey); null: show its initials.",
        }),
      ),
      suggested_scopes: Type.Array(
        Type.Object({
          scope: Type.String({ description: "The scope exactly as the provider documents it." }),
          description: Type.String({ description: "What the scope lets the app do, in one line." }),
        }),
        { description: "Common scopes of this provider, offered as suggestions when configuring the app." },
      ),
    }),
  ),
});
export const AuthUrlResponse = Type.Object({ url: Type.String(), session_id: Type.String() });
export const TokenResponse = Type.Object({
  access_token: Type.String(),
  access_token_expiry: nullable(Type.String()),
});

export const UserParams = Type.Object({ user_id: Type.String({ minLength: 1, maxLength: 100 }) });
export const UserConnectionsResponse = Type.Object({
  code: Type.String(),
  message: Type.String(),
  connections: Type.Array(
    Type.Object({
      session_id: Type.String(),
      key_code_ref: Type.String(),
      status: Type.String(),
      scope: nullable(Type.String()),
      access_token_expiry: nullable(Type.String()),
      created_on: Type.String(),
    }),
  ),
});
