/** The one clock every expiry check uses; tests inject a fixed or shifted one. */
export interface Clock {
  /** Current time in whole seconds since the epoch (the unit of JWT `iat`/`exp` and our columns). */
  now(): number;
}

export const systemClock: Clock = { now: () => Math.floor(Date.now() / 1000) };
