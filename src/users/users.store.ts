import type { Insertable, Selectable } from "kysely";
import type { Db } from "../storage/database.js";
import type { UsersTable } from "../storage/schema.js";

export type User = Selectable<UsersTable>;

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export class UsersStore {
  constructor(private readonly db: Db) {}

  findById(id: string): Promise<User | undefined> {
    return this.db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
  }

  findByEmail(email: string): Promise<User | undefined> {
    return this.db
      .selectFrom("users")
      .selectAll()
      .where("email", "=", normalizeEmail(email))
      .executeTakeFirst();
  }

  async insert(user: Insertable<UsersTable>): Promise<void> {
    await this.db.insertInto("users").values(user).execute();
  }

  async update(id: string, changes: Partial<Omit<Insertable<UsersTable>, "id">>): Promise<void> {
    await this.db.updateTable("users").set(changes).where("id", "=", id).execute();
  }
}
