// Row types of every table, the single TypeScript description of the schema the migrations build.
// Conventions that keep one query path for both dialects: times are integer epoch seconds,
// booleans are 0/1 integers, structured values are JSON text. Text primary keys are declared NOT NULL
// explicitly (SQLite would otherwise accept NULL keys).
import type { Generated } from "kysely";
import type { ApplicationAccessRolesTable } from "./schema-application-access.js";
import type { LogosTable } from "./schema-branding.js";
import type {
  ApplicationSignInConnectionsTable,
  ExternalIdentitiesTable,
  OrganizationConnectionListsTable,
  OrganizationSignInConnectionsTable,
  SignInConnectionDomainsTable,
  SignInConnectionsTable,
  UpstreamSignInStatesTable,
} from "./schema-connections.js";
import type {
  ScimDirectoriesTable,
  ScimGroupMembersTable,
  ScimGroupsTable,
  ScimUsersTable,
} from "./schema-directories.js";
import type { EnvironmentVariablesTable, SubscribersTable } from "./schema-environment.js";
import type {
  MfaFactorsTable,
  MfaRecoveryCodesTable,
  PasskeyChallengesTable,
  PasskeysTable,
  SmsOutboxTable,
} from "./schema-factors.js";
import type {
  ApiKeyScopesTable,
  ApiKeysTable,
  OrganizationInvitationRolesTable,
  OrganizationInvitationsTable,
} from "./schema-invitations.js";
import type {
  EventsTable,
  MailMessagesTable,
  WebhookDeliveriesTable,
  WebhookEventTypesTable,
  WebhooksTable,
} from "./schema-outbox.js";
import type {
  ApplicationPropertyValuesTable,
  OrganizationPropertyValuesTable,
  PropertiesTable,
  PropertyCategoriesTable,
  UserPropertyValuesTable,
} from "./schema-properties.js";
import type { RoleSystemPermissionsTable, SystemPermissionsTable } from "./schema-system-permissions.js";

export interface BusinessTable {
  id: string;
  name: string;
  created_at: number;
  updated_at: number;
  phone: string | null;
  email: string | null;
  industry_key: string | null;
  timezone_key: string | null;
  privacy_url: string | null;
  terms_url: string | null;
  has_clickwrap: Generated<number>;
  has_kinde_branding: Generated<number>;
  /** The admin dashboard's application (migration 0015); never set through the Management API. */
  dashboard_client_id: string | null;
  /** The Management API application bootstrap generated (migration 0046); never set through the API. */
  bootstrap_client_id: string | null;
  /** Which ways of signing in the hosted pages offer (migration 0019; 1 = offered). */
  sign_in_password: Generated<number>;
  sign_in_email_code: Generated<number>;
  /** MFA and passkey policy (migration 0025; src/mfa/policy.ts). */
  mfa_policy: Generated<string>;
  /** JSON array of Kinde factor names (mfa:authenticator_app, mfa:email, mfa:sms). */
  mfa_enabled_factors: Generated<string>;
  mfa_recovery_codes: Generated<number>;
  passkey_policy: Generated<string>;
  /** The hosted pages' colours and theme, JSON under Kinde's names (migration 0034; src/branding/). */
  branding: Generated<string>;
}

export interface UsersTable {
  id: string;
  email: string | null;
  email_verified: Generated<number>;
  given_name: string | null;
  family_name: string | null;
  picture: string | null;
  username: string | null;
  provided_id: string | null;
  password_hash: string | null;
  is_suspended: Generated<number>;
  is_admin: Generated<number>;
  created_at: number;
  updated_at: number;
  last_signed_in_at: number | null;
  total_sign_ins: Generated<number>;
  failed_sign_ins: Generated<number>;
  /** 1: a new password must be chosen at the next sign-in (reset requested, or a temporary one). */
  password_change_required: Generated<number>;
  /** When the user last declined enrolling a second factor at sign-in (policy "optional"). */
  mfa_offer_dismissed_at: number | null;
}

