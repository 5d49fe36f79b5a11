// The claims cache of PostgreSQL's code exchanges and refreshes (migration 0045; docs/performance.md,
// "The claims cache"): the statement that computes a user's cached claim parts with the versions
// they are as new as, the digest that names its format, and what a read makes of a row found or not.
import { sql } from "kysely";
import { sha256 } from "../crypto/random.js";
import { isPostgres } from "../management/listing.js";
import type { Db } from "../storage/database.js";
import { prepared } from "../storage/prepared.js";
import type { ClaimsCacheEntry, UserRecord } from "./ports.js";
import { CACHED_PARTS, type ClaimColumnsRow, claimColumns } from "./token-claims.store.js";

/** PostgreSQL: the cached parts of a user's claims, with the versions they are as new as. */
function cachedClaimParts(db: Db, values: { userId: string; orgCode: string | null }) {
  return db
    .selectNoFrom([
      sql<string>`coalesce((select version from user_claims_versions where user_id = ${values.userId}), 0)`.as(
        "user_version",
      ),
      sql<string | null>`(select generation from claims_generation where id = 1)`.as("claims_generation"),
    ])
    .select(
      claimColumns(
        db,
        {
          userId: sql<string>`${values.userId}`,
          orgCode: sql<string | null>`${values.orgCode}`,
          sessionId: sql<null>`null`,
        },
        CACHED_PARTS,
      ),
    );
}
const CACHED_CLAIM_PARTS = prepared("cached_claim_parts", cachedClaimParts);

/** The digest of the statement that computes the cached parts: a row's format (migration 0045). */
let cacheFormat: string | undefined;
export function claimsCacheFormat(db: Db): string {
  if (cacheFormat === undefined) {
    // Its text and its constants (values are parameters too: "" and null here, placeholders
    // there). Compiled once per process: building it costs as much as a refresh's statements.
    const compiled = cachedClaimParts(db, { userId: "", orgCode: null }).compile();
    cacheFormat = sha256(`${compiled.sql}\n${JSON.stringify(compiled.parameters)}`).slice(0, 16);
  }
  return cacheFormat;
}

/**
 * The claim parts of a code's or refresh token's read row: from its cached row when one was found,
 * else (on PostgreSQL) computed by a second statement, with the row for the consume to write.
 */
export async function claimsOfRead(
  db: Db,
  row: ClaimColumnsRow & { claim_cached: string | null },
  user: UserRecord | undefined,
  orgCode: string | null,
  format: string,
): Promise<{ parts: ClaimColumnsRow; claimsCache?: ClaimsCacheEntry }> {
  const cached = cachedPartsOf(row.claim_cached);
  if (cached) return { parts: { ...row, ...cached } };
  if (!user || !isPostgres(db)) return { parts: row };
  const computed = await CACHED_CLAIM_PARTS.first(db, { userId: user.id, orgCode });
  if (!computed) return { parts: row };
  const fresh = Object.fromEntries(CACHED_PARTS.map((name) => [name, computed[name]])) as CachedParts;
  const parts = { ...row, ...fresh };
  // Without the generation's row (removed by hand) nothing is cached: it could never be found.
  if (computed.claims_generation === null) return { parts };
  return {
    parts,
    claimsCache: {
      userId: user.id,
      orgCode: orgCode ?? "",
      format,
      userVersion: Number(computed.user_version),
      claimsGeneration: Number(computed.claims_generation),
      parts: JSON.stringify(fresh),
    },
  };
}

type CachedParts = Pick<ClaimColumnsRow, (typeof CACHED_PARTS)[number]>;

/** A cached row's parts; undefined when there is none or it does not parse (computed again then). */
function cachedPartsOf(text: string | null): CachedParts | undefined {
  if (text === null) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === "object" ? (parsed as CachedParts) : undefined;
  } catch {
    return undefined;
  }
}
