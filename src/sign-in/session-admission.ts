// Whether an existing browser session may sign its person in to an application without another
// step: the authorization endpoint's silent sign-in (oauth.routes.ts) and an answer on /device
// (device-sign-in.ts) judge it by the same two rules, so they cannot drift apart.
import { sessionSatisfies } from "../mfa/mfa.service.js";
import type { Services } from "../services.js";
import { ExternalIdentitiesStore } from "../users/external-identities.store.js";
import type { BrowserSession } from "./sessions.js";
import { nextStep, type SignInPolicy } from "./steps.js";

/** What the session would sign in to: an application, perhaps in an organization. */
export interface AdmissionRequest {
  clientId: string;
  orgCode?: string;
  /** The application asked for a second factor (acr_values, step-up). */
  requireMfa?: boolean;
}

/**
 * Whether a browser session that signed in through a connection may sign in to this request's
 * application silently. The session proves only what that connection's provider vouched for, and
 * a connection is trusted per application: a provider enabled for one weak application (by whoever
 * may enable connections there) must not reach every other application through the shared
 * session. So such a session counts only where its connection is enabled (the same rule as the
 * sign-in page's buttons, ConnectionsService.enabledFor), never for an administrator (who signs in
 * with a password, connection-sign-in.routes.ts), and not once its identity has been unlinked.
 * Otherwise the person signs in again (the sign-in page; login_required for prompt=none, OIDC
 * Core §3.1.2.6). Sessions made by a password or a code are not limited this way.
 */
export async function connectionAdmits(
  services: Services,
  session: BrowserSession,
  request: Pick<AdmissionRequest, "clientId" | "orgCode">,
): Promise<boolean> {
  const made = await connectionOfSession(services, session);
  if (made === "password") return true;
  if (made === "void") return false;
  const enabled = await services.connections.enabledFor(request.clientId, request.orgCode ?? null);
  return enabled.some((c) => c.id === made.connectionId);
}

/**
 * How a session was made, as far as connections go: by Latchkey's own methods ("password": a
 * password, a code, a passkey), through a connection whose identity is still linked, or "void" —
 * its identity was unlinked since, or the account is an administrator's (who never signs in
 * through a provider). The part of connectionAdmits that needs no application.
 */
export async function connectionOfSession(
  services: Services,
  session: BrowserSession,
): Promise<"password" | "void" | { connectionId: string }> {
  const connectionId = await new ExternalIdentitiesStore(services.db).connectionOfSession(session.id);
  if (connectionId === undefined) return "password";
  if (connectionId === null) return "void";
  const user = await services.users.store.findById(session.userId);
  if (!user || user.is_admin === 1) return "void";
  return { connectionId };
}

/**
 * Whether the account behind a browser session may sign in without another step now — the second
 * factor included, judged by what the session's own sign-in proved (its amr) against the policy of
 * today and of the organization asked for: a session from before MFA was required, or one made by
 * a password-only form, goes through the sign-in pages again.
 */
export async function policySatisfied(
  services: Services,
  session: BrowserSession,
  request: Pick<AdmissionRequest, "orgCode" | "requireMfa">,
  policy: SignInPolicy,
): Promise<boolean> {
  const user = await services.users.store.findById(session.userId);
  if (!user) return false;
  const mfa = await services.mfa.requirement(user, session.amr, request.orgCode, request.requireMfa);
  if (nextStep(user, policy).kind !== "done" || !sessionSatisfies(mfa)) return false;
  // "mandatory" passkeys: an account still without one goes through the pages to create it.
  return (await services.passkeys.requirement(user.id, request.orgCode)) === undefined;
}
