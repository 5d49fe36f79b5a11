import type { Selectable } from "kysely";
import type { Db } from "../storage/database.js";
import type { ApiScopesTable, ApisTable } from "../storage/schema.js";

export type ApiRow = Selectable<ApisTable>;
export type ApiScopeRow = Selectable<ApiScopesTable>;

export class ApisStore {
  constructor(private readonly db: Db) {}

  findById(id: string): Promise<ApiRow | undefined> {
    return this.db.selectFrom("apis").selectAll().where("id", "=", id).executeTakeFirst();
  }

  findByAudience(audience: string): Promise<ApiRow | undefined> {
    return this.db.selectFrom("apis").selectAll().where("audience", "=", audience).executeTakeFirst();
  }

  findManagementApi(): Promise<ApiRow | undefined> {
    return this.db.selectFrom("apis").selectAll().where("is_management_api", "=", 1).executeTakeFirst();
  }

  scopes(apiId: string): Promise<ApiScopeRow[]> {
    return this.db.selectFrom("api_scopes").selectAll().where("api_id", "=", apiId).orderBy("key").execute();
  }

  /** The requested audiences this application is authorised for. */
  async authorizedAudiences(applicationId: string, audiences: readonly string[]): Promise<string[]> {
    if (audiences.length === 0) return [];
    const rows = await this.db
      .selectFrom("apis")
      .innerJoin("api_applications", "api_applications.api_id", "apis.id")
      .select("apis.audience")
      .where("api_applications.application_id", "=", applicationId)
      .where("apis.audience", "in", audiences)
      .execute();
    const authorized = new Set(rows.map((r) => r.audience));
    return audiences.filter((a) => authorized.has(a));
  }

  /** Scope keys defined by the APIs behind these audiences. */
  async scopesOfAudiences(audiences: readonly string[]): Promise<Set<string>> {
    if (audiences.length === 0) return new Set();
    const rows = await this.db
      .selectFrom("api_scopes")
      .innerJoin("apis", "apis.id", "api_scopes.api_id")
      .select("api_scopes.key")
      .where("apis.audience", "in", audiences)
      .execute();
    return new Set(rows.map((r) => r.key));
  }

  /** Scope keys granted to an application on the APIs behind these audiences (machine-to-machine). */
  async grantedScopes(applicationId: string, audiences: readonly string[]): Promise<Set<string>> {
    if (audiences.length === 0) return new Set();
    const rows = await this.db
      .selectFrom("api_application_scopes")
      .innerJoin("api_scopes", "api_scopes.id", "api_application_scopes.scope_id")
      .innerJoin("apis", "apis.id", "api_application_scopes.api_id")
      .select("api_scopes.key")
      .where("api_application_scopes.application_id", "=", applicationId)
      .where("apis.audience", "in", audiences)
      .execute();
    return new Set(rows.map((r) => r.key));
  }
}
