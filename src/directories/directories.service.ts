// SCIM directories (Kinde's /api/v1/directories): one per organization, each a SCIM 2.0 service
// provider its IdP provisions users and groups into (src/directories/scim.routes.ts).
//
// The bearer token the IdP presents is `kstkn_` + 48 alphanumerics (~285 bits), shown once when
// the directory is made; only its SHA-256 is kept and compared in constant time. SHA-256 is right
// for a random value nobody can guess (see src/api-keys/api-keys.service.ts); the directory is
// found by the endpoint id in the URL, so a token of one directory is compared with another's hash
// and refused.
import type { Clock } from "../clock.js";
import { ConnectionsStore } from "../connections/connections.store.js";
import { randomAlphanumeric, randomHex, safeEqual, sha256 } from "../crypto/random.js";
import type { Db } from "../storage/database.js";
import { uniqueViolation } from "../users/users.store.js";
import { DirectoriesStore, type DirectoryRow } from "./directories.store.js";

/** Kinde's provider codes (CreateDirectory's enum). */
export const PROVIDER_CODES = [
  "entra_id_azure_ad",
  "okta",
  "google_workspace",
  "custom_scim_v2",
  "cyberark",
  "jumpcloud",
  "onelogin",
  "pingfederate",
  "rippling",
] as const;

const TOKEN = /^kstkn_[A-Za-z0-9]{48}$/;
const newToken = () => `kstkn_${randomAlphanumeric(48)}`;
/** Compared against when the endpoint names no directory, so a miss costs what a hit does. */
const NO_DIRECTORY_HASH = sha256("latchkey: no SCIM directory has this endpoint");

export interface NewDirectory {
  orgCode: string;
  name: string;
  providerCode: string;
  enterpriseConnectionId: string | null;
}

export type CreateDirectoryOutcome =
  | { ok: true; row: DirectoryRow; token: string }
  | {
      ok: false;
      error:
        | "unknown_organization"
        | "invalid_provider"
        | "no_enterprise_connections"
        | "enterprise_connection_required"
        | "invalid_enterprise_connection"
        | "no_home_realm_domains"
        | "directory_exists";
    };

export class DirectoriesService {
  readonly store: DirectoriesStore;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {
    this.store = new DirectoriesStore(db);
  }

  /** The SCIM base URL the organization's IdP is given (Okta's "base URL", Entra's "tenant URL"). */
  static baseUrl(issuer: string, row: Pick<DirectoryRow, "endpoint_id">): string {
    return `${issuer}/scim/v2/${row.endpoint_id}`;
  }

  /**
   * Makes a directory for an organization, as Kinde's CreateDirectory: the organization must have
   * an enabled enterprise connection (its provisioned users sign in with it), named when it has
   * several. The token is in the outcome and nowhere else, ever. Latchkey also refuses a
   * connection without home-realm domains: a directory provisions only addresses in them
   * (scim-domains.ts), so such a directory could provision nobody.
   */
  async create(input: NewDirectory): Promise<CreateDirectoryOutcome> {
    if (!(PROVIDER_CODES as readonly string[]).includes(input.providerCode))
      return { ok: false, error: "invalid_provider" };
    const org = await this.db
      .selectFrom("organizations")
      .select("code")
      .where("code", "=", input.orgCode)
      .executeTakeFirst();
    if (!org) return { ok: false, error: "unknown_organization" };
    if (await this.store.findByOrganization(org.code)) return { ok: false, error: "directory_exists" };
    const connections = await this.store.enterpriseConnections(org.code);
    if (connections.length === 0) return { ok: false, error: "no_enterprise_connections" };
    let connectionId = input.enterpriseConnectionId;
    if (connectionId === null) {
      if (connections.length > 1) return { ok: false, error: "enterprise_connection_required" };
      connectionId = connections[0]!.id;
    } else if (!connections.some((c) => c.id === connectionId)) {
      return { ok: false, error: "invalid_enterprise_connection" };
    }
    const domains = await new ConnectionsStore(this.db).domains([connectionId]);
    if ((domains.get(connectionId) ?? []).length === 0) return { ok: false, error: "no_home_realm_domains" };
    const token = newToken();
    const now = this.clock.now();
    const row: DirectoryRow = {
      id: `directory_${randomHex(16)}`,
      endpoint_id: `ksde_${randomHex(16)}`,
      name: input.name,
      provider_code: input.providerCode,
      org_code: org.code,
      enterprise_connection_id: connectionId,
      token_hash: sha256(token),
      status: "Pending",
      created_at: now,
      updated_at: now,
      last_sync_started_at: null,
      last_sync_completed_at: null,
      last_sync_error: null,
      assignable_role_keys: "[]",
    };
    try {
      await this.store.insert(row);
    } catch (error) {
      // Another request made this organization's directory first (the unique org_code).
      if (uniqueViolation(error)) return { ok: false, error: "directory_exists" };
      throw error;
    }
    return { ok: true, row, token };
  }

