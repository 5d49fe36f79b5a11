// RS256 signing keys, shared by every instance through the database, private halves sealed with
// the master key. A key is published in the JWKS from its creation, signs from `activeAt`, stops
// signing when a newer key activates, and leaves the JWKS once every token it signed has expired.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  type JsonWebKey,
  type KeyObject,
  randomBytes,
} from "node:crypto";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import type { Clock } from "../clock.js";
import type { SecretBox } from "../crypto/secret-box.js";
import type { OAuthStore, SigningKeyRecord } from "./ports.js";

export const SIGNING_ALGORITHM = "RS256";

export interface PublicJwk extends JWK {
  kty: "RSA";
  kid: string;
  use: "sig";
  alg: typeof SIGNING_ALGORITHM;
  n: string;
  e: string;
}

interface LoadedKey {
  record: SigningKeyRecord;
  publicJwk: PublicJwk;
}

/** A public document as sent: serialized once, with its strong validator (RFC 9110 §8.8.3). */
export interface CachedDocument {
  body: string;
  etag: string;
}

/** A strong ETag for a serialized body: a digest of the bytes, so any change changes it. */
export function documentFor(body: string): CachedDocument {
  return { body, etag: `"${createHash("sha256").update(body).digest("base64url")}"` };
}

export interface SigningKeysOptions {
  /** How long a key list read from the database is trusted before re-reading (other instances rotate). */
  cacheSeconds?: number;
}

export class SigningKeys {
  private cache: { loadedAt: number; keys: LoadedKey[] } | undefined;
  // Node KeyObjects, imported once per key: node:crypto signs and verifies with them without the
  // per-call overhead of WebCrypto (algorithm normalisation, key usage checks, buffer copies).
  private readonly privateKeys = new Map<string, KeyObject>();
  private readonly publicKeys = new Map<string, KeyObject>();
  private readonly cacheMs: number;
  private jwksCache: (CachedDocument & { kids: string }) | undefined;
  /**
   * jwksCache is the answer without looking while Date.now() is before `untilMs` (the key list is
   * re-read then) and the clock before `untilSeconds` (the first published key's expiry).
   */
  private jwksFresh = { untilMs: 0, untilSeconds: 0 };

  constructor(
    private readonly store: OAuthStore,
    private readonly secretBox: SecretBox,
    private readonly clock: Clock,
    options: SigningKeysOptions = {},
  ) {
    this.cacheMs = (options.cacheSeconds ?? 30) * 1000;
  }

  /** Makes sure a key can sign now: generates the first key of a new installation. */
  async ensureSigningKey(): Promise<void> {
    const now = this.clock.now();
    const keys = await this.load(true);
    if (
      !keys.some((k) => k.record.activeAt <= now && (k.record.retiredAt === null || k.record.retiredAt > now))
    ) {
      await this.insertNewKey(now);
      await this.load(true);
    }
  }

  /**
   * Starts a rotation: the new key is published at once and signs after `activateInSeconds`;
   * current keys stop signing then and stay published `keepSeconds` longer (the longest token
   * lifetime), so tokens they signed keep verifying.
   */
  async rotate(activateInSeconds: number, keepSeconds: number): Promise<SigningKeyRecord> {
    const now = this.clock.now();
    const activeAt = now + activateInSeconds;
    const record = await this.store.transaction(async (store) => {
      const created = await this.insertNewKey(activeAt, store);
      await store.retireSigningKeys(activeAt, activeAt + keepSeconds, created.kid);
      return created;
    });
    await this.load(true);
    return record;
  }

  /** The JWKS document: every key that is published now. */
  async jwks(): Promise<{ keys: PublicJwk[] }> {
    const now = this.clock.now();
    const keys = await this.load();
    return {
      keys: keys
        .filter((k) => k.record.expiresAt === null || k.record.expiresAt > now)
        .map((k) => k.publicJwk),
    };
  }

  /**
   * The JWKS serialized, re-serialized only when the set of published keys changes (a rotation
   * here or on another instance, seen when the key list is re-read, or a retired key expiring).
   */
  async jwksDocument(): Promise<CachedDocument> {
    const known = this.publishedJwks();
    if (known) return known;
    const loaded = await this.load();
    const loadedAt = this.cache?.keys === loaded ? this.cache.loadedAt : 0;
    const now = this.clock.now();
    const keys = loaded
      .filter((k) => k.record.expiresAt === null || k.record.expiresAt > now)
      .map((k) => k.publicJwk);
    const kids = keys.map((k) => k.kid).join(",");
    if (this.jwksCache?.kids !== kids) this.jwksCache = { ...documentFor(JSON.stringify({ keys })), kids };
    // The same answer until this key list is re-read or a published key expires, whichever is first.
    if (this.cacheMs > 0 && loadedAt > 0) {
      this.jwksFresh = {
        untilMs: loadedAt + this.cacheMs,
        untilSeconds: Math.min(
          ...loaded.map((k) =>
            k.record.expiresAt === null || k.record.expiresAt <= now
              ? Number.POSITIVE_INFINITY
              : k.record.expiresAt,
          ),
        ),
      };
    }
    return this.jwksCache;
  }

