// A small pool of worker threads for password hashing (see passwords.ts for why). Workers start
// on demand, one per job in flight up to `size`, and stay for the next ones. The pool only
// dispatches and queues: how many jobs may be admitted at all is passwords.ts's decision.
import { Worker } from "node:worker_threads";
import type { PasswordJob, PasswordJobResult } from "./password-jobs.js";
import type { PasswordWorkerData } from "./password-worker.js";

export interface PasswordPoolOptions {
  /** The worker's entry point: password-worker.js (compiled) or .ts (under tsx). */
  script: URL;
  /** Worker threads at most. */
  size: number;
  /** Nice value each worker gives its own thread. */
  nice: number;
  /**
   * Jobs handed to one worker at a time (default 2). With more than one, a worker starts its next
   * job the moment it finishes one, instead of idling until the event loop — busy with the
   * sign-in around the hash — gets round to sending it.
   */
  depth?: number;
}

interface Pending {
  job: PasswordJob;
  resolve: (result: PasswordJobResult) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  /** Sent to the worker, in order: the first is running, the others wait in its message port. */
  jobs: Pending[];
  /** What the worker threw, reported with the job it takes down. */
  error?: Error;
  /** Terminated, dead or the pool shrunk: takes no new job. */
  retiring?: boolean;
}

/** A job lost because its worker stopped (crashed or was terminated) while running it. */
export class PasswordWorkerStoppedError extends Error {
  constructor(code: number, cause?: Error) {
    super(`password hashing worker stopped (exit code ${code}) before finishing`, { cause });
    this.name = "PasswordWorkerStoppedError";
  }
}

export class PasswordWorkerPool {
  #size: number;
  readonly #depth: number;
  readonly #script: URL;
  readonly #nice: number;
  readonly #slots: Slot[] = [];
  readonly #queue: Pending[] = [];
  readonly #exits = new Set<Promise<void>>();

  constructor(options: PasswordPoolOptions) {
    this.#script = options.script;
    this.#nice = options.nice;
    this.#size = Math.max(1, options.size);
    this.#depth = Math.max(1, options.depth ?? 2);
  }

  /** Worker threads currently started. */
  get threads(): number {
    return this.#slots.length;
  }

  /**
   * Resolves with the job's result (including `ok: false` when the library refused the input);
   * rejects with PasswordWorkerStoppedError when the worker running it died, or was stopped.
   */
  run(job: PasswordJob): Promise<PasswordJobResult> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ job, resolve, reject });
      this.#pump();
    });
  }

  /** Busy workers beyond the new size finish what they were sent first. */
  resize(size: number): void {
    this.#size = Math.max(1, size);
    this.#pump();
  }

  /**
   * Terminates every worker: queued jobs and jobs in flight are rejected. The pool stays usable
   * (the next job starts a worker again); idle workers never hold the process open anyway.
   */
  async stop(): Promise<void> {
    for (const pending of this.#queue.splice(0))
      pending.reject(new Error("password hashing stopped before this job started"));
    for (const slot of this.#slots) {
      for (const pending of slot.jobs.splice(1))
        pending.reject(new Error("password hashing stopped before this job started"));
      this.#retire(slot);
    }
    await Promise.all(this.#exits);
  }

  #pump(): void {
    const live = () => this.#slots.filter((s) => !s.retiring);
    while (this.#queue.length > 0) {
      // An idle worker first, then a new one, and only then a second job for a busy worker.
      let slot = live().find((s) => s.jobs.length === 0);
      if (!slot && live().length < this.#size) slot = this.#spawn();
      slot ??= live()
        .filter((s) => s.jobs.length < this.#depth)
        .sort((a, b) => a.jobs.length - b.jobs.length)[0];
      if (!slot) break;
      const pending = this.#queue.shift()!;
      slot.jobs.push(pending);
      // Referenced while it has work, so a script awaiting a hash is not cut short; idle, it does
      // not keep the process alive (no shutdown hook needed).
      slot.worker.ref();
      slot.worker.postMessage(pending.job);
    }
    let surplus = live().length - this.#size;
    for (const slot of live()) {
      if (surplus <= 0) break;
      if (slot.jobs.length === 0) {
        this.#retire(slot);
        surplus--;
      }
    }
  }

  #spawn(): Slot {
    const data: PasswordWorkerData = { nice: this.#nice };
    const worker = new Worker(entryPoint(this.#script), {
      workerData: data,
      // Workers inherit the process's flags, but `--input-type` (`node --input-type=module -e …`)
      // makes Node refuse to load a worker's file.
      execArgv: process.execArgv.filter((flag) => !flag.startsWith("--input-type")),
    });
    const slot: Slot = { worker, jobs: [] };
    this.#slots.push(slot);
    worker.on("message", (result: PasswordJobResult) => {
      const pending = slot.jobs.shift();
      if (slot.jobs.length === 0) worker.unref();
      pending?.resolve(result);
      this.#pump();
    });
    worker.on("error", (error) => {
      slot.error = error;
      slot.retiring = true; // its 'exit' follows
    });
    let exited!: () => void;
    const exit = new Promise<void>((resolve) => {
      exited = resolve;
    });
    this.#exits.add(exit);
    worker.on("exit", (code) => {
      slot.retiring = true;
      this.#slots.splice(this.#slots.indexOf(slot), 1);
      const [running, ...unstarted] = slot.jobs.splice(0);
      // Jobs it had not begun go back to the front of the queue, for another worker.
      this.#queue.unshift(...unstarted);
      // Never a silent loss: the caller gets an error (a 500 for a sign-in, logged with the cause),
      // and the next job starts a fresh worker in this one's place.
      running?.reject(new PasswordWorkerStoppedError(code, slot.error));
      this.#exits.delete(exit);
      exited();
      this.#pump();
    });
    return slot;
  }

  #retire(slot: Slot): void {
    if (slot.retiring) return;
    slot.retiring = true;
    void slot.worker.terminate();
  }
}

/**
 * Compiled, the worker is a .js file next to this one. Under tsx (tests, `npm run dev`) it is a
 * .ts file, and tsx's loader does not register itself in worker threads on Node 20: a one-line
 * ES module registers it first, then imports the worker.
 */
function entryPoint(script: URL): URL {
  if (!script.pathname.endsWith(".ts")) return script;
  const tsx = import.meta.resolve("tsx/esm/api");
  const boot = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(script.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(boot)}`);
}
