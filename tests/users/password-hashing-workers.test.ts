// Password hashing runs on worker threads that lower their own priority (src/users/passwords.ts):
// the hashes really happen there, only those threads are niced, results are the same as before,
// a dying worker fails its job loudly and is replaced, and idle workers never hold a process open.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { after, describe, it } from "node:test";
import bcrypt from "bcryptjs";
import { PasswordWorkerPool, PasswordWorkerStoppedError } from "../../src/users/password-pool.js";
import {
  configurePasswordHashing,
  DEFAULT_PASSWORD_HASHING_LIMITS,
  hashPassword,
  passwordHashingThreads,
  stopPasswordHashing,
  verifyPassword,
} from "../../src/users/passwords.js";
import { runScript } from "../helpers/process.js";

interface ThreadStat {
  tid: number;
  nice: number;
  /** utime + stime, in clock ticks. */
  cpu: number;
}

/** Every thread of this process, from /proc/self/task/<tid>/stat (nice is field 19). */
function threads(): ThreadStat[] {
  return readdirSync("/proc/self/task").flatMap((tid) => {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    } catch {
      return []; // ended between the listing and the read
    }
    // Fields after "(comm)": state is field 3, utime 14, stime 15, nice 19.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return [{ tid: Number(tid), nice: Number(fields[16]), cpu: Number(fields[11]) + Number(fields[12]) }];
  });
}

const linux = process.platform === "linux";

describe("password hashing on worker threads", () => {
  after(async () => {
    configurePasswordHashing(DEFAULT_PASSWORD_HASHING_LIMITS);
    await stopPasswordHashing();
  });

  it("hashes and verifies argon2id and bcrypt as before", async () => {
    const stored = await hashPassword("correct horse battery");
    assert.match(stored, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.equal(await verifyPassword(stored, "correct horse battery"), true);
    assert.equal(await verifyPassword(stored, "correct horse batterY"), false);
    const imported = bcrypt.hashSync("imported password", 4);
    assert.equal(await verifyPassword(imported, "imported password"), true);
    assert.equal(await verifyPassword(imported, "another password"), false);
    // A stored hash the library cannot read is a failed check, not an error.
    assert.equal(await verifyPassword("$argon2id$v=19$m=19456,t=2,p=1$bm90IGEgaGFzaA$AAAA", "x"), false);
    assert.equal(await verifyPassword(null, "no account"), false);
  });

  it("runs on `concurrency` threads at nice 19, which do the work; the event loop keeps its priority", {
    skip: !linux && "per-thread nice values are Linux's",
  }, async () => {
    await stopPasswordHashing();
    configurePasswordHashing({ concurrency: 2, queue: 8 });
    const before = threads();
    assert.equal(before.filter((t) => t.nice === 19).length, 0, "no hashing thread before the first hash");

    await Promise.all(Array.from({ length: 6 }, (_, i) => hashPassword(`password number ${i}`)));
    assert.equal(passwordHashingThreads(), 2, "one thread per concurrent hash, started on demand");
    const during = threads();
    const niced = during.filter((t) => t.nice === 19);
    assert.equal(niced.length, 2, `exactly the two workers are niced: ${JSON.stringify(during)}`);
    assert.equal(during.find((t) => t.tid === process.pid)?.nice, 0, "the main thread is untouched");
    assert.ok(
      during.every((t) => t.nice === 0 || t.nice === 19),
      "every other thread is at 0",
    );

    // The hashing itself is what runs on the niced threads (argon2 is not handed back to libuv).
    const cpuOf = (list: ThreadStat[], tids: Set<number>) =>
      list.filter((t) => tids.has(t.tid)).reduce((sum, t) => sum + t.cpu, 0);
    const workerTids = new Set(niced.map((t) => t.tid));
    const allTids = new Set(during.map((t) => t.tid));
    await Promise.all(Array.from({ length: 8 }, (_, i) => hashPassword(`another password ${i}`)));
    const later = threads();
    const workerCpu = cpuOf(later, workerTids) - cpuOf(during, workerTids);
    const totalCpu = cpuOf(later, allTids) - cpuOf(during, allTids);
    assert.ok(workerCpu >= 5, `8 hashes cost the workers ${workerCpu} ticks`);
    assert.ok(workerCpu >= 0.7 * totalCpu, `workers ${workerCpu} of ${totalCpu} ticks`);
  });

  it("shrinks to a smaller concurrency and grows again", async () => {
    configurePasswordHashing({ concurrency: 2, queue: 8 });
    await Promise.all([hashPassword("first password"), hashPassword("second password")]);
    assert.equal(passwordHashingThreads(), 2);
    configurePasswordHashing({ concurrency: 1, queue: 8 });
    await hashPassword("third password");
    for (let i = 0; i < 50 && passwordHashingThreads() > 1; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(passwordHashingThreads(), 1);
  });

  it("a check cut short by stopped workers is an error, never a silent mismatch", async () => {
    configurePasswordHashing({ concurrency: 1, queue: 8 });
    const stored = await hashPassword("correct horse battery");
    // Both are on the worker as soon as they return: the check running, the hash next in line.
    const settled = Promise.allSettled([
      verifyPassword(stored, "correct horse battery"),
      hashPassword("queued behind it"),
    ]);
    await stopPasswordHashing();
    const [verified, hashed] = await settled;
    assert.equal(verified.status, "rejected", "the check in flight fails");
    assert.ok((verified as PromiseRejectedResult).reason instanceof PasswordWorkerStoppedError);
    assert.equal(hashed.status, "rejected", "the one waiting too");
    // Their slots came back, and a new worker starts for the next check.
    assert.equal(await verifyPassword(stored, "correct horse battery"), true);
    assert.equal(passwordHashingThreads(), 1);
  });
});

describe("a worker that dies", () => {
  it("rejects the job it was running, with the cause, and the next job gets a new worker", async () => {
    const pool = new PasswordWorkerPool({
      script: new URL("./fixtures/crashing-password-worker.ts", import.meta.url),
      size: 1,
      nice: 0,
    });
    try {
      const options = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
      const [crashed, next] = await Promise.allSettled([
        pool.run({ op: "argon2-hash", password: "crash!", options }),
        pool.run({ op: "argon2-hash", password: "after the crash", options }),
      ]);
      assert.equal(crashed.status, "rejected");
      const error = (crashed as PromiseRejectedResult).reason as unknown;
      assert.ok(error instanceof PasswordWorkerStoppedError);
      assert.match(String((error.cause as Error | undefined)?.message), /worker blew up/);
      // The job queued behind it ran on the replacement.
      assert.equal(next.status, "fulfilled");
      const result = (next as PromiseFulfilledResult<Awaited<ReturnType<PasswordWorkerPool["run"]>>>).value;
      assert.ok(result.ok && typeof result.value === "string" && result.value.startsWith("$argon2id$"));
      assert.equal(pool.threads, 1);
    } finally {
      await pool.stop();
    }
  });
});

describe("hashing threads and process exit", () => {
  it("a script awaiting a hash gets it, then exits on its own", async () => {
    const script = runScript("tests/users/fixtures/hash-once.ts", {}, ["exit test password"]);
    const exited = await Promise.race([
      script.exited,
      new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), 30_000).unref()),
    ]);
    if (exited === "hung") script.kill();
    assert.notEqual(exited, "hung", `still running: ${script.output()}`);
    assert.deepEqual(exited, { code: 0, signal: null }, script.output());
    assert.match(script.output(), /^\$argon2id\$v=19\$/m);
  });
});
