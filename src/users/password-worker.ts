// Entry point of a password-hashing worker thread (started by password-pool.ts): lowers this
// thread's scheduling priority, then runs one job per message.
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { type PasswordJob, runPasswordJob } from "./password-jobs.js";

export interface PasswordWorkerData {
  /** Nice value for this thread (0-19); 0 leaves it as it is. */
  nice: number;
}

const { nice } = workerData as PasswordWorkerData;
// On Linux (NPTL) the nice value belongs to the thread, and setpriority(PRIO_PROCESS, 0) changes
// the calling thread's only: this worker yields to the event loop and to libuv's signing threads,
// yet has a whole core when they are idle. Elsewhere (macOS, BSDs) it would renice the whole
// process, the event loop included, so it is left alone there.
if (process.platform === "linux" && nice > 0) {
  try {
    setPriority(0, nice);
  } catch {
    // Hashing still works at normal priority; it only competes with token traffic as before.
  }
}

const port = parentPort;
if (!port) throw new Error("password-worker.ts runs as a worker thread (password-pool.ts starts it)");
port.on("message", (job: PasswordJob) => port.postMessage(runPasswordJob(job)));
