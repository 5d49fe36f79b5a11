// Child processes for the benchmark: every server under test runs in its own Node process, so the
// load generator (this process) never shares an event loop or a heap with it, and its memory and
// CPU time can be read from /proc (Linux).
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const TSX = import.meta.resolve("tsx");

/** Clock ticks per second of utime/stime in /proc/<pid>/stat (getconf CLK_TCK; 100 on Linux). */
const CLOCK_TICKS = 100;

export interface ServerProcess {
  name: string;
  child: ChildProcess;
  url: string;
  /** Milliseconds from spawn to the first successful readiness answer. */
  readyMs: number;
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  /** A TypeScript file run through tsx, or a JavaScript file run by node directly. */
  script: string;
  args?: string[];
  env?: Record<string, string>;
  port: number;
  /** Path answering 200 once the server can serve. */
  readyPath: string;
  nodeOptions?: string[];
  timeoutMs?: number;
}

export async function spawnServer(options: SpawnOptions): Promise<ServerProcess> {
  const loader = options.script.endsWith(".ts") ? ["--import", TSX] : [];
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [...(options.nodeOptions ?? []), ...loader, options.script, ...(options.args ?? [])],
    {
      cwd: ROOT,
      // Only what the benchmark passes, plus PATH: the developer's own configuration stays out.
      env: { PATH: process.env.PATH ?? "", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  // Keep only the tail of the output: request logs under load would otherwise grow without bound.
  let out = "";
  const collect = (chunk: Buffer) => {
    out = (out + chunk.toString("utf8")).slice(-20_000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${options.port}`;
  const deadline = started + (options.timeoutMs ?? 30_000);
  let readyMs = -1;
  while (readyMs < 0) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${options.name} exited before it was ready:\n${out}`);
    if (performance.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${options.name} was not ready in time:\n${out}`);
    }
    try {
      const response = await fetch(`${url}${options.readyPath}`);
      await response.arrayBuffer();
      if (response.ok) readyMs = performance.now() - started;
    } catch {
      // not listening yet
    }
    if (readyMs < 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return {
    name: options.name,
    child,
    url,
    readyMs,
    output: () => out,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The process and all its descendants (cluster workers), from /proc/<pid>/task/<tid>/children. */
export function processTree(pid: number): number[] {
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    const taskDir = `/proc/${pids[i]}/task`;
    let tasks: string[];
    try {
      tasks = readdirSync(taskDir);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      try {
        const children = readFileSync(`${taskDir}/${tid}/children`, "utf8").trim();
        if (children) pids.push(...children.split(/\s+/).map(Number));
      } catch {
        // the thread ended meanwhile
      }
    }
  }
  return pids;
}

/** Resident set size in MB of the process tree (VmRSS from /proc/<pid>/status). */
export function rssMb(pid: number): number {
  let kb = 0;
  for (const p of processTree(pid)) {
    try {
      const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/status`, "utf8"));
      if (match) kb += Number(match[1]);
    } catch {
      // exited
    }
  }
  return kb / 1024;
}

/** User + system CPU seconds consumed so far by the process tree (all threads, incl. libuv's pool). */
export function cpuSeconds(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // exited
    }
  }
  return ticks / CLOCK_TICKS;
}

/** A short description of the machine for the report. */
export function machineDescription(): string {
  let model = "unknown CPU";
  try {
    model = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? model;
  } catch {
    // not Linux
  }
  return model;
}

/**
 * Milliseconds one SQLite autocommit write takes in WAL mode with synchronous=FULL and NORMAL, on
 * the filesystem holding the benchmark's databases: with FULL every commit waits for the disk's
 * fsync on the calling thread. Latchkey runs NORMAL and fsyncs the WAL itself, once per group of
 * commits, off the event loop (src/storage/sqlite-driver.ts): the FULL figure is what that saves
 * the event loop per transaction.
 */
export async function sqliteCommitMs(): Promise<{ full: number; normal: number }> {
  const { default: Database } = await import("better-sqlite3");
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(path.join(tmpdir(), "latchkey-fsync-"));
  try {
    const measure = (mode: "FULL" | "NORMAL") => {
      const db = new Database(path.join(dir, `${mode}.db`));
      db.pragma("journal_mode = WAL");
      db.pragma(`synchronous = ${mode}`);
      db.exec("create table t (k text primary key, c integer)");
      const write = db.prepare("insert into t values (?, 1) on conflict(k) do update set c = c + 1");
      const n = 200;
      const started = performance.now();
      for (let i = 0; i < n; i++) write.run(`k${i % 10}`);
      const ms = (performance.now() - started) / n;
      db.close();
      return Number(ms.toFixed(3));
    };
    return { full: measure("FULL"), normal: measure("NORMAL") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Which source a run measured: BENCH_COMMIT (set it when running from a `git archive` snapshot),
 * else HEAD's short hash, marked when src/ has uncommitted changes in the work tree.
 */
export function sourceVersion(): string {
  if (process.env.BENCH_COMMIT) return process.env.BENCH_COMMIT;
  try {
    const git = (...args: string[]) =>
      execFileSync("git", args, { cwd: ROOT, stdio: "pipe" }).toString().trim();
    return `${git("rev-parse", "--short", "HEAD")}${git("status", "--short", "src") ? " + uncommitted src/ changes" : ""}`;
  } catch {
    return "unknown";
  }
}
