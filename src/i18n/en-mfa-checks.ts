// Why a second-step code was refused (MfaService's CodeCheck), part of en.ts: the service names
// the reason by its key and the page says it in the sign-in's language (pageMfaRefusal).

export const enMfaChecks = {
  "mfa_check.setup_expired": "This set-up has expired. Start again.",
  "mfa_check.app_code_wrong":
    "That code is not right. Check that the app's clock is correct and enter the current code.",
  "mfa_check.no_app": "This account has no authenticator app.",
  "mfa_check.app_code_wrong_or_used": "That code is not right, or was used already. Wait for the next one.",
  "mfa_check.sms_too_many": "Too many text messages were sent. Try again later or use another way.",
  "mfa_check.sms_not_sent": "The text message could not be sent. Try again, or use another way.",
  "mfa_check.sms_expired": "This code has expired. Ask for a new one.",
  "mfa_check.sms_wrong": "That code is not right.",
  "mfa_check.recovery_wrong": "That recovery code is not right, or was used already.",
  "mfa_check.too_many_codes": "Too many wrong codes. Try again in {wait}.",
} as const;
