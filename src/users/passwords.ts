// Password hashing: argon2id with OWASP's minimum cost (m=19 MiB, t=2, p=1; ASVS 11.4.2).
// Imported hashes (Kinde's PUT /users/{id}/password) may also be bcrypt or argon2id with other
// parameters; they verify as they are and are re-hashed with ours at the next successful sign-in.
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

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
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
    dummyHash ??= hashPassword(`dummy-${Math.random()}`);
    await verify(await dummyHash, password).catch(() => false);
    return false;
  }
  try {
    if (BCRYPT_HASH.test(passwordHash)) return await bcrypt.compare(password, passwordHash);
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

export function passwordProblem(password: string): string | undefined {
  if (password.length < PASSWORD_MIN_LENGTH) return `Use at least ${PASSWORD_MIN_LENGTH} characters.`;
  if (password.length > PASSWORD_MAX_LENGTH) return `Use at most ${PASSWORD_MAX_LENGTH} characters.`;
  return undefined;
}
