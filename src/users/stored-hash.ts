// From a hash someone else computed (Kinde's SetUserPassword body, or a row of an import file) to
// the string Latchkey stores: one place that decides which hashing_method is which, shared by the
// Management API and `latchkey users import`.
import {
  encodeImportedHash,
  IMPORTED_METHODS,
  type ImportedHashInput,
  isImportedMethod,
} from "./imported-hashes.js";
import { passwordHashProblem } from "./passwords.js";

export type StoredHash =
  | { hash: string }
  | { code: "HASHING_METHOD_NOT_SUPPORTED" | "INVALID_REQUEST" | "INVALID_PASSWORD_HASH"; problem: string };

const OTHER_PARAMS = [
  "salt",
  "salt_position",
  "salt_format",
  "iterations",
  "variant",
  "signer_key",
  "salt_separator",
  "rounds",
  "mem_cost",
] as const;

/**
 * Kinde's default hashing_method is bcrypt; a Latchkey argon2id PHC string is recognised without
 * one. The hash and its salt never appear in a problem (they are secrets of a kind).
 */
export function storedHashOf(method: string | null | undefined, input: ImportedHashInput): StoredHash {
  const hashed = input.hashed_password;
  const chosen = (method ?? (hashed.startsWith("$argon2id$") ? "argon2id" : "bcrypt")).toLowerCase();
  if (chosen === "bcrypt" || chosen === "argon2id") {
    const extra = OTHER_PARAMS.find(
      (name) => input[name] !== undefined && input[name] !== null && input[name] !== "",
    );
    if (extra)
      return { code: "INVALID_REQUEST", problem: `${extra} is not used with hashing_method ${chosen}` };
    const problem = passwordHashProblem(hashed, chosen);
    return problem ? { code: "INVALID_PASSWORD_HASH", problem } : { hash: hashed };
  }
  if (!isImportedMethod(chosen))
    return {
      code: "HASHING_METHOD_NOT_SUPPORTED",
      problem:
        `Unknown hashing method ${chosen.slice(0, 50)}; use one of bcrypt, ${IMPORTED_METHODS.join(", ")}, ` +
        "argon2id (a PHC string) or a plaintext password",
    };
  const encoded = encodeImportedHash(chosen, input);
  if ("problem" in encoded) {
    const misplaced = / is not used with | is only used with /.test(encoded.problem);
    return { code: misplaced ? "INVALID_REQUEST" : "INVALID_PASSWORD_HASH", problem: encoded.problem };
  }
  return encoded;
}
