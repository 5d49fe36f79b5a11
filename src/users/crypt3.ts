// crypt(3) schemes for imported hashes (hashing_method crypt): SHA-256-crypt ($5$) and
// SHA-512-crypt ($6$) as Ulrich Drepper specified them (akkadia.org/drepper/SHA-crypt.txt, the
// algorithm glibc implements), and Poul-Henning Kamp's MD5-crypt ($1$, FreeBSD/glibc). Each returns
// the whole crypt string, compared by the caller in constant time. Worker threads only.
import { createHash, type Hash } from "node:crypto";

const ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Drepper's byte order for the final encoding (three bytes → four characters). */
const SHA512_ORDER = [
  [0, 21, 42],
  [22, 43, 1],
  [44, 2, 23],
  [3, 24, 45],
  [25, 46, 4],
  [47, 5, 26],
  [6, 27, 48],
  [28, 49, 7],
  [50, 8, 29],
  [9, 30, 51],
  [31, 52, 10],
  [53, 11, 32],
  [12, 33, 54],
  [34, 55, 13],
  [56, 14, 35],
  [15, 36, 57],
  [37, 58, 16],
  [59, 17, 38],
  [18, 39, 60],
  [40, 61, 19],
  [62, 20, 41],
] as const;
const SHA256_ORDER = [
  [0, 10, 20],
  [21, 1, 11],
  [12, 22, 2],
  [3, 13, 23],
  [24, 4, 14],
  [15, 25, 5],
  [6, 16, 26],
  [27, 7, 17],
  [18, 28, 8],
  [9, 19, 29],
] as const;
const MD5_ORDER = [
  [0, 6, 12],
  [1, 7, 13],
  [2, 8, 14],
  [3, 9, 15],
  [4, 10, 5],
] as const;

/** The low `n` six-bit groups of a 24-bit value, least significant first. */
function b64From24(b2: number, b1: number, b0: number, n: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let out = "";
  for (let i = 0; i < n; i++) {
    out += ITOA64[w & 0x3f];
    w >>= 6;
  }
  return out;
}

/** `source` repeated to `length` bytes. */
function stretch(source: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += source.length) source.copy(out, i, 0, Math.min(source.length, length - i));
  return out;
}

const ROUNDS_DEFAULT = 5000;
const ROUNDS_MIN = 1000;
const ROUNDS_MAX = 999_999_999;

/** SHA-crypt: `rounds` as written in the hash ("rounds=N$"), or undefined for the default. */
export function shaCrypt(
  algorithm: "sha256" | "sha512",
  password: Buffer,
  saltText: string,
  rounds: number | undefined,
): string {
  const size = algorithm === "sha256" ? 32 : 64;
  const h = (): Hash => createHash(algorithm);
  const salt = Buffer.from(saltText, "utf8").subarray(0, 16);
  const count = rounds === undefined ? ROUNDS_DEFAULT : Math.min(ROUNDS_MAX, Math.max(ROUNDS_MIN, rounds));

  const b = h().update(password).update(salt).update(password).digest();
  const ctxA = h().update(password).update(salt);
  let left = password.length;
  for (; left > size; left -= size) ctxA.update(b);
  ctxA.update(b.subarray(0, left));
  for (let bits = password.length; bits > 0; bits >>= 1) ctxA.update(bits & 1 ? b : password);
  const a = ctxA.digest();

  const dp = h();
  for (let i = 0; i < password.length; i++) dp.update(password);
  const p = stretch(dp.digest(), password.length);
  const ds = h();
  for (let i = 0; i < 16 + a[0]!; i++) ds.update(salt);
  const s = stretch(ds.digest(), salt.length);

  let c = a;
  for (let i = 0; i < count; i++) {
    const ctx = h();
    ctx.update(i & 1 ? p : c);
    if (i % 3) ctx.update(s);
    if (i % 7) ctx.update(p);
    ctx.update(i & 1 ? c : p);
    c = ctx.digest();
  }

  let encoded = "";
  if (algorithm === "sha512") {
    for (const [x, y, z] of SHA512_ORDER) encoded += b64From24(c[x]!, c[y]!, c[z]!, 4);
    encoded += b64From24(0, 0, c[63]!, 2);
  } else {
    for (const [x, y, z] of SHA256_ORDER) encoded += b64From24(c[x]!, c[y]!, c[z]!, 4);
    encoded += b64From24(0, c[31]!, c[30]!, 3);
  }
  const id = algorithm === "sha256" ? "5" : "6";
  const roundsPart = rounds === undefined ? "" : `rounds=${count}$`;
  return `$${id}$${roundsPart}${salt.toString("utf8")}$${encoded}`;
}

/** MD5-crypt ("$1$"): 1000 rounds of MD5 over the password, salt and previous digest. */
export function md5Crypt(password: Buffer, saltText: string): string {
  const magic = Buffer.from("$1$");
  const salt = Buffer.from(saltText, "utf8").subarray(0, 8);
  const alt = createHash("md5").update(password).update(salt).update(password).digest();
  const ctx = createHash("md5").update(password).update(magic).update(salt);
  for (let left = password.length; left > 0; left -= 16) ctx.update(alt.subarray(0, Math.min(left, 16)));
  for (let bits = password.length; bits > 0; bits >>= 1)
    ctx.update(bits & 1 ? Buffer.alloc(1) : password.subarray(0, 1));
  let final = ctx.digest();
  for (let i = 0; i < 1000; i++) {
    const round = createHash("md5");
    round.update(i & 1 ? password : final);
    if (i % 3) round.update(salt);
    if (i % 7) round.update(password);
    round.update(i & 1 ? final : password);
    final = round.digest();
  }
  let encoded = "";
  for (const [x, y, z] of MD5_ORDER) encoded += b64From24(final[x]!, final[y]!, final[z]!, 4);
  encoded += b64From24(0, 0, final[11]!, 2);
  return `$1$${salt.toString("utf8")}$${encoded}`;
}
