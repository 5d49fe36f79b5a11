// What each Management API write does, in words (issue 20: "Ada created application Acme Web"):
// the audit log's writer (audit.ts) records an action code and the thing acted on, found from the
// route's parameters, Kinde's `?id=` on /user, or — for a create, whose id the path cannot know —
// the response body. The audit log routes put the sentence together from the names they join.

/** Things whose names the audit log joins (audit-log.query.ts); any other target shows its id. */
export const NAMED_TARGETS = [
  "application",
  "user",
  "organization",
  "role",
  "permission",
  "api",
  "connection",
  "webhook",
  "api_key",
  "directory",
] as const;
export type TargetType =
  | (typeof NAMED_TARGETS)[number]
  | "feature_flag"
  | "property"
  | "property_category"
  | "connected_app"
  | "identity"
  | "business";

/** Past tense for a sentence, and the bare verb for "tried to … (refused)". */
const VERBS = {
  create: ["created", "create"],
  update: ["updated", "update"],
  replace: ["replaced", "replace"],
  delete: ["deleted", "delete"],
  add: ["added", "add"],
  remove: ["removed", "remove"],
  rotate: ["rotated", "rotate"],
  revoke: ["revoked", "revoke"],
  test: ["tested", "test"],
  resend: ["resent", "resend"],
  set: ["set", "set"],
  verify: ["verified", "verify"],
  refresh: ["refreshed", "refresh"],
  sign_out: ["signed out", "sign out"],
  invite: ["invited someone to", "invite someone to"],
  withdraw: ["withdrew", "withdraw"],
} as const;
type Verb = keyof typeof VERBS;

interface Rule {
  action: string;
  verb: Verb;
  /** What was acted on; `{t}` is replaced by the target's name (or id). */
  object: string;
  target?: TargetType;
  /** A route parameter's name, "?id" for Kinde's query id, or the response's dotted path ("$.application.id"). */
  from?: string;
}

