// Signing the administrator in: the dashboard is a public client (no secret), so it uses the
// authorization code flow with PKCE S256 (RFC 7636, RFC 9700 §2.1.1), a fresh state against CSRF
// (RFC 6749 §10.12) and a nonce (OIDC Core §3.1.2.1). Tokens live only in sessionStorage — gone
// when the tab closes — and are never put in a URL. When the access token expires, sign-in runs
// again; Latchkey's own session cookie makes that a couple of redirects without a form.

export interface DashboardConfig {
  issuer: string;
  clientId: string;
  audience: string;
}

export interface Session {
  accessToken: string;
  idToken: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  email: string;
  name: string;
}

interface PendingSignIn {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
  startedAt: number;
}

const SESSION_KEY = "latchkey.dashboard.session";
const PENDING_KEY = "latchkey.dashboard.pending";
const ISSUED_KEY = "latchkey.dashboard.token-issued";

/**
 * Only the Management API scopes the dashboard uses (least privilege); the administrator's token
 * carries these and nothing else.
 */
export const MANAGEMENT_SCOPES = [
  "read:applications",
  "create:applications",
  "update:applications",
  "delete:applications",
  "update:application_tokens",
  "read:applications_redirect_uris",
  "update:applications_redirect_uris",
  "read:application_logout_uris",
  "update:application_logout_uris",
  "read:apis",
  "create:apis",
  "update:apis",
  "delete:apis",
  "read:api_scopes",
  "create:api_scopes",
  "delete:apis_scopes",
  "create:api_application_scopes",
  "delete:apis_application_scopes",
  "read:users",
  "create:users",
  "update:users",
  "delete:users",
  "update:user_passwords",
  "read:user_identities",
  "create:user_identities",
  "read:user_sessions",
  "delete:user_sessions",
  "read:connected_apps",
  "create:connected_apps",
  "read:businesses",
  "update:businesses",
  "read:environments",
  "update:environments",
  "read:audit_log",
  "read:signing_keys",
  "create:signing_keys",
  "read:mail",
  "read:organizations",
  "create:organizations",
  "update:organizations",
  "delete:organizations",
  "read:organization_users",
  "create:organization_users",
  "delete:organization_users",
  "read:organization_user_roles",
  // Subscribing a webhook to user.created/updated (their data carries each membership's permissions).
  "read:organization_user_permissions",
  "create:organization_user_roles",
  "delete:organization_user_roles",
  "read:organization_feature_flags",
  "update:organization_feature_flags",
  "delete:organization_feature_flags",
  "read:roles",
  "create:roles",
  "update:roles",
  "delete:roles",
  "read:role_permissions",
  "update:role_permissions",
  "read:role_scopes",
  "create:role_scopes",
  "delete:role_scopes",
  "read:system_permissions",
  "read:role_system_permissions",
  "update:role_system_permissions",
  "read:permissions",
  "create:permissions",
  "delete:permissions",
  // Also guards Latchkey's list of flag definitions (GET /api/v1/feature_flags).
  "read:environment_feature_flags",
  "create:feature_flags",
  "update:feature_flags",
  "delete:feature_flags",
  // Settings › Webhooks (issue 18).
  "read:webhooks",
  "create:webhooks",
  "update:webhooks",
  "delete:webhooks",
  "read:event_types",
  "read:events",
  // Settings › Authentication › Connections (issue 17): enabled applications are read from
  // GET /connections/{id} (read:connections), so read:application_connections is not asked for.
  "read:connections",
  "create:connections",
  "update:connections",
  "delete:connections",
  "create:application_connections",
  "delete:application_connections",
  // An organization's page, Connections.
  "read:organization_connections",
  "create:organization_connections",
  "delete:organization_connections",
  // Settings › Authentication's MFA and passkey policies, a user's factors, an organization's
  // "Require MFA" (issue 22; is_enforce_mfa is written with update:organizations).
  "read:mfa",
  "update:mfa",
  "read:passkey",
  "update:passkey",
  "read:user_mfa",
  "delete:user_mfa",
  "read:organization_mfa",
  // Settings › Properties (issue 19).
  "read:properties",
  "create:properties",
  "update:properties",
  "delete:properties",
  "read:property_categories",
  "create:property_categories",
  "update:property_categories",
  // An organization's page, Invitations (issue 19).
  "read:organization_invites",
  "create:organization_invites",
  "delete:organization_invites",
  // An organization's page, Directory sync (SCIM); a new token is update:scim_directories.
  "read:scim_directories",
  "create:scim_directories",
  "update:scim_directories",
  "delete:scim_directories",
  // API keys (issue 19).
  "read:api_keys",
  "create:api_keys",
  "update:api_keys",
  "delete:api_keys",
];

export function callbackUrl(config: DashboardConfig): string {
  return `${config.issuer}/admin/callback`;
}

