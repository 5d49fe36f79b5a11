// A sign-in is a sequence of steps (DESIGN.md): identify the person, prove it (password, e-mail
// code …), then whatever the policy still demands, and only then mint the code. What the policy
// demands is decided here, in one place, from the account and the settings — never from which page
// the browser came from — and the pages call it again after every step until it says "done".
import type { MfaRequirement } from "../mfa/mfa.service.js";
import type { PasskeyRequirement } from "../passkeys/passkeys.service.js";
import type { User } from "../users/users.store.js";

export type EmailVerificationPolicy = "required" | "optional";

export type NextStep =
  /** The account's address has not been proved: a code goes to it and must come back. */
  | { kind: "verify_email"; email: string }
  /** An administrator asked for a new password, or set a temporary one: the person chooses one. */
  | { kind: "choose_password" }
  /** A second factor (src/mfa/): prove the one the account has, or set one up. */
  | MfaRequirement
  /** The passkey policy is "mandatory" and the account has none: create one (src/passkeys/). */
  | PasskeyRequirement
  | { kind: "done" };

export interface SignInPolicy {
  emailVerification: EmailVerificationPolicy;
  /**
   * Whether passwords sign in here (the business's sign-in methods; on unless said). Off, a new
   * password the account was asked to choose is not asked for — it could not be used — and is
   * asked for again at the first sign-in after passwords are back on.
   */
  passwordSignIn?: boolean;
}

/**
 * `mfa` is what MfaService.requirement says the second-factor policy still asks (computed from the
 * same account and the sign-in's amr), or once that is met what PasskeysService.requirement asks.
 * Proving a factor the account has comes before choosing a new password; setting one up comes
 * last, so the address is proved and the password chosen before a factor is enrolled against them.
 */
export function nextStep(
  user: Pick<User, "email" | "email_verified" | "password_change_required">,
  policy: SignInPolicy,
  mfa?: MfaRequirement | PasskeyRequirement,
): NextStep {
  if (policy.emailVerification === "required" && user.email && user.email_verified !== 1)
    return { kind: "verify_email", email: user.email };
  // A factor the account already has is proved before a new password is chosen: an administrator
  // asks for a new password when the old one may have leaked, and whoever holds it must not be able
  // to set the next one (and sign the owner out) without the second factor.
  if (mfa?.kind === "mfa_challenge") return mfa;
  if (user.password_change_required === 1 && policy.passwordSignIn !== false)
    return { kind: "choose_password" };
  return mfa ?? { kind: "done" };
}
