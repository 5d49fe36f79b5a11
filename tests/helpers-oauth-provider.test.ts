// Self-test of tests/helpers/oauth-provider.ts: both providers driven with plain fetch, no Latchkey.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import {
  type OidcProviderHandle,
  type ProgrammableProvider,
  startOidcProvider,
  startProgrammableProvider,
} from "./helpers/oauth-provider.js";

const REDIRECT_URI = "http://localhost:9999/connections/callback";

function authorizationUrl(
  endpoint: string,
  params: Record<string, string>,
  pkce?: { challenge: string },
): URL {
  const url = new URL(endpoint);
  for (const [k, v] of Object.entries({ response_type: "code", redirect_uri: REDIRECT_URI, ...params }))
    url.searchParams.set(k, v);
  if (pkce) {
    url.searchParams.set("code_challenge", pkce.challenge);
    url.searchParams.set("code_challenge_method", "S256");
  }
  return url;
}

/** A browser in a dozen lines: manual redirects, cookies carried by hand, stops off the provider. */
async function followRedirects(start: URL, providerOrigin: string): Promise<URL> {
  const cookies = new Map<string, string>();
  let url = start;
  for (let hop = 0; hop < 10 && url.origin === providerOrigin; hop++) {
    const response = await fetch(url, {
      redirect: "manual",
      headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join("; ") },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair!.indexOf("=");
      cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    const location = response.headers.get("location");
    assert.ok(location, `expected a redirect from ${url}, got ${response.status}: ${await response.text()}`);
    url = new URL(location, url);
  }
  return url;
}

async function postForm(
  url: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; contentType: string }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields),
  });
  const text = await response.text();
  const contentType = response.headers.get("content-type") ?? "";
  const body = contentType.includes("json")
    ? (JSON.parse(text) as Record<string, unknown>)
    : Object.fromEntries(new URLSearchParams(text));
  return { status: response.status, body, contentType };
}