function base64url(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomValue(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

function readJson<T>(key: string): T | undefined {
  const raw = sessionStorage.getItem(key);
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as T;
  } catch {
    sessionStorage.removeItem(key);
    return undefined;
  }
}

/** The current session while its access token has more than a few seconds to live. */
export function currentSession(): Session | undefined {
  const session = readJson<Session>(SESSION_KEY);
  if (!session || session.expiresAt - 10_000 < Date.now()) return undefined;
  return session;
}

/** Where the dashboard may return after sign-in: only its own pages (no open redirect). */
function safeReturn(path: string): string {
  return /^\/admin\/[A-Za-z0-9/_.-]*$/.test(path) && !path.startsWith("/admin/callback") ? path : "/admin/";
}

export async function startSignIn(config: DashboardConfig, returnTo: string): Promise<never> {
  const pending: PendingSignIn = {
    state: randomValue(),
    nonce: randomValue(),
    verifier: randomValue(),
    returnTo: safeReturn(returnTo),
    startedAt: Date.now(),
  };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const challenge = base64url(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(pending.verifier))),
  );
  const url = new URL("/oauth2/auth", config.issuer);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: config.clientId,
    redirect_uri: callbackUrl(config),
    scope: ["openid", "profile", "email", ...MANAGEMENT_SCOPES].join(" "),
    audience: config.audience,
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: challenge,
    code_challenge_method: "S256",
  }).toString();
  window.location.assign(url.href);
  // Navigation is under way; nothing after this should run.
  return new Promise<never>(() => {});
}

/**
 * Whether this tab got its token moments ago: a refusal then is the server turning down a token it
 * just issued (a wrong clock or ISSUER_URL), where signing in again would only loop.
 */
export function tokenJustIssued(): boolean {
  const issued = Number(sessionStorage.getItem(ISSUED_KEY) ?? 0);
  return Date.now() - issued < 15_000;
}

/**
 * Whether a sign-in this tab started is still unfinished (the person left the sign-in page, e.g.
 * with Back): the dashboard then offers to sign in instead of sending them straight back to it.
 */
export function signInAbandoned(): boolean {
  return sessionStorage.getItem(PENDING_KEY) !== null;
}

export class SignInError extends Error {}

function decodeJwtPayload(token: string): Record<string, unknown> {
  const part = token.split(".")[1] ?? "";
  const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = Uint8Array.from(json, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
}

/** Handles /admin/callback: checks state, redeems the code and returns where to go next. */
export async function completeSignIn(config: DashboardConfig, search: URLSearchParams): Promise<string> {
  const pending = readJson<PendingSignIn>(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  const error = search.get("error");
  if (error) throw new SignInError(search.get("error_description") ?? error);
  const code = search.get("code");
  if (!code || !pending) throw new SignInError("This sign-in link has expired. Sign in again.");
  // RFC 6749 §10.12: a response to a request this tab did not make is refused.
  if (search.get("state") !== pending.state) throw new SignInError("The sign-in response did not match.");
  // RFC 9207: the response names its issuer, which must be ours (mix-up defence).
  const iss = search.get("iss");
  if (iss !== null && iss !== config.issuer)
    throw new SignInError("The sign-in response came from elsewhere.");

  const response = await fetch(new URL("/oauth2/token", config.issuer), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: callbackUrl(config),
      client_id: config.clientId,
      code_verifier: pending.verifier,
    }),
  });
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok || typeof body.access_token !== "string" || typeof body.id_token !== "string") {
    const description = typeof body.error_description === "string" ? body.error_description : undefined;
    throw new SignInError(description ?? "Latchkey did not issue a token. Sign in again.");
  }
  // The ID token came straight from the token endpoint over the same origin (OIDC Core §3.1.3.7
  // lets TLS stand in for the signature); its issuer, audience and nonce are still checked.
  const claims = decodeJwtPayload(body.id_token);
  const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (claims.iss !== config.issuer || !audience.includes(config.clientId) || claims.nonce !== pending.nonce)
    throw new SignInError("The identity token did not match this sign-in.");
  const expiresIn = typeof body.expires_in === "number" ? body.expires_in : 300;
  const name = [claims.given_name, claims.family_name].filter((p) => typeof p === "string").join(" ");
  const session: Session = {
    accessToken: body.access_token,
    idToken: body.id_token,
    expiresAt: Date.now() + expiresIn * 1000,
    email: typeof claims.email === "string" ? claims.email : "",
    name,
  };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  sessionStorage.setItem(ISSUED_KEY, String(Date.now()));
  return pending.returnTo;
}

export function forgetSession(): void {
  sessionStorage.removeItem(SESSION_KEY);
}

/** RP-Initiated Logout: ends the Latchkey session too, then comes back to the dashboard. */
export function signOut(config: DashboardConfig): void {
  const session = readJson<Session>(SESSION_KEY);
  forgetSession();
  const url = new URL("/logout", config.issuer);
  url.search = new URLSearchParams({
    ...(session ? { id_token_hint: session.idToken } : {}),
    post_logout_redirect_uri: `${config.issuer}/admin/`,
    state: "signed-out",
  }).toString();
  window.location.assign(url.href);
}
