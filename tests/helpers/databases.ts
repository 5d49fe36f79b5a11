// Real databases for tests, never mocks: a fresh SQLite file, and a fresh PostgreSQL database on
// the server at TEST_POSTGRES_URL (default: the local server CI runs). Without a reachable
// PostgreSQL the PostgreSQL variants are skipped with a visible notice — unless REQUIRE_POSTGRES=1
// (CI), where a missing server fails the suite.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import type { DatabaseTarget } from "../../src/config/config.js";

export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const REQUIRE_POSTGRES = process.env.REQUIRE_POSTGRES === "1";

export interface TestDatabase {
  target: DatabaseTarget;
  /** Removes the database (file or PostgreSQL database). */
  drop(): Promise<void>;
}

export function sqliteDatabase(): TestDatabase {
  const dir = mkdtempSync(path.join(tmpdir(), "latchkey-test-"));
  return {
    target: { kind: "sqlite", path: path.join(dir, "latchkey.db") },
    async drop() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let postgresAvailable: Promise<boolean> | undefined;

async function checkPostgres(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } catch (error) {
    if (REQUIRE_POSTGRES) {
      throw new Error(
        `REQUIRE_POSTGRES=1 but PostgreSQL at ${POSTGRES_ADMIN_URL} is unreachable: ${String(error)}`,
      );
    }
    process.stderr.write(
      `\n  NOTICE: PostgreSQL at ${POSTGRES_ADMIN_URL} is unreachable; PostgreSQL tests are SKIPPED.\n\n`,
    );
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** A new, empty PostgreSQL database, or undefined when none can be had (and it is not required). */
export async function postgresDatabase(): Promise<TestDatabase | undefined> {
  postgresAvailable ??= checkPostgres();
  if (!(await postgresAvailable)) return undefined;
  const name = `latchkey_test_${randomBytes(6).toString("hex")}`;
  await adminQuery(`create database ${name}`);
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    target: { kind: "postgres", url: url.href },
    async drop() {
      await adminQuery(`drop database if exists ${name} with (force)`);
    },
  };
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

export type DatabaseKind = DatabaseTarget["kind"];
export const DATABASE_KINDS: readonly DatabaseKind[] = ["sqlite", "postgres"];

/**
 * The database kinds to run a suite against, each with a `skip` reason for node:test when its
 * server is not reachable (only ever PostgreSQL, and never when REQUIRE_POSTGRES=1).
 */
export async function databaseKinds(): Promise<{ kind: DatabaseKind; skip: string | false }[]> {
  postgresAvailable ??= checkPostgres();
  const pgUp = await postgresAvailable;
  return DATABASE_KINDS.map((kind) => ({
    kind,
    skip:
      kind === "postgres" && !pgUp
        ? "PostgreSQL unreachable (set REQUIRE_POSTGRES=1 to fail instead)"
        : false,
  }));
}

/** A fresh database of the given kind, or undefined when PostgreSQL is optional and absent. */
export async function freshDatabase(kind: DatabaseKind): Promise<TestDatabase | undefined> {
  return kind === "sqlite" ? sqliteDatabase() : postgresDatabase();
}
