// The device grant's storage port (device.ts) over Kysely: one implementation for SQLite and
// PostgreSQL. Every state change is one conditional UPDATE, so two instances (or two polls) racing
// on a code cannot both win.
import { type Selectable, sql } from "kysely";
import { type Clock, systemClock } from "../clock.js";
import type { SecretBox } from "../crypto/secret-box.js";
import { type Db, inTransaction } from "../storage/database.js";
import type { DeviceCodesTable } from "../storage/schema.js";
import { type DeviceCodeRecord, type DeviceStore, type PollOutcome, SLOW_DOWN_SECONDS } from "./device.js";
import { KyselyOAuthStore } from "./oauth.store.js";
import type { OAuthStore } from "./ports.js";

/** Binds the keyed hash to user codes: no other MAC of the same text opens as one. */
const USER_CODE_MAC_PURPOSE = "device-user-code";

export class KyselyDeviceStore implements DeviceStore {
  constructor(
    private readonly db: Db,
    private readonly secretBox: SecretBox,
    private readonly clock: Clock = systemClock,
  ) {}

  transaction<T>(work: (stores: { devices: DeviceStore; oauth: OAuthStore }) => Promise<T>): Promise<T> {
    return inTransaction(this.db, (trx) =>
      work({
        devices: new KyselyDeviceStore(trx, this.secretBox, this.clock),
        oauth: new KyselyOAuthStore(trx, this.secretBox, this.clock),
      }),
    );
  }

  private mac(userCode: string): string {
    return this.secretBox.mac(userCode, USER_CODE_MAC_PURPOSE);
  }

  async insert(code: DeviceCodeRecord, userCode: string): Promise<boolean> {
    // An expired request nobody purged yet gives its user code up; a live one keeps it.
    await this.db
      .deleteFrom("device_codes")
      .where("user_code_mac", "=", this.mac(userCode))
      .where("expires_at", "<=", code.createdAt)
      .execute();
    const result = await this.db
      .insertInto("device_codes")
      .values({
        device_code_hash: code.deviceCodeHash,
        user_code_mac: this.mac(userCode),
        client_id: code.clientId,
        scope: code.scope,
        audience: JSON.stringify(code.audience),
        status: code.status,
        poll_interval: code.pollInterval,
        last_polled_at: null,
        user_id: null,
        org_code: null,
        auth_time: null,
        grant_id: null,
        created_at: code.createdAt,
        expires_at: code.expiresAt,
        decided_at: null,
      })
      .onConflict((conflict) => conflict.column("user_code_mac").doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async poll(deviceCodeHash: string, now: number): Promise<PollOutcome | undefined> {
    // SET expressions read the row as it was before this UPDATE (SQL's rule, both dialects): the
    // poll is measured against the previous one, and the raised interval and the flag are written
    // together with the new poll time.
    const tooSoon = sql<boolean>`last_polled_at is not null and ${now} - last_polled_at < poll_interval`;
    const row = await this.db
      .updateTable("device_codes")
      .set({
        last_polled_at: now,
        slowed_down: sql<number>`case when ${tooSoon} then 1 else 0 end`,
        poll_interval: sql<number>`case when ${tooSoon} then poll_interval + ${SLOW_DOWN_SECONDS} else poll_interval end`,
      })
      .where("device_code_hash", "=", deviceCodeHash)
      .returningAll()
      .executeTakeFirst();
    return row ? { code: toRecord(row), slowedDown: Number(row.slowed_down) === 1 } : undefined;
  }

  async consume(deviceCodeHash: string, grantId: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable("device_codes")
      .set({ status: "consumed", grant_id: grantId, decided_at: sql`coalesce(decided_at, ${now})` })
      .where("device_code_hash", "=", deviceCodeHash)
      .where("status", "=", "approved")
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async findPending(userCode: string, now: number): Promise<DeviceCodeRecord | undefined> {
    const row = await this.db
      .selectFrom("device_codes")
      .selectAll()
      .where("user_code_mac", "=", this.mac(userCode))
      .where("status", "=", "pending")
      .where("expires_at", ">", now)
      .executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  async decide(
    userCode: string,
    decision:
      | { approve: true; userId: string; orgCode: string | null; authTime: number }
      | { approve: false; userId: string },
    now: number,
  ): Promise<boolean> {
    const result = await this.db
      .updateTable("device_codes")
      .set(
        decision.approve
          ? {
              status: "approved",
              user_id: decision.userId,
              org_code: decision.orgCode,
              auth_time: decision.authTime,
              decided_at: now,
            }
          : { status: "denied", user_id: decision.userId, decided_at: now },
      )
      .where("user_code_mac", "=", this.mac(userCode))
      .where("status", "=", "pending")
      .where("expires_at", ">", now)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}

function toRecord(row: Selectable<DeviceCodesTable>): DeviceCodeRecord {
  return {
    deviceCodeHash: row.device_code_hash,
    clientId: row.client_id,
    scope: row.scope,
    audience: JSON.parse(row.audience) as string[],
    status: row.status,
    pollInterval: Number(row.poll_interval),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    userId: row.user_id,
    orgCode: row.org_code,
    authTime: row.auth_time === null ? null : Number(row.auth_time),
    grantId: row.grant_id,
  };
}
