import type { Clock } from "../clock.js";
import { newId } from "../crypto/random.js";
import type { Db } from "../storage/database.js";
import { type ApiRow, ApisStore } from "./apis.store.js";

export class ApisService {
  readonly store: ApisStore;
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {
    this.store = new ApisStore(db);
  }

  async create(input: { name: string; audience: string; isManagementApi?: boolean }): Promise<ApiRow> {
    const id = newId.apiId();
    await this.db
      .insertInto("apis")
      .values({
        id,
        name: input.name,
        audience: input.audience,
        is_management_api: input.isManagementApi ? 1 : 0,
        created_at: this.clock.now(),
      })
      .execute();
    return (await this.store.findById(id))!;
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