/** Kinde's application types; `device` signs users in by the device authorization grant (RFC 8628). */
export type ApplicationType = "reg" | "spa" | "m2m" | "device";

export interface ApplicationsTable {
  id: string;
  name: string;
  type: ApplicationType;
  client_secret_sealed: string | null;
  access_token_lifetime: number;
  refresh_token_lifetime: number;
  id_token_lifetime: number;
  created_at: number;
  updated_at: number;
  /** An m2m application scoped to one organization (its tokens carry `org_code`). */
  org_code: string | null;
  /** Kinde's role-based access control: only holders of its access roles sign in (0032). */
  is_access_control_enabled: Generated<number>;
  /** Kinde's Hasura mode: its tokens' Kinde claims carry x-hasura- names (0032). */
  is_hasura_mapping_enabled: Generated<number>;
  /** Kinde's authenticated_session_lifetime, seconds; null = the environment's (migration 0033). */
  authenticated_session_lifetime: Generated<number | null>;
}

export type ApplicationUrlKind = "callback" | "logout";

export interface ApplicationUrlsTable {
  application_id: string;
  kind: ApplicationUrlKind;
  url: string;
  created_at: number;
}

export interface ApisTable {
  id: string;
  name: string;
  audience: string;
  is_management_api: Generated<number>;
  created_at: number;
}

export interface ApiScopesTable {
  id: string;
  api_id: string;
  key: string;
  description: string | null;
  created_at: number;
}

export interface ApiApplicationsTable {
  api_id: string;
  application_id: string;
  created_at: number;
}

export interface ApiApplicationScopesTable {
  api_id: string;
  application_id: string;
  scope_id: string;
}

export interface SigningKeysTable {
  kid: string;
  algorithm: string;
  public_jwk: string;
  private_key_sealed: string;
  created_at: number;
  active_at: number;
  retired_at: number | null;
  expires_at: number | null;
}

export interface BrowserSessionsTable {
  id: string;
  token_hash: string;
  user_id: string;
  auth_time: number;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  ip_address: string | null;
  user_agent: string | null;
  /** The external identity this session signed in with (tokens carry ext_provider), if any. */
  external_identity_id: string | null;
  /** JSON array of RFC 8176 amr values: what the sign-in proved (migration 0025). */
  amr: Generated<string>;
}

export interface AuthorizationRequestsTable {
  id: string;
  client_id: string;
  params: string;
  created_at: number;
  expires_at: number;
  completed_at: number | null;
}

export interface GrantsTable {
  id: string;
  client_id: string;
  user_id: string;
  session_id: string | null;
  scope: string;
  audience: string;
  auth_time: number;
  created_at: number;
  revoked_at: number | null;
  revoked_reason: string | null;
  /** The organization the user signed into (0010). */
  org_code: Generated<string | null>;
}

/** A device authorization request (RFC 8628) waiting for, or done with, a person's decision (0028). */
export interface DeviceCodesTable {
  device_code_hash: string;
  user_code_mac: string;
  client_id: string;
  scope: string;
  /** JSON array of the audiences asked for and authorised for the client. */
  audience: string;
  status: "pending" | "approved" | "denied" | "consumed";
  poll_interval: number;
  last_polled_at: number | null;
  /** 1 when the last poll came sooner than poll_interval allowed (it raised the interval). */
  slowed_down: Generated<number>;
  user_id: string | null;
  org_code: string | null;
  auth_time: number | null;
  grant_id: string | null;
  created_at: number;
  expires_at: number;
  decided_at: number | null;
}

export interface AuthorizationCodesTable {
  code_hash: string;
  client_id: string;
  user_id: string;
  session_id: string | null;
  redirect_uri: string;
  scope: string;
  audience: string;
  nonce: string | null;
  code_challenge: string | null;
  auth_time: number;
  created_at: number;
  expires_at: number;
  consumed_at: number | null;
  grant_id: string | null;
  /** The organization the user signed into (0010). */
  org_code: Generated<string | null>;
}

