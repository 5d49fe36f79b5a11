// Request and response schemas of Kinde's UpdateOrganizationSessions and DeleteOrganizationHandle,
// and Latchkey's read-back of the session settings (Kinde has no GET for them).
import { type Static, Type } from "@sinclair/typebox";
import { nullable, SuccessResponse } from "../management/schemas.js";
import { SESSION_LIFETIME_SECONDS } from "../sign-in/sessions.js";

export const PersistenceMode = Type.Union([Type.Literal("persistent"), Type.Literal("non_persistent")]);

/**
 * A session lifetime in seconds: at least a minute, at most the environment's absolute session
 * lifetime (14 days) — a longer one could never take effect, so it is refused, not accepted and
 * ignored (issue 19).
 */
export const SessionLifetime = Type.Integer({ minimum: 60, maximum: SESSION_LIFETIME_SECONDS });

export const UpdateOrganizationSessionsBody = Type.Object({
  is_use_org_sso_session_policy: Type.Optional(Type.Boolean()),
  sso_session_persistence_mode: Type.Optional(PersistenceMode),
  is_use_org_authenticated_session_lifetime: Type.Optional(Type.Boolean()),
  authenticated_session_lifetime: Type.Optional(SessionLifetime),
});

export const OrganizationSessionsResponse = Type.Object({
  ...SuccessResponse.properties,
  is_use_org_sso_session_policy: Type.Boolean(),
  sso_session_persistence_mode: nullable(PersistenceMode),
  is_use_org_authenticated_session_lifetime: Type.Boolean(),
  authenticated_session_lifetime: nullable(Type.Integer()),
});

export type UpdateOrganizationSessionsBody = Static<typeof UpdateOrganizationSessionsBody>;
