// The device authorization grant's rules (RFC 8628): a device asks for a pair of codes (§3.1-3.2),
// a person enters the short one on /device and approves or denies (§3.3), the device polls the
// token endpoint with the long one (§3.4, grants/device_code.ts). The core takes plain values and
// reaches storage through DeviceStore, a port it owns like OAuthStore.
import { randomInt } from "node:crypto";
import { randomToken, sha256 } from "../crypto/random.js";
import { authenticateClient } from "./client-auth.js";
import type { OAuthContext } from "./context.js";
import { OAuthError } from "./errors.js";
import type { Params } from "./params.js";
import type { ClientRecord, OAuthStore, OrganizationChoice } from "./ports.js";
import { joinScope, OIDC_SCOPES, splitScope } from "./scopes.js";

/** §3.2 `expires_in`: ten minutes, as Kinde's. */
export const DEVICE_CODE_LIFETIME_SECONDS = 600;
/** §3.2 `interval`: the least number of seconds between two polls; §3.5 slow_down adds 5. */
export const DEVICE_POLL_INTERVAL_SECONDS = 5;
export const SLOW_DOWN_SECONDS = 5;
/**
 * §6.1: letters only, no vowels (no words can be spelled by accident) and none that are read as
 * another (no I/O/U/Y): 20 letters, so 8 of them are 20^8 ≈ 2^34.6 codes — enough against guessing
 * while entry is rate limited (§5.1), short enough to type from a television.
 */
export const USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ";
export const USER_CODE_LENGTH = 8;

export type DeviceCodeStatus = "pending" | "approved" | "denied" | "consumed";

export interface DeviceCodeRecord {
  deviceCodeHash: string;
  clientId: string;
  scope: string;
  audience: string[];
  status: DeviceCodeStatus;
  pollInterval: number;
  createdAt: number;
  expiresAt: number;
  /** Set by the decision: who approved, for which organization, and when they signed in. */
  userId: string | null;
  orgCode: string | null;
  authTime: number | null;
  grantId: string | null;
}

/** What one poll saw: the code after the poll was recorded, and whether it came too soon. */
export interface PollOutcome {
  code: DeviceCodeRecord;
  slowedDown: boolean;
}

export interface DeviceStore {
  /** `work` in one transaction, with this store and the OAuth store both bound to it. */
  transaction<T>(work: (stores: { devices: DeviceStore; oauth: OAuthStore }) => Promise<T>): Promise<T>;
  /** Stores a new request; false when its user code is taken (the caller draws another). */
  insert(code: DeviceCodeRecord, userCode: string): Promise<boolean>;
  /**
   * Records a poll with one conditional write: the last poll's time, and — when it came sooner
   * than the code's interval after the one before — a raised interval and `slowedDown`.
   */
  poll(deviceCodeHash: string, now: number): Promise<PollOutcome | undefined>;
  /** Marks an approved code consumed (one conditional write); false when it was not approved. */
  consume(deviceCodeHash: string, grantId: string, now: number): Promise<boolean>;
  /** A pending, unexpired code by the code a person typed (normalised). */
  findPending(userCode: string, now: number): Promise<DeviceCodeRecord | undefined>;
  /** Records the person's decision on a pending, unexpired code (one conditional write). */
  decide(
    userCode: string,
    decision:
      | { approve: true; userId: string; orgCode: string | null; authTime: number }
      | { approve: false; userId: string },
    now: number,
  ): Promise<boolean>;
}

