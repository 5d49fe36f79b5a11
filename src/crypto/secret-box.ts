// AES-256-GCM for secrets we must replay (client secrets shown to administrators, private signing
// keys, third-party tokens). Each ciphertext names the key that sealed it, so the master key can
// rotate: new data is sealed with the current key, old data still opens with a previous one.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

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
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
    decipher.setAAD(Buffer.from(aad, "utf8"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString(
      "utf8",
    );
  }

  /** True when the value was sealed with an older key and should be re-sealed. */
  isStale(sealed: string): boolean {
    return sealed.split(".")[1] !== this.current.id;
  }
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
