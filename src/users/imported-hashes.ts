// Password hashes imported from other systems, in the formats Kinde's SetUserPassword takes
// (hashing_method: crypt, md5, sha256, wordpress, pbkdf2, firebase-scrypt, aspnet-identity-v2;
// bcrypt and argon2id are passwords.ts's own). Each is stored as one self-describing string,
//   $latchkey-import$<method>$<name=value,…>$<hash>
// (parameters as base64url bytes or decimal numbers; the hash as base64url bytes, or the original
// string for crypt(3) and phpass, which carry their own salt), so verifyPassword dispatches on it
// and the parameters travel with the hash. A correct sign-in re-hashes the password with argon2id
// (needsRehash is true for all of these), so the imported hash lives only until then.
// Verification is synchronous and CPU-bound: it runs only in the password worker threads.
import { createCipheriv, createHash, createHmac, pbkdf2Sync, scryptSync, timingSafeEqual } from "node:crypto";
import bcrypt from "bcryptjs";
import { md5Crypt, shaCrypt } from "./crypt3.js";

export const IMPORTED_HASH_PREFIX = "$latchkey-import$";

export const IMPORTED_METHODS = [
  "crypt",
  "md5",
  "sha256",
  "wordpress",
  "pbkdf2",
  "firebase-scrypt",
  "aspnet-identity-v2",
] as const;
export type ImportedMethod = (typeof IMPORTED_METHODS)[number];

export function isImportedMethod(method: string): method is ImportedMethod {
  return (IMPORTED_METHODS as readonly string[]).includes(method);
}

/** What Kinde's SetUserPassword body (or an import file's row) says about a hash. */
export interface ImportedHashInput {
  hashed_password: string;
  salt?: string | null;
  salt_position?: string | null;
  /** Kinde's import file: how an md5/sha256 salt is written ("hex" or "string", the default). */
  salt_format?: string | null;
  iterations?: number | null;
  variant?: string | null;
  signer_key?: string | null;
  salt_separator?: string | null;
  rounds?: number | null;
  mem_cost?: number | null;
}

type ParamName = Exclude<keyof ImportedHashInput, "hashed_password">;
const PARAMS: readonly ParamName[] = [
  "salt",
  "salt_position",
  "salt_format",
  "iterations",
  "variant",
  "signer_key",
  "salt_separator",
  "rounds",
  "mem_cost",
];
/** The parameters each method takes (Kinde's field descriptions); any other is refused. */
const ALLOWED: Record<ImportedMethod, readonly ParamName[]> = {
  crypt: [],
  wordpress: [],
  "aspnet-identity-v2": [],
  md5: ["salt", "salt_position", "salt_format"],
  sha256: ["salt", "salt_position", "salt_format"],
  pbkdf2: ["salt", "iterations", "variant"],
  "firebase-scrypt": ["salt", "signer_key", "salt_separator", "rounds", "mem_cost"],
};

// Costs beyond these would let one stored hash take seconds of CPU (or gigabytes) at every sign-in
// attempt until it is upgraded: refused at import rather than suffered at sign-in.
const PBKDF2_MAX_ITERATIONS = 1_000_000;
/** Kinde: "when omitted, verification defaults to 24000 (the FusionAuth default factor)". */
const PBKDF2_DEFAULT_ITERATIONS = 24_000;
const SHA_CRYPT_MAX_ROUNDS = 1_000_000;
const PHPASS_MAX_LOG2 = 18;
const FIREBASE_MAX_MEMORY = 256 * 1024 * 1024;
/**
 * The hash is as long as the signer key (Firebase's are 64 bytes): a short one would be matched by
 * a wrong password once in 256^length guesses, an empty one by every password.
 */
const FIREBASE_MIN_KEY_BYTES = 32;

/** FusionAuth's variant names: HMAC digest and derived key length in bytes. */
const PBKDF2_VARIANTS: Record<string, { digest: string; keyLength: number }> = {
  "salted-pbkdf2-hmac-sha256": { digest: "sha256", keyLength: 32 },
  "salted-pbkdf2-hmac-sha256-512": { digest: "sha256", keyLength: 64 },
  "salted-pbkdf2-hmac-sha512-512": { digest: "sha512", keyLength: 64 },
};

const ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const PHPASS = /^\$[PH]\$[./0-9A-Za-z]{31}$/;
const WP_BCRYPT = /^\$wp(\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53})$/;
const BCRYPT = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;
const SHA_CRYPT = /^\$([56])\$(?:rounds=(\d{1,10})\$)?([^$:\n]{0,16})\$([./0-9A-Za-z]+)$/;
const MD5_CRYPT = /^\$1\$([^$:\n]{0,8})\$([./0-9A-Za-z]{22})$/;
const DES_CRYPT = /^[./0-9A-Za-z]{13}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/**
 * Limit on an imported bcrypt hash's cost: verifying one runs at every sign-in until it is
 * upgraded, so an absurd cost would be a denial of service (bcryptjs cost 14 ≈ 1.3 s of CPU).
 */
export const BCRYPT_MAX_COST = 14;

export type Encoded = { hash: string } | { problem: string };

const problem = (text: string): Encoded => ({ problem: text });

function base64Bytes(value: string | null | undefined): Buffer | undefined {
  if (value === undefined || value === null || value === "" || !BASE64.test(value.trim())) return undefined;
  return Buffer.from(value.trim(), "base64");
}

/**
 * Checks an imported hash and its parameters as Kinde describes them for `method`, and returns the
 * string to store — or why it cannot be stored, for a 400. Never echoes the hash or a salt.
 */
export function encodeImportedHash(method: ImportedMethod, input: ImportedHashInput): Encoded {
  const given = PARAMS.filter(
    (name) => input[name] !== undefined && input[name] !== null && input[name] !== "",
  );
  const extra = given.find((name) => !ALLOWED[method].includes(name));
  if (extra) return problem(`${extra} is not used with hashing_method ${method}`);
  const hashed = input.hashed_password.trim();
  switch (method) {
    case "md5":
    case "sha256":
      return saltedDigest(method, hashed, input);
    case "pbkdf2":
      return pbkdf2Hash(hashed, input);
    case "firebase-scrypt":
      return firebaseHash(hashed, input);
    case "aspnet-identity-v2":
      return aspnetHash(hashed);
    case "wordpress":
      return wordpressHash(hashed);
    case "crypt":
      return cryptHash(hashed);
  }
}

function stored(method: ImportedMethod, params: Record<string, string | number>, hash: string): string {
  const list = Object.entries(params)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  return `${IMPORTED_HASH_PREFIX}${method}$${list}$${hash}`;
}

const b64u = (bytes: Buffer): string => bytes.toString("base64url");

function saltedDigest(method: "md5" | "sha256", hashed: string, input: ImportedHashInput): Encoded {
  const size = method === "md5" ? 16 : 32;
  let digest: Buffer | undefined;
  if (hashed.length === size * 2 && HEX.test(hashed)) digest = Buffer.from(hashed, "hex");
  else if (BASE64.test(hashed) && Buffer.from(hashed, "base64").length === size)
    digest = Buffer.from(hashed, "base64");
  if (!digest)
    return problem(`hashed_password is not a ${method} digest (${size * 2} hex or base64 of ${size} bytes)`);
  const salt = input.salt ?? "";
  if (salt === "") {
    if (input.salt_position) return problem("salt_position is only used with a salt");
    return { hash: stored(method, {}, b64u(digest)) };
  }
  if (input.salt_position !== "prefix" && input.salt_position !== "suffix")
    return problem(`salt_position (prefix or suffix) is required with a salt for ${method}`);
  const format = input.salt_format ?? "string";
  if (format !== "string" && format !== "hex") return problem('salt_format must be "hex" or "string"');
  if (format === "hex" && !HEX.test(salt)) return problem("salt is not hexadecimal (salt_format hex)");
  const saltBytes = format === "hex" ? Buffer.from(salt, "hex") : Buffer.from(salt, "utf8");
  const position = input.salt_position === "prefix" ? "p" : "s";
  return { hash: stored(method, { salt: b64u(saltBytes), at: position }, b64u(digest)) };
}

