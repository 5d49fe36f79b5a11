// AES-256-GCM for secrets we must replay (client secrets shown to administrators, private signing
// keys, third-party tokens). Each ciphertext names the key that sealed it, so the master key can
// rotate: new data is sealed with the current key, old data still opens with a previous one.
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";

const VERSION = "v1";

export class SecretBox {
  private readonly current: { id: string; key: Buffer };
  private readonly keys = new Map<string, Buffer>();

  constructor(currentKey: Buffer, previousKeys: readonly Buffer[] = []) {
    for (const key of [currentKey, ...previousKeys]) {
      if (key.length !== 32) throw new Error("SecretBox keys must be 32 bytes");
      this.keys.set(keyId(key), key);
    }
    this.current = { id: keyId(currentKey), key: currentKey };
  }

  get currentKeyId(): string {
    return this.current.id;
  }

  /** The ids of every key this box opens with: the current one first, then the previous ones. */
  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  /**
   * `aad` binds a ciphertext to its row (e.g. a client id) so a ciphertext copied into another row
   * does not decrypt there.
   */
  seal(plaintext: string, aad = ""): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.current.key, iv);
    cipher.setAAD(Buffer.from(aad, "utf8"));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return [VERSION, this.current.id, b64(iv), b64(cipher.getAuthTag()), b64(body)].join(".");
  }

  open(sealed: string, aad = ""): string {
    const [version, id, iv, tag, body] = sealed.split(".");
    if (version !== VERSION || !id || iv === undefined || tag === undefined || body === undefined) {
      throw new Error("Malformed sealed secret");
    }
    const key = this.keys.get(id);
    if (!key) throw new Error(`Secret sealed with unknown master key ${id}; is LATCHKEY_MASTER_KEY right?`);
    const ivBytes = Buffer.from(iv, "base64url");
    const tagBytes = Buffer.from(tag, "base64url");
    // Only what seal() makes: a 96-bit IV and the full 128-bit tag. GCM itself would check a tag
    // cut to 4 bytes, and some sealed values come back from browsers (state, cookies), where a
    // short tag would make forging one a 2^-32 guess instead of 2^-128 (NIST SP 800-38D §5.2.1.2).
    if (ivBytes.length !== 12 || tagBytes.length !== 16) throw new Error("Malformed sealed secret");
    const decipher = createDecipheriv("aes-256-gcm", key, ivBytes, { authTagLength: 16 });
    decipher.setAAD(Buffer.from(aad, "utf8"));
    decipher.setAuthTag(tagBytes);
    return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString(
      "utf8",
    );
  }

  /**
   * A keyed hash (HMAC-SHA-256 under a key derived from the current master key for `purpose`), for
   * values we only verify but whose space is small — a 6-digit code's plain SHA-256 is reversed by
   * trying all million: without the master key, a copy of the database does not reveal the codes.
   */
  mac(value: string, purpose: string): string {
    return macWith(this.current.key, value, purpose);
  }

  /** Whether `mac` is `value`'s under any key of this box (a rotation keeps recent values valid). */
  macMatches(value: string, purpose: string, mac: string): boolean {
    const expected = Buffer.from(mac, "base64url");
    let matches = false;
    for (const key of this.keys.values()) {
      const actual = Buffer.from(macWith(key, value, purpose), "base64url");
      // Every key is tried, in constant time each: the answer's timing names no key.
      if (actual.length === expected.length && timingSafeEqual(actual, expected)) matches = true;
    }
    return matches;
  }

  /** True when the value was sealed with an older key and should be re-sealed. */
  isStale(sealed: string): boolean {
    return sealed.split(".")[1] !== this.current.id;
  }
}

function macWith(masterKey: Buffer, value: string, purpose: string): string {
  const key = Buffer.from(hkdfSync("sha256", masterKey, "", `latchkey-mac:${purpose}`, 32));
  return createHmac("sha256", key).update(value, "utf8").digest("base64url");
}

/** The id of the key a sealed value names (undefined when it is not a sealed value at all). */
export function sealedKeyId(sealed: string): string | undefined {
  const [version, id] = sealed.split(".", 2);
  return version === VERSION && id ? id : undefined;
}

/** A public, non-secret fingerprint of a key: 8 hex characters of its SHA-256. */
export function keyId(key: Buffer): string {
  return createHash("sha256").update("latchkey-master-key-id").update(key).digest("hex").slice(0, 8);
}

function b64(buffer: Buffer): string {
  return buffer.toString("base64url");
}
