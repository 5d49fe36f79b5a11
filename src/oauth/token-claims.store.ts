// What a user's tokens carry beyond the protocol's own, read in ONE statement (issue 21): each part
// (organizations, permissions, roles, feature flags with their overrides, property values, the
// session's proof) is a scalar subquery aggregating its rows into a JSON array — json_agg on
// PostgreSQL, json_group_array on SQLite (JSON1, built into better-sqlite3) — so on PostgreSQL they
// cost one round trip instead of six. The subjects are expressions, so the same columns also ride on
// the statement that consumes a code or a refresh token (token-redeem.store.ts). Which properties
// are public is configuration, read through the configuration cache (config-cache.ts): read with
// every token it was a tenth of a refresh's storage work on either database (docs/performance.md,
// "Where a refresh's storage work goes"). The rules that turn these rows into claims stay in
// organizations/claims.ts.
import { type Expression, type RawBuilder, sql } from "kysely";
import { jsonArrayFrom as postgresArray } from "kysely/helpers/postgres";
import { jsonArrayFrom as sqliteArray } from "kysely/helpers/sqlite";
import { isPostgres } from "../management/listing.js";
import { buildUserClaims, type UserClaimRows } from "../organizations/claims.js";
import type { Db } from "../storage/database.js";
import { prepared } from "../storage/prepared.js";
import { sessionProofOf } from "../users/external-identities.store.js";
import type { PublicPropertyDefinition, UserTokenClaims } from "./ports.js";

/** Whose claims: the user, the organization asked for (null: none), the session that signed in. */
export interface ClaimSubjects {
  userId: Expression<string>;
  orgCode: Expression<string | null>;
  sessionId: Expression<string | null>;
}

/** The parts a claims_cache row holds (migration 0045): all but the session's (one row by key). */
export const CACHED_PARTS = [
  "claim_memberships",
  "claim_permissions",
  "claim_roles",
  "claim_flags",
  "claim_user_values",
  "claim_org_values",
] as const;
type ClaimPart = keyof ClaimColumnsRow;

/**
 * The select-list columns (claim_*) that read everything the claims need, or only the parts named:
 * a part left out costs nothing (PostgreSQL sets up every subplan of a statement at each execution,
 * run or not, so a part is left out of the statement rather than skipped in it).
 */
export function claimColumns(db: Db, who: ClaimSubjects, only?: readonly ClaimPart[]) {
  const array = isPostgres(db) ? postgresArray : sqliteArray;
  const wanted = (name: ClaimPart) => only === undefined || only.includes(name);
  const part = <T>(aggregate: () => RawBuilder<T>, name: ClaimPart) =>
    wanted(name) ? [aggregate().as(name)] : [];
  return [
    ...part(
      () =>
        array(
          db
            .selectFrom("organization_users")
            .innerJoin("organizations", "organizations.code", "organization_users.org_code")
            // Not last_accessed_at: written at every sign-in, in no token, and behind no trigger.
            .select(["organizations.code", "organizations.name", "organizations.is_suspended"])
            .where("organization_users.user_id", "=", who.userId)
            .orderBy("organization_users.joined_at")
            .orderBy("organizations.code"),
        ),
      "claim_memberships",
    ),
    // Direct and through a role (roles.store.ts memberPermissionKeys); kept only for the
    // organization entered (claims.ts decides which that is). One IN over a UNION of both: two
    // ORed INs made PostgreSQL scan every permission defined for every token (docs/performance.md:
    // a third slower with 1 000 defined; SQLite, which probed each IN by index, gains a quarter).
    ...part(
      () =>
        array(
          db
            .selectFrom("permissions")
            .select("permissions.key")
            .where("permissions.id", "in", (eb) =>
              eb
                .selectFrom("organization_user_permissions")
                .select("organization_user_permissions.permission_id")
                .where("organization_user_permissions.org_code", "=", who.orgCode)
                .where("organization_user_permissions.user_id", "=", who.userId)
                .union(
                  eb
                    .selectFrom("organization_user_roles")
                    .innerJoin(
                      "role_permissions",
                      "role_permissions.role_id",
                      "organization_user_roles.role_id",
                    )
                    .select("role_permissions.permission_id")
                    .where("organization_user_roles.org_code", "=", who.orgCode)
                    .where("organization_user_roles.user_id", "=", who.userId),
                ),
            ),
        ),
      "claim_permissions",
    ),
    ...part(
      () =>
        array(
          db
            .selectFrom("organization_user_roles")
            .innerJoin("roles", "roles.id", "organization_user_roles.role_id")
            .select(["roles.id", "roles.key", "roles.name"])
            .where("organization_user_roles.org_code", "=", who.orgCode)
            .where("organization_user_roles.user_id", "=", who.userId),
        ),
      "claim_roles",
    ),
    // Each flag with this organization's and this user's overrides (FeatureFlagsService.resolve).
    ...part(
      () =>
        array(
          db
            .selectFrom("feature_flags")
            .leftJoin("organization_feature_flags as org", (join) =>
              join.onRef("org.flag_key", "=", "feature_flags.key").on("org.org_code", "=", who.orgCode),
            )
            .leftJoin("user_feature_flags as usr", (join) =>
              join.onRef("usr.flag_key", "=", "feature_flags.key").on("usr.user_id", "=", who.userId),
            )
            .select([
              "feature_flags.key",
              "feature_flags.id",
              "feature_flags.name",
              "feature_flags.description",
              "feature_flags.type",
              "feature_flags.allow_override_level",
              "feature_flags.default_value",
              "feature_flags.environment_value",
              "feature_flags.created_at",
              "feature_flags.updated_at",
              "org.value as org_value",
              "usr.value as user_value",
            ])
            .orderBy("feature_flags.key"),
        ),
      "claim_flags",
    ),
    // This user's and this organization's property values, each one index range. Which properties
    // are public (their definitions) is configuration: the caller brings it, from the
    // configuration cache (publicProperties), and claimRowsOf pairs the values up with it.
    ...part(
      () =>
        array(
          db
            .selectFrom("user_property_values as u")
            .select(["u.property_id", "u.value"])
            .where("u.user_id", "=", who.userId),
        ),
      "claim_user_values",
    ),
    ...part(
      () =>
        array(
          db
            .selectFrom("organization_property_values as o")
            .select(["o.property_id", "o.value"])
            .where("o.org_code", "=", who.orgCode),
        ),
      "claim_org_values",
    ),
    // What the sign-in proved (ExternalIdentitiesStore.proofOfSession): at most one row.
    ...part(
      () =>
        array(
          db
            .selectFrom("browser_sessions as s")
            .leftJoin("external_identities as i", "i.id", "s.external_identity_id")
            .leftJoin("sign_in_connections as c", "c.id", "i.connection_id")
            .select(["s.amr", "i.connection_id", "i.claims", "c.name"])
            .where("s.id", "=", who.sessionId),
        ),
      "claim_session",
    ),
  ] as const;
}

