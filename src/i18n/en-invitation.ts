// The invitation link's pages' English text (/team_invitation: invitation-page.routes.ts), part of en.ts.

export const enInvitation = {
  "invitation.not_found_title": "Invitation not found",
  "invitation.not_found_message": "This invitation link is not valid. Check the link in the e-mail.",
  "invitation.unavailable_title": "Invitation not available",
  "invitation.accepted_already":
    "This invitation has been used already. Sign in to the organization's application instead.",
  "invitation.revoked": "This invitation was withdrawn. Ask the person who invited you for a new one.",
  "invitation.expired": "This invitation has expired. Ask the person who invited you for a new one.",
  "invitation.off_title": "Invitations unavailable",
  "invitation.off_message": "Accepting invitations needs ISSUER_URL on https (or http on localhost).",
  "invitation.failed_title": "The invitation was not accepted",
  "invitation.not_this_browser":
    "This page was not opened from an invitation link in this browser, or took too long.",
  "invitation.other_server": "This answer came back from another server.",
  "invitation.did_not_finish": "The sign-in did not finish.",
  "invitation.not_for_page": "This answer is not for this page. Open the invitation link again.",
  "invitation.not_for_browser": "This answer is not for this browser.",
  "invitation.accepted_title": "Invitation accepted",
  "invitation.sign_in_lead": "to accept the invitation to join {organization}",
  "invitation.other_address":
    "This invitation is for {email}. Sign in or create an account with that address.",
  "invitation.joined": "You have joined {name}",
  "invitation.joined_lead":
    "The invitation is accepted. Sign in to {name}'s application to get started; you can close this page.",
} as const;
