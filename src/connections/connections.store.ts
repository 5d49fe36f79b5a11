// SQL of sign-in connections (tables sign_in_connections, sign_in_connection_domains,
// application_sign_in_connections, organization_sign_in_connections; migration 0022; and
// organization_connection_lists, migration 0024). Only
// connections.service.ts uses it: the service is the one place that knows how connections are kept.
import type { Insertable, Selectable } from "kysely";
import { randomHex } from "../crypto/random.js";
import type { Db } from "../storage/database.js";
import type { SignInConnectionsTable } from "../storage/schema.js";

export type ConnectionRow = Selectable<SignInConnectionsTable>;

/**
 * `conn_` + 32 hex as Kinde's (`conn_0192c16abb53b44277e597d31877ba5b`): the first 12 hex digits are
 * the creation time in milliseconds and the rest random, so ordering by id — what
 * `starting_after`/`ending_before` page by — is creation order.
 */
export function newConnectionId(now = Date.now()): string {
  return `conn_${now.toString(16).padStart(12, "0").slice(-12)}${randomHex(10)}`;
}

export const CONNECTION_ID = /^conn_[0-9a-f]{32}$/;

export interface PageQuery {
  limit: number;
  startingAfter?: string;
  endingBefore?: string;
  domain?: string;
}

export class ConnectionsStore {
  constructor(private readonly db: Db) {}

  find(id: string): Promise<ConnectionRow | undefined> {
    return this.db.selectFrom("sign_in_connections").selectAll().where("id", "=", id).executeTakeFirst();
  }

  /** One page in id order, plus whether more rows lie beyond it in the direction of travel. */
  async page(query: PageQuery): Promise<{ rows: ConnectionRow[]; hasMore: boolean }> {
    let select = this.db.selectFrom("sign_in_connections").selectAll("sign_in_connections");
    if (query.domain !== undefined)
      select = select
        .innerJoin(
          "sign_in_connection_domains",
          "sign_in_connection_domains.connection_id",
          "sign_in_connections.id",
        )
        .where("sign_in_connection_domains.domain", "=", query.domain);
    const backwards = query.endingBefore !== undefined && query.startingAfter === undefined;
    if (query.startingAfter !== undefined)
      select = select.where("sign_in_connections.id", ">", query.startingAfter);
    if (query.endingBefore !== undefined)
      select = select.where("sign_in_connections.id", "<", query.endingBefore);
    const rows = await select
      .orderBy("sign_in_connections.id", backwards ? "desc" : "asc")
      .limit(query.limit + 1)
      .execute();
    const hasMore = rows.length > query.limit;
    const page = rows.slice(0, query.limit);
    return { rows: backwards ? page.reverse() : page, hasMore };
  }

  /** Home-realm domains by connection, each list sorted. */
  async domains(ids: readonly string[]): Promise<Map<string, string[]>> {
    const byConnection = new Map<string, string[]>(ids.map((id) => [id, []]));
    if (ids.length === 0) return byConnection;
    const rows = await this.db
      .selectFrom("sign_in_connection_domains")
      .select(["connection_id", "domain"])
      .where("connection_id", "in", ids)
      .orderBy("connection_id")
      .orderBy("domain")
      .execute();
    for (const row of rows) byConnection.get(row.connection_id)?.push(row.domain);
    return byConnection;
  }

  /** The connection that owns a (canonical) domain. */
  async byDomain(domain: string): Promise<ConnectionRow | undefined> {
    return this.db
      .selectFrom("sign_in_connection_domains")
      .innerJoin("sign_in_connections", "sign_in_connections.id", "sign_in_connection_domains.connection_id")
      .selectAll("sign_in_connections")
      .where("sign_in_connection_domains.domain", "=", domain)
      .executeTakeFirst();
  }

  /** Which of these domains another connection than `id` owns. */
  async domainsOwnedElsewhere(id: string, domains: readonly string[]): Promise<string[]> {
    if (domains.length === 0) return [];
    const rows = await this.db
      .selectFrom("sign_in_connection_domains")
      .select("domain")
      .where("domain", "in", domains)
      .where("connection_id", "!=", id)
      .execute();
    return rows.map((r) => r.domain);
  }

  async insert(row: Insertable<SignInConnectionsTable>): Promise<void> {
    await this.db.insertInto("sign_in_connections").values(row).execute();
  }

