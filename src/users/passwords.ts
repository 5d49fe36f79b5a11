// Password hashing: argon2id with OWASP's minimum cost (m=19 MiB, t=2, p=1; ASVS 11.4.2).
// Imported hashes (Kinde's PUT /users/{id}/password) may also be bcrypt or argon2id with other
// parameters, or one of the other formats Kinde imports (imported-hashes.ts); they verify as they
// are and are re-hashed with ours at the next successful sign-in.
import { availableParallelism } from "node:os";
import { PASSWORD_WORKER_SCRIPT } from "../paths.js";
import { bcryptCostProblem, IMPORTED_HASH_PREFIX } from "./imported-hashes.js";
import type { Argon2Parameters, PasswordJob, PasswordJobResult } from "./password-jobs.js";
import { PasswordWorkerPool } from "./password-pool.js";

// algorithm 2 is Algorithm.Argon2id (a const enum, which verbatimModuleSyntax cannot import).
const ARGON2_OPTIONS: Readonly<Argon2Parameters> = {
  algorithm: 2,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
};

/** Limits on imported hashes: verifying one runs at every sign-in until it is upgraded. */
export { BCRYPT_MAX_COST } from "./imported-hashes.js";
// The rules for a chosen password are in password-policy.ts (judging one needs no hashing pool);
// passwordProblem is re-exported for the routes and CLI that import it from here.
export { passwordProblem } from "./password-policy.js";

const ARGON2_MAX = { memoryCost: 262_144, timeCost: 16, parallelism: 16 } as const;

// $2a$ / $2b$ / $2y$ (the variants bcryptjs verifies), two-digit cost, 22 salt + 31 hash characters.
const BCRYPT_HASH = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;
// PHC string format as @node-rs/argon2 writes it (version 19, unpadded standard base64).
const ARGON2ID_HASH =
  /^\$argon2id\$v=19\$m=(\d{1,7}),t=(\d{1,3}),p=(\d{1,3})\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{16,}$/;

export type PasswordHashKind = "argon2id" | "bcrypt";

// ---- Bounded hashing -------------------------------------------------------------------------------
// One argon2id computation takes ~19 MiB and ~15-25 ms of a core. It runs on a pool of worker
// threads (password-pool.ts), one per core by default, each at the lowest scheduling priority
// (nice 19, its own thread only: password-worker.ts). So an idle machine gives sign-ins every core,
// while token traffic — the event loop and libuv's pool, where RS256 signing runs — always comes
// first: the kernel only hands hashing the CPU time they leave. (Not libuv's pool: there a hash
// holds one of the threads signing needs, at the same priority.) The flip side: anything else busy
// on the machine (a co-located database, other tenants) also comes before sign-ins.
// Unbounded, a flood of sign-in forms would queue thousands of hashes: memory grows and every
// sign-in waits behind the flood. So at most `concurrency` hashes run at once, at most `queue` more
// wait, and anything beyond is refused at once with PasswordHashingBusyError — answered 503 with
// Retry-After (RFC 9110 §15.6.4, §10.2.3) — before it costs memory or CPU.

export interface PasswordHashingLimits {
  /** Hashes computed at the same time (one worker thread each). */
  concurrency: number;
  /** Hashes waiting for a free slot; more are refused. */
  queue: number;
}

/** One per core: the workers' low priority, not a spare core, is what keeps token traffic fast. */
const DEFAULT_CONCURRENCY = availableParallelism();
export const DEFAULT_PASSWORD_HASHING_LIMITS: PasswordHashingLimits = {
  concurrency: DEFAULT_CONCURRENCY,
  // Enough for a burst of sign-ins to wait (~20 ms each) rather than be refused: at least 16.
  queue: Math.max(16, 4 * DEFAULT_CONCURRENCY),
};

/** Nice value of the hashing threads: the lowest priority there is (weight 15 against 1024). */
const WORKER_NICE = 19;

/** Hashing is saturated: ask the caller to come back after `retryAfterSeconds`. */
export class PasswordHashingBusyError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super("Too many password checks in progress; try again shortly");
    this.name = "PasswordHashingBusyError";
  }
}

let limits = DEFAULT_PASSWORD_HASHING_LIMITS;
/** Checks admitted and not finished: running, or queued in the pool (which keeps them in order). */
let admitted = 0;
/** Running average of one hash's duration, for Retry-After. */
let averageMs = 20;

const pool = new PasswordWorkerPool({
  script: PASSWORD_WORKER_SCRIPT,
  size: limits.concurrency,
  nice: WORKER_NICE,
});

/** Sets the process-wide limits (the CPU they protect belongs to the process). */
export function configurePasswordHashing(next: PasswordHashingLimits): void {
  limits = { concurrency: Math.max(1, next.concurrency), queue: Math.max(0, next.queue) };
  pool.resize(limits.concurrency);
}

/**
 * Terminates the hashing threads; checks in progress are rejected. Not needed at shutdown (idle
 * threads do not hold the process open); the next check starts them again.
 */
export function stopPasswordHashing(): Promise<void> {
  return pool.stop();
}

/** Hashing threads currently started (they start on first use). */
export function passwordHashingThreads(): number {
  return pool.threads;
}

/** What /metrics reports of hashing: the process's state, shared by every server in it. */
export interface PasswordHashingLoad {
  /** Checks admitted and not finished: running, waiting for a thread, or reserved before one. */
  admitted: number;
  /** Hashes computed at once. */
  concurrency: number;
  /** Admitted checks beyond which new ones are refused (503): concurrency + queue. */
  capacity: number;
}

export function passwordHashingLoad(): PasswordHashingLoad {
  return { admitted, concurrency: limits.concurrency, capacity: limits.concurrency + limits.queue };
}

