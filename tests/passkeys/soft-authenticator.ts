// A WebAuthn authenticator in the test process (an ES256 key pair), for the assertions a browser
// would never make: for another RP ID or origin, without user verification, with a counter gone
// backwards. Its credential is saved through the same store as a registered one; the server checks
// its answers with @simplewebauthn/server as it checks Chromium's.
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import type { TestServer } from "../helpers/server.js";

/** The little CBOR (RFC 8949) a COSE key needs: small integers, byte strings, a map. */
function cbor(value: number | Buffer | Map<number, number | Buffer>): Buffer {
  const head = (major: number, length: number): Buffer => {
    if (length < 24) return Buffer.from([(major << 5) | length]);
    if (length < 256) return Buffer.from([(major << 5) | 24, length]);
    return Buffer.from([(major << 5) | 25, length >> 8, length & 0xff]);
  };
  if (typeof value === "number") return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (Buffer.isBuffer(value)) return Buffer.concat([head(2, value.length), value]);
  const parts = [head(5, value.size)];
  for (const [k, v] of value) parts.push(cbor(k), cbor(v));
  return Buffer.concat(parts);
}

export interface AssertionOptions {
  challenge: string;
  rpId: string;
  origin: string;
  counter: number;
  /** User verified (UV flag); true by default. */
  userVerified?: boolean;
  /** Backup eligible (BE flag): a synced passkey. */
  backupEligible?: boolean;
  type?: string;
}

export class SoftAuthenticator {
  readonly credentialId = randomBytes(16).toString("base64url");
  private readonly privateKey: KeyObject;
  readonly publicKeyCose: string;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    this.privateKey = privateKey;
    const jwk = publicKey.export({ format: "jwk" });
    // RFC 9053 §7.1.1: kty EC2 (2), alg ES256 (-7), crv P-256 (1), x, y.
    const key = new Map<number, number | Buffer>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, Buffer.from(jwk.x!, "base64url")],
      [-3, Buffer.from(jwk.y!, "base64url")],
    ]);
    this.publicKeyCose = cbor(key).toString("base64url");
  }

  /** Saves this credential for `userId` as registration would (same store, same columns). */
  async saveFor(server: TestServer, userId: string, signCount = 0, multiDevice = false): Promise<string> {
    const saved = await server.services.passkeys.store.insert({
      userId,
      credentialId: this.credentialId,
      publicKey: this.publicKeyCose,
      signCount,
      transports: ["internal"],
      deviceType: multiDevice ? "multiDevice" : "singleDevice",
      backedUp: false,
      aaguid: null,
      name: "Soft key",
    });
    return saved.id;
  }

  /** The JSON a browser would post for navigator.credentials.get() answered by this key. */
  assert(userId: string, options: AssertionOptions): string {
    const flags = 0x01 | (options.userVerified === false ? 0 : 0x04) | (options.backupEligible ? 0x08 : 0);
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(options.counter);
    const authenticatorData = Buffer.concat([
      createHash("sha256").update(options.rpId).digest(),
      Buffer.from([flags]),
      counter,
    ]);
    const clientDataJSON = Buffer.from(
      JSON.stringify({
        type: options.type ?? "webauthn.get",
        challenge: options.challenge,
        origin: options.origin,
        crossOrigin: false,
      }),
    );
    const signed = Buffer.concat([authenticatorData, createHash("sha256").update(clientDataJSON).digest()]);
    // WebAuthn §6.5.6: ES256 signatures are DER-encoded (Node's default for EC keys).
    const signature = sign("sha256", signed, this.privateKey);
    return JSON.stringify({
      id: this.credentialId,
      rawId: this.credentialId,
      type: "public-key",
      clientExtensionResults: {},
      response: {
        clientDataJSON: clientDataJSON.toString("base64url"),
        authenticatorData: authenticatorData.toString("base64url"),
        signature: signature.toString("base64url"),
        userHandle: Buffer.from(userId, "utf8").toString("base64url"),
      },
    });
  }
}
