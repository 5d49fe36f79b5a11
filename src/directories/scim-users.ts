// SCIM Users of one directory (RFC 7643 §4.1, RFC 7644 §3.3–3.6): each is a Latchkey account that
// the directory provisioned, a member of the directory's organization. userName is unique per
// directory regardless of case (§4.1.1 caseExact false); `active: false` suspends the account,
// which blocks sign-in and ends its sessions and tokens at once (UsersService.update).
//
// A directory provisions only accounts it creates: an address that already belongs to an account
// is answered 409 uniqueness, never linked — otherwise an organization's IdP could take over (and
// suspend or delete) any person's account by naming their address. It provisions only addresses in
// its organization's domains (scim-domains.ts), never touches an administrator (as the Management
// API, users.http.ts findChangeableUser), and deletes only an account that is nothing but its own.
import type { Clock } from "../clock.js";
import { OrganizationsService } from "../organizations/organizations.service.js";
import { type Db, inTransaction } from "../storage/database.js";
import { canonicalEmail, emailProblem } from "../users/email.js";
import { IdentityTakenError, UsersService } from "../users/users.service.js";
import { type User, uniqueViolation } from "../users/users.store.js";
import { DirectoriesStore, type DirectoryRow, type ScimUserRow } from "./directories.store.js";
import { directoryDomains, NO_DOMAINS_DETAIL, requireInDomains, userNameAddress } from "./scim-domains.js";
import { GroupRoles } from "./scim-group-roles.js";
import { applyPatch, parsePatch } from "./scim-patch.js";
import {
  attribute,
  badValue,
  boolean,
  isObject,
  listResponse,
  meta,
  parseFilter,
  SCHEMA,
  ScimError,
  text,
} from "./scim-protocol.js";

type Json = Record<string, unknown>;

/** The attributes this endpoint keeps in columns or computes; the rest is stored as sent. */
const MANAGED = new Set(["schemas", "id", "meta", "username", "externalid", "active", "groups", "password"]);
const MAX_RESOURCE_CHARS = 16_384;
const MAX_EMAILS = 10;

interface UserInput {
  userName: string;
  externalId: string | null;
  active: boolean;
  givenName: string | null;
  familyName: string | null;
  email: string | null;
  /** Everything else the IdP sent (name, emails, displayName, the enterprise extension …). */
  resource: Json;
}

const notFound = () => new ScimError(404, "No user with this id in this directory");
const taken = (detail: string) => new ScimError(409, detail, "uniqueness");
// RFC 7644 §3.12: 403 "the operation is not permitted"; administrators are managed in Latchkey only.
const adminProtected = () =>
  new ScimError(403, "This is an administrator account; a directory cannot change, suspend or delete it");

/** The address the account gets: the primary e-mail, else the work one, else the first, else userName. */
function chooseEmail(emails: unknown, userName: string): string | null {
  const list = Array.isArray(emails) ? emails.filter(isObject) : [];
  const pick =
    list.find((e) => boolean(attribute(e, "primary"), "emails.primary") === true) ??
    list.find((e) => String(attribute(e, "type") ?? "").toLowerCase() === "work") ??
    list[0];
  const value = pick ? text(attribute(pick, "value"), "emails.value", 254) : null;
  if (value) return value;
  return emailProblem(userName) ? null : userName;
}

/** Reads a User resource (a POST or PUT body, or a resource after PATCH); 400 invalidValue. */
function readUser(body: unknown, requireSchemas: boolean): UserInput {
  if (!isObject(body)) throw new ScimError(400, "The body must be a User resource", "invalidSyntax");
  const schemas = attribute(body, "schemas");
  if (requireSchemas && (!Array.isArray(schemas) || !schemas.includes(SCHEMA.user)))
    throw new ScimError(400, `schemas must contain ${SCHEMA.user}`, "invalidSyntax");
  const userName = text(attribute(body, "userName"), "userName");
  if (!userName?.trim()) throw badValue("userName is required");
  const name = attribute(body, "name");
  if (name !== undefined && name !== null && !isObject(name)) throw badValue("name must be an object");
  const emails = attribute(body, "emails");
  if (emails !== undefined && emails !== null && (!Array.isArray(emails) || emails.length > MAX_EMAILS))
    throw badValue(`emails must be an array of at most ${MAX_EMAILS}`);
  const resource: Json = {};
  for (const [key, value] of Object.entries(body)) if (!MANAGED.has(key.toLowerCase())) resource[key] = value;
  if (JSON.stringify(resource).length > MAX_RESOURCE_CHARS)
    throw new ScimError(413, "The user's attributes are too large");
  const email = chooseEmail(emails, userName);
  if (email && emailProblem(email)) throw badValue(`The e-mail address ${emailProblem(email)}`);
  return {
    userName: userName.trim(),
    externalId: text(attribute(body, "externalId"), "externalId"),
    active: boolean(attribute(body, "active"), "active") ?? true,
    givenName: name ? text(attribute(name, "givenName"), "name.givenName", 64) : null,
    familyName: name ? text(attribute(name, "familyName"), "name.familyName", 64) : null,
    email: email ? canonicalEmail(email) : null,
    resource,
  };
}