function pbkdf2Hash(hashed: string, input: ImportedHashInput): Encoded {
  if (!input.variant)
    return problem(`variant is required for pbkdf2 (${Object.keys(PBKDF2_VARIANTS).join(", ")})`);
  const variant = PBKDF2_VARIANTS[input.variant];
  if (!variant) return problem(`pbkdf2 variant must be one of ${Object.keys(PBKDF2_VARIANTS).join(", ")}`);
  const salt = base64Bytes(input.salt);
  if (!salt) return problem("salt is required for pbkdf2: the base64-encoded salt");
  const iterations = input.iterations ?? PBKDF2_DEFAULT_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > PBKDF2_MAX_ITERATIONS)
    return problem(`pbkdf2 iterations must be between 1 and ${PBKDF2_MAX_ITERATIONS}`);
  const key = base64Bytes(hashed);
  if (!key || key.length !== variant.keyLength)
    return problem(`hashed_password is not a base64 ${input.variant} key (${variant.keyLength} bytes)`);
  return {
    hash: stored("pbkdf2", { v: input.variant, i: iterations, salt: b64u(salt) }, b64u(key)),
  };
}

function firebaseHash(hashed: string, input: ImportedHashInput): Encoded {
  const salt = base64Bytes(input.salt);
  if (!salt) return problem("salt is required for firebase-scrypt: the user's base64-encoded salt");
  const signer = base64Bytes(input.signer_key);
  if (!signer) return problem("signer_key is required for firebase-scrypt: the base64-encoded signer key");
  if (signer.length < FIREBASE_MIN_KEY_BYTES)
    return problem(`signer_key must be at least ${FIREBASE_MIN_KEY_BYTES} bytes (Firebase's are 64)`);
  if (input.salt_separator === undefined || input.salt_separator === null || input.salt_separator === "")
    return problem("salt_separator is required for firebase-scrypt: the base64-encoded salt separator");
  const separator = base64Bytes(input.salt_separator);
  if (!separator) return problem("salt_separator is not base64");
  const { rounds, mem_cost: memCost } = input;
  if (rounds === undefined || rounds === null || !Number.isInteger(rounds) || rounds < 1 || rounds > 16)
    return problem("rounds is required for firebase-scrypt, between 1 and 16");
  if (memCost === undefined || memCost === null || !Number.isInteger(memCost) || memCost < 1 || memCost > 20)
    return problem("mem_cost is required for firebase-scrypt, between 1 and 20");
  // scrypt needs 128·r·N bytes; Firebase's defaults (rounds 8, mem_cost 14) take 16 MiB.
  if (128 * rounds * 2 ** memCost > FIREBASE_MAX_MEMORY)
    return problem("firebase-scrypt rounds and mem_cost need more than 256 MiB per check; refused");
  const key = base64Bytes(hashed);
  if (!key || key.length !== signer.length)
    return problem("hashed_password is not a base64 firebase-scrypt hash (as long as the signer key)");
  // The hash is the signer key under AES-256-CTR, so hash ⊕ signer key is the key stream the
  // password's scrypt key makes: storing that verifies the same passwords, with the same scrypt
  // cost to crack, without keeping the customer's Firebase signer key (a project-wide secret) in
  // Latchkey's database. Migration 0044 rewrote the hashes stored with it before.
  const params = { r: rounds, m: memCost, salt: b64u(salt), sep: b64u(separator) };
  return { hash: stored("firebase-scrypt", params, b64u(xor(key, signer))) };
}

function xor(a: Buffer, b: Buffer): Buffer {
  return Buffer.from(a.map((byte, i) => byte ^ b[i]!));
}

function aspnetHash(hashed: string): Encoded {
  const bytes = base64Bytes(hashed);
  if (bytes?.[0] === 0x01)
    return problem("hashed_password is an ASP.NET Identity v3 hash (0x01), not v2 (0x00)");
  // ASP.NET Identity v2: 0x00, a 16-byte salt, a 32-byte PBKDF2-HMAC-SHA1 subkey (1000 iterations).
  if (bytes?.length !== 49 || bytes[0] !== 0x00)
    return problem("hashed_password is not a base64 ASP.NET Identity v2 hash (49 bytes starting 0x00)");
  return { hash: stored("aspnet-identity-v2", {}, b64u(bytes)) };
}

export function bcryptCostProblem(cost: number): string | undefined {
  return cost < 4 || cost > BCRYPT_MAX_COST
    ? `bcrypt cost must be between 4 and ${BCRYPT_MAX_COST}, not ${cost}`
    : undefined;
}