/** A row carrying the claim_* columns, as the database returned it. */
export interface ClaimColumnsRow {
  claim_memberships: unknown;
  claim_permissions: unknown;
  claim_roles: unknown;
  claim_flags: unknown;
  claim_user_values: unknown;
  claim_org_values: unknown;
  claim_session: unknown;
}

/** PostgreSQL's driver parses json; SQLite returns the text. */
function decoded<T>(value: unknown): T[] {
  const parsed: unknown = typeof value === "string" ? JSON.parse(value) : value;
  return Array.isArray(parsed) ? (parsed as T[]) : [];
}

interface PropertyValue {
  property_id: string;
  value: string | null;
}

function valuesById(value: unknown): Map<string, string | null> {
  return new Map(decoded<PropertyValue>(value).map((row) => [row.property_id, row.value]));
}

export function claimRowsOf(
  row: ClaimColumnsRow,
  properties: readonly PublicPropertyDefinition[],
): UserClaimRows {
  const userValues = valuesById(row.claim_user_values);
  const orgValues = valuesById(row.claim_org_values);
  return {
    memberships: decoded(row.claim_memberships),
    permissions: decoded(row.claim_permissions),
    roles: decoded(row.claim_roles),
    flags: decoded(row.claim_flags),
    properties: properties.map(({ id, context, key }) => ({
      context,
      key,
      user_value: userValues.get(id) ?? null,
      org_value: orgValues.get(id) ?? null,
    })),
  };
}

/**
 * Builds the claims (claims.ts rules) and the proof from a row carrying the claim_* columns and the
 * public property definitions.
 */
export function tokenClaimsOf(
  row: ClaimColumnsRow,
  orgCode: string | null,
  properties: readonly PublicPropertyDefinition[],
): UserTokenClaims {
  const claims = buildUserClaims(claimRowsOf(row, properties), orgCode);
  const [session] = decoded<Parameters<typeof sessionProofOf>[0]>(row.claim_session);
  return session ? { claims, proof: sessionProofOf(session) } : { claims };
}

const PUBLIC_PROPERTIES = prepared("public_properties", (db) =>
  db
    .selectFrom("properties")
    .select(["id", "context", "key"])
    .where("is_private", "=", 0)
    .where("context", "in", ["usr", "org"])
    .orderBy("key"),
);

/** The public user and organization properties' definitions, ordered by key (configuration). */
export async function readPublicProperties(db: Db): Promise<PublicPropertyDefinition[]> {
  return PUBLIC_PROPERTIES.rows(db, {});
}

/**
 * The rows of a user's claims, in one statement, with the public properties' definitions (from the
 * configuration cache when the caller has it: asked for at once, so a read of them runs meanwhile).
 */
export async function readUserClaimRows(
  db: Db,
  userId: string,
  orgCode: string | null,
  properties: Promise<readonly PublicPropertyDefinition[]>,
) {
  const [row, definitions] = await Promise.all([selectClaimColumns(db, userId, orgCode, null), properties]);
  return claimRowsOf(row, definitions);
}

/** The claims of a user's tokens and the session's proof (as readUserClaimRows reads them). */
export async function readUserTokenClaims(
  db: Db,
  userId: string,
  orgCode: string | null,
  sessionId: string | null,
  properties: Promise<readonly PublicPropertyDefinition[]>,
): Promise<UserTokenClaims> {
  const [row, definitions] = await Promise.all([
    selectClaimColumns(db, userId, orgCode, sessionId),
    properties,
  ]);
  return tokenClaimsOf(row, orgCode, definitions);
}

const CLAIM_COLUMNS = prepared(
  "user_claims",
  (db, values: { userId: string; orgCode: string | null; sessionId: string | null }) =>
    db.selectNoFrom(
      claimColumns(db, {
        userId: sql.val(values.userId),
        orgCode: sql.val(values.orgCode),
        sessionId: sql.val(values.sessionId),
      }),
    ),
);

async function selectClaimColumns(
  db: Db,
  userId: string,
  orgCode: string | null,
  sessionId: string | null,
): Promise<ClaimColumnsRow> {
  const row = await CLAIM_COLUMNS.first(db, { userId, orgCode, sessionId });
  if (!row) throw new Error("a select without FROM returns one row");
  return row;
}