/** §3.2: the device authorization response. */
export interface DeviceAuthorizationResponse {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

/** The user code as people read it: two groups of four (§6.1 recommends the dash). */
export function displayUserCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/**
 * What a person typed, as stored: upper case, everything but the alphabet's letters (dashes,
 * spaces) dropped (§6.1: "the server should ignore" such characters). Undefined when it cannot
 * be a code, so nothing is looked up (or counted against a stranger's code) for it.
 */
export function normalizeUserCode(input: string): string | undefined {
  if (input.length > 32) return undefined;
  const letters = input.toUpperCase().replace(/[\s-]/g, "");
  if (letters.length !== USER_CODE_LENGTH) return undefined;
  for (const c of letters) if (!USER_CODE_ALPHABET.includes(c)) return undefined;
  return letters;
}

function newUserCode(): string {
  let code = "";
  for (let i = 0; i < USER_CODE_LENGTH; i++) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return code;
}

/** POST /oauth2/device/auth (§3.1-3.2). */
export async function startDeviceAuthorization(
  ctx: OAuthContext,
  params: Params,
  authorization: string | undefined,
): Promise<DeviceAuthorizationResponse> {
  // §3.1: the client authenticates as at the token endpoint; a device is a public client.
  const { client } = await authenticateClient(ctx.store, params, authorization);
  if (client.type !== "device") {
    throw new OAuthError(
      "unauthorized_client",
      "Only device applications may use the device authorization grant",
    );
  }
  // As at the authorization endpoint: only audiences the client is authorised for, and of the
  // scopes only OpenID's and those the requested APIs define (RFC 6749 §3.3 lets us narrow).
  const audience = await ctx.store.authorizedAudiences(client.id, params.all("audience"));
  const apiScopes = await ctx.store.apiScopes(audience);
  const scope = splitScope(params.get("scope")).filter((s) => OIDC_SCOPES.has(s) || apiScopes.has(s));

  const deviceCode = randomToken();
  const now = ctx.clock.now();
  const record: DeviceCodeRecord = {
    deviceCodeHash: sha256(deviceCode),
    clientId: client.id,
    scope: joinScope(scope),
    audience,
    status: "pending",
    pollInterval: DEVICE_POLL_INTERVAL_SECONDS,
    createdAt: now,
    expiresAt: now + DEVICE_CODE_LIFETIME_SECONDS,
    userId: null,
    orgCode: null,
    authTime: null,
    grantId: null,
  };
  // A pending code already holds this user code (one chance in billions per live code): draw again.
  for (let attempt = 0; attempt < 5; attempt++) {
    const userCode = newUserCode();
    if (!(await ctx.devices.insert(record, userCode))) continue;
    const verificationUri = `${ctx.issuer}/device`;
    return {
      device_code: deviceCode,
      user_code: displayUserCode(userCode),
      verification_uri: verificationUri,
      verification_uri_complete: `${verificationUri}?user_code=${displayUserCode(userCode)}`,
      expires_in: DEVICE_CODE_LIFETIME_SECONDS,
      interval: DEVICE_POLL_INTERVAL_SECONDS,
    };
  }
  throw new OAuthError("temporarily_unavailable", "No user code could be issued; try again");
}

/** A request a person may answer: pending, unexpired, and its application still there. */
export interface PendingDeviceRequest {
  code: DeviceCodeRecord;
  /** The code as the person reads it (XXXX-XXXX). */
  userCode: string;
  client: ClientRecord;
}

/** §3.3: the request behind what a person typed, if it still waits for an answer. */
export async function findDeviceRequest(
  ctx: OAuthContext,
  typed: string,
): Promise<PendingDeviceRequest | undefined> {
  const userCode = normalizeUserCode(typed);
  if (!userCode) return undefined;
  const code = await ctx.devices.findPending(userCode, ctx.clock.now());
  if (!code) return undefined;
  const client = await ctx.store.findClient(code.clientId);
  if (client?.type !== "device") return undefined;
  return { code, userCode: displayUserCode(userCode), client };
}

/**
 * The organization an approval signs the person into: chosen as for a sign-in that names none
 * (issueAuthorizationCode), when they approve — the one they last used, else the default one.
 */
export function deviceOrganization(ctx: OAuthContext, userId: string): Promise<OrganizationChoice> {
  return ctx.store.enterOrganization(userId, {});
}

/**
 * §3.3: the person's answer, recorded with one conditional write; false when the request stopped
 * waiting meanwhile (answered in another tab, or expired). The device hears it at its next poll.
 */
export async function recordDeviceDecision(
  ctx: OAuthContext,
  typed: string,
  decision:
    | { approve: true; userId: string; orgCode: string | null; authTime: number }
    | { approve: false; userId: string },
): Promise<boolean> {
  const userCode = normalizeUserCode(typed);
  if (!userCode) return false;
  return ctx.devices.decide(userCode, decision, ctx.clock.now());
}
