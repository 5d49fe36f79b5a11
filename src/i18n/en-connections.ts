// Signing in through a connection (issue 17's pages: connection-sign-in.routes.ts, connection-sso.ts,
// connection-email-proof.ts, connection-accounts.ts, upstream-providers.ts), part of en.ts. A
// refusal is a page with a title and a reason; `{provider}` is the connection's display name.

export const enConnections = {
  "connection.sso_button": "single sign-on (SSO)",
  "connection.sso_title": "Sign in with single sign-on",
  "connection.sso_lead":
    "Enter your work email address: we will send you to your organization's sign-in page, then on to {app}.",
  "connection.sso_not_set_up":
    "Single sign-on is not set up for this address here. Go back and sign in another way.",
  "connection.not_supported":
    "Signing in with {provider} is not supported yet. Choose another way to sign in.",
  "connection.not_available":
    "That sign-in option is not available for this application. Choose another way to sign in.",

  // The e-mail code that proves an address before a provider account is linked.
  "connection.proof_lead_typed":
    "To finish signing in, we sent a 6-digit code to {email}. Enter it to continue to {app}.",
  "connection.proof_lead_existing":
    "An account already uses {email}. To sign in to it this way, we sent a 6-digit code to that address: enter it to continue to {app}.",
  "connection.ask_title": "What is your email address?",
  "connection.ask_lead":
    "Your sign-in provider did not tell us your email address. We will email you a 6-digit code to confirm it before you continue to {app}.",

  // Refusals: a title, then the reason.
  "connection.expired_title": "This sign-in has expired",
  "connection.expired_or_used_title": "This sign-in has expired or was already used",
  "connection.sign_in_again": "Go back to the application and sign in again.",
  "connection.other_browser_title": "This sign-in was started in another browser",
  "connection.other_browser": "Start signing in again from this browser.",
  "connection.option_gone_title": "This sign-in option is no longer available",
  "connection.choose_another": "Choose another way to sign in.",
  "connection.cannot_sign_in_here_title": "You cannot sign in here",
  "connection.try_again_title": "Please try again",
  "connection.try_again": "Signing in did not complete. Try again.",
  "connection.have_account_title": "You already have an account",
  "connection.have_account":
    "An account with this email address already exists. Sign in the way you usually do.",
  "connection.have_account_not_linked":
    "An account with this email address already exists. Sign in the way you usually do; {provider} is not linked to it.",
  "connection.linked_elsewhere_title": "This account is linked elsewhere",
  "connection.linked_elsewhere":
    "This sign-in provider account is already linked to another account. Sign in the way you usually do.",
  "connection.account_cannot_sign_in_title": "This account cannot sign in",
  "connection.contact_admin": "Contact the administrator of this application.",
  "connection.administrator_title": "Sign in with your password",
  "connection.administrator":
    "This address belongs to an administrator account. Administrators cannot sign in through a sign-in provider: sign in with your password.",
  "connection.account_first_title": "You need an account first",
  "connection.account_first":
    "Signing in with {provider} is only for people who already have an account here. Ask the administrator of this application to create yours, then sign in again.",
  "connection.no_registrations_title": "You cannot create an account here",
  "connection.no_registrations":
    "This organization does not accept new accounts. Ask its administrator to add you.",

  // The provider's side (upstream-providers.ts).
  "connection.cancelled_title": "Sign-in was cancelled",
  "connection.cancelled":
    "{provider} did not sign you in. You can try again or choose another way to sign in.",
  "connection.failed_title": "{provider} could not sign you in",
  "connection.provider_error":
    "{provider} answered with an error. Try again, or choose another way to sign in.",
  "connection.unverified":
    "The answer from the sign-in provider could not be verified. Try again, or choose another way to sign in.",
  "connection.unreachable_title": "{provider} is not answering",
  "connection.unreachable":
    "We could not reach {provider} to sign you in. Try again in a moment, or choose another way to sign in.",
} as const;
