import type { Clock } from "../clock.js";
import { newId } from "../crypto/random.js";
import { type Db, inTransaction } from "../storage/database.js";
import { type ApiRow, type ApiScopeRow, ApisStore } from "./apis.store.js";

/** Another API already has this audience (audiences are unique: they name the API in tokens). */
export class AudienceTakenError extends Error {
  constructor(readonly audience: string) {
    super(`An API with the audience ${audience} already exists`);
    this.name = "AudienceTakenError";
  }
}

/** The API already has a scope with this key. */
export class ScopeKeyTakenError extends Error {
  constructor(readonly key: string) {
    super(`The API already has a scope ${key}`);
    this.name = "ScopeKeyTakenError";
  }
}

export class UnknownApplicationError extends Error {
  constructor(readonly applicationId: string) {
    super(`Application ${applicationId} not found`);
    this.name = "UnknownApplicationError";
  }
}

/**
 * Why an audience cannot name an API, or undefined when it can. Audiences travel space-separated
 * in authorization requests and as `aud` in tokens, so they are printable ASCII without spaces; a
 * URL must be absolute, and no audience may carry a fragment (RFC 8707 §2).
 */
export function audienceProblem(audience: string): string | undefined {
  if (!/^[\x21-\x7e]+$/.test(audience)) return "must be printable ASCII without spaces";
  if (audience.includes("#")) return "must not contain a fragment (#)";
  if (/^https?:/i.test(audience)) {
    let url: URL;
    try {
      url = new URL(audience);
    } catch {
      return "is not a valid URL";
    }
    if (!url.hostname) return "must be an absolute URL with a host";
  }
  return undefined;
}

/** RFC 6749 §3.3 scope-token: 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
/** OpenID Connect's scopes mean something else in authorization requests; an API cannot define them. */
const RESERVED_SCOPES = new Set([
  "openid",
  "profile",
  "email",
  "offline",
  "offline_access",
  "address",
  "phone",
]);

/** Why a key cannot name a scope, or undefined when it can. */
export function scopeKeyProblem(key: string): string | undefined {
  if (!SCOPE_TOKEN.test(key))
    return "must be a scope token (RFC 6749 §3.3): printable ASCII without spaces, quotes or backslashes";
  if (RESERVED_SCOPES.has(key)) return `${key} is reserved for OpenID Connect`;
  return undefined;
}

/** The outcome of authorizing and deauthorizing applications for an API. */
export interface ApplicationChanges {
  connected: string[];
  disconnected: string[];
}

export class ApisService {
  readonly store: ApisStore;
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {
    this.store = new ApisStore(db);
  }

  /** Registers an API; throws AudienceTakenError when another API has the audience. */
  async create(input: { name: string; audience: string; isManagementApi?: boolean }): Promise<ApiRow> {
    const id = newId.apiId();
    // ON CONFLICT DO NOTHING rather than catching the unique violation: on PostgreSQL a failed
    // statement would poison the surrounding transaction (an Idempotency-Key request's).
    const result = await this.db
      .insertInto("apis")
      .values({
        id,
        name: input.name,
        audience: input.audience,
        is_management_api: input.isManagementApi ? 1 : 0,
        created_at: this.clock.now(),
      })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0) === 0) throw new AudienceTakenError(input.audience);
    return (await this.store.findById(id))!;
  }

  /** Adds one scope; throws ScopeKeyTakenError when the API already has the key. */
  async addScope(apiId: string, key: string, description: string | null): Promise<ApiScopeRow> {
    const id = newId.apiScope();
    const result = await this.db
      .insertInto("api_scopes")
      .values({ id, api_id: apiId, key, description, created_at: this.clock.now() })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0) === 0) throw new ScopeKeyTakenError(key);
    return (await this.store.findScope(apiId, id))!;
  }

  /** Adds the scopes the API does not have yet (idempotent). */
  async ensureScopes(apiId: string, keys: readonly string[]): Promise<void> {
    const existing = new Set((await this.store.scopes(apiId)).map((s) => s.key));
    const missing = [...new Set(keys)].filter((k) => !existing.has(k));
    if (missing.length === 0) return;
    const now = this.clock.now();
    await this.db
      .insertInto("api_scopes")
      .values(
        missing.map((key) => ({
          id: newId.apiScope(),
          api_id: apiId,
          key,
          description: null,
          created_at: now,
        })),
      )
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  /**
   * Authorizes (no operation) or deauthorizes ("delete") each application, in one transaction and
   * all or nothing: an unknown application throws UnknownApplicationError before anything changes.
   * Deauthorizing also withdraws the scopes the application was granted on this API.
   */
  async updateApplications(
    apiId: string,
    changes: readonly { applicationId: string; authorize: boolean }[],
  ): Promise<ApplicationChanges> {
    return inTransaction(this.db, async (trx) => {
      const ids = changes.map((c) => c.applicationId);
      const found = ids.length
        ? await trx.selectFrom("applications").select("id").where("id", "in", ids).execute()
        : [];
      const known = new Set(found.map((a) => a.id));
      const unknown = ids.find((id) => !known.has(id));
      if (unknown !== undefined) throw new UnknownApplicationError(unknown);
      const apis = new ApisService(trx, this.clock);
      for (const change of changes) {
        if (change.authorize) await apis.authorizeApplication(apiId, change.applicationId);
        else await apis.deauthorizeApplication(apiId, change.applicationId);
      }
      return {
        connected: changes.filter((c) => c.authorize).map((c) => c.applicationId),
        disconnected: changes.filter((c) => !c.authorize).map((c) => c.applicationId),
      };
    });
  }

  async deauthorizeApplication(apiId: string, applicationId: string): Promise<void> {
    await inTransaction(this.db, async (trx) => {
      // The foreign key cascades too; deleting explicitly does not depend on it being enforced.
      await trx
        .deleteFrom("api_application_scopes")
        .where("api_id", "=", apiId)
        .where("application_id", "=", applicationId)
        .execute();
      await trx
        .deleteFrom("api_applications")
        .where("api_id", "=", apiId)
        .where("application_id", "=", applicationId)
        .execute();
    });
  }

  /** Grants one scope of an API to an application already authorized for it (idempotent). */
  async grantScope(apiId: string, applicationId: string, scopeId: string): Promise<void> {
    await this.db
      .insertInto("api_application_scopes")
      .values({ api_id: apiId, application_id: applicationId, scope_id: scopeId })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  /** Withdraws one scope from an application (idempotent). */
  async revokeScope(apiId: string, applicationId: string, scopeId: string): Promise<void> {
    await this.db
      .deleteFrom("api_application_scopes")
      .where("api_id", "=", apiId)
      .where("application_id", "=", applicationId)
      .where("scope_id", "=", scopeId)
      .execute();
  }

  async authorizeApplication(apiId: string, applicationId: string): Promise<void> {
    await this.db
      .insertInto("api_applications")
      .values({ api_id: apiId, application_id: applicationId, created_at: this.clock.now() })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  /** Grants an authorised application the named scopes of an API (all of them when omitted). */
  async grantScopes(apiId: string, applicationId: string, keys?: readonly string[]): Promise<void> {
    const scopes = (await this.store.scopes(apiId)).filter((s) => !keys || keys.includes(s.key));
    if (scopes.length === 0) return;
    await this.db
      .insertInto("api_application_scopes")
      .values(scopes.map((s) => ({ api_id: apiId, application_id: applicationId, scope_id: s.id })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
}
