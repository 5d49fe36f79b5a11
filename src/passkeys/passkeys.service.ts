// Passkeys (WebAuthn Level 3, issue 22): registering one, signing in with one alone (a discoverable
// credential that verified its user: two factors in one), using one as the second factor, and the
// person's own list. The relying party is the issuer: RP ID = its host, expected origin = its
// origin. Every ceremony signs a challenge this server issued for it, bound to the sign-in (and
// browser) or the session that asked, kept hashed, short-lived and accepted once. Errors are values.

import { isIP } from "node:net";
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from "@simplewebauthn/server";
import type { Clock } from "../clock.js";
import { type EventSource, recordEvent } from "../events/events.js";
import type { MfaService } from "../mfa/mfa.service.js";
import { effectiveMfaSettings, type OrganizationMfaSettings, type PasskeyPolicy } from "../mfa/policy.js";
import { type Db, inTransaction } from "../storage/database.js";
import { type ChallengeBinding, type Passkey, PasskeysStore } from "./passkeys.store.js";
import {
  parseAuthenticationResponse,
  parseRegistrationResponse,
  signCountOf,
  signedChallenge,
} from "./webauthn-responses.js";

/** Long enough to find the authenticator and touch it; the browser's own timeout is the same. */
export const CHALLENGE_LIFETIME_SECONDS = 5 * 60;
export const MAX_PASSKEYS_PER_USER = 20;
const NAME_MAX_LENGTH = 100;

/** What the passkey policy still asks of a sign-in: "mandatory" and the account has none. */
export interface PasskeyRequirement {
  kind: "passkey_enroll";
}

/** RFC 8176: `hwk` a key bound to one device, `swk` one the platform may copy (backup eligible). */
export type PasskeyAmr = "hwk" | "swk";

export type PasskeyFailure = {
  ok: false;
  status: 400 | 429;
  message: string;
  retryAfter?: number;
  /** Why, for the logs and the authentication log (never shown: the message is the same for most). */
  reason: "malformed" | "challenge" | "unknown_credential" | "wrong_user" | "verification" | "counter";
  /** The account whose passkey was presented and refused (its owner's failed sign-in). */
  userId?: string;
};

export type PasskeyVerified = { ok: true; passkey: Passkey; amr: PasskeyAmr; userVerified: boolean };

/** Where a warning about a possible clone is written (the request's logger). */
export interface PasskeyLog {
  warn(details: Record<string, unknown>, message: string): void;
}

const REFUSED = "That passkey could not be used. Try again, or choose another way to sign in.";
const EXPIRED = "This passkey prompt has expired. Try again.";

