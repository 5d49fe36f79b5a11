// The passkey steps of a sign-in (passkey-sign-in.routes.ts) and what the passkey script shows
// (its messages are drawn into the page, passkey-pages.ts, so they come in the page's language),
// part of en.ts.

export const enPasskeySignIn = {
  "passkey_sign_in.off": "Signing in with a passkey is turned off here. Sign in another way.",
  "passkey_sign_in.page_expired": "This sign-in page has expired. Reload it and try again.",
  "passkey_sign_in.page_expired_go_back": "This sign-in page has expired. Go back to the application.",
  "passkey_sign_in.refused": "That passkey could not be used. Try again, or choose another way to sign in.",
  "passkey_sign_in.prompt_expired": "This passkey prompt has expired. Try again.",
  "passkey_sign_in.not_asked": "A passkey is not asked for now. Reload the page.",
  "passkey_sign_in.too_many": "This account has as many passkeys as it can hold.",
  "passkey_sign_in.not_saved": "The passkey could not be saved. Try again.",
  "passkey_sign_in.already_saved": "This passkey is already saved.",
  "passkey_script.closed": "The passkey prompt was closed or timed out. Try again.",
  "passkey_script.exists": "This device already has a passkey for your account.",
  "passkey_script.unsupported": "This browser cannot use passkeys.",
  "passkey_script.failed": "Something went wrong. Try again.",
  "passkey_script.expired": "This page has expired. Reload it and try again.",
} as const;