// [method, route under /api/v1, action, verb, object, target, from]
type Row = [string, string, string, Verb, string, TargetType?, string?];
// biome-ignore format: a table reads best one route a line
const ROWS: Row[] = [
  ["POST", "/user", "user.created", "create", "user {t}", "user", "$.id"],
  ["PATCH", "/user", "user.updated", "update", "user {t}", "user", "?id"],
  ["DELETE", "/user", "user.deleted", "delete", "user {t}", "user", "?id"],
  ["POST", "/users/:user_id/refresh_claims", "user.claims_refreshed", "refresh", "the claims of user {t}", "user", "user_id"],
  ["PATCH", "/identities/:identity_id", "identity.updated", "update", "identity {t}", "identity", "identity_id"],
  ["DELETE", "/identities/:identity_id", "identity.deleted", "delete", "identity {t}", "identity", "identity_id"],
  ["PUT", "/users/:user_id/password", "user.password_set", "set", "the password of user {t}", "user", "user_id"],
  ["POST", "/users/:user_id/identities", "user.identity_added", "add", "an identity to user {t}", "user", "user_id"],
  ["DELETE", "/users/:user_id/sessions", "user.signed_out", "sign_out", "user {t} everywhere", "user", "user_id"],
  ["DELETE", "/users/:user_id/mfa", "user.mfa_reset", "remove", "every second factor of user {t}", "user", "user_id"],
  ["DELETE", "/users/:user_id/mfa/:factor_id", "user.mfa_removed", "remove", "a second factor of user {t}", "user", "user_id"],
  ["DELETE", "/users/:user_id/passkeys/:passkey_id", "user.passkey_removed", "remove", "a passkey of user {t}", "user", "user_id"],
  ["PATCH", "/users/:user_id/properties", "user.properties_updated", "update", "the properties of user {t}", "user", "user_id"],
  ["PUT", "/users/:user_id/properties/:property_key", "user.properties_updated", "update", "the properties of user {t}", "user", "user_id"],
  ["PATCH", "/users/:user_id/feature_flags/:feature_flag_key", "user.feature_flag_set", "set", "a feature flag for user {t}", "user", "user_id"],
  ["POST", "/applications", "application.created", "create", "application {t}", "application", "$.application.id"],
  ["PATCH", "/applications/:application_id", "application.updated", "update", "application {t}", "application", "application_id"],
  ["DELETE", "/applications/:application_id", "application.deleted", "delete", "application {t}", "application", "application_id"],
  ["PATCH", "/applications/:application_id/tokens", "application.tokens_updated", "update", "the token settings of application {t}", "application", "application_id"],
  ["POST", "/applications/:application_id/rotate_secret", "application.secret_rotated", "rotate", "the secret of application {t}", "application", "application_id"],
  ["POST", "/applications/:app_id/auth_redirect_urls", "application.callbacks_added", "add", "callback URLs to application {t}", "application", "app_id"],
  ["PUT", "/applications/:app_id/auth_redirect_urls", "application.callbacks_replaced", "replace", "the callback URLs of application {t}", "application", "app_id"],
  ["DELETE", "/applications/:app_id/auth_redirect_urls", "application.callbacks_removed", "remove", "callback URLs from application {t}", "application", "app_id"],
  ["POST", "/applications/:app_id/auth_logout_urls", "application.logout_urls_added", "add", "logout URLs to application {t}", "application", "app_id"],
  ["PUT", "/applications/:app_id/auth_logout_urls", "application.logout_urls_replaced", "replace", "the logout URLs of application {t}", "application", "app_id"],
  ["DELETE", "/applications/:app_id/auth_logout_urls", "application.logout_urls_removed", "remove", "logout URLs from application {t}", "application", "app_id"],
  ["PUT", "/applications/:application_id/properties/:property_key", "application.properties_updated", "update", "the properties of application {t}", "application", "application_id"],
  ["POST", "/applications/:application_id/connections/:connection_id", "application.connection_enabled", "add", "a connection to application {t}", "application", "application_id"],
  ["DELETE", "/applications/:application_id/connections/:connection_id", "application.connection_disabled", "remove", "a connection from application {t}", "application", "application_id"],
  ["POST", "/apis", "api.created", "create", "API {t}", "api", "$.api.id"],
  ["DELETE", "/apis/:api_id", "api.deleted", "delete", "API {t}", "api", "api_id"],
  ["POST", "/apis/:api_id/scopes", "api.scope_added", "add", "a scope to API {t}", "api", "api_id"],
  ["PATCH", "/apis/:api_id/scopes/:scope_id", "api.scope_updated", "update", "a scope of API {t}", "api", "api_id"],
  ["DELETE", "/apis/:api_id/scopes/:scope_id", "api.scope_deleted", "delete", "a scope of API {t}", "api", "api_id"],
  ["PATCH", "/apis/:api_id/applications", "api.applications_authorized", "update", "which applications may use API {t}", "api", "api_id"],
  ["POST", "/apis/:api_id/applications/:application_id/scopes/:scope_id", "application.api_scope_granted", "add", "an API scope to application {t}", "application", "application_id"],
  ["DELETE", "/apis/:api_id/applications/:application_id/scopes/:scope_id", "application.api_scope_revoked", "remove", "an API scope from application {t}", "application", "application_id"],
  ["POST", "/signing_keys/rotate", "signing_keys.rotated", "rotate", "the signing keys"],
  ["PUT", "/business/sign_in_methods", "business.sign_in_methods_set", "set", "the sign-in methods"],
  ["PATCH", "/business", "business.updated", "update", "the business details"],
  ["PUT", "/mfa", "business.mfa_set", "set", "the multi-factor policy"],
  ["PUT", "/passkey", "business.passkeys_set", "set", "the passkey settings"],
  ["POST", "/connected_apps/revoke", "connected_app.revoked", "revoke", "a user's connected app session"],
  ["POST", "/connected_apps", "connected_app.created", "create", "connected app {t}", "connected_app", "$.connected_app.key_code_ref"],
  ["PATCH", "/connected_apps/:key_code_ref", "connected_app.updated", "update", "connected app {t}", "connected_app", "key_code_ref"],
  ["DELETE", "/connected_apps/:key_code_ref", "connected_app.deleted", "delete", "connected app {t}", "connected_app", "key_code_ref"],
  ["POST", "/organization", "organization.created", "create", "organization {t}", "organization", "$.organization.code"],
  ["PATCH", "/organization/:org_code", "organization.updated", "update", "organization {t}", "organization", "org_code"],
  ["DELETE", "/organization/:org_code", "organization.deleted", "delete", "organization {t}", "organization", "org_code"],
  ["POST", "/organizations/:org_code/users", "organization.members_added", "add", "members to organization {t}", "organization", "org_code"],
  ["PATCH", "/organizations/:org_code/users", "organization.members_updated", "update", "the members of organization {t}", "organization", "org_code"],
  ["DELETE", "/organizations/:org_code/users/:user_id", "organization.member_removed", "remove", "a member from organization {t}", "organization", "org_code"],
  ["POST", "/organizations/:org_code/users/:user_id/roles", "user.role_added", "add", "a role to user {t}", "user", "user_id"],
  ["DELETE", "/organizations/:org_code/users/:user_id/roles/:role_id", "user.role_removed", "remove", "a role from user {t}", "user", "user_id"],
  ["POST", "/organizations/:org_code/users/:user_id/permissions", "user.permission_added", "add", "a permission to user {t}", "user", "user_id"],
  ["DELETE", "/organizations/:org_code/users/:user_id/permissions/:permission_id", "user.permission_removed", "remove", "a permission from user {t}", "user", "user_id"],
  ["POST", "/organizations/:org_code/users/:user_id/apis/:api_id/scopes/:scope_id", "user.api_scope_added", "add", "an API scope to user {t}", "user", "user_id"],
  ["DELETE", "/organizations/:org_code/users/:user_id/apis/:api_id/scopes/:scope_id", "user.api_scope_removed", "remove", "an API scope from user {t}", "user", "user_id"],
  ["DELETE", "/organizations/:org_code/users/:user_id/mfa", "user.mfa_reset", "remove", "every second factor of user {t}", "user", "user_id"],
  ["DELETE", "/organizations/:org_code/users/:user_id/mfa/:factor_id", "user.mfa_removed", "remove", "a second factor of user {t}", "user", "user_id"],
  ["PUT", "/organizations/:org_code/mfa", "organization.mfa_set", "set", "the multi-factor policy of organization {t}", "organization", "org_code"],
  ["PUT", "/organizations/:org_code/passkey", "organization.passkeys_set", "set", "the passkey settings of organization {t}", "organization", "org_code"],
  ["PATCH", "/organizations/:org_code/properties", "organization.properties_updated", "update", "the properties of organization {t}", "organization", "org_code"],
  ["PUT", "/organizations/:org_code/properties/:property_key", "organization.properties_updated", "update", "the properties of organization {t}", "organization", "org_code"],
  ["DELETE", "/organizations/:org_code/feature_flags", "organization.feature_flags_reset", "delete", "the feature flag overrides of organization {t}", "organization", "org_code"],
  ["PATCH", "/organizations/:org_code/feature_flags/:feature_flag_key", "organization.feature_flag_set", "set", "a feature flag for organization {t}", "organization", "org_code"],
  ["DELETE", "/organizations/:org_code/feature_flags/:feature_flag_key", "organization.feature_flag_reset", "delete", "a feature flag override of organization {t}", "organization", "org_code"],
  ["POST", "/organizations/:organization_code/connections/:connection_id", "organization.connection_enabled", "add", "a connection to organization {t}", "organization", "organization_code"],
  ["DELETE", "/organizations/:organization_code/connections/:connection_id", "organization.connection_disabled", "remove", "a connection from organization {t}", "organization", "organization_code"],
  ["POST", "/organization/:org_code/invites", "organization.invited", "invite", "organization {t}", "organization", "org_code"],
  ["DELETE", "/organization/:org_code/invites/:invite_code", "organization.invitation_withdrawn", "withdraw", "an invitation to organization {t}", "organization", "org_code"],
  ["POST", "/roles", "role.created", "create", "role {t}", "role", "$.role.id"],
  ["PATCH", "/roles/:role_id", "role.updated", "update", "role {t}", "role", "role_id"],
  ["DELETE", "/roles/:role_id", "role.deleted", "delete", "role {t}", "role", "role_id"],
  ["PATCH", "/roles/:role_id/permissions", "role.permissions_updated", "update", "the permissions of role {t}", "role", "role_id"],
  ["DELETE", "/roles/:role_id/permissions/:permission_id", "role.permission_removed", "remove", "a permission from role {t}", "role", "role_id"],
  ["PATCH", "/roles/:role_id/system_permissions", "role.system_permissions_updated", "update", "the self-service permissions of role {t}", "role", "role_id"],
  ["POST", "/roles/:role_id/scopes", "role.scope_added", "add", "an API scope to role {t}", "role", "role_id"],
  ["DELETE", "/roles/:role_id/scopes/:scope_id", "role.scope_removed", "remove", "an API scope from role {t}", "role", "role_id"],
  ["POST", "/permissions", "permission.created", "create", "permission {t}", "permission", "$.permission.id"],
  ["PATCH", "/permissions/:permission_id", "permission.updated", "update", "permission {t}", "permission", "permission_id"],
  ["DELETE", "/permissions/:permission_id", "permission.deleted", "delete", "permission {t}", "permission", "permission_id"],
  ["POST", "/feature_flags", "feature_flag.created", "create", "a feature flag"],
  ["PUT", "/feature_flags/:feature_flag_key", "feature_flag.updated", "update", "feature flag {t}", "feature_flag", "feature_flag_key"],
  ["DELETE", "/feature_flags/:feature_flag_key", "feature_flag.deleted", "delete", "feature flag {t}", "feature_flag", "feature_flag_key"],
  ["DELETE", "/environment/feature_flags", "feature_flag.environment_reset", "delete", "every environment feature flag override"],
  ["PATCH", "/environment/feature_flags/:feature_flag_key", "feature_flag.environment_set", "set", "feature flag {t} for the environment", "feature_flag", "feature_flag_key"],
  ["DELETE", "/environment/feature_flags/:feature_flag_key", "feature_flag.environment_reset", "delete", "the environment override of feature flag {t}", "feature_flag", "feature_flag_key"],
  ["POST", "/webhooks", "webhook.created", "create", "webhook {t}", "webhook", "$.webhook.id"],
  ["PATCH", "/webhooks/:webhook_id", "webhook.updated", "update", "webhook {t}", "webhook", "webhook_id"],
  ["DELETE", "/webhooks/:webhook_id", "webhook.deleted", "delete", "webhook {t}", "webhook", "webhook_id"],
  ["POST", "/webhooks/:webhook_id/deliveries/:delivery_id/resend", "webhook.delivery_resent", "resend", "a delivery of webhook {t}", "webhook", "webhook_id"],
  ["POST", "/webhooks/:webhook_id/test", "webhook.tested", "test", "webhook {t}", "webhook", "webhook_id"],
  ["POST", "/connections", "connection.created", "create", "connection {t}", "connection", "$.connection.id"],
  ["PATCH", "/connections/:connection_id", "connection.updated", "update", "connection {t}", "connection", "connection_id"],
  ["PUT", "/connections/:connection_id", "connection.replaced", "replace", "connection {t}", "connection", "connection_id"],
  ["DELETE", "/connections/:connection_id", "connection.deleted", "delete", "connection {t}", "connection", "connection_id"],
  ["POST", "/connections/:connection_id/test", "connection.tested", "test", "connection {t}", "connection", "connection_id"],
  ["POST", "/directories", "directory.created", "create", "SCIM directory {t}", "directory", "$.directory.id"],
  ["PATCH", "/directories/:directory_id", "directory.updated", "update", "SCIM directory {t}", "directory", "directory_id"],
  ["POST", "/directories/:directory_id/rotate_secret_token", "directory.token_rotated", "rotate", "the token of SCIM directory {t}", "directory", "directory_id"],
  ["DELETE", "/directories/:directory_id", "directory.deleted", "delete", "SCIM directory {t}", "directory", "directory_id"],
  ["POST", "/properties", "property.created", "create", "a property"],
  ["PUT", "/properties/:property_id", "property.updated", "update", "property {t}", "property", "property_id"],
  ["DELETE", "/properties/:property_id", "property.deleted", "delete", "property {t}", "property", "property_id"],
  ["POST", "/property_categories", "property_category.created", "create", "a property category"],
  ["PUT", "/property_categories/:category_id", "property_category.updated", "update", "property category {t}", "property_category", "category_id"],
  ["POST", "/api_keys", "api_key.created", "create", "API key {t}", "api_key", "$.api_key.id"],
  ["PUT", "/api_keys/:key_id", "api_key.rotated", "rotate", "API key {t}", "api_key", "key_id"],
  ["DELETE", "/api_keys/:key_id", "api_key.deleted", "delete", "API key {t}", "api_key", "key_id"],
  ["POST", "/api_keys/verify", "api_key.verified", "verify", "an API key"],
];

