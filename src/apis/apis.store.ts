import type { Selectable } from "kysely";
import type { Db } from "../storage/database.js";
import type { ApiScopesTable, ApisTable, ApplicationType } from "../storage/schema.js";

export type ApiRow = Selectable<ApisTable>;
export type ApiScopeRow = Selectable<ApiScopesTable>;

/** An application as seen from one API: whether it is authorized for it. */
export interface ApiApplicationRow {
  id: string;
  name: string;
  type: ApplicationType;
  authorized: boolean;
}

const binary = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const human = new Intl.Collator("en", { sensitivity: "base", numeric: true });
/**
 * Orders are decided here, not by the database: PostgreSQL sorts text by its locale's collation
 * and SQLite byte-wise, and both dialects must answer alike. Names sort as people read them; keys
 * byte-wise; ids break ties.
 */
const byName = <T extends { name: string; id: string }>(a: T, b: T) =>
  human.compare(a.name, b.name) || binary(a.name, b.name) || binary(a.id, b.id);
const byKey = <T extends { key: string; id: string }>(a: T, b: T) =>
  binary(a.key, b.key) || binary(a.id, b.id);

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

  /** Every API, sorted by name (Kinde's order), then id so that equal names keep one order. */
  async list(): Promise<ApiRow[]> {
    return (await this.db.selectFrom("apis").selectAll().execute()).sort(byName);
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom("apis").where("id", "=", id).execute();
  }

  async scopes(apiId: string): Promise<ApiScopeRow[]> {
    return (await this.db.selectFrom("api_scopes").selectAll().where("api_id", "=", apiId).execute()).sort(
      byKey,
    );
  }

  /** The scopes of every API, by API id (for listing APIs with expand=scopes in one query). */
  async allScopes(): Promise<Map<string, ApiScopeRow[]>> {
    const rows = (await this.db.selectFrom("api_scopes").selectAll().execute()).sort(byKey);
    const byApi = new Map<string, ApiScopeRow[]>();
    for (const row of rows) {
      const list = byApi.get(row.api_id);
      if (list) list.push(row);
      else byApi.set(row.api_id, [row]);
    }
    return byApi;
  }

  /** A scope of this API (a scope id of another API is not found). */
  findScope(apiId: string, scopeId: string): Promise<ApiScopeRow | undefined> {
    return this.db
      .selectFrom("api_scopes")
      .selectAll()
      .where("api_id", "=", apiId)
      .where("id", "=", scopeId)
      .executeTakeFirst();
  }

  /** A scope of any API, by its id alone (Kinde's role scopes name only the scope). */
  findScopeById(scopeId: string): Promise<ApiScopeRow | undefined> {
    return this.db.selectFrom("api_scopes").selectAll().where("id", "=", scopeId).executeTakeFirst();
  }

  async updateScope(apiId: string, scopeId: string, changes: { description: string | null }): Promise<void> {
    await this.db
      .updateTable("api_scopes")
      .set(changes)
      .where("api_id", "=", apiId)
      .where("id", "=", scopeId)
      .execute();
  }

  /** Deletes a scope; the database cascades its grants to applications. */
  async deleteScope(apiId: string, scopeId: string): Promise<void> {
    await this.db.deleteFrom("api_scopes").where("api_id", "=", apiId).where("id", "=", scopeId).execute();
  }

  /** Every application, each with whether it is authorized for this API, sorted by name. */
  async applications(apiId: string): Promise<ApiApplicationRow[]> {
    const rows = await this.db
      .selectFrom("applications")
      .leftJoin("api_applications", (join) =>
        join
          .onRef("api_applications.application_id", "=", "applications.id")
          .on("api_applications.api_id", "=", apiId),
      )
      .select([
        "applications.id",
        "applications.name",
        "applications.type",
        "api_applications.api_id as authorized_api",
      ])
      .execute();
    return rows
      .map((r) => ({ id: r.id, name: r.name, type: r.type, authorized: r.authorized_api !== null }))
      .sort(byName);
  }

  async isAuthorized(apiId: string, applicationId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom("api_applications")
      .select("api_id")
      .where("api_id", "=", apiId)
      .where("application_id", "=", applicationId)
      .executeTakeFirst();
    return row !== undefined;
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

  /**
   * Per audience: the scope keys its API defines and those it granted this application. Keeps
   * audiences apart so a scope granted on one API is never read as granted on another.
   */
  async scopeGrantsByAudience(
    applicationId: string,
    audiences: readonly string[],
  ): Promise<Map<string, { defined: Set<string>; granted: Set<string> }>> {
    const result = new Map(
      audiences.map((a) => [a, { defined: new Set<string>(), granted: new Set<string>() }]),
    );
    if (audiences.length === 0) return result;
    const rows = await this.db
      .selectFrom("api_scopes")
      .innerJoin("apis", "apis.id", "api_scopes.api_id")
      .leftJoin("api_application_scopes", (join) =>
        join
          .onRef("api_application_scopes.scope_id", "=", "api_scopes.id")
          .on("api_application_scopes.application_id", "=", applicationId),
      )
      .select(["apis.audience", "api_scopes.key", "api_application_scopes.scope_id as granted"])
      .where("apis.audience", "in", audiences)
      .execute();
    for (const row of rows) {
      const entry = result.get(row.audience)!;
      entry.defined.add(row.key);
      if (row.granted) entry.granted.add(row.key);
    }
    return result;
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
