// Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3):
// client_secret_basic, client_secret_post, or `none` for public clients — exactly one per request.
import { createHash, timingSafeEqual } from "node:crypto";
import type { ApplicationType } from "../storage/schema.js";
import { OAuthError } from "./errors.js";
import type { Params } from "./params.js";
import type { ClientRecord, OAuthStore } from "./ports.js";

/** Public clients (RFC 6749 §2.1) hold no secret: front-end apps, and devices (RFC 8628 §3.1). */
export function isPublicClient(type: ApplicationType): boolean {
  return type === "spa" || type === "device";
}

export interface AuthenticatedClient {
  client: ClientRecord;
  method: "client_secret_basic" | "client_secret_post" | "none";
}

/** A client's credentials as a request presents them, before anything is looked up. */
export interface PresentedClient {
  clientId: string;
  secret: string | undefined;
  method: AuthenticatedClient["method"];
  /** Sent in the Authorization header (a refusal then carries a Basic challenge, §5.2). */
  usedHeader: boolean;
}

export function authenticateClient(
  store: OAuthStore,
  params: Params,
  authorization: string | undefined,
): Promise<AuthenticatedClient> {
  return verifyClient(store, presentedClient(params, authorization));
}

/** Reads the credentials (exactly one method, well-formed); throws what a malformed request gets. */
export function presentedClient(params: Params, authorization: string | undefined): PresentedClient {
  const basic = parseBasic(authorization);
  const bodyId = params.get("client_id");
  const bodySecret = params.get("client_secret");
  if (basic && bodySecret !== undefined) {
    throw new OAuthError("invalid_request", "Use one client authentication method, not several");
  }
  if (basic && bodyId !== undefined && bodyId !== basic.id) {
    throw new OAuthError("invalid_request", "client_id does not match the Authorization header");
  }
  const clientId = basic?.id ?? bodyId;
  if (clientId === undefined)
    throw invalidClient(Boolean(authorization), "Client authentication is required");
  const secret = basic?.secret ?? bodySecret;
  const method = basic ? "client_secret_basic" : secret !== undefined ? "client_secret_post" : "none";
  return { clientId, secret, method, usedHeader: basic !== undefined };
}

/** Looks the client up and checks the presented secret (or that a public client presented none). */
export async function verifyClient(
  store: OAuthStore,
  { clientId, secret, method, usedHeader }: PresentedClient,
): Promise<AuthenticatedClient> {
  const client = await store.findClient(clientId);
  if (!client) throw invalidClient(usedHeader, "Client authentication failed");
  if (isPublicClient(client.type)) {
    // Public clients have no secret (RFC 6749 §2.1); one presented is a misconfiguration.
    if (method !== "none") throw invalidClient(usedHeader, "This public client has no secret");
    return { client, method };
  }
  if (secret === undefined || client.secret === undefined || !secretMatches(secret, client.secret, client)) {
    throw invalidClient(usedHeader, "Client authentication failed");
  }
  return { client, method };
}

/**
 * SHA-256 of each client record's secret, taken once per record. The configuration cache hands
 * out one frozen record per client until the configuration changes (src/oauth/config-cache.ts),
 * and a rotated or revoked secret arrives as a new record, so a digest is never used past the
 * record it was taken from; a record read without the cache is new each time and hashed each time.
 */
const storedSecretDigests = new WeakMap<ClientRecord, { secret: string; digest: Buffer }>();

function sha256Digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/** As safeEqual (crypto/random.ts): both sides hashed, so neither contents nor length leak by timing. */
function secretMatches(presented: string, secret: string, client: ClientRecord): boolean {
  let stored = storedSecretDigests.get(client);
  // Compares the record's secret with the copy hashed before (not the caller's): timing is moot.
  if (stored?.secret !== secret) {
    stored = { secret, digest: sha256Digest(secret) };
    storedSecretDigests.set(client, stored);
  }
  return timingSafeEqual(sha256Digest(presented), stored.digest);
}

/** §5.2: 401, and a WWW-Authenticate challenge for the scheme the client tried. */
function invalidClient(usedHeader: boolean, description: string): OAuthError {
  return new OAuthError(
    "invalid_client",
    description,
    401,
    usedHeader ? { "www-authenticate": 'Basic realm="latchkey"' } : {},
  );
}

/** §2.3.1: id and secret are form-urlencoded before base64. */
function parseBasic(header: string | undefined): { id: string; secret: string } | undefined {
  if (header === undefined) return undefined;
  const malformed = (description: string) => invalidClient(true, description);
  const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header.trim());
  // §5.2: a scheme we do not support is an unsupported client authentication method.
  if (!match) throw malformed("Unsupported client authentication; use Basic or client_secret_post");
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 1) throw malformed("Malformed Basic credentials");
  let credentials: { id: string; secret: string };
  try {
    credentials = {
      id: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, " ")),
      secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, " ")),
    };
  } catch {
    throw malformed("Malformed Basic credentials");
  }
  if (`${credentials.id}${credentials.secret}`.includes("\u0000"))
    throw malformed("Malformed Basic credentials");
  return credentials;
}
