import type { TrySignInPort } from "../applications/try-sign-in.js";
import type { Clock } from "../clock.js";
import type { DeviceStore } from "./device.js";
import type { OAuthStore } from "./ports.js";
import type { TokenService } from "./tokens.js";

/** Everything the protocol core needs, passed as plain values (no HTTP, no SQL). */
export interface OAuthContext {
  issuer: string;
  store: OAuthStore;
  /** The device authorization grant's requests (RFC 8628). */
  devices: DeviceStore;
  tokens: TokenService;
  clock: Clock;
  /** Admits Latchkey's "Try sign-in" callback for an administrator's ticket (try-sign-in.ts). */
  trySignIn?: TrySignInPort;
}

/** RFC 6749 §4.1.2 recommends at most 10 minutes; one minute is ASVS level 3 and plenty for SDKs. */
export const CODE_LIFETIME_SECONDS = 60;
/** How long a user has to complete the sign-in page for one authorization request. */
export const AUTHORIZATION_REQUEST_LIFETIME_SECONDS = 30 * 60;
/** A refresh-token family expires at the latest this long after the user signed in (ASVS 10.4.8). */
export const REFRESH_ABSOLUTE_LIFETIME_SECONDS = 365 * 86_400;
