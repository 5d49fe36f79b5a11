// What the admin dashboard does in the browser, for tests: a PKCE sign-in through its own client
// (or another front-end application) and the code exchanged for a token.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import type { TestServer } from "./server.js";
import { UserAgent } from "./user-agent.js";

/**
 * What the dashboard does in the browser: PKCE sign-in through its own client, then the token
 * (or, with `client`, the same through another front-end application).
 */
export async function dashboardToken(
  server: TestServer,
  user: { email: string; password: string },
  scope: string,
  client?: { clientId: string; redirectUri: string },
) {
  const dashboard = (await (await fetch(`${server.url}/admin/config.json`)).json()) as {
    clientId: string;
    audience: string;
  };
  const config = { ...dashboard, ...client };
  const redirectUri = client?.redirectUri ?? `${server.url}/admin/callback`;
  const verifier = randomBytes(32).toString("base64url");
  const url = new URL("/oauth2/auth", server.url);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: config.clientId,
    redirect_uri: redirectUri,
    scope,
    audience: config.audience,
    state: "s",
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
  }).toString();
  const callback = await new UserAgent(server.url).authorize(url, user);
  assert.equal(`${callback.origin}${callback.pathname}`, redirectUri);
  const response = await fetch(`${server.url}/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: callback.searchParams.get("code")!,
      redirect_uri: redirectUri,
      client_id: config.clientId,
      code_verifier: verifier,
    }),
  });
  const body = (await response.json()) as { access_token: string; scope: string };
  assert.equal(response.status, 200, JSON.stringify(body));
  return body;
}
