// The work a password-hashing worker thread does (password-worker.ts runs it, password-pool.ts
// sends it). Synchronous on purpose: each worker is a thread of its own, so blocking it is the point,
// and the thread's low priority then applies to the hashing itself.
import { hashSync, verifySync } from "@node-rs/argon2";
import bcrypt from "bcryptjs";
import { verifyImportedHash } from "./imported-hashes.js";

export interface Argon2Parameters {
  algorithm: 2;
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export type PasswordJob =
  | { op: "argon2-hash"; password: string; options: Argon2Parameters }
  | { op: "argon2-verify"; hash: string; password: string }
  | { op: "bcrypt-verify"; hash: string; password: string }
  | { op: "imported-verify"; hash: string; password: string };

/**
 * `ok: false` is the library refusing the input (a malformed stored hash, say): the job ran, the
 * worker is fine. A worker that dies rejects the job instead (password-pool.ts), so the two never
 * mix. `ms` is how long the job took once started (for Retry-After), not counting its wait.
 */
export type PasswordJobResult =
  | { ok: true; value: string | boolean; ms: number }
  | { ok: false; message: string; ms: number };

export function runPasswordJob(job: PasswordJob): PasswordJobResult {
  const started = performance.now();
  const ms = () => performance.now() - started;
  try {
    switch (job.op) {
      case "argon2-hash":
        return { ok: true, value: hashSync(job.password, job.options), ms: ms() };
      case "argon2-verify":
        return { ok: true, value: verifySync(job.hash, job.password), ms: ms() };
      case "bcrypt-verify":
        return { ok: true, value: bcrypt.compareSync(job.password, job.hash), ms: ms() };
      case "imported-verify":
        return { ok: true, value: verifyImportedHash(job.hash, job.password), ms: ms() };
    }
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error), ms: ms() };
  }
}