const RULES = new Map<string, Rule>(
  ROWS.map(([method, route, action, verb, object, target, from]) => [
    `${method} ${route}`,
    { action, verb, object, target, from },
  ]),
);
const BY_ACTION = new Map<string, Rule>([...RULES.values()].map((rule) => [rule.action, rule]));

/** Every action code, with a label for a filter ("Create application"). */
export function auditActions(): { code: string; name: string }[] {
  return [...BY_ACTION.values()]
    .map((rule) => {
      const label = `${VERBS[rule.verb][1]} ${rule.object.replace(/ ?\{t\}/g, "")}`;
      return { code: rule.action, name: label.charAt(0).toUpperCase() + label.slice(1) };
    })
    .sort((a, b) => a.code.localeCompare(b.code));
}

export function isAuditAction(code: string): boolean {
  return BY_ACTION.has(code);
}

/** What a write's route did; `from` says where its target's id is. */
export function ruleFor(method: string, routeUrl: string | undefined): Rule | undefined {
  if (!routeUrl?.startsWith("/api/v1/")) return undefined;
  return RULES.get(`${method} ${routeUrl.slice("/api/v1".length)}`);
}

/** The id a create's response carries at a dotted path ("$.application.id"), if it is a short string. */
export function idInResponse(payload: unknown, from: string): string | undefined {
  if (!from.startsWith("$.") || typeof payload !== "string" || payload.length > 100_000) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  for (const key of from.slice(2).split(".")) {
    value = typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  }
  return typeof value === "string" && value.length <= 200 ? value : undefined;
}