  /**
   * The JWKS document without a turn of the event loop while nothing can have changed it (the key
   * list is fresh and no published key has expired since); undefined when it must be worked out.
   */
  publishedJwks(): CachedDocument | undefined {
    return this.jwksCache &&
      Date.now() < this.jwksFresh.untilMs &&
      this.clock.now() < this.jwksFresh.untilSeconds
      ? this.jwksCache
      : undefined;
  }

  /** The key that signs now: the most recently activated one that is not retired. */
  async current(): Promise<{ kid: string; privateKey: KeyObject }> {
    const now = this.clock.now();
    let keys = await this.load();
    let signing = pickSigningKey(keys, now);
    if (!signing) {
      keys = await this.load(true);
      signing = pickSigningKey(keys, now);
    }
    if (!signing)
      throw new Error("No signing key is active; run `latchkey keys rotate` or restart to generate one");
    const { kid } = signing.record;
    let privateKey = this.privateKeys.get(kid);
    if (!privateKey) {
      const sealed = signing.record.privateKeySealed;
      privateKey = createPrivateKey({
        key: JSON.parse(this.secretBox.open(sealed, `signing_key:${kid}`)) as JsonWebKey,
        format: "jwk",
      });
      this.privateKeys.set(kid, privateKey);
    }
    return { kid, privateKey };
  }

  /** The public key for `kid` if it is published now; re-reads the database once on a miss. */
  async verificationKey(kid: string): Promise<KeyObject | undefined> {
    const find = (keys: LoadedKey[]) =>
      keys.find(
        (k) => k.record.kid === kid && (k.record.expiresAt === null || k.record.expiresAt > this.clock.now()),
      );
    const key = find(await this.load()) ?? find(await this.load(true));
    if (!key) return undefined;
    let publicKey = this.publicKeys.get(kid);
    if (!publicKey) {
      publicKey = createPublicKey({
        key: { kty: "RSA", n: key.publicJwk.n, e: key.publicJwk.e },
        format: "jwk",
      });
      this.publicKeys.set(kid, publicKey);
    }
    return publicKey;
  }

  private async load(force = false): Promise<LoadedKey[]> {
    if (!force && this.cache && Date.now() - this.cache.loadedAt < this.cacheMs) return this.cache.keys;
    const records = await this.store.listSigningKeys();
    const keys = records.map((record) => ({ record, publicJwk: JSON.parse(record.publicJwk) as PublicJwk }));
    this.cache = { loadedAt: Date.now(), keys };
    // A list read anew (a rotation here, or the periodic re-read) is looked at by the next JWKS.
    this.jwksFresh = { untilMs: 0, untilSeconds: 0 };
    return keys;
  }

  private async insertNewKey(activeAt: number, store: OAuthStore = this.store): Promise<SigningKeyRecord> {
    const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALGORITHM, {
      modulusLength: 2048,
      extractable: true,
    });
    const kid = headerSafeKid();
    const publicJwk: PublicJwk = {
      ...(await exportJWK(publicKey)),
      kid,
      use: "sig",
      alg: SIGNING_ALGORITHM,
    } as PublicJwk;
    const record: SigningKeyRecord = {
      kid,
      algorithm: SIGNING_ALGORITHM,
      publicJwk: JSON.stringify({
        kty: publicJwk.kty,
        kid,
        use: "sig",
        alg: SIGNING_ALGORITHM,
        n: publicJwk.n,
        e: publicJwk.e,
      }),
      privateKeySealed: this.secretBox.seal(
        JSON.stringify(await exportJWK(privateKey)),
        `signing_key:${kid}`,
      ),
      createdAt: this.clock.now(),
      activeAt,
      retiredAt: null,
      expiresAt: null,
    };
    await store.insertSigningKey(record);
    return record;
  }
}

function pickSigningKey(keys: LoadedKey[], now: number): LoadedKey | undefined {
  return keys
    .filter((k) => k.record.activeAt <= now && (k.record.retiredAt === null || k.record.retiredAt > now))
    .sort((a, b) => b.record.activeAt - a.record.activeAt || b.record.createdAt - a.record.createdAt)[0];
}

/** The exact protected header every token carries; the key id is chosen so it encodes safely. */
export function jwtHeader(kid: string): { alg: typeof SIGNING_ALGORITHM; kid: string; typ: "JWT" } {
  return { alg: SIGNING_ALGORITHM, kid, typ: "JWT" };
}

// @kinde/jwt-validator decodes the JWT header with plain atob(), which throws on the base64url
// characters "-" and "_" (COMPAT.md §1.5): pick a hex kid whose header encodes without them.
function headerSafeKid(): string {
  for (;;) {
    const kid = randomBytes(8).toString("hex");
    const encoded = Buffer.from(JSON.stringify(jwtHeader(kid))).toString("base64url");
    if (!/[-_]/.test(encoded)) return kid;
  }
}