export class PasskeysService {
  readonly store: PasskeysStore;
  /** WebAuthn §5.1.2 (RP ID): the issuer's host, no port, no scheme. */
  readonly rpId: string;
  /** §7.1 step 9 / §7.2 step 13: clientDataJSON.origin must be exactly the issuer's origin. */
  readonly origin: string;
  /**
   * §5.1.2: an RP ID is a domain; browsers refuse an IP address. Under such an issuer no ceremony
   * can succeed, so passkeys count as off (no button that always fails).
   */
  readonly usable: boolean;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly deps: { issuer: string; mfa: MfaService },
  ) {
    this.store = new PasskeysStore(db, clock);
    const issuer = new URL(deps.issuer);
    this.rpId = issuer.hostname;
    this.origin = issuer.origin;
    this.usable = isIP(issuer.hostname.replace(/^\[|\]$/g, "")) === 0;
  }

  /** The passkey policy before anyone is identified: the environment's, or the organization's asked for. */
  async policyBeforeSignIn(orgCode?: string): Promise<PasskeyPolicy> {
    if (!this.usable) return "off";
    const mfaStore = this.deps.mfa.store;
    const org = orgCode ? await mfaStore.organizationSettings(orgCode) : undefined;
    const environment = await mfaStore.environmentSettings();
    return effectiveMfaSettings(environment, org ? [org] : []).passkeyPolicy;
  }

  /**
   * The passkey policy a sign-in of `userId` meets (its organizations included, as for MFA;
   * `organizations`: their settings when read already, MfaService.settingsFor).
   */
  async policyFor(
    userId: string,
    orgCode?: string,
    organizations?: readonly OrganizationMfaSettings[],
  ): Promise<PasskeyPolicy> {
    if (!this.usable) return "off";
    return (await this.deps.mfa.settingsFor(userId, orgCode, organizations)).passkeyPolicy;
  }

  /** Under "mandatory", an account without a passkey sets one up before the code is issued. */
  async requirement(
    userId: string,
    orgCode?: string,
    organizations?: readonly OrganizationMfaSettings[],
  ): Promise<PasskeyRequirement | undefined> {
    if ((await this.policyFor(userId, orgCode, organizations)) !== "mandatory") return undefined;
    return (await this.store.count(userId)) === 0 ? { kind: "passkey_enroll" } : undefined;
  }

  /** Whether a second step may offer a passkey: the account has one and the policy allows them. */
  async usableAsSecondFactor(userId: string, orgCode?: string): Promise<boolean> {
    return (await this.policyFor(userId, orgCode)) !== "off" && (await this.store.count(userId)) > 0;
  }

  /**
   * Options for signing in with a passkey alone: no allowCredentials (§5.5: the authenticator
   * offers its discoverable credentials for this RP ID), and user verification required — the
   * passkey is then both something held and something known or been (§6.2.3).
   */
  async signInOptions(binding: SignInBinding): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const options = await generateAuthenticationOptions({
      rpID: this.rpId,
      userVerification: "required",
      timeout: CHALLENGE_LIFETIME_SECONDS * 1000,
    });
    await this.store.issueChallenge(
      options.challenge,
      { purpose: "sign_in", ...binding },
      CHALLENGE_LIFETIME_SECONDS,
    );
    return options;
  }

  /** Options for proving one of this account's passkeys after a first factor. */
  async secondFactorOptions(
    userId: string,
    binding: SignInBinding,
  ): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const passkeys = await this.store.list(userId);
    const options = await generateAuthenticationOptions({
      rpID: this.rpId,
      allowCredentials: passkeys.map((p) => ({ id: p.credentialId, transports: p.transports })),
      // Possession is the second factor here; verification is welcome but not asked (§5.8.6).
      userVerification: "preferred",
      timeout: CHALLENGE_LIFETIME_SECONDS * 1000,
    });
    await this.store.issueChallenge(
      options.challenge,
      { purpose: "second_factor", userId, ...binding },
      CHALLENGE_LIFETIME_SECONDS,
    );
    return options;
  }

  /** A passkey sign-in's assertion: which account's passkey answered, with user verification. */
  verifySignIn(
    text: string,
    binding: SignInBinding,
    log: PasskeyLog,
  ): Promise<PasskeyVerified | PasskeyFailure> {
    return this.verifyAssertion(text, { purpose: "sign_in", ...binding }, log);
  }

  /** An assertion by one of `userId`'s passkeys, as the second step of their sign-in. */
  verifySecondFactor(
    userId: string,
    text: string,
    binding: SignInBinding,
    log: PasskeyLog,
  ): Promise<PasskeyVerified | PasskeyFailure> {
    return this.verifyAssertion(text, { purpose: "second_factor", userId, ...binding }, log);
  }

  private async verifyAssertion(
    text: string,
    binding: ChallengeBinding,
    log: PasskeyLog,
  ): Promise<PasskeyVerified | PasskeyFailure> {
    const response = parseAuthenticationResponse(text);
    if (!response) return failure("malformed", REFUSED);
    // The challenge first: whatever else is wrong, this response's challenge is spent (§13.4.3).
    const challenge = signedChallenge(response.response.clientDataJSON);
    if (!challenge || !(await this.store.consumeChallenge(challenge, binding)))
      return failure("challenge", EXPIRED);
    const passkey = await this.store.findByCredentialId(response.id);
    if (!passkey) return failure("unknown_credential", REFUSED);
    // §7.2 step 6: the credential must belong to the account being signed in to, and a user
    // handle, when the authenticator returns one, must be that account's.
    if (binding.userId !== undefined && passkey.userId !== binding.userId)
      return failure("wrong_user", REFUSED);
    if (
      response.response.userHandle !== undefined &&
      response.response.userHandle !== userHandleOf(passkey.userId)
    )
      return failure("wrong_user", REFUSED);
    const counter = signCountOf(response.response.authenticatorData);
    if (counter === undefined) return failure("malformed", REFUSED);
    // The signature first: anyone who knows a credential id can post an assertion, so only one
    // made with the key counts against its account or raises the clone alarm below.
    const verified = await this.verifyWithLibrary(
      response,
      passkey,
      challenge,
      binding.purpose === "sign_in",
    );
    if (!verified) return failure("verification", REFUSED);
    // §6.1.1 / §7.2 step 21: a genuine signature with a counter that does not grow (when either
    // side counts) means two authenticators hold this key.
    if ((counter > 0 || passkey.signCount > 0) && counter <= passkey.signCount)
      return possibleClone(log, passkey, counter);
    const info = verified.authenticationInfo;
    // Conditional on the stored counter: two concurrent uses with one counter value cannot both pass.
    const recorded = await this.store.recordUse(passkey.id, {
      signCount: info.newCounter,
      deviceType: info.credentialDeviceType,
      backedUp: info.credentialBackedUp,
    });
    if (!recorded) return possibleClone(log, passkey, info.newCounter);
    return {
      ok: true,
      passkey,
      amr: info.credentialDeviceType === "multiDevice" ? "swk" : "hwk",
      userVerified: info.userVerified,
    };
  }

  private async verifyWithLibrary(
    response: AuthenticationResponseJSON,
    passkey: Passkey,
    challenge: string,
    requireUserVerification: boolean,
  ) {
    try {
      const result = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: this.origin,
        expectedRPID: this.rpId,
        expectedType: "webauthn.get",
        requireUserVerification,
        credential: {
          id: passkey.credentialId,
          publicKey: new Uint8Array(Buffer.from(passkey.publicKey, "base64url")),
          // The counter rule is applied after the signature (verifyAssertion), to report a clone
          // only for a genuine assertion; 0 keeps the library from applying it first.
          counter: 0,
          transports: passkey.transports,
        },
      });
      return result.verified ? result : undefined;
    } catch {
      // The library throws for every mismatch (origin, RP ID hash, flags, signature): all refusals.
      return undefined;
    }
  }

  /**
   * Options for registering a passkey for `user`: a discoverable credential with user
   * verification (so it can later sign in alone), no attestation asked (§5.4.7: "none" — we trust
   * no vendor list), and the account's passkeys excluded so one authenticator is not listed twice.
   */
  async registrationOptions(
    user: { id: string; email: string | null; displayName?: string },
    binding: RegisterBinding,
    rpName: string,
  ): Promise<PublicKeyCredentialCreationOptionsJSON | undefined> {
    const existing = await this.store.list(user.id);
    if (existing.length >= MAX_PASSKEYS_PER_USER) return undefined;
    const options = await generateRegistrationOptions({
      rpName,
      rpID: this.rpId,
      userID: new TextEncoder().encode(user.id),
      userName: user.email ?? user.id,
      userDisplayName: user.displayName || user.email || "",
      attestationType: "none",
      excludeCredentials: existing.map((p) => ({ id: p.credentialId, transports: p.transports })),
      authenticatorSelection: { residentKey: "required", userVerification: "required" },
      timeout: CHALLENGE_LIFETIME_SECONDS * 1000,
    });
    await this.store.issueChallenge(
      options.challenge,
      { purpose: "register", userId: user.id, ...binding },
      CHALLENGE_LIFETIME_SECONDS,
    );
    return options;
  }

  /** Verifies a registration and saves the passkey, with its passkey.added event, in one transaction. */
  async register(
    userId: string,
    text: string,
    binding: RegisterBinding,
    input: { name: string; source: EventSource },
  ): Promise<{ ok: true; passkey: Passkey } | PasskeyFailure> {
    const response = parseRegistrationResponse(text);
    if (!response) return failure("malformed", "The passkey could not be saved. Try again.");
    const challenge = signedChallenge(response.response.clientDataJSON);
    if (
      !challenge ||
      !(await this.store.consumeChallenge(challenge, { purpose: "register", userId, ...binding }))
    )
      return failure("challenge", EXPIRED);
    let info: Awaited<ReturnType<typeof verifyRegistrationResponse>>["registrationInfo"];
    try {
      // §7.1: origin, RP ID hash, user presence and — for a passkey that signs in alone — user verification.
      const verified = await verifyRegistrationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: this.origin,
        expectedRPID: this.rpId,
        requireUserVerification: true,
      });
      info = verified.verified ? verified.registrationInfo : undefined;
    } catch {
      info = undefined;
    }
    if (!info) return failure("verification", "The passkey could not be saved. Try again.");
    const { credential } = info;
    // §7.1 step 26: a credential id already registered (to anyone) is refused.
    if (await this.store.findByCredentialId(credential.id))
      return failure("verification", "This passkey is already saved.");
    const passkey = await inTransaction(this.db, async (trx) => {
      const saved = await new PasskeysStore(trx, this.clock).insert({
        userId,
        credentialId: credential.id,
        publicKey: Buffer.from(credential.publicKey).toString("base64url"),
        signCount: credential.counter,
        transports: credential.transports ?? response.response.transports ?? [],
        deviceType: info.credentialDeviceType,
        backedUp: info.credentialBackedUp,
        aaguid: info.aaguid,
        name: cleanName(input.name) || "Passkey",
      });
      await recordEvent(trx, this.clock, {
        type: "passkey.added",
        source: input.source,
        userId,
        data: passkeyEventData(saved),
      });
      return saved;
    });
    return { ok: true, passkey };
  }

  async rename(userId: string, passkeyId: string, name: string): Promise<boolean> {
    const cleaned = cleanName(name);
    if (!cleaned) return false;
    return this.store.rename(userId, passkeyId, cleaned);
  }

  /**
   * Removes a passkey and ends every other session of the user, with the passkey.removed event, in
   * one transaction: whoever signed in with it elsewhere (a lost or stolen device) is signed out.
   * `keepSessionId` is the browser session making the change; its own grants go too except it.
   */
  async remove(
    userId: string,
    passkeyId: string,
    input: { keepSessionId?: string; source: EventSource },
  ): Promise<Passkey | undefined> {
    return inTransaction(this.db, async (trx) => {
      const store = new PasskeysStore(trx, this.clock);
      const removed = await store.delete(userId, passkeyId);
      if (!removed) return undefined;
      await store.revokeOtherSessions(userId, input.keepSessionId);
      await recordEvent(trx, this.clock, {
        type: "passkey.removed",
        source: input.source,
        userId,
        data: passkeyEventData(removed),
      });
      return removed;
    });
  }
}