export interface RefreshTokensTable {
  token_hash: string;
  grant_id: string;
  created_at: number;
  expires_at: number;
  consumed_at: number | null;
}

export interface AccessTokensTable {
  jti: string;
  client_id: string;
  grant_id: string | null;
  expires_at: number;
  revoked_at: number | null;
}

export interface RateLimitsTable {
  key: string;
  window_start: number;
  count: number;
}

export interface IdempotencyKeysTable {
  client_id: string;
  key: string;
  method: string;
  path: string;
  request_hash: string;
  /** 0 while the request is in progress (a claim); the response's status once recorded. */
  status_code: number;
  /** The recorded response body, sealed with the master key; null while in progress. */
  response_body_sealed: string | null;
  /** The owner of an in-progress claim: only it may complete or release the record. */
  lock_token: string | null;
  created_at: number;
}

export interface AuditLogTable {
  id: string;
  created_at: number;
  actor_type: "application" | "user";
  actor_id: string;
  client_id: string;
  method: string;
  path: string;
  status_code: number;
  ip_address: string | null;
  request_id: string | null;
  /** What the write did, e.g. application.created (src/management/audit-actions.ts); null before 0037. */
  action: string | null;
  /** What it acted on: application, user, organization …, and that thing's id (or code). */
  target_type: string | null;
  target_id: string | null;
}

/** What the authentication log records (src/audit/authentication-log.ts). */
export type AuthenticationLogType = "sign_in" | "sign_in_failed" | "sign_out" | "token_issued";

export interface AuthenticationLogTable {
  id: string;
  created_at: number;
  type: AuthenticationLogType;
  user_id: string | null;
  client_id: string | null;
  grant_type: string | null;
  method: string | null;
  ip_address: string | null;
  request_id: string | null;
}

export interface ConnectedAppsTable {
  key_code_ref: string;
  provider: string;
  name: string;
  client_id: string;
  client_secret_sealed: string;
  callback_url: string;
  /** JSON array of provider scopes to request. */
  scopes: string;
  /** JSON object: endpoints of a generic provider, extra authorize parameters. */
  settings: string;
  offer_at_sign_in: Generated<number>;
  created_at: number;
  updated_at: number;
}

export type ConnectionStatus =
  | "pending"
  | "exchanging"
  | "connected"
  | "needs_reauthorization"
  | "revoked"
  | "failed";

export interface ConnectionsTable {
  id: string;
  key_code_ref: string;
  /** The user who owns the connection; null for an organization's connection. */
  user_id: string | null;
  status: ConnectionStatus;
  start_token_hash: string;
  state_hash: string | null;
  code_verifier_sealed: string | null;
  callback_url: string;
  access_token_sealed: string | null;
  refresh_token_sealed: string | null;
  access_token_expires_at: number | null;
  scope: string | null;
  refresh_locked_until: number | null;
  /** Who holds the refresh lease (random per acquisition): refresh writes are fenced on it. */
  refresh_lock_owner: string | null;
  refresh_retry_after: number | null;
  last_error: string | null;
  created_at: number;
  /** Until when the auth URL may be opened (pending connections only). */
  expires_at: number;
  updated_at: number;
  /** The organization that owns the connection (0011); with a user_id, that member's connection in it. */
  org_code: string | null;
}

