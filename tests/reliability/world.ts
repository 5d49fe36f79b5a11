// A populated server for the fuzz and attack suites: applications of every type, an API with
// scopes, users, a signed-in browser, waiting authorization requests, live codes and tokens, and a
// connected app with a user's auth link — so hostile inputs can be mixed with real values and
// reach past the first validation.
import assert from "node:assert/strict";
import type { Clock } from "../../src/clock.js";
import type { DatabaseKind } from "../helpers/databases.js";
import { CALLBACK, createApi, createApplication, createUser, LOGOUT } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { signedInUserAgent, UserAgent } from "../helpers/user-agent.js";
import { form, pkce, send } from "./support.js";

export const API_AUDIENCE = "https://api.fuzz.example";
export const SESSION_COOKIE = "latchkey_session";
export const CSRF_COOKIE = "latchkey_csrf";

export interface Client {
  clientId: string;
  clientSecret?: string;
}

export interface UserTokens {
  access: string;
  refresh: string;
  id: string;
}

export interface World {
  server: TestServer;
  spa: Client;
  reg: Client;
  m2m: Client;
  user: { id: string; email: string; password: string };
  /** A browser signed in as `user` (through `spa`). */
  browser: UserAgent;
  /** A browser with a CSRF cookie and several waiting authorization requests (not signed in). */
  anonymous: UserAgent;
  requestIds: string[];
  csrf: string;
  /** Unused authorization codes of `spa`, with their PKCE verifiers. */
  codes: { code: string; verifier: string }[];
  tokens: UserTokens;
  managementToken: string;
  /** Connected app (GitHub from the catalog: no network until a code is exchanged). */
  connectedApp: { keyCodeRef: string; linkTokens: string[]; sessionIds: string[] };
  /** Resources the Management API fuzz may change or delete freely, by path parameter name. */
  victims: Record<string, string[]>;
}

export function authorizeUrl(
  server: { url: string },
  clientId: string,
  challenge: string,
  extra: Record<string, string> = {},
): URL {
  const url = new URL("/oauth2/auth", server.url);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: CALLBACK,
    scope: "openid profile email offline",
    state: "st",
    code_challenge: challenge,
    code_challenge_method: "S256",
    ...extra,
  }).toString();
  return url;
}

/** A code for `client` from a signed-in browser. */
export async function codeFrom(
  server: { url: string },
  browser: UserAgent,
  clientId: string,
  extra: Record<string, string> = {},
): Promise<{ code: string; verifier: string }> {
  const { verifier, challenge } = pkce();
  const callback = await browser.redirectFrom(authorizeUrl(server, clientId, challenge, extra));
  const code = callback.searchParams.get("code");
  assert.ok(code, `no code: ${callback.href}`);
  return { code, verifier };
}

/** Code flow (with PKCE) to tokens for `client`, public or confidential. */
export async function userTokens(
  server: { url: string },
  browser: UserAgent,
  client: Client,
): Promise<UserTokens> {
  const { code, verifier } = await codeFrom(server, browser, client.clientId);
  const reply = await send(
    `${server.url}/oauth2/token`,
    form({
      grant_type: "authorization_code",
      client_id: client.clientId,
      ...(client.clientSecret ? { client_secret: client.clientSecret } : {}),
      code,
      redirect_uri: CALLBACK,
      code_verifier: verifier,
    }),
  );
  assert.equal(reply.status, 200, reply.text);
  const json = reply.json as { access_token: string; refresh_token: string; id_token: string };
  return { access: json.access_token, refresh: json.refresh_token, id: json.id_token };
}

export async function buildWorld(
  kind: DatabaseKind,
  options: { clock?: Clock; env?: Record<string, string> } = {},
): Promise<World> {
  const server = await startTestServer(kind, options);
  const spa = await createApplication(server, "spa", { name: "Fuzz SPA" });
  const reg = await createApplication(server, "reg", { name: "Fuzz web app" });
  const m2m = await createApplication(server, "m2m", { name: "Fuzz M2M" });
  await createApi(server, {
    audience: API_AUDIENCE,
    scopes: ["read:things", "write:things"],
    grant: { [m2m.clientId]: ["read:things"] },
  });
  const user = await createUser(server);
  const browser = await signedInUserAgent(server, spa.clientId, CALLBACK, user);

  const anonymous = new UserAgent(server.url);
  const requestIds: string[] = [];
  let csrf = "";
  for (let i = 0; i < 6; i++) {
    const next = await anonymous.redirectFrom(authorizeUrl(server, spa.clientId, pkce().challenge));
    const hidden = await anonymous.openForm(new URL(`/auth/sign-in${next.search}`, server.url));
    requestIds.push(hidden.request!);
    csrf = hidden.csrf!;
  }
  const codes = [];
  for (let i = 0; i < 4; i++) codes.push(await codeFrom(server, browser, spa.clientId));
  const tokens = await userTokens(server, browser, spa);

  const token = await managementToken(server);
  const created = await callApi(server, "POST", "/api/v1/connected_apps", {
    token,
    body: {
      key_code_ref: "github-fuzz",
      provider: "github",
      client_id: "gh-client",
      client_secret: "gh-secret-0123456789",
      callback_url: "https://app.example.com/connected",
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const linkTokens: string[] = [];
  const sessionIds: string[] = [];
  for (let i = 0; i < 3; i++) {
    const link = await callApi<{ url: string; session_id: string }>(
      server,
      "GET",
      `/api/v1/connected_apps/auth_url?key_code_ref=github-fuzz&user_id=${user.id}`,
      { token },
    );
    assert.equal(link.status, 200, JSON.stringify(link.body));
    linkTokens.push(new URL(link.body.url).searchParams.get("token") ?? "");
    sessionIds.push(link.body.session_id);
  }

  const victimUser = await createUser(server);
  const victimApp = await createApplication(server, "reg", { name: "Victim app" });
  const victimM2m = await createApplication(server, "m2m", { name: "Victim m2m" });
  const victimApi = await createApi(server, {
    audience: "https://victim.fuzz.example",
    scopes: ["v:read", "v:write"],
    authorize: [victimM2m.clientId],
  });
  const scopes = await callApi<{ scopes: { id: string }[] }>(
    server,
    "GET",
    `/api/v1/apis/${victimApi.id}/scopes`,
    {
      token,
    },
  );
  const scopeIds = (scopes.body.scopes ?? []).map((s) => s.id);
  const victims: Record<string, string[]> = {
    user_id: [victimUser.id],
    id: [victimUser.id],
    application_id: [victimApp.clientId, victimM2m.clientId],
    app_id: [victimApp.clientId],
    api_id: [victimApi.id],
    scope_id: scopeIds,
    key_code_ref: ["github-fuzz"],
    session_id: sessionIds,
    urls: [CALLBACK, LOGOUT],
  };

  return {
    server,
    spa,
    reg,
    m2m,
    user,
    browser,
    anonymous,
    requestIds,
    csrf,
    codes,
    tokens,
    managementToken: token,
    connectedApp: { keyCodeRef: "github-fuzz", linkTokens, sessionIds },
    victims,
  };
}