/** A sign-in under way and the browser doing it (SignInProgress.browser). */
export interface SignInBinding {
  requestId: string;
  browser: string;
}

/** A registration: in a sign-in under way, or from a browser session (the account page). */
export type RegisterBinding = SignInBinding | { sessionId: string };

/** The WebAuthn user handle (§5.4.3) of an account: its id's bytes, which say nothing personal. */
function userHandleOf(userId: string): string {
  return Buffer.from(userId, "utf8").toString("base64url");
}

function cleanName(name: string): string {
  // Control characters would only confuse the list; the page escapes everything else.
  return name
    .replace(/\p{Cc}/gu, "")
    .trim()
    .slice(0, NAME_MAX_LENGTH);
}

function failure(reason: PasskeyFailure["reason"], message: string): PasskeyFailure {
  return { ok: false, status: 400, message, reason };
}

function possibleClone(log: PasskeyLog, passkey: Passkey, counter: number): PasskeyFailure {
  log.warn(
    {
      event: "passkey_possible_clone",
      userId: passkey.userId,
      passkeyId: passkey.id,
      storedCounter: passkey.signCount,
      presentedCounter: counter,
    },
    "passkey signature counter did not increase: the credential may have been cloned",
  );
  return { ...failure("counter", REFUSED), userId: passkey.userId };
}

function passkeyEventData(passkey: Passkey): Record<string, unknown> {
  return {
    user: { id: passkey.userId },
    passkey: {
      id: passkey.id,
      name: passkey.name,
      device_type: passkey.deviceType,
      backed_up: passkey.backedUp,
    },
  };
}