const basic = (id: string, secret: string) => ({
  authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`,
});

describe("startOidcProvider", () => {
  let provider: OidcProviderHandle;
  before(async () => {
    provider = await startOidcProvider({ redirectUri: REDIRECT_URI, accessTokenTtlSeconds: 120 });
  });
  after(async () => provider?.close());

  it("runs the code flow with PKCE, rotates refresh tokens and records revocation", async () => {
    const verifier = randomBytes(32).toString("base64url");
    const challenge = createHash("sha256").update(verifier).digest("base64url");
    const start = authorizationUrl(
      provider.authorizationEndpoint,
      { client_id: provider.clientId, scope: "openid read", state: "s-123" },
      { challenge },
    );
    const callback = await followRedirects(start, provider.issuer);
    assert.equal(`${callback.origin}${callback.pathname}`, REDIRECT_URI);
    assert.equal(callback.searchParams.get("state"), "s-123");
    const code = callback.searchParams.get("code");
    assert.ok(code, callback.href);

    const auth = basic(provider.clientId, provider.clientSecret);
    const exchange = await postForm(
      provider.tokenEndpoint,
      { grant_type: "authorization_code", code, redirect_uri: REDIRECT_URI, code_verifier: verifier },
      auth,
    );
    assert.equal(exchange.status, 200, JSON.stringify(exchange.body));
    assert.equal(exchange.body.expires_in, 120);
    assert.equal(exchange.body.scope, "openid read");
    const firstRefresh = exchange.body.refresh_token as string;
    assert.ok(firstRefresh && exchange.body.access_token && exchange.body.id_token);

    const refreshed = await postForm(
      provider.tokenEndpoint,
      { grant_type: "refresh_token", refresh_token: firstRefresh },
      auth,
    );
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    const secondRefresh = refreshed.body.refresh_token as string;
    assert.ok(secondRefresh && secondRefresh !== firstRefresh, "refresh token rotated");

    const revoked = await fetch(provider.revocationEndpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...auth },
      body: new URLSearchParams({ token: secondRefresh, token_type_hint: "refresh_token" }),
    });
    assert.equal(revoked.status, 200);
    const afterRevoke = await postForm(
      provider.tokenEndpoint,
      { grant_type: "refresh_token", refresh_token: secondRefresh },
      auth,
    );
    assert.equal(afterRevoke.body.error, "invalid_grant");

    assert.deepEqual(provider.stats.grants, { authorization_code: 1, refresh_token: 1 });
    assert.deepEqual(provider.stats.revocations, [
      { token: secondRefresh, tokenTypeHint: "refresh_token", status: 200 },
    ]);
    assert.deepEqual(
      provider.stats.tokenRequests.map((r) => [r.grantType, r.clientAuth, r.status, r.error]),
      [
        ["authorization_code", "basic", 200, undefined],
        ["refresh_token", "basic", 200, undefined],
        ["refresh_token", "basic", 400, "invalid_grant"],
      ],
    );
    assert.deepEqual(provider.stats.reusedRefreshTokens(), [], "revoked, not reused: each presented once");
  });

  it("detects a reused refresh token, rejects the wrong client authentication, and can deny", async () => {
    const callback = await provider.authorize(
      authorizationUrl(provider.authorizationEndpoint, { client_id: provider.clientId, scope: "write" }),
    );
    const auth = basic(provider.clientId, provider.clientSecret);
    const { body } = await postForm(
      provider.tokenEndpoint,
      {
        grant_type: "authorization_code",
        code: callback.searchParams.get("code")!,
        redirect_uri: REDIRECT_URI,
      },
      auth,
    );
    assert.ok(body.refresh_token, "refresh token without offline_access or PKCE");
    const refresh = body.refresh_token as string;
    const post = { client_id: provider.clientId, client_secret: provider.clientSecret };
    const wrongAuth = await postForm(provider.tokenEndpoint, {
      grant_type: "refresh_token",
      refresh_token: refresh,
      ...post,
    });
    assert.equal(wrongAuth.status, 401);
    assert.equal(provider.stats.tokenRequests.at(-1)?.clientAuth, "post");
    assert.equal(
      (await postForm(provider.tokenEndpoint, { grant_type: "refresh_token", refresh_token: refresh }, auth))
        .status,
      200,
    );
    const reuse = await postForm(
      provider.tokenEndpoint,
      { grant_type: "refresh_token", refresh_token: refresh },
      auth,
    );
    assert.equal(reuse.body.error, "invalid_grant");
    assert.deepEqual(provider.stats.reusedRefreshTokens(), [refresh]);
    assert.equal(provider.stats.refreshTokensPresented.get(refresh), 3);

    provider.deny = true;
    try {
      const denied = await provider.authorize(
        authorizationUrl(provider.authorizationEndpoint, {
          client_id: provider.clientId,
          scope: "read",
          state: "d",
        }),
      );
      assert.equal(denied.searchParams.get("error"), "access_denied");
      assert.equal(denied.searchParams.get("state"), "d");
      assert.equal(denied.searchParams.get("code"), null);
    } finally {
      provider.deny = false;
    }
  });

  it("supports client_secret_post clients", async () => {
    const other = await startOidcProvider({
      redirectUri: REDIRECT_URI,
      tokenEndpointAuthMethod: "client_secret_post",
    });
    try {
      const callback = await other.authorize(
        authorizationUrl(other.authorizationEndpoint, { client_id: other.clientId, scope: "read" }),
      );
      const fields = {
        grant_type: "authorization_code",
        code: callback.searchParams.get("code")!,
        redirect_uri: REDIRECT_URI,
      };
      const asBasic = await postForm(other.tokenEndpoint, fields, basic(other.clientId, other.clientSecret));
      assert.equal(asBasic.status, 401);
      assert.equal(asBasic.body.error, "invalid_client");
      const exchange = await postForm(other.tokenEndpoint, {
        ...fields,
        client_id: other.clientId,
        client_secret: other.clientSecret,
      });
      assert.equal(exchange.status, 200, JSON.stringify(exchange.body));
      assert.equal(exchange.body.expires_in, 3600);
    } finally {
      await other.close();
    }
  });
});

describe("startProgrammableProvider", () => {
  let provider: ProgrammableProvider;
  before(async () => {
    provider = await startProgrammableProvider();
  });
  after(async () => provider?.close());

  async function code(scope = "repo"): Promise<string> {
    const start = authorizationUrl(provider.authorizationEndpoint, {
      client_id: provider.clientId,
      scope,
      state: "st",
    });
    const response = await fetch(start, { redirect: "manual" });
    const location = new URL(response.headers.get("location")!);
    assert.equal(location.searchParams.get("state"), "st");
    return location.searchParams.get("code")!;
  }

  it("answers like GitHub: form-encoded unless Accept: application/json, errors as HTTP 200", async () => {
    Object.assign(provider.behaviour, {
      responseFormat: "github",
      errorStyle: "github",
      expiresIn: null,
      issueRefreshToken: false,
    });
    const fields = {
      client_id: provider.clientId,
      client_secret: provider.clientSecret,
      redirect_uri: REDIRECT_URI,
    };
    const form = await postForm(provider.tokenEndpoint, {
      grant_type: "authorization_code",
      code: await code(),
      ...fields,
    });
    assert.equal(form.status, 200);
    assert.match(form.contentType, /^application\/x-www-form-urlencoded/);
    assert.equal(form.body.scope, "repo");
    assert.ok(form.body.access_token);
    assert.equal(form.body.expires_in, undefined);
    assert.equal(form.body.refresh_token, undefined);

    const error = await postForm(
      provider.tokenEndpoint,
      { grant_type: "authorization_code", code: "used-or-bogus", ...fields },
      { accept: "application/json" },
    );
    assert.equal(error.status, 200);
    assert.equal(error.body.error, "invalid_grant");
    assert.equal(provider.last("/token")?.headers.accept, "application/json");
    assert.equal(provider.last("/token")?.params.client_secret, provider.clientSecret);
  });

  it("answers like Slack v2: ok:true with the user token under authed_user, errors as ok:false", async () => {
    Object.assign(provider.behaviour, {
      errorStyle: "slack",
      tokenShape: "slack-v2",
      responseFormat: "json",
    });
    const fields = {
      client_id: provider.clientId,
      client_secret: provider.clientSecret,
      redirect_uri: REDIRECT_URI,
    };
    const ok = await postForm(provider.tokenEndpoint, {
      grant_type: "authorization_code",
      code: await code(),
      ...fields,
    });
    assert.equal(ok.body.ok, true);
    const user = ok.body.authed_user as Record<string, unknown>;
    assert.equal(user.token_type, "user");
    assert.ok(user.access_token);
    const failed = await postForm(provider.tokenEndpoint, {
      grant_type: "authorization_code",
      code: "x",
      ...fields,
    });
    assert.equal(failed.status, 200);
    assert.deepEqual(failed.body, { ok: false, error: "invalid_grant" });
  });

  it("answers like Google with JSON bodies and Basic only: refreshes without a new refresh token", async () => {
    const google = await startProgrammableProvider({
      clientAuth: "basic",
      requestBody: "json",
      refreshTokens: "omit",
    });
    try {
      const start = authorizationUrl(google.authorizationEndpoint, {
        client_id: google.clientId,
        scope: "email",
      });
      const location = new URL((await fetch(start, { redirect: "manual" })).headers.get("location")!);
      const auth = basic(google.clientId, google.clientSecret);
      const postJson = async (body: Record<string, string>, headers: Record<string, string> = auth) => {
        const response = await fetch(google.tokenEndpoint, {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: JSON.stringify(body),
        });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      };
      const tokens = await postJson({
        grant_type: "authorization_code",
        code: location.searchParams.get("code")!,
        redirect_uri: REDIRECT_URI,
      });
      assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
      assert.equal(tokens.body.expires_in, 3600);
      const refreshToken = tokens.body.refresh_token as string;
      const refreshed = await postJson({ grant_type: "refresh_token", refresh_token: refreshToken });
      assert.equal(refreshed.status, 200);
      assert.equal(refreshed.body.refresh_token, undefined);
      const user = await fetch(google.userEndpoint, {
        headers: { authorization: `Bearer ${refreshed.body.access_token as string}` },
      });
      assert.equal(user.status, 200);

      const inBody = await postJson(
        {
          grant_type: "refresh_token",
          refresh_token: refreshToken,
          client_id: google.clientId,
          client_secret: google.clientSecret,
        },
        {},
      );
      assert.equal(inBody.status, 401);
      assert.equal(inBody.body.error, "invalid_client");
      const asForm = await postForm(
        google.tokenEndpoint,
        { grant_type: "refresh_token", refresh_token: refreshToken },
        auth,
      );
      assert.equal(asForm.body.error, "invalid_request");

      const revoke = await fetch(google.revocationEndpoint, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", ...auth },
        body: new URLSearchParams({ token: refreshToken }),
      });
      assert.equal(revoke.status, 200);
      assert.equal(google.last("/revoke")?.params.token, refreshToken);
      assert.equal(
        (await postJson({ grant_type: "refresh_token", refresh_token: refreshToken })).body.error,
        "invalid_grant",
      );
    } finally {
      await google.close();
    }
  });
});
