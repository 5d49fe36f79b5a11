// Storage of WebAuthn credentials (migration 0025's passkeys) and of the challenges the ceremonies
// sign (0026). SQL only: the rules are in passkeys.service.ts.
import type { Clock } from "../clock.js";
import { randomHex, sha256 } from "../crypto/random.js";
import type { Db } from "../storage/database.js";
import type { PasskeyChallengePurpose } from "../storage/schema.js";

export interface Passkey {
  id: string;
  userId: string;
  /** base64url, as assertions name it. */
  credentialId: string;
  /** base64url of the COSE key. */
  publicKey: string;
  signCount: number;
  transports: string[];
  /** "singleDevice" | "multiDevice" (the authenticator data's backup-eligible flag). */
  deviceType: string;
  backedUp: boolean;
  aaguid: string | null;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

/** What a challenge was issued for; the same must be presented to consume it. */
export interface ChallengeBinding {
  purpose: PasskeyChallengePurpose;
  /** The sign-in under way (authorization request id) and the browser doing it. */
  requestId?: string;
  browser?: string;
  /** The browser session of the account page. */
  sessionId?: string;
  /** Whose credential must answer; none for a passkey sign-in (the credential names the user). */
  userId?: string;
}

export const newPasskeyId = () => `passkey_${randomHex(16)}`;

/** A base64url challenge is a bearer value until used: only its hash is kept. */
const challengeHash = (challenge: string) => sha256(`passkey-challenge:${challenge}`);

export class PasskeysStore {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async list(userId: string): Promise<Passkey[]> {
    const rows = await this.db
      .selectFrom("passkeys")
      .selectAll()
      .where("user_id", "=", userId)
      .orderBy("created_at")
      .orderBy("id")
      .execute();
    return rows.map(passkeyOf);
  }

