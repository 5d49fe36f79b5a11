// What a browser posts back from navigator.credentials.create()/get() (as @simplewebauthn/browser
// encodes it), read from untrusted form text into the library's types — or undefined. Only the
// shape is checked here; every value is verified by @simplewebauthn/server.
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from "@simplewebauthn/server";

/** Far above any real response (a packed attestation with a certificate chain is a few KB). */
const MAX_RESPONSE_LENGTH = 64 * 1024;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

type Json = Record<string, unknown>;

function objectOf(value: unknown): Json | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

function b64(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && BASE64URL.test(value);
}

function parse(text: string): Json | undefined {
  if (text.length === 0 || text.length > MAX_RESPONSE_LENGTH) return undefined;
  try {
    return objectOf(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** The parts every credential response has (WebAuthn §5.1, PublicKeyCredential's JSON form). */
function credentialParts(json: Json): { id: string; rawId: string; response: Json } | undefined {
  const response = objectOf(json.response);
  // §5.1: `id` is the base64url of `rawId`; a mismatch is a hand-made response.
  if (json.type !== "public-key" || !b64(json.id) || json.rawId !== json.id || !response) return undefined;
  return { id: json.id, rawId: json.id, response };
}

export function parseAuthenticationResponse(text: string): AuthenticationResponseJSON | undefined {
  const json = parse(text);
  const parts = json && credentialParts(json);
  if (!parts) return undefined;
  const { clientDataJSON, authenticatorData, signature, userHandle } = parts.response;
  if (!b64(clientDataJSON) || !b64(authenticatorData) || !b64(signature)) return undefined;
  if (userHandle !== undefined && userHandle !== null && !b64(userHandle)) return undefined;
  return {
    id: parts.id,
    rawId: parts.rawId,
    type: "public-key",
    clientExtensionResults: {},
    response: {
      clientDataJSON,
      authenticatorData,
      signature,
      ...(typeof userHandle === "string" ? { userHandle } : {}),
    },
  };
}

export function parseRegistrationResponse(text: string): RegistrationResponseJSON | undefined {
  const json = parse(text);
  const parts = json && credentialParts(json);
  if (!parts) return undefined;
  const { clientDataJSON, attestationObject, transports } = parts.response;
  if (!b64(clientDataJSON) || !b64(attestationObject)) return undefined;
  const known = Array.isArray(transports)
    ? transports.filter((t): t is string => typeof t === "string" && /^[a-z-]{1,20}$/.test(t)).slice(0, 8)
    : [];
  return {
    id: parts.id,
    rawId: parts.rawId,
    type: "public-key",
    clientExtensionResults: {},
    response: { clientDataJSON, attestationObject, transports: known },
  };
}

/** The challenge a response signed (clientDataJSON, WebAuthn §5.8.1), to find what it answers. */
export function signedChallenge(clientDataJSON: string): string | undefined {
  try {
    const data = objectOf(JSON.parse(Buffer.from(clientDataJSON, "base64url").toString("utf8")));
    const challenge = data?.challenge;
    return b64(challenge) && challenge.length <= 128 ? challenge : undefined;
  } catch {
    return undefined;
  }
}

/** The signature counter in authenticator data (WebAuthn §6.1: bytes 33–36, big-endian). */
export function signCountOf(authenticatorData: string): number | undefined {
  const bytes = Buffer.from(authenticatorData, "base64url");
  return bytes.length >= 37 ? bytes.readUInt32BE(33) : undefined;
}