function wordpressHash(hashed: string): Encoded {
  if (PHPASS.test(hashed)) {
    const log2 = ITOA64.indexOf(hashed[3]!);
    if (log2 < 7 || log2 > PHPASS_MAX_LOG2)
      return problem(`phpass iteration count must be between 2^7 and 2^${PHPASS_MAX_LOG2}`);
    return { hash: stored("wordpress", {}, hashed) };
  }
  // WordPress 6.8+: "$wp" + bcrypt of base64(HMAC-SHA384(key "wp-sha384", password)).
  const wp = WP_BCRYPT.exec(hashed);
  if (wp) {
    const cost = bcryptCostProblem(Number(wp[2]));
    return cost ? problem(cost) : { hash: stored("wordpress", {}, hashed) };
  }
  if (BCRYPT.test(hashed))
    return problem("a bcrypt hash from WordPress is imported with hashing_method bcrypt");
  return problem("hashed_password is not a WordPress hash (phpass $P$/$H$, or $wp$2y$ from WordPress 6.8)");
}

function cryptHash(hashed: string): Encoded {
  const sha = SHA_CRYPT.exec(hashed);
  if (sha) {
    const rounds = sha[2] === undefined ? 5000 : Number(sha[2]);
    if (rounds > SHA_CRYPT_MAX_ROUNDS) return problem(`crypt rounds must be at most ${SHA_CRYPT_MAX_ROUNDS}`);
    const length = sha[1] === "5" ? 43 : 86;
    if (sha[4]!.length !== length) return problem(`hashed_password is not a $${sha[1]}$ crypt hash`);
    return { hash: stored("crypt", {}, hashed) };
  }
  if (MD5_CRYPT.test(hashed)) return { hash: stored("crypt", {}, hashed) };
  if (BCRYPT.test(hashed)) {
    const cost = bcryptCostProblem(Number(hashed.slice(4, 6)));
    return cost ? problem(cost) : { hash: stored("crypt", {}, hashed) };
  }
  // Traditional DES crypt keeps 8 characters of the password and 12 bits of salt: not imported.
  if (DES_CRYPT.test(hashed) || /^_[./0-9A-Za-z]{19}$/.test(hashed))
    return problem("DES crypt hashes are not supported (they keep only 8 characters of a password)");
  return problem(
    "hashed_password is not a supported crypt(3) hash ($1$ MD5, $5$ SHA-256, $6$ SHA-512, $2b$ bcrypt)",
  );
}

// ---- verification (worker threads only) ----------------------------------------------------------

