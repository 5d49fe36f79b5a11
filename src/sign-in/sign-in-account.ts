// A password sign-in's one read of the account (issue 21): the user row and, as one JSON column,
// the organizations it belongs to with what the steps after the password ask of them — suspension,
// the default flag, when it last entered each, their MFA settings. The checks then run on it in the
// application, as they do on their own reads elsewhere: the MFA policy (MfaService.requirement with
// the settings given), org_code membership (organizationRefusal), and the organization the sign-in
// enters (organizationChoice, chooseOrganization's rule) — which the sign-in's one write then holds
// to (sign-in-writes.ts). On PostgreSQL this is one round trip where there were three, and a
// prepared statement (src/storage/prepared.ts): planning it took 136 µs of PostgreSQL's CPU per
// sign-in, running it 28 µs (pg_stat_statements during bench/targets.ts sign-in).
import { jsonArrayFrom as postgresArray } from "kysely/helpers/postgres";
import { jsonArrayFrom as sqliteArray } from "kysely/helpers/sqlite";
import { isPostgres } from "../management/listing.js";
import { type OrganizationMfaColumns, organizationsConcerned } from "../mfa/mfa.store.js";
import type { OrganizationMfaSettings } from "../mfa/policy.js";
import { type OrganizationRefusal, organizationChoice } from "../organizations/claims.js";
import type { Db } from "../storage/database.js";
import { prepared } from "../storage/prepared.js";
import { canonicalEmail } from "../users/email.js";
import { ALL_USER_COLUMNS, type User } from "../users/users.store.js";

/** One organization the account belongs to, as read with it. */
export interface SignInMembership extends OrganizationMfaColumns {
  code: string;
  suspended: boolean;
  isDefault: boolean;
  lastAccessedAt: number | null;
}

/** The account and its memberships, oldest membership first (OrganizationsStore.ofUser's order). */
export interface SignInAccount {
  user: User;
  memberships: SignInMembership[];
}

interface MembershipRow extends OrganizationMfaColumns {
  code: string;
  is_suspended: number;
  is_default: number;
  last_accessed_at: number | null;
}

const ACCOUNT_FOR_SIGN_IN = prepared("sign_in_account", (db, values: { email: string }) => {
  const array = isPostgres(db) ? postgresArray : sqliteArray;
  return db
    .selectFrom("users")
    .select(ALL_USER_COLUMNS.map((column) => `users.${column}` as const))
    .select((eb) =>
      array(
        eb
          .selectFrom("organization_users")
          .innerJoin("organizations", "organizations.code", "organization_users.org_code")
          .select([
            "organizations.code",
            "organizations.is_suspended",
            "organizations.is_default",
            "organization_users.last_accessed_at",
            "organizations.mfa_enforced",
            "organizations.mfa_enabled_factors",
            "organizations.mfa_recovery_codes",
            "organizations.passkey_policy",
          ])
          .whereRef("organization_users.user_id", "=", "users.id")
          .orderBy("organization_users.joined_at")
          .orderBy("organizations.code"),
      ).as("sign_in_memberships"),
    )
    .where("users.email", "=", values.email);
});

/** The account with this (canonical) e-mail address and its memberships, in one statement. */
export async function findAccountForSignIn(db: Db, email: string): Promise<SignInAccount | undefined> {
  const row = await ACCOUNT_FOR_SIGN_IN.first(db, { email: canonicalEmail(email) });
  if (!row) return undefined;
  const { sign_in_memberships: memberships, ...user } = row;
  // PostgreSQL's driver parses json; SQLite returns the text.
  const parsed: unknown = typeof memberships === "string" ? JSON.parse(memberships) : memberships;
  const rows = Array.isArray(parsed) ? (parsed as MembershipRow[]) : [];
  return {
    user,
    memberships: rows.map((m) => ({
      code: m.code,
      suspended: Number(m.is_suspended) === 1,
      isDefault: Number(m.is_default) === 1,
      lastAccessedAt: m.last_accessed_at === null ? null : Number(m.last_accessed_at),
      mfa_enforced: Number(m.mfa_enforced),
      mfa_enabled_factors: m.mfa_enabled_factors,
      mfa_recovery_codes: m.mfa_recovery_codes === null ? null : Number(m.mfa_recovery_codes),
      passkey_policy: m.passkey_policy,
    })),
  };
}

/**
 * The MFA settings of the organizations a sign-in into `orgCode` concerns (MfaStore's
 * organizationSettingsFor), when the memberships answer it: not for an organization the account
 * does not belong to (an invitation's, before it is accepted), which is read as before.
 */
export function mfaSettingsKnown(
  account: SignInAccount,
  orgCode: string | undefined,
): OrganizationMfaSettings[] | undefined {
  if (orgCode === undefined) return organizationsConcerned(account.memberships, undefined);
  const asked = account.memberships.find((m) => m.code === orgCode);
  return asked ? organizationsConcerned([asked], orgCode) : undefined;
}

/** chooseOrganization's choice on the memberships read (`requested`: the org_code asked for). */
export function expectedOrganization(
  account: SignInAccount,
  requested: string | undefined,
): Promise<{ orgCode: string | null } | { refused: OrganizationRefusal }> {
  const { memberships } = account;
  // The default organization matters only among the account's own (usualOrganization).
  const store = { findDefault: async () => memberships.find((m) => m.isDefault) };
  return organizationChoice(store, memberships, requested);
}
