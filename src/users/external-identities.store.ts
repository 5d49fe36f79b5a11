// External identities (issue 17): a person's account at a connection's provider — the connection
// and the provider's `sub` — linked to a Latchkey user. Only (connection_id, provider_subject) ever
// finds a user: `sub` is unique within its issuer alone (OIDC Core §2), and an e-mail address is
// never a lookup key here (linking by address is the sign-in flow's decision, under its rules).
import { newId } from "../crypto/random.js";
import type { SessionProof } from "../oauth/ports.js";
import { parseAmr } from "../sign-in/sessions.js";
import type { Db } from "../storage/database.js";
import type { ExternalIdentitiesTable } from "../storage/schema.js";

export type ExternalIdentityRow = ExternalIdentitiesTable;

/** An external identity with what the Management API shows of its connection. */
export interface ExternalIdentityView extends ExternalIdentityRow {
  /** The connection's strategy (Kinde's identity type: `oauth2:google`, `oidc:custom` …). */
  strategy: string;
  connection_name: string;
}

/** `identity_` + 32 hex, as Kinde's identity ids. */
export const IDENTITY_ID = /^identity_[0-9a-f]{32}$/;

/** Bounds on what is kept of a provider's profile (it is the provider's text, copied into tokens). */
const MAX_CLAIM_KEYS = 20;
const MAX_CLAIM_TEXT = 500;
/** Profile claims worth keeping (OIDC Core §5.1); everything else the provider said is dropped. */
const KEPT_CLAIMS = [
  "email",
  "email_verified",
  "name",
  "given_name",
  "family_name",
  "preferred_username",
  "picture",
  "locale",
  "tid",
];

/**
 * The profile claims kept for ext_provider.claims: named ones only, scalar, strings cut short.
 * A provider's token can carry anything; tokens Latchkey signs must not repeat it unbounded.
 */
export function boundedClaims(claims: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const name of KEPT_CLAIMS.slice(0, MAX_CLAIM_KEYS)) {
    const value = claims[name];
    if (typeof value === "string") kept[name] = value.slice(0, MAX_CLAIM_TEXT);
    else if (typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value)))
      kept[name] = value;
  }
  return kept;
}

export class ExternalIdentitiesStore {
  constructor(private readonly db: Db) {}

  private view() {
    return this.db
      .selectFrom("external_identities as i")
      .innerJoin("sign_in_connections as c", "c.id", "i.connection_id")
      .selectAll("i")
      .select(["c.strategy as strategy", "c.name as connection_name"]);
  }

  find(id: string): Promise<ExternalIdentityView | undefined> {
    if (!IDENTITY_ID.test(id)) return Promise.resolve(undefined);
    return this.view().where("i.id", "=", id).executeTakeFirst();
  }

  bySubject(connectionId: string, subject: string): Promise<ExternalIdentityRow | undefined> {
    return this.db
      .selectFrom("external_identities")
      .selectAll()
      .where("connection_id", "=", connectionId)
      .where("provider_subject", "=", subject)
      .executeTakeFirst();
  }

  /** A user's external identities, oldest first. */
  ofUser(userId: string): Promise<ExternalIdentityView[]> {
    return this.view().where("i.user_id", "=", userId).orderBy("i.created_at").orderBy("i.id").execute();
  }

  /** The provider accounts of each of these users, oldest first (one query for a page of users). */
  async ofUsers(userIds: readonly string[]): Promise<Map<string, ExternalIdentityView[]>> {
    const byUser = new Map<string, ExternalIdentityView[]>();
    if (userIds.length === 0) return byUser;
    const rows = await this.view()
      .where("i.user_id", "in", [...userIds])
      .orderBy("i.created_at")
      .orderBy("i.id")
      .execute();
    for (const row of rows) byUser.set(row.user_id, [...(byUser.get(row.user_id) ?? []), row]);
    return byUser;
  }

  /** Links a provider account to a user (the caller's transaction); the new row. */
  async insert(input: {
    /** Chosen by the caller when it must name the identity first (the user.created event). */
    id?: string;
    userId: string;
    connectionId: string;
    subject: string;
    email: string | null;
    emailVerified: boolean;
    claims: Record<string, unknown>;
    now: number;
  }): Promise<ExternalIdentityRow> {
    const row: ExternalIdentityRow = {
      id: input.id ?? newId.identity(),
      user_id: input.userId,
      connection_id: input.connectionId,
      provider_subject: input.subject,
      email: input.email,
      email_verified_by_provider: input.emailVerified ? 1 : 0,
      claims: JSON.stringify(boundedClaims(input.claims)),
      total_logins: 1,
      created_at: input.now,
      last_signed_in_at: input.now,
    };
    await this.db.insertInto("external_identities").values(row).execute();
    return row;
  }

  /** A sign-in through this identity: what the provider says now, and the counters. */
  async recordSignIn(
    id: string,
    input: { email: string | null; emailVerified: boolean; claims: Record<string, unknown>; now: number },
  ): Promise<void> {
    await this.db
      .updateTable("external_identities")
      .set((eb) => ({
        email: input.email,
        email_verified_by_provider: input.emailVerified ? 1 : 0,
        claims: JSON.stringify(boundedClaims(input.claims)),
        total_logins: eb("total_logins", "+", 1),
        last_signed_in_at: input.now,
      }))
      .where("id", "=", id)
      .execute();
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom("external_identities").where("id", "=", id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /**
   * The connection a browser session signed in through: undefined when it signed in otherwise;
   * null when it did through an identity deleted since (its connection can no longer be told, so
   * callers treat the session as belonging to no connection at all: fail closed).
   */
  async connectionOfSession(sessionId: string): Promise<string | null | undefined> {
    const row = await this.db
      .selectFrom("browser_sessions as s")
      .leftJoin("external_identities as i", "i.id", "s.external_identity_id")
      .select(["s.external_identity_id", "i.connection_id"])
      .where("s.id", "=", sessionId)
      .executeTakeFirst();
    if (!row?.external_identity_id) return undefined;
    return row.connection_id ?? null;
  }

  /**
   * What a browser session's sign-in proved: its amr values and, when it went through a connection
   * whose identity still exists, Kinde's ext_provider ID-token claim. One query (a grant reads it at
   * every issue and refresh).
   */
  async proofOfSession(sessionId: string): Promise<SessionProof | undefined> {
    const row = await this.db
      .selectFrom("browser_sessions as s")
      .leftJoin("external_identities as i", "i.id", "s.external_identity_id")
      .leftJoin("sign_in_connections as c", "c.id", "i.connection_id")
      .select(["s.amr", "i.connection_id", "i.claims", "c.name"])
      .where("s.id", "=", sessionId)
      .executeTakeFirst();
    return row ? sessionProofOf(row) : undefined;
  }
}

/** A session's proof from its row (amr) and its external identity's (connection, claims). */
export function sessionProofOf(row: {
  amr: string | null;
  connection_id: string | null;
  claims: string | null;
  name: string | null;
}): SessionProof {
  const amr = parseAmr(row.amr);
  if (!row.connection_id || row.claims === null) return { amr };
  return {
    amr,
    extProvider: {
      connection_id: row.connection_id,
      name: row.name,
      claims: { connection_id: row.connection_id, ...(JSON.parse(row.claims) as Record<string, unknown>) },
    },
  };
}
