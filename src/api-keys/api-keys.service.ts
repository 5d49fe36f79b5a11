// API keys for customers' APIs (Kinde's /api/v1/api_keys): made and rotated by administrators,
// verified by the customer's API (POST /api/v1/api_keys/verify) whenever a caller presents one.
//
// A key is `lk_<lookup>_<secret>`: the lookup (16 hex, 64 bits) is its visible prefix, unique and
// indexed, so verifying is one indexed read; the secret is 43 alphanumerics (~256 bits). Only the
// SHA-256 of the whole key is stored, and the presented key's hash is compared with it in constant
// time. SHA-256 is the right hash here, not argon2: a slow hash exists to make guessing a
// low-entropy password expensive, and nobody guesses 256 random bits however fast the hash; a slow
// one would only make every verification cost tens of milliseconds of CPU, for the customer's API
// on every request it serves and for anyone flooding the public endpoint.
import type { Clock } from "../clock.js";
import { randomAlphanumeric, randomHex, safeEqual, sha256 } from "../crypto/random.js";
import { type Db, inTransaction } from "../storage/database.js";
import type { ApiKeyType } from "../storage/schema.js";
import { type ApiKeyFilter, type ApiKeyRow, ApiKeysStore, type KeyScope } from "./api-keys.store.js";

const KEY = /^lk_([0-9a-f]{16})_[A-Za-z0-9]{43}$/;
/** Compared against when no key has the lookup, so an unknown prefix costs what a known one does. */
const NO_KEY_HASH = sha256("latchkey: no API key has this lookup");

interface NewSecret {
  key: string;
  lookup: string;
  keyHash: string;
  suffix: string;
}

function newSecret(): NewSecret {
  const lookup = randomHex(8);
  const key = `lk_${lookup}_${randomAlphanumeric(43)}`;
  return { key, lookup, keyHash: sha256(key), suffix: key.slice(-4) };
}

/** The visible prefix administrators see (Kinde's key_prefix): everything before the secret. */
export const keyPrefix = (row: Pick<ApiKeyRow, "lookup">) => `lk_${row.lookup}`;

export interface NewApiKey {
  name: string;
  type: ApiKeyType;
  apiId: string;
  scopeIds: readonly string[];
  userId: string | null;
  orgCode: string | null;
  /** Who made it, as the list shows them (a person's name, or the application's). */
  createdBy: string | null;
}

export type CreateOutcome =
  | { ok: true; row: ApiKeyRow; key: string }
  | {
      ok: false;
      error: "unknown_api" | "management_api" | "unknown_user" | "unknown_organization" | "owner";
    }
  | { ok: false; error: "unknown_scope"; scopeId: string };

export type VerifyOutcome = { ok: true; row: ApiKeyRow; scopes: KeyScope[] } | { ok: false };

export class ApiKeysService {
  readonly store: ApiKeysStore;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {
    this.store = new ApiKeysStore(db);
  }

  /** Makes a key; the key itself is in the outcome and nowhere else, ever. Errors are values. */
  async create(input: NewApiKey): Promise<CreateOutcome> {
    // Owned by exactly what its type says: a user, an organization, or neither (the environment).
    const owner = { user: input.userId !== null, organization: input.orgCode !== null };
    if (owner.user !== (input.type === "user") || owner.organization !== (input.type === "organization"))
      return { ok: false, error: "owner" };
    const api = await this.db.selectFrom("apis").selectAll().where("id", "=", input.apiId).executeTakeFirst();
    if (!api) return { ok: false, error: "unknown_api" };
    // The Management API is Latchkey's own: its callers use tokens, and no key could reach it.
    if (api.is_management_api === 1) return { ok: false, error: "management_api" };
    const scopeIds = [...new Set(input.scopeIds)];
    const scopes = scopeIds.length
      ? await this.db
          .selectFrom("api_scopes")
          .select("id")
          .where("api_id", "=", api.id)
          .where("id", "in", scopeIds)
          .execute()
      : [];
    const missing = scopeIds.find((id) => !scopes.some((s) => s.id === id));
    if (missing !== undefined) return { ok: false, error: "unknown_scope", scopeId: missing };
    if (input.userId !== null) {
      const user = await this.db
        .selectFrom("users")
        .select("id")
        .where("id", "=", input.userId)
        .executeTakeFirst();
      if (!user) return { ok: false, error: "unknown_user" };
    }
    if (input.orgCode !== null) {
      const org = await this.db
        .selectFrom("organizations")
        .select("code")
        .where("code", "=", input.orgCode)
        .executeTakeFirst();
      if (!org) return { ok: false, error: "unknown_organization" };
    }
    const secret = newSecret();
    const row: ApiKeyRow = {
      id: `api_key_${randomHex(16)}`,
      name: input.name,
      type: input.type,
      status: "active",
      lookup: secret.lookup,
      key_hash: secret.keyHash,
      key_suffix: secret.suffix,
      api_id: api.id,
      user_id: input.userId,
      org_code: input.orgCode,
      created_by: input.createdBy,
      created_at: this.clock.now(),
      rotated_at: null,
      last_verified_at: null,
      last_verified_ip: null,
      verification_count: 0,
    };
    await inTransaction(this.db, async (trx) => {
      const { status, rotated_at, last_verified_at, last_verified_ip, verification_count, ...insert } = row;
      await new ApiKeysStore(trx).insert(insert, scopeIds);
    });
    return { ok: true, row, key: secret.key };
  }

  /** One page of keys in creation order after `startingAfter` (a key id); undefined when it names none. */
  async list(
    filter: ApiKeyFilter,
    limit: number,
    startingAfter?: string,
  ): Promise<{ rows: ApiKeyRow[]; hasMore: boolean } | undefined> {
    const after = startingAfter ? await this.store.find(startingAfter) : undefined;
    if (startingAfter && !after) return undefined;
    const rows = await this.store.page(filter, limit, after);
    return { rows: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  /** A new key for the same id, API, scopes and owner; the old key is refused from now on. */
  async rotate(id: string): Promise<string | undefined> {
    const secret = newSecret();
    const rotated = await this.store.rotate(id, secret, this.clock.now());
    return rotated ? secret.key : undefined;
  }

  /**
   * Whether `key` is a live key: an indexed read by its visible prefix, then the stored hash
   * compared in constant time, always (an unknown prefix is compared against a hash no key has).
   * A good key's verification is counted, with the caller's address.
   */
  async verify(key: string, ip: string): Promise<VerifyOutcome> {
    const lookup = KEY.exec(key)?.[1];
    const row = lookup ? await this.store.findByLookup(lookup) : undefined;
    const matches = safeEqual(sha256(key), row?.key_hash ?? NO_KEY_HASH);
    if (!row || !matches || row.status !== "active") return { ok: false };
    const counted = await this.store.recordVerification(row.id, row.key_hash, ip, this.clock.now());
    // Rotated or deleted between the read and the count: not a key any more.
    if (!counted) return { ok: false };
    const scopes = (await this.store.scopes([row.id])).get(row.id) ?? [];
    return { ok: true, row: counted, scopes };
  }
}