  async update(
    id: string,
    changes: Partial<Omit<Insertable<SignInConnectionsTable>, "id" | "created_at">>,
  ): Promise<boolean> {
    const result = await this.db
      .updateTable("sign_in_connections")
      .set(changes)
      .where("id", "=", id)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async delete(id: string): Promise<boolean> {
    // Domains and enablement rows go with it (ON DELETE CASCADE).
    const result = await this.db.deleteFrom("sign_in_connections").where("id", "=", id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /**
   * Makes `domains` the connection's whole list. Returns false when another connection took one of
   * them meanwhile (the domain is the primary key): the caller's transaction must then roll back.
   */
  async replaceDomains(id: string, domains: readonly string[]): Promise<boolean> {
    await this.db.deleteFrom("sign_in_connection_domains").where("connection_id", "=", id).execute();
    if (domains.length === 0) return true;
    const result = await this.db
      .insertInto("sign_in_connection_domains")
      .values(domains.map((domain) => ({ domain, connection_id: id })))
      .onConflict((oc) => oc.column("domain").doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === domains.length;
  }

  /** Whether any provider account (external identity) is linked to a user through this connection. */
  async hasLinkedIdentities(id: string): Promise<boolean> {
    const row = await this.db
      .selectFrom("external_identities")
      .select("id")
      .where("connection_id", "=", id)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  // ---- enablement ---------------------------------------------------------------------------------

  async applicationsOf(id: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom("application_sign_in_connections")
      .select("application_id")
      .where("connection_id", "=", id)
      .orderBy("application_id")
      .execute();
    return rows.map((r) => r.application_id);
  }

  async enableForApplication(applicationId: string, id: string, now: number): Promise<void> {
    await this.db
      .insertInto("application_sign_in_connections")
      .values({ application_id: applicationId, connection_id: id, created_at: now })
      .onConflict((oc) => oc.columns(["application_id", "connection_id"]).doNothing())
      .execute();
  }

  async disableForApplication(applicationId: string, id: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom("application_sign_in_connections")
      .where("application_id", "=", applicationId)
      .where("connection_id", "=", id)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  forApplication(applicationId: string): Promise<ConnectionRow[]> {
    return this.db
      .selectFrom("application_sign_in_connections")
      .innerJoin(
        "sign_in_connections",
        "sign_in_connections.id",
        "application_sign_in_connections.connection_id",
      )
      .selectAll("sign_in_connections")
      .where("application_sign_in_connections.application_id", "=", applicationId)
      .orderBy("sign_in_connections.id")
      .execute();
  }

  /** Also records that the organization chose its own list (kept when connections go). */
  async enableForOrganization(orgCode: string, id: string, now: number): Promise<void> {
    await this.db
      .insertInto("organization_connection_lists")
      .values({ org_code: orgCode, created_at: now })
      .onConflict((oc) => oc.column("org_code").doNothing())
      .execute();
    await this.db
      .insertInto("organization_sign_in_connections")
      .values({ org_code: orgCode, connection_id: id, created_at: now })
      .onConflict((oc) => oc.columns(["org_code", "connection_id"]).doNothing())
      .execute();
  }

  /** Whether the organization chose its own list of connections (ever enabled one). */
  async hasConnectionList(orgCode: string): Promise<boolean> {
    const row = await this.db
      .selectFrom("organization_connection_lists")
      .select("org_code")
      .where("org_code", "=", orgCode)
      .executeTakeFirst();
    return row !== undefined;
  }

  async disableForOrganization(orgCode: string, id: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom("organization_sign_in_connections")
      .where("org_code", "=", orgCode)
      .where("connection_id", "=", id)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** The organizations the connection is enabled for that are not suspended, in code order. */
  async activeOrganizationsOf(id: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom("organization_sign_in_connections")
      .innerJoin("organizations", "organizations.code", "organization_sign_in_connections.org_code")
      .select("organizations.code")
      .where("organization_sign_in_connections.connection_id", "=", id)
      .where("organizations.is_suspended", "=", 0)
      .orderBy("organizations.code")
      .execute();
    return rows.map((r) => r.code);
  }

  forOrganization(orgCode: string): Promise<ConnectionRow[]> {
    return this.db
      .selectFrom("organization_sign_in_connections")
      .innerJoin(
        "sign_in_connections",
        "sign_in_connections.id",
        "organization_sign_in_connections.connection_id",
      )
      .selectAll("sign_in_connections")
      .where("organization_sign_in_connections.org_code", "=", orgCode)
      .orderBy("sign_in_connections.id")
      .execute();
  }
}
