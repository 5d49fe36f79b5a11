// Authorization requests waiting for the user to sign in. Each is completed at most once, with
// one conditional write, so a double-submitted form cannot mint two codes.
import type { Expression, SqlBool } from "kysely";
import type { Clock } from "../clock.js";
import { randomToken } from "../crypto/random.js";
import type { AuthorizationRequest, SignInProgress } from "../oauth/authorize.js";
import { AUTHORIZATION_REQUEST_LIFETIME_SECONDS } from "../oauth/context.js";
import type { Db } from "../storage/database.js";

export class PendingAuthorizations {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async create(request: AuthorizationRequest): Promise<string> {
    const id = randomToken();
    const now = this.clock.now();
    await this.db
      .insertInto("authorization_requests")
      .values({
        id,
        client_id: request.clientId,
        params: JSON.stringify(request),
        created_at: now,
        expires_at: now + AUTHORIZATION_REQUEST_LIFETIME_SECONDS,
        completed_at: null,
      })
      .execute();
    return id;
  }

  /** The request if it is still waiting (not completed, not expired). */
  async find(id: string | undefined): Promise<AuthorizationRequest | undefined> {
    if (!id || id.length > 100) return undefined;
    const row = await this.db
      .selectFrom("authorization_requests")
      .select("params")
      .where("id", "=", id)
      .where("completed_at", "is", null)
      .where("expires_at", ">", this.clock.now())
      .executeTakeFirst();
    return row ? (JSON.parse(row.params) as AuthorizationRequest) : undefined;
  }

  /**
   * Records which browser session signed in for this request. Only that session may then complete
   * it (after the connected-app offer), so a request that demanded a fresh sign-in (prompt=login,
   * max_age) cannot be completed with an older session. `request` is the request as found
   * (`find`): nothing else changes its parameters, so it is not read again.
   */
  async attachSession(id: string, request: AuthorizationRequest, sessionId: string): Promise<void> {
    await this.db
      .updateTable("authorization_requests")
      .set({ params: JSON.stringify({ ...request, signedInSession: sessionId }) })
      .where("id", "=", id)
      .where("completed_at", "is", null)
      .execute();
  }

  /** Records a sign-in under way (steps.ts); `request` is the request as found, as for attachSession. */
  async recordProgress(
    id: string,
    request: AuthorizationRequest,
    progress: SignInProgress | undefined,
  ): Promise<AuthorizationRequest> {
    const updated = { ...request, signInProgress: progress };
    await this.db
      .updateTable("authorization_requests")
      .set({ params: JSON.stringify(updated) })
      .where("id", "=", id)
      .where("completed_at", "is", null)
      .execute();
    return updated;
  }

  /** Marks the request completed; undefined when it was already completed or has expired. */
  async complete(id: string): Promise<AuthorizationRequest | undefined> {
    const row = await this.completion(id, this.clock.now()).returning("params").executeTakeFirst();
    return row ? (JSON.parse(row.params) as AuthorizationRequest) : undefined;
  }

  /**
   * The conditional UPDATE that completes the request at most once: it matches only while the
   * request waits. `andStill`: a further condition the completion must meet in the same statement
   * (sign-in-writes.ts: the organization the sign-in enters is still open to the user).
   */
  completion(id: string, now: number, andStill?: Expression<SqlBool>) {
    const waiting = this.db
      .updateTable("authorization_requests")
      .set({ completed_at: now })
      .where("id", "=", id)
      .where("completed_at", "is", null)
      .where("expires_at", ">", now);
    return andStill ? waiting.where(andStill) : waiting;
  }
}
