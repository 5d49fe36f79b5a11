// What the account pages read that no other module lists for a person: their live sessions.
import type { Clock } from "../clock.js";
import type { Db } from "../storage/database.js";

export interface SessionSummary {
  id: string;
  createdAt: number;
  authTime: number;
  ipAddress: string | null;
  userAgent: string | null;
}

/** A person signed in on more browsers than this sees the most recent ones. */
const SESSIONS_SHOWN = 20;

export class AccountStore {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /** The user's sessions that still sign in (not revoked, not expired), newest first. */
  liveSessions(userId: string): Promise<SessionSummary[]> {
    return this.db
      .selectFrom("browser_sessions")
      .select([
        "id",
        "created_at as createdAt",
        "auth_time as authTime",
        "ip_address as ipAddress",
        "user_agent as userAgent",
      ])
      .where("user_id", "=", userId)
      .where("revoked_at", "is", null)
      .where("expires_at", ">", this.clock.now())
      .orderBy("created_at", "desc")
      .orderBy("id")
      .limit(SESSIONS_SHOWN)
      .execute();
  }
}
