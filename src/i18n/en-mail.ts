// The e-mails' English text (src/mail/templates.ts), part of en.ts. Subjects never carry a code or
// a link (templates.ts says why).

export const enMail = {
  "time.days.one": "{count} day",
  "time.days.other": "{count} days",
  "mail.ignore": "If you did not {what}, you can ignore this message: nothing changes without the code.",
  "mail.code_expires": "The code expires in {duration}.",
  "mail.verify_subject": "Verify your e-mail address for {business}",
  "mail.verify_lead": "Enter this code to confirm that this address is yours:",
  "mail.verify_ignore": "sign up for {business}",
  "mail.sign_in_subject": "Your sign-in code for {business}",
  "mail.sign_in_heading": "Sign in to {business}",
  "mail.sign_in_lead": "Enter this code to sign in:",
  "mail.sign_in_ignore": "try to sign in to {business}",
  "mail.reset_subject": "Reset your {business} password",
  "mail.reset_lead": "Enter this code to choose a new password:",
  "mail.reset_ignore": "ask to reset your password",
  "mail.changed_subject": "Your {business} password was changed",
  "mail.changed_lead":
    "The password of the {business} account {to} has just been changed, and every other session of that account was signed out.",
  "mail.changed_not_you":
    'If you did not change it, someone else may have: reset your password from the {business} sign-in page ("Forgot password?") and tell {business}\'s administrators.',
  "mail.was_you": "If it was you, there is nothing more to do.",
  "mail.mfa_subject": "Your {business} verification code",
  "mail.mfa_heading": "Confirm it is you signing in to {business}",
  "mail.mfa_lead": "Your password was accepted. Enter this code to finish signing in:",
  "mail.mfa_not_you":
    "If you are not signing in to {business} right now, someone else knows your password: change it.",
  "mail.notice_subject": "Security notice for your {business} account",
  "mail.notice_recovery": "A recovery code was used to sign in to the {business} account {to}.",
  "mail.notice_remaining.one": "{count} unused recovery code remains.",
  "mail.notice_remaining.other": "{count} unused recovery codes remain.",
  "mail.notice_added": "A new second factor ({factor}) was added to the {business} account {to}.",
  "mail.notice_an_app": "an authenticator app",
  "mail.notice_sms": "text messages to {phone}",
  "mail.notice_reset":
    "The second factors of the {business} account {to} were removed, and its other sessions were signed out.",
  "mail.notice_not_you":
    "If this was not you, reset your password from the {business} sign-in page and tell {business}'s administrators.",
  "mail.invite_subject": "You are invited to join {where} on {business}",
  "mail.invite_heading": "Join {where}",
  "mail.invite_by": "{inviter} invited you to join {where} on {business}.",
  "mail.invite_anonymous": "You are invited to join {where} on {business}.",
  "mail.invite_expires": "The invitation expires in {duration}.",
  "mail.invite_accept": "Accept the invitation",
  "mail.invite_ignore": "If you were not expecting this invitation, you can ignore it.",
  "mail.test_subject": "Test message from {business}",
  "mail.test_lead":
    "{business}'s sign-in service sent this message to check its e-mail settings (`latchkey mail test`). If it reached your mailbox, they work.",
  "mail.test_footer": "No action is needed.",
} as const;
