// Storage of MFA settings, second factors and recovery codes (migration 0025).
import type { Clock } from "../clock.js";
import { randomHex, sha256 } from "../crypto/random.js";
import { configCacheFor } from "../oauth/config-cache.js";
import type { Db } from "../storage/database.js";
import type { MfaFactorType } from "../storage/schema.js";
import {
  DEFAULT_MFA_SETTINGS,
  type MfaSettings,
  type OrganizationMfaSettings,
  parseFactorList,
  parseMfaPolicy,
  parsePasskeyPolicy,
} from "./policy.js";

export interface MfaFactor {
  id: string;
  userId: string;
  type: MfaFactorType;
  name: string;
  secretSealed: string | null;
  verifiedAt: number | null;
  usageCount: number;
  lastUsedAt: number | null;
  createdAt: number;
}

export const newFactorId = () => `mfa_${randomHex(16)}`;

/**
 * Recovery codes compare in one form: upper case, no separators (people retype them). The user's id
 * is part of what is hashed, so equal codes of two users (50 bits each: likely somewhere among
 * millions) are distinct keys, and a code never matches another user's row.
 */
export function recoveryCodeHash(userId: string, typed: string): string {
  return sha256(`recovery-code:${userId}:${typed.toUpperCase().replace(/[^0-9A-Z]/g, "")}`);
}

/** An organization's MFA columns as stored. */
export interface OrganizationMfaColumns {
  mfa_enforced: number;
  mfa_enabled_factors: string | null;
  mfa_recovery_codes: number | null;
  passkey_policy: string | null;
}

/**
 * The settings of the organizations a sign-in concerns, from their rows (organizationSettingsFor's
 * read, or one that read them with the account: src/sign-in/sign-in-account.ts): the one asked for,
 * else every one the user belongs to.
 */
export function organizationsConcerned(
  rows: readonly OrganizationMfaColumns[],
  orgCode: string | undefined,
): OrganizationMfaSettings[] {
  // Without an org_code only an enforcing organization changes anything: its own factor lists
  // would otherwise depend on which of the user's organizations happened to be read last.
  return rows
    .filter((row) => orgCode !== undefined || row.mfa_enforced === 1)
    .map((row) => ({
      enforced: row.mfa_enforced === 1,
      enabledFactors: parseFactorList(row.mfa_enabled_factors),
      recoveryCodes: row.mfa_recovery_codes === null ? null : row.mfa_recovery_codes === 1,
      passkeyPolicy: parsePasskeyPolicy(row.passkey_policy),
    }));
}

export class MfaStore {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /**
   * The environment's settings, read at every sign-in: from the configuration cache, which
   * migration 0025's trigger empties whenever they change (inside a transaction, the row itself).
   */
  environmentSettings(): Promise<Readonly<MfaSettings>> {
    const read = async (): Promise<Readonly<MfaSettings>> => {
      const row = await this.db
        .selectFrom("business")
        .select(["mfa_policy", "mfa_enabled_factors", "mfa_recovery_codes", "passkey_policy"])
        .executeTakeFirst();
      if (!row) return DEFAULT_MFA_SETTINGS;
      return Object.freeze({
        policy: parseMfaPolicy(row.mfa_policy),
        enabledFactors: parseFactorList(row.mfa_enabled_factors) ?? [],
        recoveryCodes: row.mfa_recovery_codes === 1,
        passkeyPolicy: parsePasskeyPolicy(row.passkey_policy) ?? "optional",
      });
    };
    if (this.db.isTransaction) return read();
    return configCacheFor(this.db).memo("business:mfa", read);
  }

  async setEnvironmentSettings(changes: Partial<MfaSettings>): Promise<void> {
    await this.db
      .updateTable("business")
      .set({
        ...(changes.policy !== undefined ? { mfa_policy: changes.policy } : {}),
        ...(changes.enabledFactors !== undefined
          ? { mfa_enabled_factors: JSON.stringify(changes.enabledFactors) }
          : {}),
        ...(changes.recoveryCodes !== undefined ? { mfa_recovery_codes: changes.recoveryCodes ? 1 : 0 } : {}),
        ...(changes.passkeyPolicy !== undefined ? { passkey_policy: changes.passkeyPolicy } : {}),
        updated_at: this.clock.now(),
      })
      .execute();
  }

