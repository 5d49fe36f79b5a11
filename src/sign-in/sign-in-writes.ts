// The usual end of a password sign-in written as ONE data-modifying statement on PostgreSQL
// (issue 21): the request's completion is the CTE every other write selects from or is conditioned
// on — the correct password's counter settlement, the replaced session's revocation, the new
// session, the account's sign-in counters and user.authenticated event (with its webhook
// deliveries: DESIGN.md's outbox), the organization entered and the code — so a request another
// submission completed first, or that expired, writes nothing at all; and it completes only while
// the organization the sign-in enters, chosen on the account's read (sign-in-account.ts), is still
// open to the person (or, entering none, while they still belong to none). The same pattern as
// consumeAndIssue (src/oauth/token-issue.store.ts). One statement is atomic and commits by itself:
// no BEGIN/COMMIT, one round trip, one commit; foreign keys are checked at its end, so the event's
// deliveries may be inserted beside the event.
//
// SQLite has no DML in CTEs: the same writes run as statements in one transaction (function calls,
// not round trips), the completion first and parents before children (it checks foreign keys at
// each statement).
//
// Lock order: the request's row, then the throttle counters in key order, then the replaced
// session, the account's row and the membership — the order the other ways of finishing a sign-in
// take them in (sign-in-finish.ts's transaction, startSession: revoke, recordSignIn,
// touchMembership). PostgreSQL runs the data-modifying CTEs nobody reads in no order one may rely
// on (in practice, last declared first), so each write that locks an existing row reads the one
// before it (a count, always true): the settlement waits on the completion, every write on the
// settlement (`ready`), the account's row on the revocation, the membership on the account's row.
// consumeAll takes the counters alone, in key order. No two sign-ins wait on each other in a cycle.
// (An administrator deleting the user locks the account before its sessions; that rare race can
// still end in a deadlock PostgreSQL breaks by refusing one side.)
import { expressionBuilder, type InsertObject, isExpression, type SqlBool, sql } from "kysely";
import type { Clock } from "../clock.js";
import { queueDeliveries } from "../events/events.js";
import { isPostgres } from "../management/listing.js";
import { codeRow } from "../oauth/oauth.store.js";
import type { CodeRecord } from "../oauth/ports.js";
import { OrganizationsStore } from "../organizations/organizations.store.js";
import { type Db, inTransaction } from "../storage/database.js";
import type { Schema } from "../storage/schema.js";
import type { EventsTable } from "../storage/schema-outbox.js";
import { UsersStore } from "../users/users.store.js";
import { PendingAuthorizations } from "./authorization-requests.js";
import { type CounterSettlement, RateLimiter, SETTLEMENT_LOCKS, settlementCtes } from "./rate-limit.js";
import { BrowserSessions } from "./sessions.js";

export interface SignInWrites {
  requestId: string;
  now: number;
  userId: string;
  /**
   * The organization the sign-in enters, as chosen on the account's read: it must still be an open
   * membership (null: the account must still belong to none). Undefined: none is entered and
   * nothing is checked (the dashboard acts for the whole environment).
   */
  entering: { orgCode: string | null } | undefined;
  /** A correct password's throttle bookkeeping (browser-sign-in.ts SettleCounters). */
  counters: CounterSettlement | undefined;
  /** This browser's session cookie: the session it names, if live, is revoked (no fixation). */
  replacedSessionToken: string | undefined;
  session: InsertObject<Schema, "browser_sessions">;
  event: EventsTable;
  code: CodeRecord;
}

/** The PostgreSQL CTE of the request's row, when this statement completed it. */
const COMPLETED = sql.raw("completed");
const IF_COMPLETED = sql<SqlBool>`exists (select 1 from ${COMPLETED})`;
/** The same row once the counters are locked: what every write after the settlement selects from. */
const READY = sql.raw("ready");
const IF_READY = sql<SqlBool>`exists (select 1 from ${READY})`;

/**
 * Writes the end of the sign-in if the request is still waiting and the organization it enters
 * still open; false when nothing was written (the caller finds out why the usual way).
 */
