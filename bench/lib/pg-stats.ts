// What PostgreSQL did during a load run, from its own statistics and from /proc (the server runs
// on this machine): commits of the benchmark's database (pg_stat_database.xact_commit), WAL
// written and flushed (pg_stat_wal, cluster-wide — other work on the server shows in it), CPU of
// the backends serving that database, and pg_stat_activity sampled while the load runs (how many
// backends are busy and on what they wait: CPU, Lock, LWLock:WALWrite, IO:WALSync, Client…).
// Backends publish their counters at most once a second (PostgreSQL 15), so transaction and WAL
// sync counts are only right over a window inside a steady load, never at its edges; the WAL
// position (pg_current_wal_lsn) and /proc are exact at any moment.
import { readFileSync } from "node:fs";
import pg from "pg";
import { POSTGRES_ADMIN_URL } from "../../tests/helpers/databases.js";

const CLOCK_TICKS = 100;

/** utime + stime of one process, in seconds; its reaped children's too with `children`. */
function processCpu(pid: number, children = false): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const own = Number(fields[11]) + Number(fields[12]);
    return (own + (children ? Number(fields[13]) + Number(fields[14]) : 0)) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** Busy and total jiffies of the whole machine (/proc/stat), for its busy fraction over a run. */
function machineJiffies(): { busy: number; total: number } {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  return { busy: total - idle, total };
}

export interface PgSnapshot {
  at: number;
  xactCommit: number;
  xactRollback: number;
  /** Bytes of WAL since the cluster began (pg_current_wal_lsn): exact. */
  walLsn: number;
  walSync: number;
  /** CPU seconds per backend pid serving the database. */
  backends: Map<number, number>;
  /** CPU seconds of every PostgreSQL process, exited backends included (the postmaster reaps them). */
  clusterCpu: number;
  machine: { busy: number; total: number };
}

export interface PgDelta {
  seconds: number;
  commitsPerSecond: number;
  rollbacks: number;
  walBytes: number;
  walSyncs: number;
  /** CPU seconds of this database's backends (those alive at the end). */
  backendCpu: number;
  clusterCpu: number;
  /** Busy fraction of all the machine's cores over the interval (0–1). */
  machineBusy: number;
}

export class PgWatch {
  private constructor(
    private readonly client: pg.Client,
    readonly database: string,
  ) {}

  /** Watches `database` (a name on the server at POSTGRES_ADMIN_URL) over its own connection. */
  static async open(databaseUrl: string): Promise<PgWatch> {
    const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, application_name: "bench-watch" });
    await client.connect();
    return new PgWatch(client, decodeURIComponent(new URL(databaseUrl).pathname.slice(1)));
  }

  async setting(name: string): Promise<string> {
    return (
      await this.client.query<{ setting: string }>("select setting from pg_settings where name = $1", [name])
    ).rows[0]!.setting;
  }

  async snapshot(): Promise<PgSnapshot> {
    // One query at a time: a pg client queues concurrent queries, and pg@9 will refuse them.
    const db = await this.client.query<{ c: string; r: string }>(
      "select xact_commit c, xact_rollback r from pg_stat_database where datname = $1",
      [this.database],
    );
    const wal = await this.client.query<{ lsn: string; s: string }>(
      "select pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') lsn, wal_sync s from pg_stat_wal",
    );
    const pids = await this.client.query<{ pid: number }>(
      "select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
      [this.database],
    );
    const all = await this.client.query<{ pid: number }>("select pid from pg_stat_activity");
    const backends = new Map(pids.rows.map(({ pid }) => [pid, processCpu(pid)]));
    // The postmaster is the parent of every listed process; its reaped children's CPU counts too.
    const postmaster = Number(
      readFileSync(`/proc/${all.rows[0]!.pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1],
    );
    const clusterPids = new Set(all.rows.map((r) => r.pid));
    let clusterCpu = processCpu(postmaster, true);
    for (const pid of clusterPids) clusterCpu += processCpu(pid);
    return {
      at: performance.now(),
      xactCommit: Number(db.rows[0]?.c ?? 0),
      xactRollback: Number(db.rows[0]?.r ?? 0),
      walLsn: Number(wal.rows[0]!.lsn),
      walSync: Number(wal.rows[0]!.s),
      backends,
      clusterCpu,
      machine: machineJiffies(),
    };
  }

  static delta(before: PgSnapshot, after: PgSnapshot): PgDelta {
    const seconds = (after.at - before.at) / 1000;
    let backendCpu = 0;
    for (const [pid, cpu] of after.backends) backendCpu += cpu - (before.backends.get(pid) ?? 0);
    const busy = after.machine.busy - before.machine.busy;
    const total = after.machine.total - before.machine.total;
    return {
      seconds,
      commitsPerSecond: (after.xactCommit - before.xactCommit) / seconds,
      rollbacks: after.xactRollback - before.xactRollback,
      walBytes: after.walLsn - before.walLsn,
      walSyncs: after.walSync - before.walSync,
      backendCpu,
      clusterCpu: after.clusterCpu - before.clusterCpu,
      machineBusy: total > 0 ? busy / total : 0,
    };
  }

  /**
   * Samples this database's backends every `everyMs` until stopped: the mean number busy (state
   * active) and, of those, the mean number per wait event ("CPU" when waiting on nothing).
   */
  sampleActivity(
    everyMs = 200,
  ): () => Promise<{ connections: number; active: number; waits: Record<string, number> }> {
    // Its own connection, so that snapshots taken meanwhile never queue behind a sample.
    const client = new pg.Client({
      connectionString: POSTGRES_ADMIN_URL,
      application_name: "bench-activity",
    });
    let samples = 0;
    let connections = 0;
    let active = 0;
    const waits: Record<string, number> = {};
    let stopped = false;
    const loop = (async () => {
      await client.connect();
      while (!stopped) {
        const { rows } = await client.query<{ state: string | null; wait: string | null }>(
          `select state, wait_event_type || ':' || wait_event wait from pg_stat_activity
            where datname = $1 and pid <> pg_backend_pid() and backend_type = 'client backend'`,
          [this.database],
        );
        samples++;
        connections = Math.max(connections, rows.length);
        for (const row of rows) {
          if (row.state !== "active") continue;
          active++;
          const key = row.wait ?? "CPU";
          waits[key] = (waits[key] ?? 0) + 1;
        }
        await new Promise((resolve) => setTimeout(resolve, everyMs));
      }
      await client.end();
    })();
    return async () => {
      stopped = true;
      await loop;
      const per = (n: number) => Number((n / Math.max(samples, 1)).toFixed(2));
      return {
        connections,
        active: per(active),
        waits: Object.fromEntries(
          Object.entries(waits)
            .sort((a, b) => b[1] - a[1])
            .map(([k, v]) => [k, per(v)]),
        ),
      };
    };
  }

  /** Milliseconds per single-row committed INSERT on one connection: the WAL flush a commit waits for. */
  async commitMs(count = 200): Promise<number> {
    // A regular table: writes to a temporary one are not WAL-logged, and their commits flush nothing.
    const table = `bench_commit_${process.pid}`;
    await this.client.query(`create table ${table} (k int)`);
    const started = performance.now();
    for (let i = 0; i < count; i++) await this.client.query(`insert into ${table} values ($1)`, [i]);
    const ms = (performance.now() - started) / count;
    await this.client.query(`drop table ${table}`);
    return Number(ms.toFixed(3));
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}
