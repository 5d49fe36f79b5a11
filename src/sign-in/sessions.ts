// First-party browser sessions (single sign-on at Latchkey). The cookie holds a 256-bit random
// token; the database holds only its SHA-256 (ASVS 7.2), so a database leak yields no session.

import type { InsertObject } from "kysely";
import type { Clock } from "../clock.js";
import { newId, randomToken, sha256 } from "../crypto/random.js";
import type { Db } from "../storage/database.js";
import type { Schema } from "../storage/schema.js";

/** Absolute session lifetime: the user signs in again after this. */
export const SESSION_LIFETIME_SECONDS = 14 * 86_400;

export interface BrowserSession {
  id: string;
  userId: string;
  authTime: number;
  /** What the sign-in proved (RFC 8176 amr): the ID token's amr, and whether the MFA policy is met. */
  amr: string[];
}

/** What a new session records besides its user (create's `meta`). */
export interface SessionMeta {
  ip?: string;
  userAgent?: string;
  externalIdentityId?: string;
  amr?: readonly string[];
}

export class BrowserSessions {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /**
   * `externalIdentityId`: the sign-in went through a connection. The session is marked with that
   * identity in the same INSERT — it then signs in silently only where the connection is enabled
   * (oauth.routes.ts) — and only when the identity is this user's (a request finished with a
   * password for another account after a connection sign-in stopped at a step is not marked).
   */
  async create(userId: string, meta: SessionMeta): Promise<{ token: string; session: BrowserSession }> {
    const { token, session, row } = this.newSession(userId, meta, this.clock.now());
    await this.db.insertInto("browser_sessions").values(row).execute();
    return { token, session };
  }

  /**
   * A new session (create's) not yet written: its cookie value, the session and the row to insert,
   * for a caller that writes it in a statement of its own (sign-in-writes.ts). `external_identity_id`
   * is a subquery: the identity only when it is this user's.
   */
  newSession(userId: string, meta: SessionMeta, now: number) {
    const token = randomToken();
    const id = newId.session();
    const row = {
      id,
      token_hash: sha256(token),
      user_id: userId,
      auth_time: now,
      created_at: now,
      expires_at: now + SESSION_LIFETIME_SECONDS,
      revoked_at: null,
      ip_address: meta.ip?.slice(0, 100) ?? null,
      user_agent: meta.userAgent?.slice(0, 500) ?? null,
      amr: JSON.stringify(meta.amr ?? []),
      external_identity_id: meta.externalIdentityId
        ? this.db
            .selectFrom("external_identities")
            .select("id")
            .where("id", "=", meta.externalIdentityId)
            .where("user_id", "=", userId)
        : null,
    } satisfies InsertObject<Schema, "browser_sessions">;
    const session: BrowserSession = { id, userId, authTime: now, amr: [...(meta.amr ?? [])] };
    return { token, session, row };
  }

  /** The live session behind a cookie value: not revoked, not expired, user not suspended. */
  async find(token: string | undefined): Promise<BrowserSession | undefined> {
    if (!token || token.length > 100) return undefined;
    const row = await this.db
      .selectFrom("browser_sessions")
      .innerJoin("users", "users.id", "browser_sessions.user_id")
      .select([
        "browser_sessions.id",
        "browser_sessions.user_id",
        "browser_sessions.auth_time",
        "browser_sessions.amr",
      ])
      .where("browser_sessions.token_hash", "=", sha256(token))
      .where("browser_sessions.revoked_at", "is", null)
      .where("browser_sessions.expires_at", ">", this.clock.now())
      .where("users.is_suspended", "=", 0)
      .executeTakeFirst();
    return row
      ? { id: row.id, userId: row.user_id, authTime: row.auth_time, amr: parseAmr(row.amr) }
      : undefined;
  }

  /**
   * Records what the session proved since it signed in: a person who just set up a factor on the
   * account pages (fresh sign-in, the ceremony proving the new authenticator) has shown it, so the
   * next change there does not send them to sign in again.
   */
  async recordProof(sessionId: string, amr: readonly string[]): Promise<void> {
    await this.db
      .updateTable("browser_sessions")
      .set({ amr: JSON.stringify(amr) })
      .where("id", "=", sessionId)
      .where("revoked_at", "is", null)
      .execute();
  }

  /**
   * Revokes the live session behind a cookie value, found by its hash in the same statement (a
   * sign-in replacing this browser's session needs no read of it first).
   */
  revokeByToken(token: string, now: number) {
    return this.db
      .updateTable("browser_sessions")
      .set({ revoked_at: now })
      .where("token_hash", "=", sha256(token))
      .where("revoked_at", "is", null)
      .where("expires_at", ">", now);
  }

  async revoke(sessionId: string): Promise<void> {
    await this.db
      .updateTable("browser_sessions")
      .set({ revoked_at: this.clock.now() })
      .where("id", "=", sessionId)
      .where("revoked_at", "is", null)
      .execute();
  }
}

/** A stored amr list; anything unreadable proves nothing. */
export function parseAmr(text: string | null | undefined): string[] {
  try {
    const parsed: unknown = JSON.parse(text ?? "[]");
    return Array.isArray(parsed) ? parsed.filter((v): v is string => typeof v === "string") : [];
  } catch {
    return [];
  }
}