export class ScimUsers {
  private readonly store: DirectoriesStore;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly directory: DirectoryRow,
    private readonly baseUrl: string,
  ) {
    this.store = new DirectoriesStore(db);
  }

  private async view(row: ScimUserRow): Promise<Json> {
    const resource = JSON.parse(row.resource) as Json;
    const extension = Object.keys(resource).some(
      (k) => k.toLowerCase() === SCHEMA.enterpriseUser.toLowerCase(),
    );
    const groups = await this.store.groupsOf(this.directory.id, row.user_id);
    return {
      schemas: extension ? [SCHEMA.user, SCHEMA.enterpriseUser] : [SCHEMA.user],
      id: row.user_id,
      ...(row.external_id === null ? {} : { externalId: row.external_id }),
      userName: row.user_name,
      ...resource,
      active: row.active === 1,
      groups: groups.map((g) => ({
        value: g.id,
        display: g.display_name,
        $ref: `${this.baseUrl}/Groups/${g.id}`,
      })),
      meta: meta("User", `${this.baseUrl}/Users/${row.user_id}`, row.created_at, row.updated_at, row.version),
    };
  }

  async get(id: string): Promise<Json> {
    const row = await this.store.findUser(this.directory.id, id);
    if (!row) throw notFound();
    return this.view(row);
  }

  async list(filterText: unknown, startIndex: number, count: number) {
    const filter = parseFilter(filterText, ["userName", "externalId", "id"]);
    const where = filter
      ? filter.attribute === "userName"
        ? { column: "user_name_key" as const, value: filter.value.toLowerCase() }
        : {
            column: filter.attribute === "id" ? ("user_id" as const) : ("external_id" as const),
            value: filter.value,
          }
      : undefined;
    const { rows, total } = await this.store.users(this.directory.id, where, startIndex - 1, count);
    const resources: Json[] = [];
    for (const row of rows) resources.push(await this.view(row));
    return listResponse(resources, total, startIndex);
  }

  async create(body: unknown): Promise<Json> {
    const input = readUser(body, true);
    const key = input.userName.toLowerCase();
    const domains = await directoryDomains(this.db, this.directory);
    if (domains.size === 0) throw badValue(NO_DOMAINS_DETAIL);
    if (input.email) requireInDomains(domains, input.email, "The e-mail address");
    const nameAddress = userNameAddress(input.userName);
    if (nameAddress) requireInDomains(domains, nameAddress, "userName");
    // RFC 7644 §3.3: a resource that exists already is 409 uniqueness (the IdP then looks it up).
    if (await this.store.findUserByName(this.directory.id, key))
      throw taken("A user with this userName exists in this directory");
    const users = new UsersService(this.db, this.clock);
    if (input.email && (await users.store.findByEmail(input.email)))
      throw taken("An account with this e-mail address exists and was not provisioned by this directory");
    const now = this.clock.now();
    try {
      const userId = await inTransaction(this.db, async (trx) => {
        const user = await new UsersService(trx, this.clock).create({
          email: input.email,
          givenName: input.givenName,
          familyName: input.familyName,
          organizationCode: this.directory.org_code,
          source: "api",
        });
        await new DirectoriesStore(trx).insertUser({
          directory_id: this.directory.id,
          user_id: user.id,
          user_name: input.userName,
          user_name_key: key,
          external_id: input.externalId,
          active: input.active ? 1 : 0,
          resource: JSON.stringify(input.resource),
          created_account: 1,
          created_at: now,
          updated_at: now,
        });
        if (!input.active)
          await new UsersService(trx, this.clock).update(user.id, {}, true, undefined, "api");
        return user.id;
      });
      return this.get(userId);
    } catch (error) {
      // A concurrent POST of the same userName or address won on the unique index.
      if (error instanceof IdentityTakenError || uniqueViolation(error))
        throw taken("A user with this userName or e-mail address exists");
      throw error;
    }
  }

  /** PUT: the resource becomes `body` (read-only attributes ignored, RFC 7644 §3.5.1). */
  async replace(id: string, body: unknown, requireSchemas = true): Promise<Json> {
    const row = await this.store.findUser(this.directory.id, id);
    if (!row) throw notFound();
    const input = readUser(body, requireSchemas);
    const key = input.userName.toLowerCase();
    const account = await new UsersService(this.db, this.clock).store.findById(id);
    if (account?.is_admin === 1) throw adminProtected();
    // Only a changed address is judged: an IdP can still deactivate a user after the domains change.
    const domains = await directoryDomains(this.db, this.directory);
    if (input.email && input.email !== account?.email)
      requireInDomains(domains, input.email, "The e-mail address");
    const nameAddress = userNameAddress(input.userName);
    if (nameAddress && key !== row.user_name_key) requireInDomains(domains, nameAddress, "userName");
    if (key !== row.user_name_key && (await this.store.findUserByName(this.directory.id, key)))
      throw taken("A user with this userName exists in this directory");
    try {
      await inTransaction(this.db, async (trx) => {
        const now = this.clock.now();
        await new DirectoriesStore(trx).updateUser(
          this.directory.id,
          id,
          {
            user_name: input.userName,
            user_name_key: key,
            external_id: input.externalId,
            active: input.active ? 1 : 0,
            resource: JSON.stringify(input.resource),
          },
          now,
        );
        await this.syncAccount(trx, id, input, row.active === 1);
      });
    } catch (error) {
      if (uniqueViolation(error)) throw taken("A user with this userName or e-mail address exists");
      throw error;
    }
    return this.get(id);
  }

  /** PATCH: the operations applied to the current resource, then stored as a PUT of the result. */
  async patch(id: string, body: unknown): Promise<Json> {
    const operations = parsePatch(body);
    const current = await this.get(id);
    return this.replace(id, applyPatch(current, operations), false);
  }

  /** The account follows the resource: names, address, and suspension when `active` changes. */
  private async syncAccount(trx: Db, userId: string, input: UserInput, wasActive: boolean): Promise<void> {
    const users = new UsersService(trx, this.clock);
    const account = (await users.store.findById(userId)) as User;
    if (input.email && input.email !== account.email) {
      const owner = await users.store.findByEmail(input.email);
      if (owner && owner.id !== userId) throw taken("An account with this e-mail address exists");
      await users.store.update(userId, {
        email: input.email,
        email_verified: 0,
        updated_at: this.clock.now(),
      });
    }
    const changes = {
      ...(input.givenName !== account.given_name ? { given_name: input.givenName } : {}),
      ...(input.familyName !== account.family_name ? { family_name: input.familyName } : {}),
    };
    const suspended = input.active === wasActive ? undefined : !input.active;
    if (Object.keys(changes).length > 0 || suspended !== undefined)
      await users.update(userId, changes, suspended, undefined, "api");
  }

  /**
   * DELETE: the user leaves the directory and its organization (their sessions in it end). The
   * account goes too only when it exists just because of the directory: the directory created it,
   * and it has no password, no organization other than the default one and no identity at another
   * connection than the directory's — otherwise its owner uses it for more than this organization.
   */
  async delete(id: string): Promise<void> {
    const row = await this.store.findUser(this.directory.id, id);
    if (!row) throw notFound();
    const account = await new UsersService(this.db, this.clock).store.findById(id);
    if (account?.is_admin === 1) throw adminProtected();
    await inTransaction(this.db, async (trx) => {
      const store = new DirectoriesStore(trx);
      await new GroupRoles(trx, this.clock, this.directory).leaveAll(id);
      await store.deleteUser(this.directory.id, id);
      const organizations = new OrganizationsService(trx, this.clock);
      await organizations.removeMember(this.directory.org_code, id, "api");
      if (row.created_account !== 1) return;
      const current = await new UsersService(trx, this.clock).store.findById(id);
      if (!current || current.password_hash !== null || current.is_admin === 1) return;
      const foreignIdentity = await trx
        .selectFrom("external_identities")
        .select("id")
        .where("user_id", "=", id)
        .where("connection_id", "!=", this.directory.enterprise_connection_id ?? "")
        .executeTakeFirst();
      if (foreignIdentity) return;
      const fallback = await organizations.store.findDefault();
      const others = await trx
        .selectFrom("organization_users")
        .select("org_code")
        .where("user_id", "=", id)
        .where("org_code", "!=", fallback?.code ?? "")
        .executeTakeFirst();
      if (!others) await new UsersService(trx, this.clock).delete(id, "api");
    });
  }
}
