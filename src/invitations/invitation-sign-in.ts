// Accepting an invitation through the authorization endpoint (Kinde's invitation_code, sent by
// js-utils with is_invitation=true). The endpoint checks only the code's shape (oauth/authorize.ts);
// here, before the request is stored:
// - the invitation is looked up by the code's hash; one not open (used, revoked, expired) or whose
//   organization is suspended is refused to the client as access_denied (RFC 6749 §4.1.2.1: the
//   client and redirect URI are good, so the error goes back to it);
// - the request then carries the invitation's id, organization and address instead of the code
//   (the code is a bearer secret and is not written to the pending request), and goes to the
//   sign-up page when no account has the address, else to the sign-in page, the address filled in
//   and fixed.
// The sign-in pages then let only that address through (`invitationRefusal`, on every way of
// proving who one is, since they all pass `proceed`), skip the organization's "no sign-ups" rule
// for it (the organization asked for this person), and accept the invitation just before the code
// is minted (`acceptInvitationFor`): consumed once, with the membership and roles, in one
// transaction. Telling the holder of a code whether its address has an account tells them nothing
// the invitation's own e-mail did not.
import { t } from "../i18n/catalogue.js";
import { DEFAULT_LOCALE } from "../i18n/locale.js";
import { type AuthorizationRequest, errorRedirect } from "../oauth/authorize.js";
import { OAuthError } from "../oauth/errors.js";
import type { Services } from "../services.js";
import { canonicalEmail } from "../users/email.js";
import { type AcceptOutcome, InvitationsService, invitationState } from "./invitations.service.js";

const REFUSALS: Record<Exclude<AcceptOutcome, { ok: true }>["reason"], string> = {
  unknown: "The invitation is not valid",
  other_address: "The invitation is for another email address",
  suspended: "The organization is suspended",
  accepted: "The invitation has been used already",
  revoked: "The invitation was withdrawn",
  expired: "The invitation has expired",
};

function service(services: Services): InvitationsService {
  return new InvitationsService(services.db, services.clock, services.mail, services.oauth.issuer);
}

/**
 * The request with its invitation resolved (see the file's comment), or the client's error
 * redirect. Requests without invitation_code come back as they are.
 */
export async function resolveInvitation(
  services: Services,
  request: AuthorizationRequest,
): Promise<{ request: AuthorizationRequest } | { location: string }> {
  const { invitationCode, ...rest } = request;
  if (invitationCode === undefined) return { request };
  const refuse = (error: OAuthError) => ({
    location: errorRedirect(services.oauth.issuer, request.redirectUri, error, request.state),
  });
  const invitation = await service(services).findByCode(invitationCode);
  if (!invitation) return refuse(new OAuthError("access_denied", REFUSALS.unknown));
  const state = invitationState(invitation, services.clock.now());
  if (state !== "open") return refuse(new OAuthError("access_denied", REFUSALS[state]));
  const org = await services.organizations.store.find(invitation.org_code);
  if (!org) return refuse(new OAuthError("access_denied", REFUSALS.unknown));
  if (org.is_suspended === 1) return refuse(new OAuthError("access_denied", REFUSALS.suspended));
  // org_code, when sent too, must name the invitation's organization.
  if (request.orgCode !== undefined && request.orgCode !== org.code)
    return refuse(new OAuthError("invalid_request", "org_code is not the invitation's organization"));
  const hasAccount = (await services.users.store.findByEmail(invitation.email)) !== undefined;
  return {
    request: {
      ...rest,
      orgCode: org.code,
      loginHint: invitation.email,
      prompt: [
        ...request.prompt.filter((p) => p !== "login" && p !== "create"),
        hasAccount ? "login" : "create",
      ],
      invitation: {
        id: invitation.id,
        email: invitation.email,
        orgCode: org.code,
        organizationName: org.name,
      },
    },
  };
}

/** What the sign-in and sign-up pages show for an invitation: the address, fixed, and why. */
export function invitationPageContext(
  request: AuthorizationRequest,
): { email: string; emailLocked: true; lead: string } | undefined {
  const { invitation } = request;
  if (!invitation) return undefined;
  return {
    email: invitation.email,
    emailLocked: true,
    lead: t(request.locale ?? DEFAULT_LOCALE, "invitation.sign_in_lead", {
      organization: invitation.organizationName,
    }),
  };
}

/** Why `email` may not sign in or up for this request's invitation (a page can show it), or undefined. */
export function invitationRefusal(request: AuthorizationRequest, email: string | null): string | undefined {
  const { invitation } = request;
  if (!invitation) return undefined;
  if (email !== null && canonicalEmail(email) === invitation.email) return undefined;
  return t(request.locale ?? DEFAULT_LOCALE, "invitation.other_address", { email: invitation.email });
}

/**
 * Accepts the request's invitation for the user who signed in, just before the code is minted: the
 * request as it goes on, or the client's error redirect when the invitation cannot be taken now
 * (used or withdrawn meanwhile, expired, another address).
 */
export async function acceptInvitationFor(
  services: Services,
  request: AuthorizationRequest,
  userId: string,
): Promise<{ ok: true } | { location: string }> {
  const { invitation } = request;
  if (!invitation) return { ok: true };
  const user = await services.users.store.findById(userId);
  const outcome = user
    ? await service(services).accept(invitation.id, user)
    : ({ ok: false, reason: "unknown" } as const);
  if (outcome.ok) return { ok: true };
  const error = new OAuthError("access_denied", REFUSALS[outcome.reason]);
  return { location: errorRedirect(services.oauth.issuer, request.redirectUri, error, request.state) };
}
