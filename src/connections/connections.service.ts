// Sign-in connections (Kinde's connections, issue 17): the upstream providers people sign in
// through, and where each is offered. The one place that knows how connections are kept: the
// Management API routes and the sign-in flow both go through this service.
//   - Options are stored as JSON; the client secret apart from them, sealed with the master key and
//     bound to the connection's id (AAD), so a copied ciphertext opens nowhere else. It is
//     write-only: no answer carries it; only openClientSecret (for the sign-in flow) opens it.
//   - A home-realm domain belongs to at most one connection (it is the key of its table), so
//     home-realm discovery is one lookup and never ambiguous.
//   - A connection is offered to an application's sign-in page only where it is enabled for that
//     application; with an organization that chose its own list, that list narrows it, even when
//     empty (enabledFor).
import type { Clock } from "../clock.js";
import type { SecretBox } from "../crypto/secret-box.js";
import { type Db, inTransaction } from "../storage/database.js";
import {
  type ConnectionRow,
  ConnectionsStore,
  newConnectionId,
  type PageQuery,
} from "./connections.store.js";
import {
  type ConnectionOptions,
  type ConnectionOptionsInput,
  canonicalDomain,
  changedOptions,
  isEnterprise,
  isStrategy,
  isUnsupportedKindeStrategy,
  OptionsProblem,
  optionsOf,
  refuseUnbuiltOptions,
  SECRET_BOUND_OPTIONS,
  type Strategy,
  validateOptions,
} from "./strategies.js";

export { CONNECTION_ID } from "./connections.store.js";

/** A connection as the rest of Latchkey sees it: never its secret, only whether it has one. */
export interface SignInConnection {
  id: string;
  name: string;
  displayName: string;
  strategy: Strategy;
  options: ConnectionOptions;
  /** Canonical domains (IDNA A-labels, lower case) whose users this connection signs in. */
  homeRealmDomains: string[];
  /** The organization that manages this (enterprise) connection, if one does. */
  organizationCode: string | null;
  hasClientSecret: boolean;
  createdAt: number;
  updatedAt: number;
}

export type ConnectionErrorCode =
  | "CONNECTION_NOT_FOUND"
  | "INVALID_STRATEGY"
  | "STRATEGY_NOT_SUPPORTED"
  | "INVALID_CONNECTION_OPTIONS"
  | "HOME_REALM_DOMAIN_TAKEN"
  | "APPLICATION_NOT_FOUND"
  | "APPLICATION_TYPE_NOT_SUPPORTED"
  | "ORGANIZATION_INVALID"
  | "INVALID_REQUEST";