  /**
   * The settings of the organizations a sign-in concerns: the one asked for (org_code), or —
   * when none is named and the organization is chosen only as the code is issued — every one the
   * user belongs to, so no choice made later can land in an organization that enforces MFA
   * without it.
   */
  async organizationSettingsFor(userId: string, orgCode?: string): Promise<OrganizationMfaSettings[]> {
    let query = this.db
      .selectFrom("organizations")
      .select(["mfa_enforced", "mfa_enabled_factors", "mfa_recovery_codes", "passkey_policy"]);
    query = orgCode
      ? query.where("code", "=", orgCode)
      : query.where("code", "in", (eb) =>
          eb.selectFrom("organization_users").select("org_code").where("user_id", "=", userId),
        );
    const rows = await query.execute();
    return organizationsConcerned(rows, orgCode);
  }

  async organizationSettings(orgCode: string): Promise<OrganizationMfaSettings | undefined> {
    const [settings] = await this.organizationSettingsFor("", orgCode);
    return settings;
  }

  async setOrganizationSettings(
    orgCode: string,
    changes: Partial<OrganizationMfaSettings>,
  ): Promise<boolean> {
    const result = await this.db
      .updateTable("organizations")
      .set({
        ...(changes.enforced !== undefined ? { mfa_enforced: changes.enforced ? 1 : 0 } : {}),
        ...(changes.enabledFactors !== undefined
          ? {
              mfa_enabled_factors:
                changes.enabledFactors === null ? null : JSON.stringify(changes.enabledFactors),
            }
          : {}),
        ...(changes.recoveryCodes !== undefined
          ? { mfa_recovery_codes: changes.recoveryCodes === null ? null : changes.recoveryCodes ? 1 : 0 }
          : {}),
        ...(changes.passkeyPolicy !== undefined ? { passkey_policy: changes.passkeyPolicy } : {}),
        updated_at: this.clock.now(),
      })
      .where("code", "=", orgCode)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async factors(userId: string): Promise<MfaFactor[]> {
    const rows = await this.db
      .selectFrom("mfa_factors")
      .selectAll()
      .where("user_id", "=", userId)
      .orderBy("created_at")
      .orderBy("id")
      .execute();
    return rows.map(factorOf);
  }

  async factor(userId: string, factorId: string): Promise<MfaFactor | undefined> {
    const row = await this.db
      .selectFrom("mfa_factors")
      .selectAll()
      .where("user_id", "=", userId)
      .where("id", "=", factorId)
      .executeTakeFirst();
    return row ? factorOf(row) : undefined;
  }

  /**
   * A confirmed factor of `type` for the user, replacing any earlier one of that type (enrolling an
   * authenticator again moves the account to the new secret; the old one stops working at once).
   */
  async saveFactor(input: {
    userId: string;
    type: MfaFactorType;
    name: string;
    secretSealed: string | null;
    lastUsedStep: number | null;
  }): Promise<MfaFactor> {
    const now = this.clock.now();
    const row = {
      id: newFactorId(),
      user_id: input.userId,
      type: input.type,
      name: input.name.slice(0, 320),
      secret_sealed: input.secretSealed,
      verified_at: now,
      last_used_step: input.lastUsedStep,
      usage_count: input.lastUsedStep === null ? 0 : 1,
      last_used_at: input.lastUsedStep === null ? null : now,
      created_at: now,
    };
    // One statement (an upsert on the (user, type) key): two confirmations racing cannot both
    // insert, and the later one wins whole — id, secret and counters together.
    const { user_id: _user, type: _type, ...replaced } = row;
    await this.db
      .insertInto("mfa_factors")
      .values(row)
      .onConflict((oc) => oc.columns(["user_id", "type"]).doUpdateSet(replaced))
      .execute();
    return factorOf(row);
  }

  /**
   * Records a use of a time-based code: only when its RFC 6238 step is later than the last one
   * accepted (§5.2: a code works once; two concurrent submissions of one code cannot both win,
   * since the condition and the write are one statement).
   */
  async consumeTotpStep(factorId: string, step: number): Promise<boolean> {
    const result = await this.db
      .updateTable("mfa_factors")
      .set((eb) => ({
        last_used_step: step,
        usage_count: eb("usage_count", "+", 1),
        last_used_at: this.clock.now(),
      }))
      .where("id", "=", factorId)
      .where((eb) => eb.or([eb("last_used_step", "is", null), eb("last_used_step", "<", step)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Counts a use of a factor that has no replay state of its own (an e-mailed code). */
  async recordUse(userId: string, type: MfaFactorType, name: string): Promise<void> {
    const now = this.clock.now();
    const updated = await this.db
      .updateTable("mfa_factors")
      .set((eb) => ({ usage_count: eb("usage_count", "+", 1), last_used_at: now, name: name.slice(0, 320) }))
      .where("user_id", "=", userId)
      .where("type", "=", type)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) > 0) return;
    await this.db
      .insertInto("mfa_factors")
      .values({
        id: newFactorId(),
        user_id: userId,
        type,
        name: name.slice(0, 320),
        secret_sealed: null,
        verified_at: now,
        last_used_step: null,
        usage_count: 1,
        last_used_at: now,
        created_at: now,
      })
      .onConflict((oc) => oc.columns(["user_id", "type"]).doNothing())
      .execute();
  }

  async deleteFactor(userId: string, factorId: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom("mfa_factors")
      .where("user_id", "=", userId)
      .where("id", "=", factorId)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Removes every factor and recovery code of the user; how many factors there were. */
  async deleteAll(userId: string): Promise<number> {
    await this.db.deleteFrom("mfa_recovery_codes").where("user_id", "=", userId).execute();
    const result = await this.db.deleteFrom("mfa_factors").where("user_id", "=", userId).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Replaces the user's recovery codes with these (hashes of fresh codes). */
  async replaceRecoveryCodes(userId: string, hashes: readonly string[]): Promise<void> {
    await this.db.deleteFrom("mfa_recovery_codes").where("user_id", "=", userId).execute();
    const now = this.clock.now();
    if (hashes.length === 0) return;
    await this.db
      .insertInto("mfa_recovery_codes")
      .values(hashes.map((code_hash) => ({ code_hash, user_id: userId, created_at: now, used_at: null })))
      .execute();
  }

  /** Uses a recovery code of this user, once: a conditional UPDATE, so a code cannot be used twice. */
  async consumeRecoveryCode(userId: string, typed: string): Promise<boolean> {
    const result = await this.db
      .updateTable("mfa_recovery_codes")
      .set({ used_at: this.clock.now() })
      .where("code_hash", "=", recoveryCodeHash(userId, typed))
      .where("user_id", "=", userId)
      .where("used_at", "is", null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async unusedRecoveryCodes(userId: string): Promise<number> {
    const row = await this.db
      .selectFrom("mfa_recovery_codes")
      .select((eb) => eb.fn.countAll<number | string>().as("n"))
      .where("user_id", "=", userId)
      .where("used_at", "is", null)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }
}

function factorOf(row: {
  id: string;
  user_id: string;
  type: MfaFactorType;
  name: string;
  secret_sealed: string | null;
  verified_at: number | null;
  usage_count: number;
  last_used_at: number | null;
  created_at: number;
}): MfaFactor {
  return {
    id: row.id,
    userId: row.user_id,
    type: row.type,
    name: row.name,
    secretSealed: row.secret_sealed,
    verifiedAt: row.verified_at === null ? null : Number(row.verified_at),
    usageCount: Number(row.usage_count),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
    createdAt: Number(row.created_at),
  };
}
