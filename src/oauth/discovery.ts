// OpenID Provider metadata (OIDC Discovery §3) and OAuth 2.0 AS metadata (RFC 8414 §2): one
// document, served at both well-known paths. It must tell the truth about what we support.
import { MANAGEMENT_API_SCOPES } from "../management/scopes.js";
import { MFA_ACR } from "./authorize.js";
import { SIGNING_ALGORITHM } from "./keys.js";

export function discoveryDocument(issuer: string) {
  return {
    issuer,
    authorization_endpoint: `${issuer}/oauth2/auth`,
    token_endpoint: `${issuer}/oauth2/token`,
    userinfo_endpoint: `${issuer}/oauth2/v2/user_profile`,
    jwks_uri: `${issuer}/.well-known/jwks`,
    end_session_endpoint: `${issuer}/logout`,
    revocation_endpoint: `${issuer}/oauth2/revoke`,
    introspection_endpoint: `${issuer}/oauth2/introspect`,
    device_authorization_endpoint: `${issuer}/oauth2/device/auth`,
    response_types_supported: ["code"],
    response_modes_supported: ["query"],
    grant_types_supported: [
      "authorization_code",
      "refresh_token",
      "client_credentials",
      "urn:ietf:params:oauth:grant-type:device_code",
    ],
    code_challenge_methods_supported: ["S256"],
    scopes_supported: ["openid", "profile", "email", "offline", "offline_access", ...MANAGEMENT_API_SCOPES],
    claims_supported: [
      "sub",
      "iss",
      "aud",
      "exp",
      "iat",
      "auth_time",
      "nonce",
      "at_hash",
      "azp",
      "name",
      "given_name",
      "family_name",
      "picture",
      "preferred_username",
      "updated_at",
      "email",
      "email_verified",
      "amr",
      "acr",
      // Kinde's public properties of the user and of the organization signed into.
      "user_properties",
      "organization_properties",
    ],
    acr_values_supported: [MFA_ACR],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: [SIGNING_ALGORITHM],
    token_endpoint_auth_methods_supported: ["client_secret_post", "client_secret_basic", "none"],
    revocation_endpoint_auth_methods_supported: ["client_secret_post", "client_secret_basic", "none"],
    introspection_endpoint_auth_methods_supported: ["client_secret_post", "client_secret_basic"],
    prompt_values_supported: ["none", "login", "create", "consent", "select_account"],
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    authorization_response_iss_parameter_supported: true,
  };
}
