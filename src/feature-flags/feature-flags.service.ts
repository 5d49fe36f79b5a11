// Feature flags: a typed definition with a default value, overridden for the environment, then an
// organization, then a user — each level only where the flag's allow_override_level reaches. Values
// travel as text in Kinde's Management API ("true", "42") and typed in tokens ({t, v}, COMPAT §1.4).
import type { Selectable } from "kysely";
import type { Clock } from "../clock.js";
import { randomHex } from "../crypto/random.js";
import type { Db } from "../storage/database.js";
import type { FeatureFlagOverrideLevel, FeatureFlagsTable, FeatureFlagType } from "../storage/schema.js";

export type FeatureFlagRow = Selectable<FeatureFlagsTable>;

/** Token type letters (Kinde's `t`): b = boolean, i = integer, s = string. */
const TOKEN_TYPES: Record<FeatureFlagType, "b" | "i" | "s"> = { bool: "b", int: "i", str: "s" };
/** The Account API's type names. */
export const ACCOUNT_TYPES: Record<FeatureFlagType, string> = {
  bool: "boolean",
  int: "integer",
  str: "string",
};

const LEVELS: readonly FeatureFlagOverrideLevel[] = ["env", "org", "usr"];

/** Whether a flag may be overridden at `level` (env < org < usr). */
export function overridable(flag: FeatureFlagRow, level: FeatureFlagOverrideLevel): boolean {
  return LEVELS.indexOf(level) <= LEVELS.indexOf(flag.allow_override_level);
}

/** Why a text value is not a value of `type`, or undefined when it is. */
export function valueProblem(type: FeatureFlagType, value: string): string | undefined {
  if (type === "bool" && value !== "true" && value !== "false") return 'must be "true" or "false"';
  if (type === "int" && !(/^-?\d{1,15}$/.test(value) && Number.isSafeInteger(Number(value))))
    return "must be a whole number";
  if (type === "str" && value.length > 1000) return "must be at most 1000 characters";
  return undefined;
}

export function typedValue(type: FeatureFlagType, value: string): boolean | number | string {
  if (type === "bool") return value === "true";
  if (type === "int") return Number(value);
  return value;
}

export class FeatureFlagKeyTakenError extends Error {
  constructor(readonly key: string) {
    super(`A feature flag with the key ${key} already exists`);
    this.name = "FeatureFlagKeyTakenError";
  }
}

export interface FeatureFlagInput {
  key: string;
  name: string;
  description: string | null;
  type: FeatureFlagType;
  allow_override_level: FeatureFlagOverrideLevel;
  default_value: string;
}

/** A flag's value for someone, resolved through the override levels. */
export interface ResolvedFlag {
  flag: FeatureFlagRow;
  value: boolean | number | string;
}

