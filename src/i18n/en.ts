// The hosted pages' English text: the source every other language translates (catalogue.ts).
// `{name}` marks a value the page fills in; a key ending in `.one` / `.other` is a plural pair
// (Intl.PluralRules). Keep a sentence whole in one entry, so a translation can reorder it.
// A group of pages with many strings keeps them in its own en-<topic>.ts, spread in here.
import { enAccount } from "./en-account.js";
import { enConnections } from "./en-connections.js";
import { enDevice } from "./en-device.js";
import { enFirstParty } from "./en-first-party.js";
import { enInvitation } from "./en-invitation.js";
import { enMail } from "./en-mail.js";
import { enMfaChecks } from "./en-mfa-checks.js";
import { enOrganization } from "./en-organization.js";
import { enPasskeySignIn } from "./en-passkey-sign-in.js";
import { enRefusals } from "./en-refusals.js";

export const en = {
  ...enOrganization,
  ...enMfaChecks,
  ...enRefusals,
  ...enAccount,
  ...enDevice,
  ...enInvitation,
  ...enMail,
  ...enConnections,
  ...enFirstParty,
  ...enPasskeySignIn,
  // Shared pieces of the forms.
  "form.cross_site_title": "This form came from another site",
  "form.cross_site_message":
    "For your safety, this form is accepted only from this site's own pages. Go back to the application and try again.",
  "form.email": "Email",
  "form.password": "Password",
  "form.new_password": "New password",
  "form.password_hint": "At least 8 characters.",
  "form.code": "Code",
  "form.continue": "Continue",
  "form.or": "or",
  "form.back_to_sign_in": "Back to sign in",
  // The footer of every hosted page (src/http/html.ts): the business's policy links.
  "footer.privacy": "Privacy policy",
  "footer.terms": "Terms of service",
  "form.session_expired": "Your session on this page expired. Please try again.",
  "form.invalid_email": "Enter a valid email address.",
  "form.invalid_email_because": "Enter a valid email address: this one {problem}.",
  // The reasons of src/users/email.ts's emailProblem, as pages show them (problems.ts).
  "problem.email_not_valid": "is not valid",
  "problem.email_full_width":
    "contains full-width or other compatibility characters before the @; type it with ordinary characters",
  "problem.email_bad_domain": "has a domain that is not a valid internationalised domain name",
  "form.choose_another_password": "Choose another password. {problem}",
  "form.password_too_short": "Use at least {min} characters.",
  "form.password_too_long": "Use at most {max} characters.",
  "form.password_too_common": "This password is too common (it appears in lists of breached passwords).",
  "form.too_many_from_network": "Too many attempts from your network. Try again later.",

  "time.hours.one": "{count} hour",
  "time.hours.other": "{count} hours",
  "time.minutes.one": "{count} minute",
  "time.minutes.other": "{count} minutes",

  // Sign-in.
  "sign_in.title": "Sign in",
  "sign_in.lead": "to continue to {app}",
  "sign_in.submit": "Sign in",
  "sign_in.no_account": "No account?",
  "sign_in.create_one": "Create one",
  "sign_in.forgot_password": "Forgot your password?",
  "sign_in.email_me_code": "Email me a sign-in code",
  "sign_in.no_password_yet":
    "No password yet, because someone made your account for you? Choose one with “Forgot your password?”.",
  "sign_in.code_first": "Sign in to {app} with a code sent to your email first, then open this link again.",
  "sign_in.code_hint": "We will email you a 6-digit code to sign in with, no password needed.",
  "sign_in.continue_with": "Continue with {provider}",
  "sign_in.the_application": "the application",
  "sign_in.enter_email_and_password": "Enter your email and password.",
  "sign_in.incorrect": "Incorrect email or password.",
  "sign_in.no_password_hint": "If you have no password yet, choose one with “Forgot your password?”.",
  "sign_in.too_many_network_today": "Too many failed sign-ins from your network today. Try again in {wait}.",
  "sign_in.too_many_attempts": "Too many sign-in attempts. Try again in {wait}.",
  "sign_in.password_off":
    "Signing in with a password is turned off here. We can email you a 6-digit code to sign in with instead.",
  "sign_in.email_code_off": "Signing in with a code by email is turned off here. Sign in with your password.",
  "sign_in.reset_off":
    "Passwords are not used to sign in here, so there is none to reset. We can email you a 6-digit code to sign in with instead.",
  "sign_in.expired_title": "This sign-in page has expired",
  "sign_in.expired_message": "Go back to the application and start signing in again.",
  "sign_in.invalid_link_title": "This sign-in link is not valid",
  "connect_link.lead": "to connect {app}",
  "connect_link.sign_in_again": "Sign in again to connect {app}.",
  "connect_link.other_account": "This link was created for another account. Sign in with that account.",
  "connect_link.password_off": "Signing in with a password is turned off here.",
  "connect_link.needs_attention":
    "Your account needs attention first: sign in to the application, then use this link again.",
  "connect_link.failed_title": "This connection could not be completed",

  // Sign-up.
  "sign_up.title": "Create your account",
  "sign_up.given_name": "First name",
  "sign_up.family_name": "Last name",
  "sign_up.passwordless_hint": "We will email you a 6-digit code to confirm the address, no password needed.",
  "sign_up.submit": "Create account",
  "sign_up.have_account": "Already have an account?",
  "sign_up.sign_in": "Sign in",
  "sign_up.passwords_off":
    "Passwords are turned off here. Create your account without one: we will email you a code instead.",
  "sign_up.org_closed": "This organization does not accept new accounts. Ask its administrator to add you.",
  "sign_up.org_suspended": "This organization is suspended and does not accept new accounts.",
  "sign_up.not_created":
    "We could not create an account with these details. If you already have an account, sign in.",

  // E-mailed codes: verification, passwordless sign-in, password reset.
  "email_code.title": "Check your email",
  "email_code.sent_to": "We sent a 6-digit code to {email}. Enter it to continue to {app}.",
  "email_code.sent_if_account":
    "If an account uses {email}, we sent it a 6-digit code. Enter it to continue.",
  "email_code.valid_for": "The code is valid for {duration}. Check your spam folder if it has not arrived.",
  "email_code.resend": "Send a new code",
  "email_code.resent": "We sent you a new code.",
  "email_code.sign_in_title": "Sign in with a code",
  "email_code.sign_in_lead": "We will email you a 6-digit code to sign in with, no password needed.",
  "email_code.reset_title": "Reset your password",
  "email_code.reset_lead": "We will email you a 6-digit code to choose a new password with.",
  "email_code.email_me": "Email me a code",
  "email_code.too_many_wrong": "Too many wrong codes were entered for this address today.",
  "email_code.too_many_network": "Too many codes were asked for from your network.",
  "email_code.cool_down": "We sent a code a moment ago.",
  "email_code.hourly_limit": "We have sent several codes to this address in the last hour.",
  "email_code.wrong.one": "That code is not right. You can try {count} more time.",
  "email_code.wrong.other": "That code is not right. You can try {count} more times.",
  "email_code.used": "This code can no longer be used. Ask for a new code below.",
  "email_code.ask_again": "{why} You can ask for another code in {wait}.",
  "time.seconds.one": "{count} second",
  "time.seconds.other": "{count} seconds",

  "choose_password.title": "Choose a new password",
  "choose_password.lead": "Your account needs a new password before you continue to {app}.",

  // Connected apps offered after sign-in.
  "connect.title": "Connect your accounts",
  "connect.lead": "{app} can work with these services. You can connect them now or later.",
  "connect.connect": "Connect {name}",
  "connect.skip": "Skip for now",

  // Logout.
  "logout.confirm_title": "Sign out?",
  "logout.confirm_lead": "You are about to sign out of {business} on this browser.",
  "logout.sign_out": "Sign out",
  "logout.stay": "Stay signed in",
  "logout.done_title": "Signed out",
  "logout.done_heading": "You are signed out",
  "logout.done_message": "You can close this window.",
  "logout.bad_redirect_title": "Cannot return to that address",
  "logout.bad_redirect_message": "The logout redirect URL is not registered for any application.",
  "logout.expired_title": "This page has expired",
  "logout.expired_message": "You are still signed in. Go back to the application and sign out again.",

  // Two-step verification.
  "mfa.title": "Two-step verification",
  "mfa.lead": "Confirm it is you to continue to {app}.",
  "mfa.app_code": "Code from your authenticator app",
  "mfa.app_code_hint": "The 6-digit code your app shows for this account now.",
  "mfa.sms_code": "Code from the text message",
  "mfa.sms_code_hint": "We sent a 6-digit code to your phone {phone}.",
  "mfa.email_code": "Code from your email",
  "mfa.email_code_hint": "We sent a 6-digit code to {email}.",
  "mfa.your_email_address": "your email address",
  "mfa.your_phone": "your phone",
  "mfa.recovery_code": "Recovery code",
  "mfa.recovery_code_hint":
    "One of the codes you saved when you set up two-step verification. Each works once.",
  "mfa.use_passkey": "Use your passkey",
  "mfa.use_app": "Use your authenticator app",
  "mfa.text_me": "Text me a code instead",
  "mfa.email_me": "Email me a code instead",
  "mfa.use_recovery": "Use a recovery code",
  "mfa.choose_a_way": "Choose one of the ways below.",
  "mfa.email_other_address": "This code was sent to another address. Ask for a new one.",
  "mfa.sms_other_number": "This code was sent to another number. Ask for a new one.",
  "mfa.enroll_title": "Set up two-step verification",
  "mfa.enroll_optional":
    "Protect your account with a code from an authenticator app each time you sign in to {app}.",
  "mfa.enroll_required":
    "{app} asks for a second step when you sign in. Set up an authenticator app to continue.",
  "mfa.enroll_step_open":
    "Open an authenticator app (for example Google Authenticator, Microsoft Authenticator, 1Password or Authy) and add an account.",
  "mfa.enroll_step_scan": "Scan this QR code, or enter the key below.",
  "mfa.qr_label": "QR code for your authenticator app",
  "mfa.key": "Key:",
  "mfa.enroll_code": "Code from the app",
  "mfa.enroll_code_hint": "Enter the 6-digit code the app shows to finish.",
  "mfa.turn_on": "Turn on two-step verification",
  "mfa.no_app": "No authenticator app?",
  "mfa.mobile_number": "Mobile number",
  "mfa.mobile_hint": "With the country code, e.g. +44 7700 900123. We text a code to it at each sign-in.",
  "mfa.not_now": "Not now",
  "mfa.invalid_number": "Enter a mobile number with its country code, e.g. +44 7700 900123.",
  "mfa.recovery_title": "Save your recovery codes",
  "mfa.recovery_lead":
    "Two-step verification is on. If you lose your phone, each of these codes lets you sign in once. Keep them somewhere safe: they are shown only now.",
  "mfa.recovery_saved": "I have saved them — continue",
  "mfa.sms_confirm_title": "Confirm your mobile number",
  "mfa.sms_confirm_lead": "We sent a 6-digit code to {phone}. Enter it to turn on two-step verification.",
  "mfa.sms_valid": "The code is valid for 10 minutes.",

  // Passkeys.
  "passkey.use": "Use a passkey",
  "passkey.second_factor_hint": "Use the passkey saved on this device, a phone or a security key.",
  "passkey.name": "Name for this passkey",
  "passkey.name_placeholder": "For example: Work laptop",
  "passkey.name_hint": "Helps you tell your passkeys apart later.",
  "passkey.enroll_title": "Create a passkey",
  "passkey.enroll_lead":
    "{app} asks you to sign in with a passkey from now on. Create one on this device: your fingerprint, face or screen lock will unlock it.",
  "passkey.create": "Create a passkey",
  "account_passkeys.title": "Passkeys",
  "account_passkeys.lead":
    "Sign in with your fingerprint, face or screen lock instead of a password. Removing a passkey signs you out on every other device.",
  "account_passkeys.none": "You have no passkeys yet.",
  "account_passkeys.synced": "Synced passkey",
  "account_passkeys.device_bound": "Device-bound passkey",
  "account_passkeys.details": "{kind} · Created {created} · Last used {used}",
  "account_passkeys.never": "Never",
  "account_passkeys.new_name": "New name",
  "account_passkeys.rename": "Rename",
  "account_passkeys.remove": "Remove “{name}”",
  "account_passkeys.add": "Add a passkey",
  "account_passkeys.off": "Passkeys are turned off here.",
  "account_passkeys.back": "Back to your account",
  "account_passkeys.added": "Your passkey is saved.",
  "account_passkeys.renamed": "The passkey is renamed.",
  "account_passkeys.removed": "The passkey is removed, and you are signed out everywhere else.",
  "account_passkeys.name_needed": "Give the passkey a name.",
  "account_passkeys.gone": "That passkey is gone already.",

  // The dashboard's own sign-in (dashboard-sign-in.ts).
  "dashboard.no_sign_up_title": "The dashboard takes no sign-ups",
  "dashboard.who_makes_admins":
    "Whoever runs this Latchkey server can make you an administrator: “latchkey admins create”, or “latchkey admins grant --email <address>” for an account you already have.",
  "dashboard.only_admins":
    "Only administrators sign in to the dashboard, with an account they have already. {who}",
  "dashboard.no_account":
    "There is no account for you here, and signing in to the dashboard creates none. {who}",
} as const;

export type MessageKey = keyof typeof en;
/** Every other language: the same keys, each a string (a missing or extra key fails typecheck). */
export type Messages = { readonly [K in MessageKey]: string };
