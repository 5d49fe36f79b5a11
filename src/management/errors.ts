// The Management API's error vocabulary: Kinde's `{errors: [{code, message}]}` with codes from this
// one registry (COMPAT.md §2.3).

export const API_ERRORS = {
  INVALID_REQUEST: { status: 400, message: "The request is invalid" },
  INVALID_CREDENTIALS: { status: 401, message: "Invalid credentials used to access API" },
  FORBIDDEN: { status: 403, message: "The token does not grant the scope this operation needs" },
  ROUTE_NOT_FOUND: { status: 404, message: "The requested API route does not exist" },
  METHOD_NOT_ALLOWED: { status: 405, message: "The method is not allowed on this route" },
  PAYLOAD_TOO_LARGE: { status: 413, message: "The request body is too large" },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: "The request body must be application/json" },
  TOO_MANY_REQUESTS: { status: 429, message: "Too many requests" },
  PAGE_SIZE_LIMIT_EXCEEDED: { status: 400, message: "Page size cannot be greater than 500" },
  INVALID_NEXT_TOKEN: { status: 400, message: "next_token is not valid" },
  NO_FIELDS_TO_UPDATE: { status: 400, message: "No fields to update were provided" },
  IDEMPOTENCY_KEY_REUSED: { status: 422, message: "This Idempotency-Key was used with a different request" },
  IDEMPOTENCY_KEY_IN_USE: {
    status: 409,
    message: "A request with this Idempotency-Key is still in progress; retry it shortly",
  },
  APPLICATION_NOT_FOUND: { status: 400, message: "Application not found" },
  APPLICATION_TYPE_NOT_SUPPORTED: { status: 400, message: "This application type is not supported" },
  INVALID_URL: { status: 400, message: "A URL is not valid" },
  USER_NOT_FOUND: { status: 404, message: "User not found" },
  USER_EXISTS: { status: 409, message: "A user with this email already exists" },
  INVALID_EMAIL: { status: 400, message: "The email address is not valid" },
  INVALID_USERNAME: { status: 400, message: "The username is not valid" },
  IDENTITY_EXISTS: { status: 409, message: "The user already has an identity of this type" },
  IDENTITY_NOT_FOUND: { status: 404, message: "Identity not found" },
  IDENTITY_TYPE_NOT_SUPPORTED: { status: 400, message: "This identity type is not supported" },
  HASHING_METHOD_NOT_SUPPORTED: { status: 400, message: "This password hashing method is not supported" },
  INVALID_PASSWORD_HASH: { status: 400, message: "The password hash is not valid for its hashing method" },
  INVALID_PASSWORD: { status: 400, message: "The password does not meet the requirements" },
  API_NOT_FOUND: { status: 404, message: "API not found" },
  API_EXISTS: { status: 409, message: "An API with this audience already exists" },
  SCOPE_NOT_FOUND: { status: 404, message: "Scope not found" },
  SCOPE_EXISTS: { status: 409, message: "A scope with this key already exists on this API" },
  APPLICATION_NOT_AUTHORIZED: {
    status: 400,
    message: "The application is not authorized for this API; authorize it first",
  },
  INVALID_AUDIENCE: { status: 400, message: "The audience is not valid" },
  INVALID_SCOPE_KEY: { status: 400, message: "The scope key is not valid" },
  DASHBOARD_APPLICATION_PROTECTED: {
    status: 403,
    message:
      "The admin dashboard's application is managed by Latchkey from ISSUER_URL and cannot be changed or deleted through the API",
  },
  ADMINISTRATOR_PROTECTED: {
    status: 403,
    message:
      "Administrator accounts can be changed only by an administrator in the admin dashboard, or with the latchkey CLI",
  },
  MANAGEMENT_API_PROTECTED: { status: 400, message: "The Management API cannot be changed this way" },
  CONNECTED_APP_NOT_FOUND: { status: 404, message: "Connected app not found" },
  CONNECTED_APP_EXISTS: { status: 409, message: "A connected app with this key_code_ref already exists" },
  INVALID_PROVIDER: { status: 400, message: "Unknown provider" },
  SESSION_NOT_FOUND: { status: 400, message: "No connection with this session_id" },
  CONNECTION_NOT_READY: { status: 400, message: "The user has not completed this connection" },
  CONNECTION_NEEDS_REAUTHORIZATION: { status: 400, message: "The user must connect again" },
  CONNECTION_REVOKED: { status: 400, message: "This connection was revoked" },
  PROVIDER_UNAVAILABLE: { status: 502, message: "The provider could not be reached; try again shortly" },
  ORGANIZATION_NOT_FOUND: { status: 404, message: "Organization not found" },
  ORGANIZATION_INVALID: { status: 400, message: "No organization has this org_code" },
  ORGANIZATION_EXISTS: {
    status: 409,
    message: "An organization with this handle or external_id already exists",
  },
  DEFAULT_ORGANIZATION_PROTECTED: { status: 400, message: "The default organization cannot be deleted" },
  ORGANIZATION_USER_NOT_FOUND: { status: 404, message: "The user is not a member of this organization" },
  // GetOrganizationRoleActiveUsersCount's window (Kinde's code; issue 19).
  DATE_TIME_RANGE_TOO_LARGE: { status: 400, message: "The date-time window must not exceed 3 days" },
  INVALID_DATE_TIME: { status: 400, message: "Dates must be ISO 8601 date-times in UTC" },
  ROLE_NOT_FOUND: { status: 404, message: "Role not found" },
  ROLE_EXISTS: { status: 409, message: "A role with this key already exists" },
  PERMISSION_NOT_FOUND: { status: 404, message: "Permission not found" },
  PERMISSION_EXISTS: { status: 409, message: "A permission with this key already exists" },
  INVALID_KEY: { status: 400, message: "The key is not valid" },
  FEATURE_FLAG_NOT_FOUND: { status: 404, message: "Feature flag not found" },
  FEATURE_FLAG_EXISTS: { status: 409, message: "A feature flag with this key already exists" },
  INVALID_FEATURE_FLAG_VALUE: { status: 400, message: "The value does not fit the feature flag's type" },
  FEATURE_FLAG_OVERRIDE_NOT_ALLOWED: {
    status: 400,
    message: "The feature flag cannot be overridden at this level",
  },
  // Properties (issue 19): definitions, categories and their values.
  PROPERTY_NOT_FOUND: { status: 404, message: "Property not found" },
  PROPERTY_EXISTS: { status: 409, message: "A property with this key already exists in this context" },
  PROPERTY_PROTECTED: { status: 400, message: "Kinde's built-in properties cannot be deleted" },
  INVALID_PROPERTY_VALUE: { status: 400, message: "The value does not fit the property's type" },
  CATEGORY_NOT_FOUND: { status: 404, message: "Category not found" },
  CATEGORY_INVALID: { status: 400, message: "No category of the property's context has this category_id" },
  WEBHOOK_NOT_FOUND: { status: 404, message: "Webhook not found" },
  WEBHOOK_DELIVERY_NOT_FOUND: { status: 404, message: "This webhook has no such delivery" },
  EVENT_NOT_FOUND: { status: 404, message: "Event not found" },
  MFA_FACTOR_NOT_FOUND: { status: 404, message: "The user has no MFA factor with this id" },
  PASSKEY_NOT_FOUND: { status: 404, message: "The user has no passkey with this id" },
  INVALID_EVENT_TYPE: { status: 400, message: "An event type is not valid" },
  // Sign-in connections (/api/v1/connections, issue 17). Not the CONNECTION_* codes above, which
  // are about a user's connected-app connection.
  CONNECTION_NOT_FOUND: { status: 404, message: "Connection not found" },
  INVALID_STRATEGY: { status: 400, message: "Unknown connection strategy" },
  STRATEGY_NOT_SUPPORTED: { status: 400, message: "This connection strategy is not supported yet" },
  INVALID_CONNECTION_OPTIONS: { status: 400, message: "The connection options are not valid" },
  HOME_REALM_DOMAIN_TAKEN: {
    status: 409,
    message: "A home realm domain already belongs to another connection",
  },
  // Applications' access roles (issue 19; Kinde's codes from its PATCH /applications/{id}).
  ACCESS_CONTROL_NOT_SUPPORTED: {
    status: 400,
    message: "Role-based access control is not supported for this application type",
  },
  ACCESS_ROLES_REQUIRED: {
    status: 400,
    message: "Add at least one allowed role before enabling role-based access control",
  },
  TOO_MANY_PARAMETERS: {
    status: 400,
    message: "Only one of starting_after or ending_before may be specified",
  },
  // Organization invitations and API keys (issue 19).
  INVITATION_NOT_FOUND: { status: 404, message: "Invitation not found" },
  EMAIL_TOO_LONG: { status: 400, message: "email must be at most 254 characters" },
  FIRST_NAME_TOO_LONG: { status: 400, message: "first_name must be at most 64 characters" },
  LAST_NAME_TOO_LONG: { status: 400, message: "last_name must be at most 64 characters" },
  API_KEY_NOT_FOUND: { status: 404, message: "API key not found" },
  API_KEY_INVALID: { status: 401, message: "The API key is not valid" },
  // SCIM directories (issue 19; Kinde's CreateDirectory examples).
  DIRECTORY_NOT_FOUND: { status: 404, message: "Directory not found" },
  DIRECTORY_EXISTS: { status: 409, message: "A SCIM directory already exists for this organization" },
  DIRECTORY_TOKEN_CONFLICT: {
    status: 409,
    message: "Another request replaced the directory's token at the same time: the token it answered works",
  },
  ORGANIZATION_REQUIRED: { status: 400, message: "Organization code is required" },
  DIRECTORY_NAME_REQUIRED: { status: 400, message: "Directory name is required" },
  PROVIDER_CODE_REQUIRED: { status: 400, message: "Provider code is required" },
  NO_ENTERPRISE_CONNECTIONS: {
    status: 400,
    message: "Set up an enterprise connection for this organization before creating a directory",
  },
  ENTERPRISE_CONNECTION_REQUIRED: {
    status: 400,
    message: "Select which enterprise connection this directory should use",
  },
  INVALID_ENTERPRISE_CONNECTION: {
    status: 400,
    message: "Provide a valid enabled enterprise connection for this organization",
  },
  // Subscribers and environment variables (issue 19).
  SUBSCRIBER_NOT_FOUND: { status: 404, message: "Subscriber not found" },
  ENVIRONMENT_VARIABLE_NOT_FOUND: { status: 404, message: "Environment variable not found" },
  ENVIRONMENT_VARIABLE_EXISTS: {
    status: 409,
    message: "An environment variable with this key already exists",
  },
  INTERNAL_SERVER_ERROR: { status: 500, message: "An unexpected error occurred" },
  SERVICE_UNAVAILABLE: { status: 503, message: "The service is temporarily unavailable; retry shortly" },
} as const satisfies Record<string, { status: number; message: string }>;

export type ApiErrorCode = keyof typeof API_ERRORS;

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ApiErrorCode,
    message: string = API_ERRORS[code].message,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.status = API_ERRORS[code].status;
  }

  toJSON(): { errors: { code: string; message: string }[] } {
    return { errors: [{ code: this.code, message: this.message }] };
  }
}