export interface OrganizationsTable {
  code: string;
  name: string;
  handle: string | null;
  external_id: string | null;
  is_default: Generated<number>;
  is_auto_membership_enabled: Generated<number>;
  is_allow_registrations: Generated<number>;
  is_suspended: Generated<number>;
  suspended_at: number | null;
  sender_name: string | null;
  sender_email: string | null;
  /** JSON object: colours and theme_code as Kinde takes them. */
  branding: Generated<string>;
  created_at: number;
  updated_at: number;
  /** Kinde's is_enforce_mfa; null overrides below mean "the environment's" (migration 0025). */
  mfa_enforced: Generated<number>;
  mfa_enabled_factors: string | null;
  mfa_recovery_codes: number | null;
  passkey_policy: string | null;
  /** Kinde's organization session settings (PATCH …/sessions, migration 0033). */
  sso_session_policy_enabled: Generated<number>;
  sso_session_persistence: "persistent" | "non_persistent" | null;
  session_lifetime_enabled: Generated<number>;
  authenticated_session_lifetime: number | null;
}

export interface OrganizationUsersTable {
  org_code: string;
  user_id: string;
  joined_at: number;
  last_accessed_at: number | null;
}

export interface PermissionsTable {
  id: string;
  key: string;
  name: string;
  description: string | null;
  created_at: number;
}

export interface RolesTable {
  id: string;
  key: string;
  name: string;
  description: string | null;
  is_default_role: Generated<number>;
  assignment_permission_id: string | null;
  created_at: number;
}

export interface RolePermissionsTable {
  role_id: string;
  permission_id: string;
}

export interface OrganizationUserRolesTable {
  org_code: string;
  user_id: string;
  role_id: string;
}

export interface OrganizationUserPermissionsTable {
  org_code: string;
  user_id: string;
  permission_id: string;
}

/** Kinde's role scopes: API scopes a role gives to whoever holds it in an organization. */
export interface RoleScopesTable {
  role_id: string;
  scope_id: string;
}

/** Kinde's organization-user API scopes: API scopes given to a member directly. */
export interface OrganizationUserApiScopesTable {
  org_code: string;
  user_id: string;
  scope_id: string;
}

export type FeatureFlagType = "str" | "int" | "bool";
export type FeatureFlagOverrideLevel = "env" | "org" | "usr";

export interface FeatureFlagsTable {
  key: string;
  id: string;
  name: string;
  description: string | null;
  type: FeatureFlagType;
  allow_override_level: FeatureFlagOverrideLevel;
  default_value: string;
  environment_value: string | null;
  created_at: number;
  updated_at: number;
}

export interface OrganizationFeatureFlagsTable {
  org_code: string;
  flag_key: string;
  value: string;
}

export interface UserFeatureFlagsTable {
  user_id: string;
  flag_key: string;
  value: string;
}

/** mfa: the second step of a sign-in (a code by e-mail as a second factor, issue 22). */
export type OneTimeCodePurpose = "verify_email" | "sign_in" | "reset_password" | "mfa";

export interface OneTimeCodesTable {
  id: string;
  purpose: OneTimeCodePurpose;
  email: string;
  user_id: string | null;
  request_id: string | null;
  code_mac: string;
  attempts: Generated<number>;
  created_at: number;
  expires_at: number;
  consumed_at: number | null;
}

/**
 * The configuration generation (migration 0009): one row (id 1), moved by triggers on every change
 * to the tables the configuration cache reads (src/oauth/config-cache.ts). A bigint: PostgreSQL
 * returns it as text.
 */
export interface ConfigGenerationTable {
  id: number;
  generation: number | string;
}

/** One row, moved by triggers when a shared claim source changes (migration 0045). */
export interface ClaimsGenerationTable {
  id: number;
  generation: number | string;
}

/** Moved by triggers when a user's own claim sources change (migration 0045). */
export interface UserClaimsVersionsTable {
  user_id: string;
  version: number | string;
}

/** A user's claim parts in one organization ('' for none), as of the versions named. */
export interface ClaimsCacheTable {
  user_id: string;
  org_code: string;
  format: string;
  user_version: number | string;
  claims_generation: number | string;
  parts: string;
}