/** The target's id found in the request (route parameter or Kinde's `?id=`). */
export function idInRequest(rule: Rule, params: unknown, query: unknown): string | undefined {
  if (!rule.from || rule.from.startsWith("$.")) return undefined;
  const source = rule.from === "?id" ? query : params;
  const key = rule.from === "?id" ? "id" : rule.from;
  const value =
    typeof source === "object" && source !== null ? (source as Record<string, unknown>)[key] : undefined;
  return typeof value === "string" && value.length > 0 ? value.slice(0, 200) : undefined;
}

export interface Describable {
  action: string | null;
  method: string;
  path: string;
  status_code: number;
  target_id: string | null;
  target_name: string | null;
}

/**
 * What the actor did, as the end of a sentence that starts with their name: "created application
 * Acme Web", or "tried to delete role Editors (refused: HTTP 403)" for a write that failed.
 */
export function describeAction(entry: Describable): string {
  const rule = entry.action ? BY_ACTION.get(entry.action) : undefined;
  const failed = entry.status_code >= 400 ? ` (refused: HTTP ${entry.status_code})` : "";
  if (!rule) return `${entry.method} ${entry.path.split("?")[0]}${failed}`;
  const name = entry.target_name ?? entry.target_id;
  const object = rule.object.replace(/ ?\{t\}/, name ? ` ${name}` : "");
  const [past, base] = VERBS[rule.verb];
  return failed ? `tried to ${base} ${object}${failed}` : `${past} ${object}`;
}
