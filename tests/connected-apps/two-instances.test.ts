// Two Latchkey instances on one PostgreSQL database (how production scales out): concurrent token
// calls for an expired connection, split across both, cause exactly one refresh at the provider;
// a provider's answer delivered to both at once completes the connection once.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import { type OidcProviderHandle, startOidcProvider } from "../helpers/oauth-provider.js";
import { freePort, startSecondInstance, startTestServer, type TestServer } from "../helpers/server.js";
import { signedInUserAgent } from "../helpers/user-agent.js";

const postgres = (await databaseKinds()).find((k) => k.kind === "postgres")!;

describe("connected-app refresh across two instances on PostgreSQL", { skip: postgres.skip }, () => {
  let first: TestServer;
  let second: TestServer;
  let provider: OidcProviderHandle;
  let now = Math.floor(Date.now() / 1000);
  const clock = { now: () => now };

  before(async () => {
    const port = await freePort();
    provider = await startOidcProvider({ redirectUri: `http://127.0.0.1:${port}/connected_apps/callback` });
    const env = { CONNECTED_APPS_ALLOW_PRIVATE_NETWORKS: "true" };
    first = await startTestServer("postgres", { port, clock, env });
    // The same database and master key: a second instance behind the same issuer.
    second = await startSecondInstance(first, { clock, env });
  });
  after(async () => {
    await second?.close();
    await first?.close();
    await provider?.close();
  });

  it("refreshes once however the calls are spread", async () => {
    const token = await managementToken(first);
    await callApi(first, "POST", "/api/v1/connected_apps", {
      token,
      body: {
        key_code_ref: "drive",
        provider: "oauth2",
        client_id: provider.clientId,
        client_secret: provider.clientSecret,
        callback_url: "https://app.example.com/connected",
        scopes: ["openid", "offline_access"],
        settings: {
          authorization_url: provider.authorizationEndpoint,
          token_url: provider.tokenEndpoint,
          client_auth: "basic",
        },
      },
    });
    const user = await createUser(first);
    const spa = await createApplication(first, "spa");
    const browser = await signedInUserAgent(first, spa.clientId, CALLBACK, user);
    const { body } = await callApi<{ url: string; session_id: string }>(
      first,
      "GET",
      `/api/v1/connected_apps/auth_url?key_code_ref=drive&user_id=${user.id}`,
      { token },
    );
    await browser.redirectFrom(await provider.authorize(await browser.redirectFrom(body.url)));

    now += 7200;
    const calls = Array.from({ length: 60 }, (_, i) =>
      callApi<{ access_token: string }>(
        i % 2 ? second : first,
        "GET",
        `/api/v1/connected_apps/token?session_id=${body.session_id}`,
        {
          token, // one issuer and one key set: either instance accepts the other's tokens
        },
      ),
    );
    const results = await Promise.all(calls);
    assert.ok(
      results.every((r) => r.status === 200),
      JSON.stringify(results.find((r) => r.status !== 200)?.body),
    );
    assert.equal(new Set(results.map((r) => r.body.access_token)).size, 1, "one token for every caller");
    assert.equal(provider.stats.grants.refresh_token, 1, "exactly one refresh at the provider");
    assert.deepEqual(provider.stats.reusedRefreshTokens(), []);
  });

  it("completes a connection once when the provider's answer reaches both instances at once", async () => {
    const token = await managementToken(first);
    const user = await createUser(first);
    const spa = await createApplication(first, "spa");
    const browser = await signedInUserAgent(first, spa.clientId, CALLBACK, user);
    const { body } = await callApi<{ url: string; session_id: string }>(
      first,
      "GET",
      `/api/v1/connected_apps/auth_url?key_code_ref=drive&user_id=${user.id}`,
      { token },
    );
    const codesBefore = provider.stats.grants.authorization_code ?? 0;
    const answer = new URL(await provider.authorize(await browser.redirectFrom(body.url)));
    // The same browser (its connect cookie) replays the provider's redirect to both instances.
    const cookie = `latchkey_connect=${browser.cookie("latchkey_connect")}`;
    const replies = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const target = new URL(`${answer.pathname}${answer.search}`, (i % 2 ? second : first).url);
        const response = await fetch(target, { redirect: "manual", headers: { cookie } });
        await response.text();
        return { status: response.status, location: response.headers.get("location") ?? "" };
      }),
    );
    const completed = replies.filter(
      (r) => r.status === 302 && r.location.startsWith("https://app.example.com/connected"),
    );
    assert.equal(completed.length, 1, JSON.stringify(replies));
    assert.ok(
      replies.every((r) => r === completed[0] || r.status >= 400),
      JSON.stringify(replies),
    );
    assert.equal(
      provider.stats.grants.authorization_code ?? 0,
      codesBefore + 1,
      "one code exchange at the provider",
    );
    const fetched = await callApi<{ access_token: string }>(
      second,
      "GET",
      `/api/v1/connected_apps/token?session_id=${body.session_id}`,
      { token },
    );
    assert.equal(fetched.status, 200, JSON.stringify(fetched.body));
  });
});