export async function writeSignIn(db: Db, clock: Clock, writes: SignInWrites): Promise<boolean> {
  const { requestId, now, userId, entering, counters, replacedSessionToken } = writes;
  const completion = (over: Db) =>
    new PendingAuthorizations(over, clock).completion(requestId, now, stillEntering(over, userId, entering));
  const orgCode = entering?.orgCode ?? null;
  if (!isPostgres(db)) {
    return inTransaction(db, async (trx) => {
      if (!(await completion(trx).returning("id").executeTakeFirst())) return false;
      if (counters) await new RateLimiter(trx, clock).resetAndRefund(counters.reset, counters.refund);
      const sessions = new BrowserSessions(trx, clock);
      if (replacedSessionToken) await sessions.revokeByToken(replacedSessionToken, now).execute();
      await trx.insertInto("browser_sessions").values(writes.session).execute();
      await new UsersStore(trx).signInCounted(userId, now).execute();
      await trx.insertInto("events").values(writes.event).execute();
      await queueDeliveries(trx, writes.event).execute();
      if (orgCode !== null)
        await new OrganizationsStore(trx).membershipTouched(orgCode, userId, now).execute();
      await trx.insertInto("authorization_codes").values(codeRow(writes.code)).execute();
      return true;
    });
  }
  const ctes = [
    sql`${COMPLETED} as (${completion(db).returning("id")})`,
    ...(counters ? [settlementCtes(counters, IF_COMPLETED)] : []),
    // Reading the locked counters (a count, always true) makes every write below wait for them.
    counters
      ? sql`${READY} as (select id from ${COMPLETED} where ${after(SETTLEMENT_LOCKS)})`
      : sql`${READY} as (select id from ${COMPLETED})`,
    ...(replacedSessionToken
      ? [
          sql`w_revoked as (${new BrowserSessions(db, clock)
            .revokeByToken(replacedSessionToken, now)
            .where(IF_READY)
            .returning("id")})`,
        ]
      : []),
    sql`w_session as (${insertSelectingReady("browser_sessions", writes.session)})`,
    sql`w_counted as (${new UsersStore(db)
      .signInCounted(userId, now)
      .where(IF_READY)
      .where(replacedSessionToken ? after("w_revoked") : sql<SqlBool>`true`)
      .returning("id")})`,
    sql`w_event as (${insertSelectingReady("events", writes.event)})`,
    sql`w_deliveries as (${queueDeliveries(db, writes.event, IF_READY)})`,
    ...(orgCode !== null
      ? [
          sql`w_entered as (${new OrganizationsStore(db)
            .membershipTouched(orgCode, userId, now)
            .where(IF_READY)
            .where(after("w_counted"))})`,
        ]
      : []),
    sql`w_code as (${insertSelectingReady("authorization_codes", codeRow(writes.code))})`,
  ];
  const statement = sql<{ id: string }>`with ${sql.join(ctes)} select id from ${COMPLETED}`;
  return (await statement.execute(db)).rows.length > 0;
}

/** Always true, once the CTE `name` has run: a write conditioned on it takes its locks after that one's. */
function after(name: string) {
  return sql<SqlBool>`(select count(*) from ${sql.raw(name)}) >= 0`;
}

/** What must still hold for the request to complete: see SignInWrites.entering. */
function stillEntering(db: Db, userId: string, entering: SignInWrites["entering"]) {
  if (entering === undefined) return undefined;
  const eb = expressionBuilder<Schema, never>();
  const memberships = db.selectFrom("organization_users").where("organization_users.user_id", "=", userId);
  if (entering.orgCode === null) return eb.not(eb.exists(memberships.select("organization_users.user_id")));
  return eb.exists(
    memberships
      .innerJoin("organizations", "organizations.code", "organization_users.org_code")
      .select("organization_users.user_id")
      .where("organization_users.org_code", "=", entering.orgCode)
      .where("organizations.is_suspended", "=", 0),
  );
}

/** INSERT of `row` selecting its values from the completed request: no row when it matched nothing. */
function insertSelectingReady(table: string, row: object) {
  const entries = Object.entries(row);
  const names = sql.join(entries.map(([column]) => sql.ref(column)));
  // A value may be a subquery (the session's external identity, only when it is this user's).
  const values = sql.join(
    entries.map(([, value]) => (isExpression(value) ? sql`(${value})` : sql.val(value))),
  );
  return sql`insert into ${sql.table(table)} (${names}) select ${values} from ${READY}`;
}
