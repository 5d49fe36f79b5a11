// Password hashing: argon2id with OWASP's minimum cost (m=19 MiB, t=2, p=1; ASVS 11.4.2).
// Imported hashes (Kinde's PUT /users/{id}/password) may also be bcrypt or argon2id with other
// parameters; they verify as they are and are re-hashed with ours at the next successful sign-in.
import { availableParallelism } from "node:os";
import { hash, verify } from "@node-rs/argon2";
import bcrypt from "bcryptjs";

// algorithm 2 is Algorithm.Argon2id (a const enum, which verbatimModuleSyntax cannot import).
const ARGON2_OPTIONS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** ASVS 6.2.1/6.2.9: at least 8 characters, up to 256 accepted, no composition rules, no truncation. */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;

/**
 * Limits on imported hashes: verifying one runs at every sign-in until it is upgraded, so a hash
 * with an absurd cost would be a denial of service (bcryptjs cost 14 ≈ 1.3 s of CPU).
 */
export const BCRYPT_MAX_COST = 14;
const ARGON2_MAX = { memoryCost: 262_144, timeCost: 16, parallelism: 16 } as const;

// $2a$ / $2b$ / $2y$ (the variants bcryptjs verifies), two-digit cost, 22 salt + 31 hash characters.
const BCRYPT_HASH = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;
// PHC string format as @node-rs/argon2 writes it (version 19, unpadded standard base64).
const ARGON2ID_HASH =
  /^\$argon2id\$v=19\$m=(\d{1,7}),t=(\d{1,3}),p=(\d{1,3})\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{16,}$/;

export type PasswordHashKind = "argon2id" | "bcrypt";

// ---- Bounded hashing -------------------------------------------------------------------------------
// One argon2id computation takes ~19 MiB and ~15-20 ms of a core, on libuv's thread pool (shared
// with signing and file I/O). Unbounded, a flood of sign-in forms queues thousands of them: memory
// grows, every sign-in waits behind the flood, and the pool starves token signing. So at most
// `concurrency` hashes run at once (one per core but one), at most `queue` more wait, and anything
// beyond is refused at once with PasswordHashingBusyError — answered 503 with Retry-After
// (RFC 9110 §15.6.4, §10.2.3) — before it costs memory or CPU.

export interface PasswordHashingLimits {
  /** Hashes computed at the same time. */
  concurrency: number;
  /** Hashes waiting for a free slot; more are refused. */
  queue: number;
}

/**
 * One core fewer than the machine has (at least one): hashing never takes every core, so the
 * event loop and token signing keep one however hard sign-ins are pushed.
 */
const DEFAULT_CONCURRENCY = Math.max(1, availableParallelism() - 1);
export const DEFAULT_PASSWORD_HASHING_LIMITS: PasswordHashingLimits = {
  concurrency: DEFAULT_CONCURRENCY,
  // Enough for a burst of sign-ins to wait (~20 ms each) rather than be refused: at least 16.
  queue: Math.max(16, 4 * DEFAULT_CONCURRENCY),
};

/** Hashing is saturated: ask the caller to come back after `retryAfterSeconds`. */
export class PasswordHashingBusyError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super("Too many password checks in progress; try again shortly");
    this.name = "PasswordHashingBusyError";
  }
}

let limits = DEFAULT_PASSWORD_HASHING_LIMITS;
let active = 0;
const waiting: (() => void)[] = [];
/** Running average of one hash's duration, for Retry-After. */
let averageMs = 20;

/** Sets the process-wide limits (the CPU they protect belongs to the process). */
export function configurePasswordHashing(next: PasswordHashingLimits): void {
  limits = { concurrency: Math.max(1, next.concurrency), queue: Math.max(0, next.queue) };
}

function busy(): PasswordHashingBusyError {
  const drainMs = ((waiting.length + active) / limits.concurrency) * averageMs;
  return new PasswordHashingBusyError(Math.max(1, Math.ceil(drainMs / 1000)));
}

/**
 * Throws PasswordHashingBusyError when a password check would be refused now. Callers run it
 * before the work that precedes hashing (throttle counters, lookups), so a flood is turned away
 * before it writes anything.
 */
export function assertPasswordHashingAvailable(): void {
  if (active >= limits.concurrency && waiting.length >= limits.queue) throw busy();
}

async function bounded<T>(work: () => Promise<T>): Promise<T> {
  if (active < limits.concurrency) active++;
  else if (waiting.length < limits.queue) await new Promise<void>((resolve) => waiting.push(resolve));
  else throw busy();
  const started = performance.now();
  try {
    return await work();
  } finally {
    averageMs = averageMs * 0.9 + (performance.now() - started) * 0.1;
    // Hand the slot straight to the next waiter, so a newcomer cannot jump the queue.
    const next = waiting.shift();
    if (next) next();
    else active--;
  }
}

export function hashPassword(password: string): Promise<string> {
  return bounded(() => hash(password, ARGON2_OPTIONS));
}

/** Why an imported hash cannot be stored as `kind`, or undefined when it can. */
export function passwordHashProblem(passwordHash: string, kind: PasswordHashKind): string | undefined {
  if (kind === "bcrypt") {
    const match = BCRYPT_HASH.exec(passwordHash);
    if (!match) return "hashed_password is not a bcrypt hash ($2a$, $2b$ or $2y$, 60 characters)";
    const cost = Number(match[1]);
    if (cost < 4 || cost > BCRYPT_MAX_COST)
      return `bcrypt cost must be between 4 and ${BCRYPT_MAX_COST}, not ${cost}`;
    return undefined;
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
): Promise<boolean> {
  if (!passwordHash) {
    dummyHash ??= hash(`dummy-${Math.random()}`, ARGON2_OPTIONS);
    const dummy = await dummyHash;
    await bounded(() => verify(dummy, password).catch(() => false));
    return false;
  }
  const stored = passwordHash;
  return bounded(async () => {
    try {
      if (BCRYPT_HASH.test(stored)) return await bcrypt.compare(password, stored);
      return await verify(stored, password);
    } catch {
      return false;
    }
  });
}

export function passwordProblem(password: string): string | undefined {
  if (password.length < PASSWORD_MIN_LENGTH) return `Use at least ${PASSWORD_MIN_LENGTH} characters.`;
  if (password.length > PASSWORD_MAX_LENGTH) return `Use at most ${PASSWORD_MAX_LENGTH} characters.`;
  return undefined;
}