/** A refusal for the caller; its code is the Management API's (management/errors.ts). */
export class ConnectionError extends Error {
  override name = "ConnectionError";
  constructor(
    readonly code: ConnectionErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * What a write will do to the connection's enablement, shown to the caller's guard inside the
 * write's transaction before anything changes (the Management API refuses a machine token that
 * would touch the admin dashboard's sign-in there). Throwing from it aborts the write.
 */
export interface EnablementEffect {
  /** The connection before the write (undefined when creating). */
  current: SignInConnection | undefined;
  /** Applications it is enabled for before the write. */
  enabledApplications: string[];
  added: string[];
  removed: string[];
  /**
   * The connection's options after the write (validated, as they will be stored), for create,
   * update and replace; absent for writes that leave them alone (enablement, delete).
   */
  nextOptions?: ConnectionOptions;
  /** Its home realm domains after the write, with nextOptions. */
  nextDomains?: readonly string[];
}
/** `db` is the write's transaction: read through it (SQLite has one connection, held by the write). */
export type EnablementGuard = (effect: EnablementEffect, db: Db) => Promise<void>;

export interface ConnectionFields {
  name: string;
  displayName: string;
  options: ConnectionOptionsInput;
  /** Client ids: the complete set of applications it is enabled for (unchanged when undefined). */
  enabledApplications?: string[];
}

export interface NewConnection extends ConnectionFields {
  strategy: string;
  organizationCode?: string | null;
}

export interface ConnectionChanges {
  name?: string;
  displayName?: string;
  /** Merged into the current options, option by option. */
  options?: ConnectionOptionsInput;
  enabledApplications?: string[];
}

/** Sealed secrets, kept beside the objects handed out rather than on them (nothing logs them). */
const sealedSecrets = new WeakMap<SignInConnection, string>();

const secretAad = (id: string) => `sign_in_connection_secret:${id}`;

export class ConnectionsService {
  private readonly store: ConnectionsStore;

  constructor(
    private readonly db: Db,
    private readonly secretBox: SecretBox,
    private readonly clock: Clock,
    private readonly options: { allowPrivateNetworks: boolean },
  ) {
    this.store = new ConnectionsStore(db);
  }

  // ---- what the sign-in flow needs ------------------------------------------------------------

  async find(id: string): Promise<SignInConnection | undefined> {
    const row = await this.store.find(id);
    return row ? (await this.withDomains([row]))[0] : undefined;
  }

  /**
   * The connections a sign-in page for this application (and organization) offers: those enabled
   * for the application; an organization's own enterprise connections only on its own sign-in; and
   * with an organization that chose its own list, only those of them on it.
   *
   * An organization chooses its list by having a connection enabled for it (Kinde's custom
   * authentication per organization; creating its own enterprise connection does it too), and the
   * choice is stored (organization_connection_lists), not read from the list being non-empty: so
   * disabling or deleting its last connection leaves it with none offered, never with all of the
   * application's. Narrowing its sign-in can never widen it. An organization that never chose
   * offers the application's connections, as one without organizations would.
   */
  async enabledFor(clientId: string, orgCode: string | null): Promise<SignInConnection[]> {
    let rows = await this.store.forApplication(clientId);
    if (orgCode === null) {
      rows = rows.filter((r) => r.organization_code === null);
    } else {
      const orgEnabled = (await this.store.hasConnectionList(orgCode))
        ? new Set((await this.store.forOrganization(orgCode)).map((r) => r.id))
        : undefined;
      rows = rows.filter(
        (r) =>
          (r.organization_code === null || r.organization_code === orgCode) &&
          (orgEnabled === undefined || orgEnabled.has(r.id)),
      );
    }
    return this.withDomains(rows);
  }

  /** Home-realm discovery: the connection owning an address's domain (any spelling of it). */
  async byHomeRealmDomain(domain: string): Promise<SignInConnection | undefined> {
    const canonical = canonicalDomain(domain);
    if (!canonical) return undefined;
    const row = await this.store.byDomain(canonical);
    return row ? (await this.withDomains([row]))[0] : undefined;
  }

  /** The connection's client secret in clear, for a request to its provider; null when it has none. */
  openClientSecret(connection: SignInConnection): string | null {
    if (!connection.hasClientSecret) return null;
    const sealed = sealedSecrets.get(connection);
    if (sealed === undefined) throw new Error("openClientSecret takes a connection this service returned");
    return this.secretBox.open(sealed, secretAad(connection.id));
  }

  /**
   * Where a just-in-time account made through the connection joins when its auto-join is on
   * (Kinde's is_auto_join_organization_enabled): the organizations it is enabled for, suspended ones
   * left out. Both the connection's option and each organization's enablement are needed, so
   * neither alone (update:connections, create:organization_connections) adds anyone to one.
   */
  async autoJoinOrganizations(connection: SignInConnection): Promise<string[]> {
    if (connection.options.is_auto_join_organization_enabled !== true) return [];
    return this.store.activeOrganizationsOf(connection.id);
  }

  // ---- listing ---------------------------------------------------------------------------------

  /** A page in creation order; `domain` filters to the connection owning it (any spelling). */
  async list(query: PageQuery): Promise<{ connections: SignInConnection[]; hasMore: boolean }> {
    let domain: string | undefined;
    if (query.domain !== undefined) {
      domain = canonicalDomain(query.domain);
      if (!domain) throw new ConnectionError("INVALID_REQUEST", "home_realm_domain is not a domain");
    }
    const { rows, hasMore } = await this.store.page({ ...query, domain });
    return { connections: await this.withDomains(rows), hasMore };
  }

  enabledApplications(id: string): Promise<string[]> {
    return this.store.applicationsOf(id);
  }

  async forApplication(applicationId: string): Promise<SignInConnection[]> {
    return this.withDomains(await this.store.forApplication(applicationId));
  }

  /** Whether the organization chose its own list of connections (see enabledFor). */
  hasOwnList(orgCode: string): Promise<boolean> {
    return this.store.hasConnectionList(orgCode);
  }

  async forOrganization(orgCode: string): Promise<SignInConnection[]> {
    return this.withDomains(await this.store.forOrganization(orgCode));
  }

  // ---- writes ------------------------------------------------------------------------------------

  async create(input: NewConnection, guard?: EnablementGuard): Promise<SignInConnection> {
    const strategy = strategyOf(input.strategy);
    const validated = this.validate(strategy, input.options, {});
    const organizationCode = input.organizationCode ?? null;
    if (organizationCode !== null && !isEnterprise(strategy))
      throw new ConnectionError(
        "INVALID_REQUEST",
        `organization_code is for enterprise connections only; ${strategy} is a social connection`,
      );
    const id = newConnectionId();
    return inTransaction(this.db, async (trx) => {
      const store = new ConnectionsStore(trx);
      if (organizationCode !== null && !(await organizationExists(trx, organizationCode)))
        throw new ConnectionError("ORGANIZATION_INVALID", "No organization has this organization_code");
      const applications = await checkedApplications(trx, input.enabledApplications ?? []);
      await guard?.(
        {
          current: undefined,
          enabledApplications: [],
          added: applications,
          removed: [],
          nextOptions: validated.options,
          nextDomains: validated.homeRealmDomains ?? [],
        },
        trx,
      );
      const now = this.clock.now();
      await store.insert({
        id,
        name: input.name,
        display_name: input.displayName,
        strategy,
        options: JSON.stringify(validated.options),
        client_secret_sealed:
          validated.clientSecret === undefined
            ? null
            : this.secretBox.seal(validated.clientSecret, secretAad(id)),
        organization_code: organizationCode,
        created_at: now,
        updated_at: now,
      });
      await this.writeDomains(store, id, validated.homeRealmDomains ?? []);
      for (const applicationId of applications) await store.enableForApplication(applicationId, id, now);
      // An organization's own connection is offered on its sign-in from the start.
      if (organizationCode !== null) await store.enableForOrganization(organizationCode, id, now);
      return (await new ConnectionsService(trx, this.secretBox, this.clock, this.options).find(id))!;
    });
  }

  /**
   * PATCH: the fields given change; options merge option by option (a new secret replaces the old;
   * a change of where the connection points without a new one drops it, see write()).
   */
  update(id: string, changes: ConnectionChanges, guard?: EnablementGuard): Promise<SignInConnection> {
    return this.write(id, guard, changes.enabledApplications, (current, sealed) => {
      const merged: ConnectionOptionsInput = {
        ...current.options,
        ...(optionsOf(current.strategy).has("home_realm_domains")
          ? { home_realm_domains: current.homeRealmDomains }
          : {}),
        ...changes.options,
      };
      return {
        name: changes.name ?? current.name,
        displayName: changes.displayName ?? current.displayName,
        options: merged,
        sealed,
      };
    });
  }

  /**
   * PUT: name, display name and options are replaced whole. The client secret is write-only, so a
   * replacement read back from GET cannot carry it: it is kept when the replacement names none and
   * the connection still points where it did (same client id and provider), and dropped otherwise
   * (see write()).
   */
  replace(id: string, fields: ConnectionFields, guard?: EnablementGuard): Promise<SignInConnection> {
    return this.write(id, guard, fields.enabledApplications, (_current, sealed) => ({
      name: fields.name,
      displayName: fields.displayName,
      options: fields.options,
      sealed,
    }));
  }

  async delete(id: string, guard?: EnablementGuard): Promise<boolean> {
    return inTransaction(this.db, async (trx) => {
      const store = new ConnectionsStore(trx);
      const row = await store.find(id);
      if (!row) return false;
      const [current] = await this.withDomains([row], store);
      const enabled = await store.applicationsOf(id);
      await guard?.({ current, enabledApplications: enabled, added: [], removed: enabled }, trx);
      return store.delete(id);
    });
  }

  /** Enables a connection for an application (idempotent); the guard sees the change first. */
  async enableForApplication(applicationId: string, id: string, guard?: EnablementGuard): Promise<void> {
    await inTransaction(this.db, async (trx) => {
      const store = new ConnectionsStore(trx);
      const current = await this.require(store, id);
      const [applicationIdChecked] = await checkedApplications(trx, [applicationId]);
      const enabled = await store.applicationsOf(id);
      await guard?.(
        { current, enabledApplications: enabled, added: [applicationIdChecked!], removed: [] },
        trx,
      );
      await store.enableForApplication(applicationId, id, this.clock.now());
    });
  }

  /** False when the connection was not enabled for the application. */
  async disableForApplication(applicationId: string, id: string, guard?: EnablementGuard): Promise<boolean> {
    return inTransaction(this.db, async (trx) => {
      const store = new ConnectionsStore(trx);
      const current = await this.require(store, id);
      const enabled = await store.applicationsOf(id);
      if (!enabled.includes(applicationId)) return false;
      await guard?.({ current, enabledApplications: enabled, added: [], removed: [applicationId] }, trx);
      return store.disableForApplication(applicationId, id);
    });
  }

  async enableForOrganization(orgCode: string, id: string): Promise<void> {
    await inTransaction(this.db, async (trx) => {
      const store = new ConnectionsStore(trx);
      const current = await this.require(store, id);
      if (current.organizationCode !== null && current.organizationCode !== orgCode)
        throw new ConnectionError(
          "INVALID_REQUEST",
          `This connection is managed by organization ${current.organizationCode} and can be enabled only there`,
        );
      await store.enableForOrganization(orgCode, id, this.clock.now());
    });
  }

  /** False when the connection was not enabled for the organization. */
  async disableForOrganization(orgCode: string, id: string): Promise<boolean> {
    return inTransaction(this.db, async (trx) => {
      const store = new ConnectionsStore(trx);
      await this.require(store, id);
      return store.disableForOrganization(orgCode, id);
    });
  }

  // ---- internals ---------------------------------------------------------------------------------

  /** `before`: the stored options a write replaces ({} when creating). */
  private validate(strategy: Strategy, options: ConnectionOptionsInput, before: ConnectionOptions) {
    try {
      const validated = validateOptions(strategy, options, this.options.allowPrivateNetworks);
      refuseUnbuiltOptions(before, validated.options);
      return validated;
    } catch (error) {
      if (error instanceof OptionsProblem)
        throw new ConnectionError("INVALID_CONNECTION_OPTIONS", error.message);
      throw error;
    }
  }

  /**
   * The common path of update and replace: read the connection, work out its next state, check it,
   * show the guard what changes, write it — all in one transaction.
   */
  private write(
    id: string,
    guard: EnablementGuard | undefined,
    nextApplications: string[] | undefined,
    next: (
      current: SignInConnection,
      sealed: string | null,
    ) => { name: string; displayName: string; options: ConnectionOptionsInput; sealed: string | null },
  ): Promise<SignInConnection> {
    return inTransaction(this.db, async (trx) => {
      const store = new ConnectionsStore(trx);
      const row = await store.find(id);
      if (!row) throw new ConnectionError("CONNECTION_NOT_FOUND", "Connection not found");
      const [current] = await this.withDomains([row], store);
      const state = next(current!, row.client_secret_sealed);
      const validated = this.validate(current!.strategy, state.options, current!.options);
      const enabled = await store.applicationsOf(id);
      let added: string[] = [];
      let removed: string[] = [];
      if (nextApplications !== undefined) {
        const wanted = await checkedApplications(trx, nextApplications);
        added = wanted.filter((a) => !enabled.includes(a));
        removed = enabled.filter((a) => !wanted.includes(a));
      }
      await guard?.(
        {
          current,
          enabledApplications: enabled,
          added,
          removed,
          nextOptions: validated.options,
          nextDomains: validated.homeRealmDomains ?? [],
        },
        trx,
      );
      // The secret was given for the client and provider the connection pointed at. A caller that
      // may update a connection but never saw its secret (it is write-only) must not be able to
      // point it at a token endpoint of its own and have the next sign-in post client_id and
      // client_secret there (RFC 6749 §2.3.1): re-pointing without a new secret drops the old one.
      const repointed = changedOptions(current!.options, validated.options, SECRET_BOUND_OPTIONS).length > 0;
      const sealed =
        validated.clientSecret !== undefined
          ? this.secretBox.seal(validated.clientSecret, secretAad(id))
          : repointed
            ? null
            : state.sealed;
      await store.update(id, {
        name: state.name,
        display_name: state.displayName,
        options: JSON.stringify(validated.options),
        client_secret_sealed: sealed,
        updated_at: this.clock.now(),
      });
      await this.writeDomains(store, id, validated.homeRealmDomains ?? []);
      const now = this.clock.now();
      for (const applicationId of added) await store.enableForApplication(applicationId, id, now);
      for (const applicationId of removed) await store.disableForApplication(applicationId, id);
      return (await this.withDomains([(await store.find(id))!], store))[0]!;
    });
  }

  private async writeDomains(store: ConnectionsStore, id: string, domains: string[]): Promise<void> {
    const taken = await store.domainsOwnedElsewhere(id, domains);
    if (taken.length > 0 || !(await store.replaceDomains(id, domains)))
      throw new ConnectionError(
        "HOME_REALM_DOMAIN_TAKEN",
        `${taken.length > 0 ? taken.join(", ") : "A home realm domain"} already belongs to another connection`,
      );
  }

  private async require(store: ConnectionsStore, id: string): Promise<SignInConnection> {
    const row = await store.find(id);
    if (!row) throw new ConnectionError("CONNECTION_NOT_FOUND", "Connection not found");
    return (await this.withDomains([row], store))[0]!;
  }

  private async withDomains(
    rows: ConnectionRow[],
    store: ConnectionsStore = this.store,
  ): Promise<SignInConnection[]> {
    const domains = await store.domains(rows.map((r) => r.id));
    return rows.map((row) => {
      const connection: SignInConnection = {
        id: row.id,
        name: row.name,
        displayName: row.display_name,
        strategy: row.strategy as Strategy,
        options: JSON.parse(row.options) as ConnectionOptions,
        homeRealmDomains: domains.get(row.id) ?? [],
        organizationCode: row.organization_code,
        hasClientSecret: row.client_secret_sealed !== null,
        createdAt: row.created_at,
        updatedAt: row.updated_at,
      };
      if (row.client_secret_sealed !== null) sealedSecrets.set(connection, row.client_secret_sealed);
      return connection;
    });
  }
}

/**
 * Whether accounts are linked through the connection: its provider's `sub` values sign in as them
 * (external identities are found by connection and sub), so whoever changes where it points
 * decides who those accounts are. `db`: the write's transaction, in a guard.
 */
export function hasLinkedIdentities(db: Db, connectionId: string): Promise<boolean> {
  return new ConnectionsStore(db).hasLinkedIdentities(connectionId);
}

function strategyOf(value: string): Strategy {
  if (isStrategy(value)) return value;
  if (isUnsupportedKindeStrategy(value))
    throw new ConnectionError(
      "STRATEGY_NOT_SUPPORTED",
      `${value}: SAML and WS-Federation connections are not supported yet; use oidc:custom for an OpenID provider`,
    );
  throw new ConnectionError("INVALID_STRATEGY", `Unknown connection strategy ${value.slice(0, 100)}`);
}

async function organizationExists(db: Db, code: string): Promise<boolean> {
  const row = await db.selectFrom("organizations").select("code").where("code", "=", code).executeTakeFirst();
  return row !== undefined;
}

/**
 * The applications named, each one that exists and signs people in (a machine-to-machine
 * application has no sign-in page to offer a connection on), without repeats.
 */
async function checkedApplications(db: Db, ids: readonly string[]): Promise<string[]> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return [];
  const rows = await db.selectFrom("applications").select(["id", "type"]).where("id", "in", unique).execute();
  const types = new Map(rows.map((r) => [r.id, r.type]));
  for (const id of unique) {
    const type = types.get(id);
    if (type === undefined)
      throw new ConnectionError("APPLICATION_NOT_FOUND", `No application has client id ${id.slice(0, 64)}`);
    if (type === "m2m")
      throw new ConnectionError(
        "APPLICATION_TYPE_NOT_SUPPORTED",
        "Machine-to-machine applications have no sign-in, so no connections",
      );
  }
  return unique;
}