  async count(userId: string): Promise<number> {
    const row = await this.db
      .selectFrom("passkeys")
      .select((eb) => eb.fn.countAll<number | string>().as("n"))
      .where("user_id", "=", userId)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async findByCredentialId(credentialId: string): Promise<Passkey | undefined> {
    const row = await this.db
      .selectFrom("passkeys")
      .selectAll()
      .where("credential_id", "=", credentialId)
      .executeTakeFirst();
    return row ? passkeyOf(row) : undefined;
  }

  async insert(input: Omit<Passkey, "id" | "createdAt" | "lastUsedAt">): Promise<Passkey> {
    const row = {
      id: newPasskeyId(),
      user_id: input.userId,
      credential_id: input.credentialId,
      public_key: input.publicKey,
      sign_count: input.signCount,
      transports: JSON.stringify(input.transports),
      device_type: input.deviceType,
      backed_up: input.backedUp ? 1 : 0,
      aaguid: input.aaguid,
      name: input.name,
      created_at: this.clock.now(),
      last_used_at: null,
    };
    await this.db.insertInto("passkeys").values(row).execute();
    return passkeyOf(row);
  }

  async rename(userId: string, id: string, name: string): Promise<boolean> {
    const result = await this.db
      .updateTable("passkeys")
      .set({ name })
      .where("user_id", "=", userId)
      .where("id", "=", id)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async delete(userId: string, id: string): Promise<Passkey | undefined> {
    const row = await this.db
      .deleteFrom("passkeys")
      .where("user_id", "=", userId)
      .where("id", "=", id)
      .returningAll()
      .executeTakeFirst();
    return row ? passkeyOf(row) : undefined;
  }

  /**
   * Records a verified use. WebAuthn §6.1.1: the signature counter only grows, so the write is
   * conditional on the stored counter being lower (or both zero: an authenticator that keeps no
   * counter). Two uses racing with one counter value cannot both win; false means the counter did
   * not move forward — the credential may have been cloned.
   */
  async recordUse(
    id: string,
    use: { signCount: number; deviceType: string; backedUp: boolean },
  ): Promise<boolean> {
    const result = await this.db
      .updateTable("passkeys")
      .set({
        sign_count: use.signCount,
        device_type: use.deviceType,
        backed_up: use.backedUp ? 1 : 0,
        last_used_at: this.clock.now(),
      })
      .where("id", "=", id)
      .where((eb) => (use.signCount === 0 ? eb("sign_count", "=", 0) : eb("sign_count", "<", use.signCount)))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /**
   * Ends the user's sessions other than `keepSessionId`: other browsers' sessions, the codes not yet
   * exchanged and the refresh grants they led to (those of the kept session stay).
   */
  async revokeOtherSessions(userId: string, keepSessionId: string | undefined): Promise<void> {
    const now = this.clock.now();
    await this.db
      .updateTable("browser_sessions")
      .set({ revoked_at: now })
      .where("user_id", "=", userId)
      .where("revoked_at", "is", null)
      .$if(keepSessionId !== undefined, (q) => q.where("id", "!=", keepSessionId!))
      .execute();
    await this.db
      .updateTable("authorization_codes")
      .set({ consumed_at: now })
      .where("user_id", "=", userId)
      .where("consumed_at", "is", null)
      .$if(keepSessionId !== undefined, (q) =>
        q.where((eb) => eb.or([eb("session_id", "is", null), eb("session_id", "!=", keepSessionId!)])),
      )
      .execute();
    await this.db
      .updateTable("grants")
      .set({ revoked_at: now, revoked_reason: "passkey removed" })
      .where("user_id", "=", userId)
      .where("revoked_at", "is", null)
      .$if(keepSessionId !== undefined, (q) =>
        q.where((eb) => eb.or([eb("session_id", "is", null), eb("session_id", "!=", keepSessionId!)])),
      )
      .execute();
  }

  async issueChallenge(challenge: string, binding: ChallengeBinding, lifetimeSeconds: number): Promise<void> {
    const now = this.clock.now();
    await this.db
      .insertInto("passkey_challenges")
      .values({
        challenge_hash: challengeHash(challenge),
        purpose: binding.purpose,
        request_id: binding.requestId ?? null,
        browser: binding.browser ?? null,
        session_id: binding.sessionId ?? null,
        user_id: binding.userId ?? null,
        created_at: now,
        expires_at: now + lifetimeSeconds,
        consumed_at: null,
      })
      .execute();
  }

  /**
   * Uses a challenge once, only for what it was issued for: one conditional UPDATE, so a response
   * replayed (or submitted twice at once) verifies at most one time.
   */
  async consumeChallenge(challenge: string, binding: ChallengeBinding): Promise<boolean> {
    const now = this.clock.now();
    const result = await this.db
      .updateTable("passkey_challenges")
      .set({ consumed_at: now })
      .where("challenge_hash", "=", challengeHash(challenge))
      .where("purpose", "=", binding.purpose)
      .where((eb) =>
        eb.and([
          binding.requestId === undefined
            ? eb("request_id", "is", null)
            : eb("request_id", "=", binding.requestId),
          binding.browser === undefined ? eb("browser", "is", null) : eb("browser", "=", binding.browser),
          binding.sessionId === undefined
            ? eb("session_id", "is", null)
            : eb("session_id", "=", binding.sessionId),
          binding.userId === undefined ? eb("user_id", "is", null) : eb("user_id", "=", binding.userId),
        ]),
      )
      .where("consumed_at", "is", null)
      .where("expires_at", ">", now)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}

function passkeyOf(row: {
  id: string;
  user_id: string;
  credential_id: string;
  public_key: string;
  sign_count: number | string;
  transports: string;
  device_type: string;
  backed_up: number;
  aaguid: string | null;
  name: string;
  created_at: number | string;
  last_used_at: number | string | null;
}): Passkey {
  return {
    id: row.id,
    userId: row.user_id,
    credentialId: row.credential_id,
    publicKey: row.public_key,
    signCount: Number(row.sign_count),
    transports: parseTransports(row.transports),
    deviceType: row.device_type,
    backedUp: Number(row.backed_up) === 1,
    aaguid: row.aaguid,
    name: row.name,
    createdAt: Number(row.created_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
  };
}

function parseTransports(text: string): string[] {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter((t): t is string => typeof t === "string") : [];
  } catch {
    return [];
  }
}
