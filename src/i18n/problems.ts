// Why a typed address or a chosen password is refused, in a page's language (issue 20). The rules
// stay in src/users/ (email.ts, passwords.ts), whose English sentences the Management API keeps;
// a page asks here, and the rule's English answer is matched to a catalogue entry, so a reason
// added there without a translation here still shows, in English, rather than nothing.

import type { MfaRefusal } from "../mfa/mfa.service.js";
import { NO_ACCESS_ROLE } from "../oauth/access-control.js";
import { emailProblem } from "../users/email.js";
import {
  COMMON_PASSWORD_MESSAGE,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  passwordProblem,
} from "../users/password-policy.js";
import { type NoValues, t, wait } from "./catalogue.js";
import { DEFAULT_LOCALE, type Locale } from "./locale.js";

const EMAIL_REASONS: Readonly<Record<string, NoValues>> = {
  "is not valid": "problem.email_not_valid",
  "contains full-width or other compatibility characters before the @; type it with ordinary characters":
    "problem.email_full_width",
  "has a domain that is not a valid internationalised domain name": "problem.email_bad_domain",
};

/** "Enter a valid email address: this one …" for a page, or undefined when the address is fine. */
export function pageEmailProblem(locale: Locale, typed: string): string | undefined {
  const reason = emailProblem(typed);
  if (reason === undefined) return undefined;
  const key = Object.hasOwn(EMAIL_REASONS, reason) ? EMAIL_REASONS[reason] : undefined;
  return t(locale, "form.invalid_email_because", { problem: key ? t(locale, key) : reason });
}

/** "Choose another password. …" for a page, or undefined when the password is acceptable. */
export function pagePasswordProblem(locale: Locale, password: string): string | undefined {
  const reason = passwordProblem(password);
  if (reason === undefined) return undefined;
  const problem =
    password.length < PASSWORD_MIN_LENGTH
      ? t(locale, "form.password_too_short", { min: PASSWORD_MIN_LENGTH })
      : password.length > PASSWORD_MAX_LENGTH
        ? t(locale, "form.password_too_long", { max: PASSWORD_MAX_LENGTH })
        : reason === COMMON_PASSWORD_MESSAGE
          ? t(locale, "form.password_too_common")
          : reason;
  return t(locale, "form.choose_another_password", { problem });
}

/** Why a second-step code was refused (MfaService's CodeCheck), in the sign-in's language. */
export function pageMfaRefusal(
  /** AuthorizationRequest.locale: absent on a sign-in begun before languages, so English. */
  locale: Locale | undefined = DEFAULT_LOCALE,
  refusal: { message: MfaRefusal; retryAfter?: number },
): string {
  return refusal.message === "mfa_check.too_many_codes"
    ? t(locale, refusal.message, { wait: wait(locale, refusal.retryAfter ?? 60) })
    : t(locale, refusal.message);
}

const SIGN_IN_REFUSALS: Readonly<Record<string, NoValues>> = {
  "This account is not a member of the organization you are signing in to.": "refusal.not_member",
  [NO_ACCESS_ROLE]: "refusal.no_access_role",
};

/** organizationRefusal's reason for a page, in its language (English when not catalogued). */
export function pageSignInRefusal(locale: Locale | undefined = DEFAULT_LOCALE, reason: string): string {
  return Object.hasOwn(SIGN_IN_REFUSALS, reason) ? t(locale, SIGN_IN_REFUSALS[reason]!) : reason;
}

const PASSKEY_REFUSALS: Readonly<Record<string, NoValues>> = {
  "That passkey could not be used. Try again, or choose another way to sign in.": "passkey_sign_in.refused",
  "This passkey prompt has expired. Try again.": "passkey_sign_in.prompt_expired",
  "The passkey could not be saved. Try again.": "passkey_sign_in.not_saved",
  "This passkey is already saved.": "passkey_sign_in.already_saved",
};

/** PasskeysService's refusal (its English message) for a page, in its language. */
export function pagePasskeyRefusal(locale: Locale | undefined = DEFAULT_LOCALE, message: string): string {
  return Object.hasOwn(PASSKEY_REFUSALS, message) ? t(locale, PASSKEY_REFUSALS[message]!) : message;
}
