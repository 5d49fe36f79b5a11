// Kinde's environment variables: values kept beside the environment, each sealed with the master
// key and bound to its row (AAD), so a value copied to another row does not open. A secret one is
// readable only by Latchkey itself (Kinde: "not readable by you or your team after creation").
import type { Clock } from "../clock.js";
import { randomHex } from "../crypto/random.js";
import type { SecretBox } from "../crypto/secret-box.js";
import type { Db } from "../storage/database.js";
import { uniqueViolation } from "../users/users.store.js";

export const environmentVariableAad = (id: string) => `environment_variable:${id}`;

export interface EnvironmentVariable {
  id: string;
  key: string;
  /** Null for a secret: never shown again once written. */
  value: string | null;
  isSecret: boolean;
  createdAt: number;
}

type Row = {
  id: string;
  key: string;
  value_sealed: string;
  is_secret: number;
  created_at: number;
};

export class EnvironmentVariablesStore {
  constructor(
    private readonly db: Db,
    private readonly secretBox: SecretBox,
    private readonly clock: Clock,
  ) {}

  private view(row: Row): EnvironmentVariable {
    const isSecret = row.is_secret === 1;
    return {
      id: row.id,
      key: row.key,
      value: isSecret ? null : this.secretBox.open(row.value_sealed, environmentVariableAad(row.id)),
      isSecret,
      createdAt: Number(row.created_at),
    };
  }

  async list(): Promise<EnvironmentVariable[]> {
    const rows = await this.db
      .selectFrom("environment_variables")
      .select(["id", "key", "value_sealed", "is_secret", "created_at"])
      .orderBy("key")
      .execute();
    return rows.map((row) => this.view(row));
  }

  async find(id: string): Promise<EnvironmentVariable | undefined> {
    const row = await this.db
      .selectFrom("environment_variables")
      .select(["id", "key", "value_sealed", "is_secret", "created_at"])
      .where("id", "=", id)
      .executeTakeFirst();
    return row && this.view(row);
  }

  /** The new variable's id, or undefined when the key is taken (one statement: no race). */
  async create(input: { key: string; value: string; isSecret: boolean }): Promise<string | undefined> {
    const id = `env_var_${randomHex(16)}`;
    const now = this.clock.now();
    const created = await this.db
      .insertInto("environment_variables")
      .values({
        id,
        key: input.key,
        value_sealed: this.secretBox.seal(input.value, environmentVariableAad(id)),
        is_secret: input.isSecret ? 1 : 0,
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.column("key").doNothing())
      .returning("id")
      .executeTakeFirst();
    return created?.id;
  }

  /**
   * Changes what is given. A variable once secret stays secret (turning it back would reveal a
   * value written as unreadable). "missing" / "taken" (another variable has the new key).
   */
  /**
   * Changes what is given; "taken" when another variable has the new key (the unique index
   * decides a race). Making a secret readable again is refused by the caller.
   */
  async update(
    id: string,
    changes: { key?: string; value?: string; isSecret?: boolean },
  ): Promise<"ok" | "missing" | "taken"> {
    if (changes.key !== undefined) {
      const holder = await this.keyHolder(changes.key);
      if (holder !== undefined && holder !== id) return "taken";
    }
    try {
      const result = await this.db
        .updateTable("environment_variables")
        .set({
          ...(changes.key !== undefined ? { key: changes.key } : {}),
          ...(changes.value !== undefined
            ? { value_sealed: this.secretBox.seal(changes.value, environmentVariableAad(id)) }
            : {}),
          ...(changes.isSecret !== undefined ? { is_secret: changes.isSecret ? 1 : 0 } : {}),
          updated_at: this.clock.now(),
        })
        .where("id", "=", id)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n ? "ok" : "missing";
    } catch (error) {
      // Another writer took the key after the check; the unique index decided. No second query:
      // inside an Idempotency-Key transaction PostgreSQL would refuse it after the error.
      if (changes.key !== undefined && uniqueViolation(error)) return "taken";
      throw error;
    }
  }

  private async keyHolder(key: string): Promise<string | undefined> {
    return (
      await this.db.selectFrom("environment_variables").select("id").where("key", "=", key).executeTakeFirst()
    )?.id;
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom("environment_variables").where("id", "=", id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }
}
