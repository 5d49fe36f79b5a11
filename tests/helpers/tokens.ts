// The client's side of the token endpoint (and the device authorization endpoint), for tests that
// need the tokens a sign-in ends with: a PKCE pair kept for the token request, the code exchanged,
// the ID token read, and a plain form POST for the other grants.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { decodeJwt } from "jose";
import { CALLBACK } from "./fixtures.js";

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  id_token?: string;
  refresh_token?: string;
  scope?: string;
}

/** POSTs a form to a back-channel endpoint (no cookies): its status, headers and JSON body. */
export async function backChannel<Body = Record<string, unknown>>(
  server: { url: string },
  path: string,
  fields: Record<string, string>,
): Promise<{ status: number; headers: Headers; body: Body }> {
  const response = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Body };
}

/** A code verifier and its S256 challenge (RFC 7636 §4.1-4.2). */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

/**
 * Exchanges the code in `redirect` (where the browser was sent back to) at the token endpoint, as
 * a public client; fails the test unless the token endpoint answers 200.
 */
export async function exchangeCode(
  server: { url: string },
  redirect: string | URL,
  client: { clientId: string; verifier: string; redirectUri?: string },
): Promise<TokenResponse> {
  const code = new URL(redirect).searchParams.get("code");
  assert.ok(code, `a code in ${String(redirect)}`);
  const { status, body } = await backChannel<TokenResponse>(server, "/oauth2/token", {
    grant_type: "authorization_code",
    client_id: client.clientId,
    code,
    redirect_uri: client.redirectUri ?? CALLBACK,
    code_verifier: client.verifier,
  });
  assert.equal(status, 200, JSON.stringify(body));
  return body;
}

/** The claims of the ID token in a token response (not verified: the server under test made it). */
export function idTokenClaims(tokens: TokenResponse): Record<string, unknown> {
  assert.ok(tokens.id_token, "an ID token");
  return decodeJwt(tokens.id_token);
}