export interface Schema {
  config_generation: ConfigGenerationTable;
  claims_generation: ClaimsGenerationTable;
  claims_cache: ClaimsCacheTable;
  user_claims_versions: UserClaimsVersionsTable;
  organizations: OrganizationsTable;
  organization_users: OrganizationUsersTable;
  permissions: PermissionsTable;
  roles: RolesTable;
  role_permissions: RolePermissionsTable;
  organization_user_roles: OrganizationUserRolesTable;
  organization_user_permissions: OrganizationUserPermissionsTable;
  role_scopes: RoleScopesTable;
  organization_user_api_scopes: OrganizationUserApiScopesTable;
  feature_flags: FeatureFlagsTable;
  organization_feature_flags: OrganizationFeatureFlagsTable;
  user_feature_flags: UserFeatureFlagsTable;
  connected_apps: ConnectedAppsTable;
  connections: ConnectionsTable;
  audit_log: AuditLogTable;
  authentication_log: AuthenticationLogTable;
  idempotency_keys: IdempotencyKeysTable;
  business: BusinessTable;
  logos: LogosTable;
  users: UsersTable;
  applications: ApplicationsTable;
  application_urls: ApplicationUrlsTable;
  application_access_roles: ApplicationAccessRolesTable;
  apis: ApisTable;
  api_scopes: ApiScopesTable;
  api_applications: ApiApplicationsTable;
  api_application_scopes: ApiApplicationScopesTable;
  signing_keys: SigningKeysTable;
  browser_sessions: BrowserSessionsTable;
  authorization_requests: AuthorizationRequestsTable;
  grants: GrantsTable;
  authorization_codes: AuthorizationCodesTable;
  device_codes: DeviceCodesTable;
  refresh_tokens: RefreshTokensTable;
  access_tokens: AccessTokensTable;
  rate_limits: RateLimitsTable;
  mail_messages: MailMessagesTable;
  one_time_codes: OneTimeCodesTable;
  events: EventsTable;
  webhooks: WebhooksTable;
  webhook_event_types: WebhookEventTypesTable;
  webhook_deliveries: WebhookDeliveriesTable;
  sign_in_connections: SignInConnectionsTable;
  sign_in_connection_domains: SignInConnectionDomainsTable;
  application_sign_in_connections: ApplicationSignInConnectionsTable;
  organization_sign_in_connections: OrganizationSignInConnectionsTable;
  organization_connection_lists: OrganizationConnectionListsTable;
  external_identities: ExternalIdentitiesTable;
  mfa_factors: MfaFactorsTable;
  mfa_recovery_codes: MfaRecoveryCodesTable;
  passkeys: PasskeysTable;
  sms_outbox: SmsOutboxTable;
  passkey_challenges: PasskeyChallengesTable;
  upstream_sign_in_states: UpstreamSignInStatesTable;
  organization_invitations: OrganizationInvitationsTable;
  organization_invitation_roles: OrganizationInvitationRolesTable;
  api_keys: ApiKeysTable;
  api_key_scopes: ApiKeyScopesTable;
  property_categories: PropertyCategoriesTable;
  properties: PropertiesTable;
  user_property_values: UserPropertyValuesTable;
  organization_property_values: OrganizationPropertyValuesTable;
  application_property_values: ApplicationPropertyValuesTable;
  scim_directories: ScimDirectoriesTable;
  scim_users: ScimUsersTable;
  scim_groups: ScimGroupsTable;
  scim_group_members: ScimGroupMembersTable;
  subscribers: SubscribersTable;
  environment_variables: EnvironmentVariablesTable;
  system_permissions: SystemPermissionsTable;
  role_system_permissions: RoleSystemPermissionsTable;
}

// The tables of these features are described in files of their own.
export type * from "./schema-application-access.js";
export type * from "./schema-branding.js";
export type * from "./schema-connections.js";
export type * from "./schema-directories.js";
export type * from "./schema-environment.js";
export type * from "./schema-factors.js";
export type * from "./schema-invitations.js";
export type * from "./schema-outbox.js";
export type * from "./schema-properties.js";
export type * from "./schema-system-permissions.js";
