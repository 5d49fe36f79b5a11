// SCIM Groups of one directory (RFC 7643 §4.2, RFC 7644 §3.3–3.6): a group and its members, who
// must be users this directory provisioned. A group named like a role key grants that role in the
// directory's organization (src/directories/scim-group-roles.ts). displayName is unique per
// directory regardless of case.
import type { Clock } from "../clock.js";
import { randomHex } from "../crypto/random.js";
import { type Db, inTransaction } from "../storage/database.js";
import { uniqueViolation } from "../users/users.store.js";
import { DirectoriesStore, type DirectoryRow, type ScimGroupRow } from "./directories.store.js";
import { GroupRoles } from "./scim-group-roles.js";
import { applyPatch, parsePatch } from "./scim-patch.js";
import {
  attribute,
  badValue,
  isObject,
  listResponse,
  meta,
  parseFilter,
  SCHEMA,
  ScimError,
  text,
} from "./scim-protocol.js";

type Json = Record<string, unknown>;

/** Members in one request: a large group is sent in several PATCHes by Entra and Okta alike. */
const MAX_MEMBERS = 1000;

interface GroupInput {
  displayName: string;
  externalId: string | null;
  members: string[];
}

const notFound = () => new ScimError(404, "No group with this id in this directory");
const taken = () =>
  new ScimError(409, "A group with this displayName exists in this directory", "uniqueness");

export class ScimGroups {
  private readonly store: DirectoriesStore;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly directory: DirectoryRow,
    private readonly baseUrl: string,
  ) {
    this.store = new DirectoriesStore(db);
  }

  private async read(body: unknown, requireSchemas: boolean): Promise<GroupInput> {
    if (!isObject(body)) throw new ScimError(400, "The body must be a Group resource", "invalidSyntax");
    const schemas = attribute(body, "schemas");
    if (requireSchemas && (!Array.isArray(schemas) || !schemas.includes(SCHEMA.group)))
      throw new ScimError(400, `schemas must contain ${SCHEMA.group}`, "invalidSyntax");
    const displayName = text(attribute(body, "displayName"), "displayName")?.trim();
    if (!displayName) throw badValue("displayName is required");
    const raw = attribute(body, "members") ?? [];
    if (!Array.isArray(raw) || raw.length > MAX_MEMBERS)
      throw badValue(`members must be an array of at most ${MAX_MEMBERS}`);
    const members = [
      ...new Set(
        raw.map((m) => {
          const value = isObject(m) ? attribute(m, "value") : undefined;
          if (typeof value !== "string" || value.length === 0 || value.length > 100)
            throw badValue("Each member needs a value (a user's id)");
          return value;
        }),
      ),
    ];
    const known = await this.store.provisioned(this.directory.id, members);
    const unknown = members.find((m) => !known.has(m));
    if (unknown !== undefined) throw badValue(`No user with id ${unknown} in this directory`);
    return { displayName, externalId: text(attribute(body, "externalId"), "externalId"), members };
  }

  private async view(row: ScimGroupRow, withMembers = true): Promise<Json> {
    const ids = (await this.store.members([row.id])).get(row.id) ?? [];
    const names = ids.length
      ? await this.db
          .selectFrom("scim_users")
          .select(["user_id", "user_name"])
          .where("directory_id", "=", this.directory.id)
          .where("user_id", "in", ids)
          .execute()
      : [];
    const nameOf = new Map(names.map((n) => [n.user_id, n.user_name]));
    return {
      schemas: [SCHEMA.group],
      id: row.id,
      displayName: row.display_name,
      ...(row.external_id === null ? {} : { externalId: row.external_id }),
      ...(withMembers
        ? {
            members: ids.map((id) => ({
              value: id,
              display: nameOf.get(id),
              $ref: `${this.baseUrl}/Users/${id}`,
            })),
          }
        : {}),
      meta: meta("Group", `${this.baseUrl}/Groups/${row.id}`, row.created_at, row.updated_at, row.version),
    };
  }

  async get(id: string, withMembers = true): Promise<Json> {
    const row = await this.store.findGroup(this.directory.id, id);
    if (!row) throw notFound();
    return this.view(row, withMembers);
  }

  async list(filterText: unknown, startIndex: number, count: number, withMembers: boolean) {
    const filter = parseFilter(filterText, ["displayName", "externalId", "id"]);
    const where = filter
      ? filter.attribute === "displayName"
        ? { column: "display_name_key" as const, value: filter.value.toLowerCase() }
        : {
            column: filter.attribute === "id" ? ("id" as const) : ("external_id" as const),
            value: filter.value,
          }
      : undefined;
    const { rows, total } = await this.store.groups(this.directory.id, where, startIndex - 1, count);
    const resources: Json[] = [];
    for (const row of rows) resources.push(await this.view(row, withMembers));
    return listResponse(resources, total, startIndex);
  }

  async create(body: unknown): Promise<Json> {
    const input = await this.read(body, true);
    const key = input.displayName.toLowerCase();
    if (await this.store.findGroupByName(this.directory.id, key)) throw taken();
    const id = `grp_${randomHex(16)}`;
    const now = this.clock.now();
    try {
      await inTransaction(this.db, async (trx) => {
        const store = new DirectoriesStore(trx);
        await store.insertGroup({
          id,
          directory_id: this.directory.id,
          display_name: input.displayName,
          display_name_key: key,
          external_id: input.externalId,
          created_at: now,
          updated_at: now,
        });
        await store.addMembers(id, input.members);
        await new GroupRoles(trx, this.clock, this.directory).grant(input.displayName, input.members);
      });
    } catch (error) {
      if (uniqueViolation(error)) throw taken();
      throw error;
    }
    return this.get(id);
  }

  async replace(id: string, body: unknown, requireSchemas = true): Promise<Json> {
    const row = await this.store.findGroup(this.directory.id, id);
    if (!row) throw notFound();
    const input = await this.read(body, requireSchemas);
    const key = input.displayName.toLowerCase();
    if (key !== row.display_name_key && (await this.store.findGroupByName(this.directory.id, key)))
      throw taken();
    try {
      await inTransaction(this.db, async (trx) => {
        const store = new DirectoriesStore(trx);
        const roles = new GroupRoles(trx, this.clock, this.directory);
        const before = (await store.members([id])).get(id) ?? [];
        const after = new Set(input.members);
        const removed = before.filter((m) => !after.has(m));
        // A rename moves the role: every member loses the old group's and gets the new one's.
        await roles.revoke(row.display_name, input.displayName === row.display_name ? removed : before);
        await store.removeMembers(id, removed);
        await store.addMembers(id, input.members);
        await store.updateGroup(
          id,
          { display_name: input.displayName, display_name_key: key, external_id: input.externalId },
          this.clock.now(),
        );
        await roles.grant(input.displayName, input.members);
      });
    } catch (error) {
      if (uniqueViolation(error)) throw taken();
      throw error;
    }
    return this.get(id);
  }

  async patch(id: string, body: unknown): Promise<Json> {
    const operations = parsePatch(body);
    const current = await this.get(id);
    return this.replace(id, applyPatch(current, operations), false);
  }

  async delete(id: string): Promise<void> {
    const row = await this.store.findGroup(this.directory.id, id);
    if (!row) throw notFound();
    await inTransaction(this.db, async (trx) => {
      const store = new DirectoriesStore(trx);
      const members = (await store.members([id])).get(id) ?? [];
      await new GroupRoles(trx, this.clock, this.directory).revoke(row.display_name, members);
      await store.deleteGroup(id);
    });
  }
}