  /** One page in creation order after `startingAfter`; undefined when it names no directory. */
  async list(
    limit: number,
    startingAfter: string | undefined,
    orgCode: string | undefined,
  ): Promise<{ rows: DirectoryRow[]; hasMore: boolean } | undefined> {
    const after = startingAfter ? await this.store.find(startingAfter) : undefined;
    if (startingAfter && !after) return undefined;
    const rows = await this.store.page(limit, after, orgCode);
    return { rows: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  /**
   * Renames the directory and/or sets the role keys its groups may grant (each must name a role;
   * the unknown ones are returned and nothing changes).
   */
  async update(
    id: string,
    changes: { name?: string; assignableRoleKeys?: readonly string[] },
  ): Promise<{ row: DirectoryRow } | { unknownRoleKeys: string[] } | undefined> {
    const keys = changes.assignableRoleKeys ? [...new Set(changes.assignableRoleKeys)] : undefined;
    if (keys && keys.length > 0) {
      const found = await this.db.selectFrom("roles").select("key").where("key", "in", keys).execute();
      const known = new Set(found.map((r) => r.key));
      const unknown = keys.filter((k) => !known.has(k));
      if (unknown.length > 0) return { unknownRoleKeys: unknown };
    }
    const set = {
      ...(changes.name === undefined ? {} : { name: changes.name }),
      ...(keys === undefined ? {} : { assignable_role_keys: JSON.stringify(keys) }),
    };
    if (!(await this.store.update(id, set, this.clock.now()))) return undefined;
    const row = await this.store.find(id);
    return row ? { row } : undefined;
  }

  /**
   * A new bearer token for the directory (a Latchkey extension: Kinde's API cannot), shown once;
   * the one before stops working at once, so a token that leaked is dead as soon as this answers.
   * The endpoint stays: the IdP needs only the new token.
   */
  async rotateToken(
    id: string,
  ): Promise<{ row: DirectoryRow; token: string } | { conflict: true } | undefined> {
    const before = await this.store.find(id);
    if (!before) return undefined;
    const token = newToken();
    // Only over the token read: of two rotations at once, one answers a token that works and the
    // other a conflict, never a token already replaced.
    const set = { token_hash: sha256(token) };
    if (!(await this.store.update(id, set, this.clock.now(), before.token_hash))) return { conflict: true };
    const row = await this.store.find(id);
    return row ? { row, token } : undefined;
  }

  /**
   * The directory a SCIM request is for, when `authorization` carries its token: the endpoint id
   * finds it, the token's hash is compared in constant time, always (against a hash no directory
   * has when the endpoint is unknown).
   */
  async authenticate(
    endpointId: string,
    authorization: string | undefined,
  ): Promise<DirectoryRow | undefined> {
    const match = /^Bearer ([^\s]+)$/i.exec(authorization ?? "");
    const token = match?.[1] ?? "";
    const row = /^ksde_[0-9a-f]{32}$/.test(endpointId)
      ? await this.store.findByEndpoint(endpointId)
      : undefined;
    const matches = safeEqual(sha256(token), row?.token_hash ?? NO_DIRECTORY_HASH);
    return row && matches && TOKEN.test(token) ? row : undefined;
  }
}