function equal(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

const text = (value: string): Buffer => Buffer.from(value, "utf8");

function parse(
  storedHash: string,
): { method: string; params: Map<string, string>; hash: string } | undefined {
  if (!storedHash.startsWith(IMPORTED_HASH_PREFIX)) return undefined;
  const rest = storedHash.slice(IMPORTED_HASH_PREFIX.length);
  const [method, list, ...hash] = rest.split("$");
  if (method === undefined || list === undefined || hash.length === 0) return undefined;
  const params = new Map<string, string>();
  for (const pair of list === "" ? [] : list.split(",")) {
    const at = pair.indexOf("=");
    if (at > 0) params.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return { method, params, hash: hash.join("$") };
}

function bytesParam(params: Map<string, string>, name: string): Buffer {
  const value = params.get(name) ?? "";
  if (!BASE64URL.test(value)) throw new Error(`stored ${name} is malformed`);
  return Buffer.from(value, "base64url");
}

/** Whether `password` matches an imported hash; throws when the stored string is malformed. */
export function verifyImportedHash(storedHash: string, password: string): boolean {
  const parsed = parse(storedHash);
  if (!parsed) throw new Error("not an imported hash");
  const { method, params, hash } = parsed;
  switch (method) {
    case "md5":
    case "sha256": {
      const salt = params.has("salt") ? bytesParam(params, "salt") : Buffer.alloc(0);
      const parts = params.get("at") === "s" ? [text(password), salt] : [salt, text(password)];
      const digest = createHash(method).update(Buffer.concat(parts)).digest();
      return equal(digest, Buffer.from(hash, "base64url"));
    }
    case "pbkdf2": {
      const variant = PBKDF2_VARIANTS[params.get("v") ?? ""];
      const iterations = Number(params.get("i"));
      if (!variant || !Number.isInteger(iterations) || iterations < 1)
        throw new Error("stored pbkdf2 is malformed");
      const key = pbkdf2Sync(
        text(password),
        bytesParam(params, "salt"),
        iterations,
        variant.keyLength,
        variant.digest,
      );
      return equal(key, Buffer.from(hash, "base64url"));
    }
    case "firebase-scrypt": {
      const expected = Buffer.from(hash, "base64url");
      if (expected.length < FIREBASE_MIN_KEY_BYTES) throw new Error("stored firebase-scrypt is malformed");
      // The key stream, or (stored with its signer key by a version before migration 0044, and
      // written by one during an upgrade) Firebase's own hash: the signer key encrypted.
      const plaintext = params.has("key") ? bytesParam(params, "key") : Buffer.alloc(expected.length);
      return equal(firebaseScrypt(password, params, plaintext), expected);
    }
    case "aspnet-identity-v2": {
      const bytes = Buffer.from(hash, "base64url");
      const subkey = pbkdf2Sync(text(password), bytes.subarray(1, 17), 1000, 32, "sha1");
      return equal(subkey, bytes.subarray(17));
    }
    case "wordpress":
      return verifyWordpress(hash, password);
    case "crypt":
      return verifyCrypt(hash, password);
    default:
      throw new Error("unknown imported hashing method");
  }
}

/**
 * Firebase's modified scrypt (github.com/firebase/scrypt): the scrypt key of the password under
 * salt ‖ salt separator (N = 2^mem_cost, r = rounds, p = 1, 32 bytes) is an AES-256-CTR key (zero
 * counter) that encrypts the project's signer key; the ciphertext is Firebase's hash. Here it
 * encrypts `plaintext`: zeros give the key stream Latchkey stores instead (see firebaseHash).
 */
function firebaseScrypt(password: string, params: Map<string, string>, plaintext: Buffer): Buffer {
  const rounds = Number(params.get("r"));
  const memCost = Number(params.get("m"));
  const salt = Buffer.concat([bytesParam(params, "salt"), bytesParam(params, "sep")]);
  const N = 2 ** memCost;
  const derived = scryptSync(text(password), salt, 32, {
    N,
    r: rounds,
    p: 1,
    maxmem: 256 * rounds * N + 1024,
  });
  const cipher = createCipheriv("aes-256-ctr", derived, Buffer.alloc(16));
  return Buffer.concat([cipher.update(plaintext), cipher.final()]);
}

function verifyWordpress(hash: string, password: string): boolean {
  const wp = WP_BCRYPT.exec(hash);
  if (wp) {
    const prehash = createHmac("sha384", "wp-sha384").update(text(password)).digest("base64");
    return bcrypt.compareSync(prehash, wp[1]!);
  }
  return equal(text(phpassHash(hash, password)), text(hash));
}

/** phpass's portable hash (openwall.com/phpass): 2^n rounds of MD5 over the salt and password. */
export function phpassHash(setting: string, password: string): string {
  const log2 = ITOA64.indexOf(setting[3] ?? "");
  if (log2 < 7 || log2 > 30) throw new Error("phpass iteration count out of range");
  const salt = setting.slice(4, 12);
  const secret = text(password);
  let digest = createHash("md5")
    .update(Buffer.concat([text(salt), secret]))
    .digest();
  for (let count = 2 ** log2; count > 0; count--)
    digest = createHash("md5")
      .update(Buffer.concat([digest, secret]))
      .digest();
  return setting.slice(0, 12) + phpassEncode(digest);
}

function phpassEncode(input: Buffer): string {
  let output = "";
  let i = 0;
  const count = input.length;
  do {
    let value = input[i++]!;
    output += ITOA64[value & 0x3f];
    if (i < count) value |= input[i]! << 8;
    output += ITOA64[(value >> 6) & 0x3f];
    if (i++ >= count) break;
    if (i < count) value |= input[i]! << 16;
    output += ITOA64[(value >> 12) & 0x3f];
    if (i++ >= count) break;
    output += ITOA64[(value >> 18) & 0x3f];
  } while (i < count);
  return output;
}

function verifyCrypt(hash: string, password: string): boolean {
  if (BCRYPT.test(hash)) return bcrypt.compareSync(password, hash);
  const sha = SHA_CRYPT.exec(hash);
  const computed = sha
    ? shaCrypt(
        sha[1] === "5" ? "sha256" : "sha512",
        text(password),
        sha[3]!,
        sha[2] === undefined ? undefined : Number(sha[2]),
      )
    : MD5_CRYPT.test(hash)
      ? md5Crypt(text(password), MD5_CRYPT.exec(hash)![1]!)
      : undefined;
  if (computed === undefined) throw new Error("stored crypt hash is malformed");
  return equal(text(computed), text(hash));
}
