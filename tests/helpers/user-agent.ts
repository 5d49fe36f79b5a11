// A minimal browser stand-in for protocol tests: keeps cookies, follows nothing automatically, and
// fills Latchkey's sign-in and sign-up forms the way a person would. Browser-level behaviour is
// judged separately by Chromium (tests/browser).
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";

export class UserAgent {
  private readonly cookies = new Map<string, string>();

  constructor(readonly baseUrl: string) {}

  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  async request(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const target = new URL(url, this.baseUrl);
    const headers = new Headers(init.headers);
    if (target.origin === new URL(this.baseUrl).origin && this.cookies.size > 0) {
      headers.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    }
    const response = await fetch(target, { ...init, headers, redirect: "manual" });
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*(max-age=0|expires=thu, 01 jan 1970)/i.test(a));
      if (expired || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  /** POSTs a form (application/x-www-form-urlencoded); the response, not followed. */
  postForm(url: string | URL, fields: Record<string, string>): Promise<Response> {
    return this.request(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields),
    });
  }

  /** GET, returning the Location of the redirect it must answer with. */
  async redirectFrom(url: string | URL, init: RequestInit = {}): Promise<URL> {
    const response = await this.request(url, init);
    const body = await response.text();
    assert.ok(
      response.status >= 300 && response.status < 400,
      `expected a redirect from ${url}, got ${response.status}: ${body.slice(0, 300)}`,
    );
    return new URL(response.headers.get("location")!, this.baseUrl);
  }

  /**
   * Opens an authorization URL and, when a sign-in page comes up, signs in (or signs up with
   * `signUp`). Returns the URL the browser is finally sent to (the client's redirect URI).
   */
  async authorize(
    authorizationUrl: string | URL,
    credentials?: {
      email: string;
      password: string;
      signUp?: boolean;
      givenName?: string;
      familyName?: string;
    },
  ): Promise<URL> {
    const next = await this.redirectFrom(authorizationUrl);
    if (next.origin !== new URL(this.baseUrl).origin || !next.pathname.startsWith("/auth/")) return next;
    assert.ok(credentials, `sign-in required (${next.pathname}) but no credentials given`);
    const formPath = credentials.signUp ? "/auth/sign-up" : "/auth/sign-in";
    const form = await this.openForm(new URL(`${formPath}${next.search}`, this.baseUrl));
    const fields: Record<string, string> = {
      ...form,
      email: credentials.email,
      password: credentials.password,
    };
    if (credentials.signUp) {
      fields.given_name = credentials.givenName ?? "";
      fields.family_name = credentials.familyName ?? "";
    }
    return this.redirectFrom(formPath, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields),
    });
  }

  /** Opens the sign-in page an authorization request leads to; its hidden fields, as openForm. */
  async openSignIn(authorizationUrl: string | URL): Promise<Record<string, string>> {
    const start = await this.redirectFrom(authorizationUrl);
    return this.openForm(new URL(`/auth/sign-in${start.search}`, this.baseUrl));
  }

  /** Loads a form page and returns its hidden fields (request id and CSRF token). */
  async openForm(url: string | URL): Promise<Record<string, string>> {
    const response = await this.request(url);
    const html = await response.text();
    assert.equal(response.status, 200, `form page ${url} answered ${response.status}: ${html.slice(0, 300)}`);
    const hidden: Record<string, string> = {};
    for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
      hidden[match[1]!] = match[2]!;
    }
    return hidden;
  }
}

/**
 * An authorization request for `clientId` (code flow, S256 challenge of a verifier nobody keeps:
 * for tests that need a sign-in or a silent `prompt=none` probe, not the tokens).
 */
export function authorizationUrl(
  server: { url: string },
  clientId: string,
  redirectUri: string,
  extra: Record<string, string> = {},
): URL {
  const verifier = randomBytes(32).toString("base64url");
  const url = new URL("/oauth2/auth", server.url);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: "openid",
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
    ...extra,
  }).toString();
  return url;
}

/**
 * A user agent already signed in to Latchkey as `user` (through an ordinary sign-in to a
 * front-end application), holding the session cookie — for flows that need a signed-in browser.
 */
export async function signedInUserAgent(
  server: { url: string },
  clientId: string,
  redirectUri: string,
  user: { email: string; password: string },
): Promise<UserAgent> {
  const agent = new UserAgent(server.url);
  await agent.authorize(authorizationUrl(server, clientId, redirectUri), user);
  return agent;
}