export class FeatureFlagsService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  find(key: string): Promise<FeatureFlagRow | undefined> {
    return this.db.selectFrom("feature_flags").selectAll().where("key", "=", key).executeTakeFirst();
  }

  all(): Promise<FeatureFlagRow[]> {
    return this.db.selectFrom("feature_flags").selectAll().orderBy("key").execute();
  }

  async create(input: FeatureFlagInput): Promise<void> {
    const now = this.clock.now();
    const result = await this.db
      .insertInto("feature_flags")
      .values({
        ...input,
        id: `flag_${randomHex(16)}`,
        environment_value: null,
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0) === 0) throw new FeatureFlagKeyTakenError(input.key);
  }

  /**
   * Replaces a definition (Kinde's PUT). Overrides that no longer fit — a value of the old type,
   * or a level the flag no longer allows — are dropped so no token carries an ill-typed value.
   */
  async replace(flag: FeatureFlagRow, input: Omit<FeatureFlagInput, "key">): Promise<void> {
    const typeChanged = input.type !== flag.type;
    const next = { ...flag, ...input };
    await this.db
      .updateTable("feature_flags")
      .set({
        ...input,
        environment_value: typeChanged ? null : flag.environment_value,
        updated_at: this.clock.now(),
      })
      .where("key", "=", flag.key)
      .execute();
    if (typeChanged || !overridable(next, "org"))
      await this.db.deleteFrom("organization_feature_flags").where("flag_key", "=", flag.key).execute();
    if (typeChanged || !overridable(next, "usr"))
      await this.db.deleteFrom("user_feature_flags").where("flag_key", "=", flag.key).execute();
  }

  async delete(key: string): Promise<void> {
    await this.db.deleteFrom("feature_flags").where("key", "=", key).execute();
  }

  async setEnvironmentValue(key: string, value: string | null): Promise<void> {
    await this.db
      .updateTable("feature_flags")
      .set({ environment_value: value, updated_at: this.clock.now() })
      .where("key", "=", key)
      .execute();
  }

  async clearEnvironmentValues(): Promise<void> {
    await this.db
      .updateTable("feature_flags")
      .set({ environment_value: null, updated_at: this.clock.now() })
      .where("environment_value", "is not", null)
      .execute();
  }

  async setOrganizationValue(orgCode: string, key: string, value: string): Promise<void> {
    await this.db
      .insertInto("organization_feature_flags")
      .values({ org_code: orgCode, flag_key: key, value })
      .onConflict((oc) => oc.columns(["org_code", "flag_key"]).doUpdateSet({ value }))
      .execute();
  }

  async deleteOrganizationValues(orgCode: string, key?: string): Promise<void> {
    let query = this.db.deleteFrom("organization_feature_flags").where("org_code", "=", orgCode);
    if (key !== undefined) query = query.where("flag_key", "=", key);
    await query.execute();
  }

  async organizationValues(orgCode: string): Promise<Map<string, string>> {
    const rows = await this.db
      .selectFrom("organization_feature_flags")
      .select(["flag_key", "value"])
      .where("org_code", "=", orgCode)
      .execute();
    return new Map(rows.map((r) => [r.flag_key, r.value]));
  }

  async setUserValue(userId: string, key: string, value: string): Promise<void> {
    await this.db
      .insertInto("user_feature_flags")
      .values({ user_id: userId, flag_key: key, value })
      .onConflict((oc) => oc.columns(["user_id", "flag_key"]).doUpdateSet({ value }))
      .execute();
  }

  /**
   * Every flag's value for a user signed into an organization (or none): user override, then the
   * organization's, then the environment's, then the default — each only where allowed. Another
   * organization's overrides never apply.
   */
  async resolve(userId: string, orgCode: string | null): Promise<ResolvedFlag[]> {
    // One query (it runs at every token issue and refresh): each flag with this organization's and
    // this user's overrides beside it.
    const rows = await this.db
      .selectFrom("feature_flags")
      .leftJoin("organization_feature_flags as org", (join) =>
        join.onRef("org.flag_key", "=", "feature_flags.key").on("org.org_code", "=", orgCode ?? ""),
      )
      .leftJoin("user_feature_flags as usr", (join) =>
        join.onRef("usr.flag_key", "=", "feature_flags.key").on("usr.user_id", "=", userId),
      )
      .selectAll("feature_flags")
      .select(["org.value as org_value", "usr.value as user_value"])
      .orderBy("feature_flags.key")
      .execute();
    return rows.map((row) => resolveFlag(row, orgCode));
  }
}

/** A flag's value from its row and the overrides beside it (`orgCode`: the organization entered). */
export function resolveFlag(
  {
    org_value,
    user_value,
    ...flag
  }: FeatureFlagRow & { org_value: string | null; user_value: string | null },
  orgCode: string | null,
): ResolvedFlag {
  let text = flag.default_value;
  if (flag.environment_value !== null) text = flag.environment_value;
  if (orgCode !== null && org_value !== null && overridable(flag, "org")) text = org_value;
  if (user_value !== null && overridable(flag, "usr")) text = user_value;
  return { flag, value: typedValue(flag.type, text) };
}

/** Kinde's `feature_flags` access-token claim: { key: { t, v } }. */
export function flagsClaim(flags: readonly ResolvedFlag[]): Record<string, { t: string; v: unknown }> {
  return Object.fromEntries(
    flags.map(({ flag, value }) => [flag.key, { t: TOKEN_TYPES[flag.type], v: value }]),
  );
}
