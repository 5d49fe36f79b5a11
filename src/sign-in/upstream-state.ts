// The `state` of a sign-in sent to a connection's provider (RFC 6749 §10.12, RFC 9700 §4.7).
// 256 random bits go to the provider; only their SHA-256 is stored, with everything the callback
// must check the answer against: the authorization request it serves, the connection and the issuer
// the request went to (mix-up defence, RFC 9700 §4.4: a state minted for connection A names A, so
// an answer at the callback is judged against A's issuer and A's keys only), the nonce (OIDC Core
// §3.1.2.1), the PKCE verifier (RFC 7636; sealed with the master key, bound to the state's hash) and
// the browser (the hash of its CSRF cookie). Consuming it is one DELETE … RETURNING: a state works
// once, even when two callbacks race, and an expired one never.
//
// An administrator's connection test (connection-test.ts) uses the same rows, marked by purpose:
// a 'test_ticket' is the single-use link the Management API hands out (it names no request and no
// browser yet, and is never accepted as a state); opening it mints a 'test' state bound to the
// browser that opened it, whose callback shows the claims instead of signing anyone in.
import type { Clock } from "../clock.js";
import { randomToken, sha256 } from "../crypto/random.js";
import type { SecretBox } from "../crypto/secret-box.js";
import type { Db } from "../storage/database.js";
import type { UpstreamStatePurpose } from "../storage/schema.js";

/** How long the person may take at the provider (RFC 9700 §4.7 wants state short-lived). */
export const UPSTREAM_STATE_LIFETIME_SECONDS = 10 * 60;

export interface UpstreamState {
  requestId: string;
  connectionId: string;
  issuer: string;
  nonce: string;
  codeVerifier: string;
  browser: string;
  /** 'sign_in', or 'test' for an administrator's connection test (no request behind it). */
  purpose: Exclude<UpstreamStatePurpose, "test_ticket">;
  /** The administrator who asked for a test. */
  userId: string | null;
}

/** What a connection test's ticket was issued for. */
export interface TestTicket {
  connectionId: string;
  userId: string;
}

export const upstreamVerifierAad = (stateHash: string) => `upstream_sign_in_state:${stateHash}`;
/** base64url of 32 random octets (randomToken); anything else is not one of ours. */
const STATE_FORMAT = /^[\w-]{43}$/;

export class UpstreamStates {
  constructor(
    private readonly db: Db,
    private readonly secretBox: SecretBox,
    private readonly clock: Clock,
  ) {}

  /** Stores a new state for this sign-in; the value to send to the provider. */
  async create(
    input: Omit<UpstreamState, "purpose" | "userId"> & Partial<Pick<UpstreamState, "purpose" | "userId">>,
  ): Promise<string> {
    const state = randomToken();
    const stateHash = sha256(state);
    const now = this.clock.now();
    await this.db
      .insertInto("upstream_sign_in_states")
      .values({
        state_hash: stateHash,
        request_id: input.requestId,
        connection_id: input.connectionId,
        issuer: input.issuer,
        nonce: input.nonce,
        code_verifier_sealed: this.secretBox.seal(input.codeVerifier, upstreamVerifierAad(stateHash)),
        browser: input.browser,
        created_at: now,
        expires_at: now + UPSTREAM_STATE_LIFETIME_SECONDS,
        purpose: input.purpose ?? "sign_in",
        user_id: input.userId ?? null,
      })
      .execute();
    return state;
  }

  /** Whether `state` is one of ours, unused and unexpired (without using it up). */
  async isLive(state: string): Promise<boolean> {
    if (!STATE_FORMAT.test(state)) return false;
    const row = await this.db
      .selectFrom("upstream_sign_in_states")
      .select("state_hash")
      .where("state_hash", "=", sha256(state))
      .where("purpose", "!=", "test_ticket")
      .where("expires_at", ">", this.clock.now())
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Uses `state` up: what it was minted with, or undefined when unknown, used or expired. */
  async consume(state: string): Promise<UpstreamState | undefined> {
    if (!STATE_FORMAT.test(state)) return undefined;
    const stateHash = sha256(state);
    const row = await this.db
      .deleteFrom("upstream_sign_in_states")
      .where("state_hash", "=", stateHash)
      // A ticket was handed to an administrator, not sent to a provider: never a state.
      .where("purpose", "!=", "test_ticket")
      .returningAll()
      .executeTakeFirst();
    if (!row || row.expires_at <= this.clock.now() || row.purpose === "test_ticket") return undefined;
    return {
      requestId: row.request_id,
      connectionId: row.connection_id,
      issuer: row.issuer,
      nonce: row.nonce,
      codeVerifier: this.secretBox.open(row.code_verifier_sealed, upstreamVerifierAad(stateHash)),
      browser: row.browser,
      purpose: row.purpose,
      userId: row.user_id,
    };
  }

  /** Removes expired states (they are useless; purge keeps the table small). */
  async purgeExpired(): Promise<void> {
    await this.db.deleteFrom("upstream_sign_in_states").where("expires_at", "<=", this.clock.now()).execute();
  }
}

/** Connection tests' tickets (rows of the same table; they need no sealing: they hold no secret). */
export class TestTickets {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /** A single-use link for `userId` (an administrator) to test the connection; its value. */
  async create(ticket: TestTicket): Promise<string> {
    const value = randomToken();
    const now = this.clock.now();
    await this.db
      .insertInto("upstream_sign_in_states")
      .values({
        state_hash: sha256(value),
        request_id: "",
        connection_id: ticket.connectionId,
        issuer: "",
        nonce: "",
        code_verifier_sealed: "",
        browser: "",
        created_at: now,
        expires_at: now + UPSTREAM_STATE_LIFETIME_SECONDS,
        purpose: "test_ticket",
        user_id: ticket.userId,
      })
      .execute();
    return value;
  }

  /** Uses a test ticket up: what it was issued for, or undefined when unknown, used or expired. */
  async consume(value: string): Promise<TestTicket | undefined> {
    if (!STATE_FORMAT.test(value)) return undefined;
    const row = await this.db
      .deleteFrom("upstream_sign_in_states")
      .where("state_hash", "=", sha256(value))
      .where("purpose", "=", "test_ticket")
      .returning(["connection_id", "user_id", "expires_at"])
      .executeTakeFirst();
    if (!row || row.expires_at <= this.clock.now() || row.user_id === null) return undefined;
    return { connectionId: row.connection_id, userId: row.user_id };
  }
}