function busy(): PasswordHashingBusyError {
  const drainMs = (admitted / limits.concurrency) * averageMs;
  return new PasswordHashingBusyError(Math.max(1, Math.ceil(drainMs / 1000)));
}

/**
 * Throws PasswordHashingBusyError when a password check would be refused now. Callers run it
 * before the work that precedes hashing (throttle counters, lookups), so a flood is turned away
 * before it writes anything.
 */
export function assertPasswordHashingAvailable(): void {
  if (admitted >= limits.concurrency + limits.queue) throw busy();
}

/** A place among the admitted checks, taken before the work that leads to the check. */
export interface ReservedPasswordCheck {
  held: boolean;
}

/**
 * Runs `work` (the database work before a password check, then the check) holding a place among
 * the admitted checks, taken now — or throws PasswordHashingBusyError now, before any of that work.
 * Checking availability alone leaves a gap: under a flood every attempt that passes it goes on to
 * the database (throttle counters, lookups) and many are refused only at the hash, having held
 * connections and written rows for nothing. The first check given the place uses it; an unused
 * one is given back when `work` ends. (Passed explicitly: an AsyncLocalStorage would turn on
 * promise hooks for the whole process on Node 20, slowing every request.)
 */
export async function withPasswordCheckReserved<T>(
  work: (place: ReservedPasswordCheck) => Promise<T>,
): Promise<T> {
  assertPasswordHashingAvailable();
  admitted++;
  const place: ReservedPasswordCheck = { held: true };
  try {
    return await work(place);
  } finally {
    if (place.held) {
      place.held = false;
      admitted--;
    }
  }
}

/**
 * Runs a job if `concurrency` running plus `queue` waiting leaves room for it, else refuses it —
 * unless it comes with a place reserved for it, which it takes over (and gives back below).
 */
async function bounded(job: PasswordJob, place?: ReservedPasswordCheck): Promise<PasswordJobResult> {
  if (place?.held) {
    place.held = false;
  } else {
    assertPasswordHashingAvailable();
    admitted++;
  }
  try {
    const result = await pool.run(job);
    averageMs = averageMs * 0.9 + result.ms * 0.1;
    return result;
  } finally {
    admitted--;
  }
}

/** A hash; a refusal by the library (which ours never provoke) is an error. */
function argon2Hash(result: Promise<PasswordJobResult>): Promise<string> {
  return result.then((r) => {
    if (!r.ok || typeof r.value !== "string") throw new Error(r.ok ? "no hash" : r.message);
    return r.value;
  });
}

/** False also when the stored hash is unusable; a worker that died still rejects (never a silent "no"). */
function matched(result: Promise<PasswordJobResult>): Promise<boolean> {
  return result.then((r) => r.ok && r.value === true);
}

const hashJob = (password: string): PasswordJob => ({ op: "argon2-hash", password, options: ARGON2_OPTIONS });

export function hashPassword(password: string): Promise<string> {
  return argon2Hash(bounded(hashJob(password)));
}

/** Why an imported hash cannot be stored as `kind`, or undefined when it can. */
export function passwordHashProblem(passwordHash: string, kind: PasswordHashKind): string | undefined {
  if (kind === "bcrypt") {
    const match = BCRYPT_HASH.exec(passwordHash);
    if (!match) return "hashed_password is not a bcrypt hash ($2a$, $2b$ or $2y$, 60 characters)";
    return bcryptCostProblem(Number(match[1]));
  }
  const match = ARGON2ID_HASH.exec(passwordHash);
  if (!match) return "hashed_password is not an argon2id PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash)";
  const [m, t, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (m < 8 * p || m > ARGON2_MAX.memoryCost)
    return `argon2id memory cost must be between 8 × parallelism and ${ARGON2_MAX.memoryCost} KiB`;
  if (t < 1 || t > ARGON2_MAX.timeCost)
    return `argon2id time cost must be between 1 and ${ARGON2_MAX.timeCost}`;
  if (p < 1 || p > ARGON2_MAX.parallelism)
    return `argon2id parallelism must be between 1 and ${ARGON2_MAX.parallelism}`;
  return undefined;
}

/** True when a stored hash is not argon2id with today's parameters: re-hash it after a sign-in. */
export function needsRehash(passwordHash: string): boolean {
  const match = ARGON2ID_HASH.exec(passwordHash);
  return (
    !match ||
    Number(match[1]) !== ARGON2_OPTIONS.memoryCost ||
    Number(match[2]) !== ARGON2_OPTIONS.timeCost ||
    Number(match[3]) !== ARGON2_OPTIONS.parallelism
  );
}

// A real hash of a random password, verified against when the account does not exist, so an
// unknown email costs the same time as a wrong password (no enumeration by timing).
let dummyHash: Promise<string> | undefined;

export async function verifyPassword(
  passwordHash: string | null | undefined,
  password: string,
  place?: ReservedPasswordCheck,
): Promise<boolean> {
  if (!passwordHash) {
    dummyHash ??= argon2Hash(pool.run(hashJob(`dummy-${Math.random()}`))).catch((error: unknown) => {
      dummyHash = undefined; // a worker that died must not leave every later unknown email failing
      throw error;
    });
    const dummy = await dummyHash;
    await matched(bounded({ op: "argon2-verify", hash: dummy, password }, place));
    return false;
  }
  const op = BCRYPT_HASH.test(passwordHash)
    ? "bcrypt-verify"
    : passwordHash.startsWith(IMPORTED_HASH_PREFIX)
      ? "imported-verify"
      : "argon2-verify";
  return matched(bounded({ op, hash: passwordHash, password }, place));
}
