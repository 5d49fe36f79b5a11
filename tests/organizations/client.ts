// The confidential (back-end) client side the organization token suites share: an authorization
// URL for the app, token requests with its secret, and the code exchange.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { CALLBACK } from "../helpers/fixtures.js";
import type { TestServer } from "../helpers/server.js";

export type Json = Record<string, unknown>;
export interface Tokens {
  access_token: string;
  id_token: string;
  refresh_token: string;
}

export function backEndClient(
  server: () => TestServer,
  app: () => { clientId: string; clientSecret?: string },
) {
  function authorizeUrl(extra: Record<string, string> = {}): URL {
    const url = new URL("/oauth2/auth", server().url);
    url.search = new URLSearchParams({
      response_type: "code",
      client_id: app().clientId,
      redirect_uri: CALLBACK,
      scope: "openid profile email offline",
      state: randomBytes(8).toString("hex"),
      ...extra,
    }).toString();
    return url;
  }

  async function token(form: Record<string, string>): Promise<{ status: number; body: Json }> {
    const response = await fetch(`${server().url}/oauth2/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: app().clientId, client_secret: app().clientSecret!, ...form }),
    });
    return { status: response.status, body: (await response.json()) as Json };
  }

  const exchangeCode = (callback: URL) => {
    const code = callback.searchParams.get("code");
    assert.ok(code, `no code: ${callback.href}`);
    return token({ grant_type: "authorization_code", code, redirect_uri: CALLBACK });
  };

  async function exchange(callback: URL): Promise<Tokens> {
    const { status, body } = await exchangeCode(callback);
    assert.equal(status, 200, JSON.stringify(body));
    return body as unknown as Tokens;
  }

  return { authorizeUrl, token, exchangeCode, exchange };
}
