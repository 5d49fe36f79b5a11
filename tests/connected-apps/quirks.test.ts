// Connected apps: one test per provider quirk of the catalog (src/connected-apps/catalog.ts), each
// run end to end — Management API → browser → programmable provider → Latchkey's callback → the
// business's back end asking /token — and asserting both what Latchkey sent the provider and what
// the back end gets. Every catalog entry below points at its own programmable provider; its token
// and revocation endpoints sit behind a small recording proxy, so the tests also see the provider's
// exact answers (the tokens it issued) and can make it answer 503 or drop the connection.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import type { Clock } from "../../src/clock.js";
import { BUILT_IN_PROVIDERS } from "../../src/connected-apps/catalog.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { type ApiResponse, callApi } from "../helpers/management.js";
import {
  type ProgrammableProvider,
  type ProviderBehaviour,
  startProgrammableProvider,
} from "../helpers/oauth-provider.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";

// ---------------------------------------------------------------------------------------------------
// A recording proxy in front of a provider's token and revocation endpoints

interface Exchange {
  method: string;
  path: string;
  /** The request's headers as Latchkey sent them (before any stripping). */
  requestHeaders: IncomingHttpHeaders;
  status: number;
  contentType: string;
  /** The provider's answer, as text. */
  body: string;
}

interface RecordingProxy {
  origin: string;
  exchanges: Exchange[];
  /** forward: pass through; 503: answer 503 itself; drop: close the connection without answering. */
  mode: "forward" | "503" | "drop";
  close(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (!address || typeof address !== "object") throw new Error("no address");
  return `http://127.0.0.1:${address.port}`;
}

/**
 * Forwards to `target` (method, path, body, and the content-type / accept / authorization headers).
 * `stripAccept` drops Latchkey's Accept header, the way a client that does not ask for JSON would
 * reach GitHub, so a GitHub-style provider answers form-encoded.
 */
async function startRecordingProxy(target: string, options: { stripAccept?: boolean } = {}) {
  const server = createServer((request, response) => {
    void (async () => {
      let raw = "";
      for await (const chunk of request) raw += chunk;
      if (proxy.mode === "drop") {
        request.socket.destroy();
        return;
      }
      const record = (status: number, contentType: string, body: string) =>
        proxy.exchanges.push({
          method: request.method ?? "GET",
          path: new URL(request.url ?? "/", proxy.origin).pathname,
          requestHeaders: request.headers,
          status,
          contentType,
          body,
        });
      if (proxy.mode === "503") {
        const page = "<html><body><h1>503 Service Unavailable</h1></body></html>";
        record(503, "text/html", page);
        response.writeHead(503, { "content-type": "text/html" }).end(page);
        return;
      }
      const headers: Record<string, string> = {};
      for (const name of ["content-type", "authorization", ...(options.stripAccept ? [] : ["accept"])]) {
        const value = request.headers[name];
        if (typeof value === "string") headers[name] = value;
      }
      const answer = await fetch(`${target}${request.url}`, {
        method: request.method,
        headers,
        body: request.method === "POST" ? raw : undefined,
        redirect: "manual",
      });
      const text = await answer.text();
      const contentType = answer.headers.get("content-type") ?? "";
      record(answer.status, contentType, text);
      response.writeHead(answer.status, contentType ? { "content-type": contentType } : {}).end(text);
    })().catch((error: unknown) => {
      response.writeHead(500, { "content-type": "text/plain" }).end(`proxy failed: ${String(error)}`);
    });
  });
  const proxy: RecordingProxy = {
    origin: await listen(server),
    exchanges: [],
    mode: "forward",
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return proxy;
}

/** An answer's fields, JSON or form-encoded. */
function fieldsOf(exchange: Exchange): Record<string, unknown> {
  return exchange.contentType.includes("json")
    ? (JSON.parse(exchange.body) as Record<string, unknown>)
    : Object.fromEntries(new URLSearchParams(exchange.body));
}

// ---------------------------------------------------------------------------------------------------
// The catalog under test: one programmable provider per entry

interface EntrySpec {
  behaviour?: Partial<ProviderBehaviour>;
  /** Catalog fields over the defaults (body auth, form body, " " separator, PKCE on). */
  catalog?: Record<string, unknown>;
  /** Whether the entry has a revocationUrl. Default true. */
  revocation?: boolean;
  stripAccept?: boolean;
}

/** The built-in Slack entry's quirks, pointed at the local provider. */
const builtInSlack = BUILT_IN_PROVIDERS.find((provider) => provider.id === "slack")!;
const SLACK = {
  scopeSeparator: builtInSlack.scopeSeparator,
  scopeParameter: builtInSlack.scopeParameter,
  pkce: builtInSlack.pkce,
  tokenResponse: builtInSlack.tokenResponse,
};

const ENTRIES = {
  "q-basic": { behaviour: { clientAuth: "basic" }, catalog: { clientAuth: "basic" } },
  "q-body": { behaviour: { clientAuth: "body" }, catalog: { clientAuth: "body" } },
  "q-json": { behaviour: { requestBody: "json" }, catalog: { bodyFormat: "json" } },
  "q-form": { behaviour: { requestBody: "form" }, catalog: { bodyFormat: "form" } },
  "q-comma": { catalog: { scopeSeparator: "," } },
  "q-space": { catalog: { scopeSeparator: " " } },
  "q-extras": {
    catalog: {
      authorizationParams: { access_type: "offline", prompt: "consent", audience: "api.example.com" },
      defaultScopes: ["offline_access"],
    },
  },
  "q-pkce": { catalog: { pkce: true } },
  "q-no-pkce": { catalog: { pkce: false } },
  "q-github": {
    behaviour: { responseFormat: "github", errorStyle: "github", expiresIn: 28_800 },
    catalog: { tokenResponse: { errorsIn200: true } },
  },
  "q-github-form": {
    behaviour: { responseFormat: "github", errorStyle: "github", expiresIn: 28_800 },
    catalog: { tokenResponse: { errorsIn200: true } },
    stripAccept: true,
  },
  "q-slack": { behaviour: { tokenShape: "slack-v2", errorStyle: "slack" }, catalog: SLACK },
  "q-no-expiry": { behaviour: { expiresIn: null } },
  "q-google": {
    behaviour: { refreshTokens: "omit" },
    catalog: { authorizationParams: { access_type: "offline", prompt: "consent" } },
  },
  "q-rotate": { behaviour: { refreshTokens: "rotate" } },
  "q-invalid-grant": { behaviour: { refreshTokens: "rotate" } },
  "q-unavailable": { behaviour: { refreshTokens: "rotate" } },
  "q-revocable": { revocation: true },
  "q-no-revocation": { revocation: false },
} satisfies Record<string, EntrySpec>;

type EntryId = keyof typeof ENTRIES;

interface Entry {
  provider: ProgrammableProvider;
  proxy: RecordingProxy;
}

/** Token-endpoint exchanges (what Latchkey sent and what the provider answered), in order. */
function tokenExchanges(entry: Entry): Exchange[] {
  return entry.proxy.exchanges.filter((e) => e.path === "/token");
}

/** Provider-side token requests of one grant type, in order (what Latchkey sent, parsed). */
function providerTokenRequests(entry: Entry, grantType: string) {
  return entry.provider.requests.filter((r) => r.path === "/token" && r.params.grant_type === grantType);
}

type ApiErrors = { errors?: { code: string; message: string }[] };
const errorCode = (response: ApiResponse) => (response.body as ApiErrors).errors?.[0]?.code;

// ---------------------------------------------------------------------------------------------------

for (const { kind, skip } of await databaseKinds()) {
  describe(`connected apps: provider quirks (${kind})`, { skip }, () => {
    let server: TestServer;
    let catalogDir: string;
    let catalogFile: string;
    let browser: UserAgent;
    let user: { id: string; email: string; password: string };
    const entries = new Map<EntryId, Entry>();
    let offset = 0;
    const clock: Clock = { now: () => Math.floor(Date.now() / 1000) + offset };
    let keys = 0;

    before(async () => {
      const catalog: Record<string, unknown>[] = [];
      for (const [id, spec] of Object.entries(ENTRIES) as [EntryId, EntrySpec][]) {
        const provider = await startProgrammableProvider(spec.behaviour ?? {});
        const proxy = await startRecordingProxy(provider.origin, { stripAccept: spec.stripAccept });
        entries.set(id, { provider, proxy });
        catalog.push({
          id,
          name: `Quirk ${id}`,
          authorizationUrl: provider.authorizationEndpoint,
          tokenUrl: `${proxy.origin}/token`,
          ...(spec.revocation === false ? {} : { revocationUrl: `${proxy.origin}/revoke` }),
          ...spec.catalog,
        });
      }
      catalogDir = mkdtempSync(path.join(tmpdir(), "latchkey-quirks-"));
      catalogFile = path.join(catalogDir, "catalog.json");
      writeFileSync(catalogFile, JSON.stringify(catalog, null, 2));
      server = await startTestServer(kind, {
        clock,
        env: { CONNECTED_APPS_CATALOG_FILE: catalogFile, CONNECTED_APPS_ALLOW_PRIVATE_NETWORKS: "true" },
      });

      // Sign the user in to Latchkey in this browser (an SPA with PKCE), so it holds the session
      // cookie /connected_apps/start needs.
      user = await createUser(server);
      const spa = await createApplication(server, "spa");
      const verifier = randomBytes(32).toString("base64url");
      const signIn = new URL("/oauth2/auth", server.url);
      for (const [k, v] of Object.entries({
        response_type: "code",
        client_id: spa.clientId,
        redirect_uri: CALLBACK,
        scope: "openid profile email",
        state: "sign-in",
        code_challenge: createHash("sha256").update(verifier).digest("base64url"),
        code_challenge_method: "S256",
      }))
        signIn.searchParams.set(k, v);
      browser = new UserAgent(server.url);
      const signedIn = await browser.authorize(signIn, user);
      assert.equal(signedIn.searchParams.get("state"), "sign-in");
      assert.ok(signedIn.searchParams.get("code"), `signed in: ${signedIn}`);
    });

    after(async () => {
      await server?.close();
      for (const { provider, proxy } of entries.values()) {
        await proxy.close();
        await provider.close();
      }
      if (catalogDir) rmSync(catalogDir, { recursive: true, force: true });
    });

    afterEach(() => {
      offset = 0;
    });

    const entry = (id: EntryId): Entry => entries.get(id)!;

    /** Configures a connected app for the entry through the Management API. */
    async function createConnectedApp(id: EntryId, scopes: string[] = ["read", "write"]): Promise<string> {
      const key = `quirk_${++keys}_${id.replaceAll("-", "_")}`;
      const { provider } = entry(id);
      const created = await callApi(server, "POST", "/api/v1/connected_apps", {
        body: {
          key_code_ref: key,
          provider: id,
          client_id: provider.clientId,
          client_secret: provider.clientSecret,
          callback_url: CALLBACK,
          scopes,
        },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      return key;
    }

    /**
     * One user connecting: auth_url → /connected_apps/start (→ provider authorization URL) →
     * provider /authorize (→ Latchkey's callback) → the app's callback_url.
     */
    async function connect(id: EntryId, options: { key?: string; scopes?: string[] } = {}) {
      const key = options.key ?? (await createConnectedApp(id, options.scopes));
      const auth = await callApi<{ url: string; session_id: string }>(
        server,
        "GET",
        `/api/v1/connected_apps/auth_url?key_code_ref=${key}&user_id=${encodeURIComponent(user.id)}`,
      );
      assert.equal(auth.status, 200, JSON.stringify(auth.body));
      const authorize = await browser.redirectFrom(auth.body.url);
      const { provider } = entry(id);
      assert.equal(authorize.origin + authorize.pathname, provider.authorizationEndpoint);
      const callback = await browser.redirectFrom(authorize);
      assert.equal(callback.origin + callback.pathname, `${server.url}/connected_apps/callback`);
      const landed = await browser.redirectFrom(callback);
      assert.equal(landed.origin + landed.pathname, CALLBACK);
      assert.equal(landed.searchParams.get("session_id"), auth.body.session_id);
      return { key, sessionId: auth.body.session_id, authorize, landed };
    }

    /** A connection that must have succeeded. */
    async function connected(id: EntryId, options: { key?: string; scopes?: string[] } = {}) {
      const result = await connect(id, options);
      assert.equal(result.landed.searchParams.get("error"), null, `connected: ${result.landed}`);
      return result;
    }

    const token = (sessionId: string) =>
      callApi<{ access_token: string; access_token_expiry: string | null }>(
        server,
        "GET",
        `/api/v1/connected_apps/token?session_id=${encodeURIComponent(sessionId)}`,
      );

    /** The back end's token, which must be there. */
    async function okToken(sessionId: string) {
      const response = await token(sessionId);
      assert.equal(response.status, 200, JSON.stringify(response.body));
      return response.body;
    }

    /** The last token-endpoint answer the provider gave (as Latchkey received it). */
    function lastAnswer(id: EntryId): Record<string, unknown> {
      const exchange = entry(id).proxy.exchanges.findLast((e) => e.path === "/token");
      assert.ok(exchange, `${id}: no token exchange recorded`);
      assert.equal(exchange.status, 200, exchange.body);
      return fieldsOf(exchange);
    }

    /** Asserts an expiry is `seconds` from the server clock's now (within a few seconds). */
    function assertExpiresIn(expiry: string | null, seconds: number) {
      assert.ok(expiry, "an access_token_expiry");
      const delta = Date.parse(expiry) / 1000 - clock.now();
      assert.ok(Math.abs(delta - seconds) <= 5, `expiry ${expiry} is ${delta}s away, expected ~${seconds}s`);
    }

    // --- client authentication --------------------------------------------------------------------

    it("clientAuth: basic sends HTTP Basic only, body sends client_id/client_secret only; the provider refuses the other", async () => {
      const basic = entry("q-basic");
      const viaBasic = await connected("q-basic");
      const basicRequest = providerTokenRequests(basic, "authorization_code").at(-1)!;
      const credentials = /^Basic (.+)$/.exec(basicRequest.headers.authorization ?? "")?.[1];
      assert.ok(credentials, `Authorization: Basic sent (got ${basicRequest.headers.authorization})`);
      const [id, secret] = Buffer.from(credentials, "base64").toString().split(":").map(decodeURIComponent);
      assert.deepEqual([id, secret], [basic.provider.clientId, basic.provider.clientSecret]);
      assert.equal(basicRequest.params.client_secret, undefined, "no client_secret in the body");
      assert.equal(basicRequest.params.client_id, undefined, "no client_id in the body");
      assert.equal((await okToken(viaBasic.sessionId)).access_token, lastAnswer("q-basic").access_token);

      const body = entry("q-body");
      const viaBody = await connected("q-body");
      const bodyRequest = providerTokenRequests(body, "authorization_code").at(-1)!;
      assert.equal(bodyRequest.headers.authorization, undefined, "no Authorization header");
      assert.equal(bodyRequest.params.client_id, body.provider.clientId);
      assert.equal(bodyRequest.params.client_secret, body.provider.clientSecret);
      assert.equal((await okToken(viaBody.sessionId)).access_token, lastAnswer("q-body").access_token);

      // The providers really insist: swapping what each accepts makes both connections fail.
      basic.provider.behaviour.clientAuth = "body";
      body.provider.behaviour.clientAuth = "basic";
      try {
        for (const id of ["q-basic", "q-body"] as const) {
          const refused = await connect(id);
          assert.equal(refused.landed.searchParams.get("error"), "connection_failed");
          assert.equal(entry(id).proxy.exchanges.at(-1)!.status, 401);
          assert.equal(fieldsOf(entry(id).proxy.exchanges.at(-1)!).error, "invalid_client");
          assert.equal(errorCode(await token(refused.sessionId)), "CONNECTION_NOT_READY");
        }
      } finally {
        basic.provider.behaviour.clientAuth = "basic";
        body.provider.behaviour.clientAuth = "body";
      }
    });

    // --- token request body format ----------------------------------------------------------------

    it("bodyFormat: json sends a JSON token request, form a form-encoded one; the provider refuses the other", async () => {
      const json = entry("q-json");
      const viaJson = await connected("q-json");
      const jsonRequest = providerTokenRequests(json, "authorization_code").at(-1)!;
      assert.match(jsonRequest.headers["content-type"] ?? "", /^application\/json/);
      assert.equal(jsonRequest.params.grant_type, "authorization_code");
      assert.equal(typeof jsonRequest.params.code, "string");
      assert.equal(jsonRequest.params.redirect_uri, `${server.url}/connected_apps/callback`);
      assert.equal(jsonRequest.params.client_id, json.provider.clientId);
      assert.equal((await okToken(viaJson.sessionId)).access_token, lastAnswer("q-json").access_token);

      const form = entry("q-form");
      const viaForm = await connected("q-form");
      const formRequest = providerTokenRequests(form, "authorization_code").at(-1)!;
      assert.match(formRequest.headers["content-type"] ?? "", /^application\/x-www-form-urlencoded/);
      assert.equal(formRequest.params.grant_type, "authorization_code");
      assert.equal(formRequest.params.redirect_uri, `${server.url}/connected_apps/callback`);
      assert.equal((await okToken(viaForm.sessionId)).access_token, lastAnswer("q-form").access_token);

      // A refresh goes in the same format.
      offset += 3600;
      await okToken(viaJson.sessionId);
      const jsonRefresh = providerTokenRequests(json, "refresh_token").at(-1);
      assert.ok(jsonRefresh, "the JSON provider was asked to refresh");
      assert.match(jsonRefresh.headers["content-type"] ?? "", /^application\/json/);

      json.provider.behaviour.requestBody = "form";
      form.provider.behaviour.requestBody = "json";
      try {
        for (const id of ["q-json", "q-form"] as const) {
          const refused = await connect(id);
          assert.equal(refused.landed.searchParams.get("error"), "connection_failed");
          assert.equal(fieldsOf(entry(id).proxy.exchanges.at(-1)!).error, "invalid_request");
        }
      } finally {
        json.provider.behaviour.requestBody = "json";
        form.provider.behaviour.requestBody = "form";
      }
    });

    // --- authorization URL ------------------------------------------------------------------------

    it('scopeSeparator: "," joins scopes with commas, " " with spaces, in the authorization URL', async () => {
      const comma = await connected("q-comma", { scopes: ["read", "write", "admin"] });
      assert.equal(comma.authorize.searchParams.get("scope"), "read,write,admin");
      assert.equal(entry("q-comma").provider.last("/authorize")!.params.scope, "read,write,admin");
      await okToken(comma.sessionId);

      const space = await connected("q-space", { scopes: ["read", "write", "admin"] });
      assert.equal(space.authorize.searchParams.get("scope"), "read write admin");
      assert.equal(entry("q-space").provider.last("/authorize")!.params.scope, "read write admin");
      await okToken(space.sessionId);
    });

    it("authorizationParams and defaultScopes appear in the authorization URL", async () => {
      const { authorize, sessionId } = await connected("q-extras", { scopes: ["read"] });
      const params = authorize.searchParams;
      assert.equal(params.get("access_type"), "offline");
      assert.equal(params.get("prompt"), "consent");
      assert.equal(params.get("audience"), "api.example.com");
      assert.equal(params.get("scope"), "offline_access read", "default scopes first, then the app's");
      // The standard parameters are all still there.
      assert.equal(params.get("response_type"), "code");
      assert.equal(params.get("client_id"), entry("q-extras").provider.clientId);
      assert.equal(params.get("redirect_uri"), `${server.url}/connected_apps/callback`);
      assert.ok(params.get("state"));
      await okToken(sessionId);

      // A default scope the app also asks for is requested once.
      const again = await connected("q-extras", { scopes: ["offline_access", "write"] });
      assert.equal(again.authorize.searchParams.get("scope"), "offline_access write");
    });

    // --- PKCE -------------------------------------------------------------------------------------

    it("pkce: on sends an S256 code_challenge and the matching code_verifier; off sends neither", async () => {
      const on = entry("q-pkce");
      const withPkce = await connected("q-pkce");
      const challenge = withPkce.authorize.searchParams.get("code_challenge");
      assert.ok(challenge, "code_challenge sent");
      assert.match(challenge, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(withPkce.authorize.searchParams.get("code_challenge_method"), "S256");
      const exchange = providerTokenRequests(on, "authorization_code").at(-1)!;
      const verifier = exchange.params.code_verifier;
      assert.equal(typeof verifier, "string", "code_verifier sent with the code");
      assert.match(verifier as string, /^[A-Za-z0-9._~-]{43,128}$/, "RFC 7636 verifier syntax");
      assert.equal(
        createHash("sha256")
          .update(verifier as string)
          .digest("base64url"),
        challenge,
      );
      await okToken(withPkce.sessionId);
      // Each connection gets its own verifier.
      const second = await connected("q-pkce");
      assert.notEqual(second.authorize.searchParams.get("code_challenge"), challenge);

      const off = entry("q-no-pkce");
      const withoutPkce = await connected("q-no-pkce");
      assert.equal(withoutPkce.authorize.searchParams.get("code_challenge"), null);
      assert.equal(withoutPkce.authorize.searchParams.get("code_challenge_method"), null);
      assert.equal(providerTokenRequests(off, "authorization_code").at(-1)!.params.code_verifier, undefined);
      await okToken(withoutPkce.sessionId);
    });

    // --- token response formats ------------------------------------------------------------------

    it("GitHub: Latchkey asks for JSON, and a form-encoded token answer is understood (code and refresh)", async () => {
      // Latchkey asks for JSON (Accept: application/json), so GitHub answers JSON.
      const direct = await connected("q-github");
      const asked = tokenExchanges(entry("q-github")).at(-1)!;
      assert.match(String(asked.requestHeaders.accept), /application\/json/);
      assert.match(asked.contentType, /^application\/json/);
      assert.equal((await okToken(direct.sessionId)).access_token, lastAnswer("q-github").access_token);

      // A GitHub that answers form-encoded anyway.
      const form = entry("q-github-form");
      const { sessionId } = await connected("q-github-form");
      const answer = form.proxy.exchanges.findLast((e) => e.path === "/token")!;
      assert.match(answer.contentType, /^application\/x-www-form-urlencoded/);
      const issued = Object.fromEntries(new URLSearchParams(answer.body));
      assert.ok(issued.access_token && issued.refresh_token && issued.expires_in === "28800", answer.body);
      const first = await okToken(sessionId);
      assert.equal(first.access_token, issued.access_token);
      assertExpiresIn(first.access_token_expiry, 28_800);

      // The form-encoded refresh_token was kept, and a form-encoded refresh answer is read too.
      offset += 28_800;
      const refreshed = await okToken(sessionId);
      const refresh = providerTokenRequests(form, "refresh_token").at(-1);
      assert.ok(refresh, "a refresh was made");
      assert.equal(refresh.params.refresh_token, issued.refresh_token);
      const reissued = Object.fromEntries(
        new URLSearchParams(form.proxy.exchanges.findLast((e) => e.path === "/token")!.body),
      );
      assert.notEqual(reissued.access_token, issued.access_token);
      assert.equal(refreshed.access_token, reissued.access_token);
      assertExpiresIn(refreshed.access_token_expiry, 28_800);
    });

    it("errorsIn200: GitHub {error} and Slack {ok:false} in HTTP 200 fail the connection (error=connection_failed)", async () => {
      for (const [id, error] of [
        ["q-github", "bad_verification_code"],
        ["q-slack", "invalid_code"],
      ] as const) {
        const { provider, proxy } = entry(id);
        provider.behaviour.failNextToken = { error };
        const failed = await connect(id);
        const answer = proxy.exchanges.findLast((e) => e.path === "/token")!;
        assert.equal(answer.status, 200, `${id} answered its error in HTTP 200`);
        const fields = fieldsOf(answer);
        assert.equal(fields.error, error);
        if (id === "q-slack") assert.equal(fields.ok, false);
        assert.equal(failed.landed.searchParams.get("error"), "connection_failed", `${id}: ${failed.landed}`);
        assert.equal(failed.landed.searchParams.get("session_id"), failed.sessionId);
        const tokenResponse = await token(failed.sessionId);
        assert.equal(tokenResponse.status, 400, JSON.stringify(tokenResponse.body));
        assert.equal(errorCode(tokenResponse), "CONNECTION_NOT_READY");
      }
    });

    it("errorsIn200 on refresh: GitHub bad_refresh_token / Slack invalid_refresh_token in HTTP 200 → 400 CONNECTION_NEEDS_REAUTHORIZATION", async () => {
      // The documented refresh errors of both providers mean the grant is gone, exactly like
      // invalid_grant; "try again shortly" (502) would have the back end retry forever.
      for (const [id, error] of [
        ["q-github", "bad_refresh_token"],
        ["q-slack", "invalid_refresh_token"],
      ] as const) {
        const { provider, proxy } = entry(id);
        const { sessionId } = await connected(id);
        await okToken(sessionId);
        provider.behaviour.failNextToken = { error };
        offset += 86_400;
        const refused = await token(sessionId);
        const answer = proxy.exchanges.findLast((e) => e.path === "/token")!;
        assert.equal(answer.status, 200, `${id} answered its error in HTTP 200`);
        assert.equal(fieldsOf(answer).error, error);
        assert.equal(refused.status, 400, `${id}: ${refused.status} ${JSON.stringify(refused.body)}`);
        assert.equal(errorCode(refused), "CONNECTION_NEEDS_REAUTHORIZATION", id);
        offset = 0;
      }
    });

    it("Slack v2: the user token nested under authed_user is what /token returns, and its refresh token is kept", async () => {
      const slack = entry("q-slack");
      const { authorize, sessionId } = await connected("q-slack", {
        scopes: ["channels:read", "chat:write"],
      });
      // The person's scopes (Slack's user_scope); `scope` would ask for a bot's.
      assert.equal(authorize.searchParams.get("user_scope"), "channels:read,chat:write");
      assert.equal(authorize.searchParams.get("scope"), null);
      assert.equal(authorize.searchParams.get("code_challenge"), null);
      const answer = lastAnswer("q-slack");
      assert.equal(answer.ok, true);
      assert.equal(answer.access_token, undefined, "no top-level access_token");
      const authed = answer.authed_user as { access_token: string; refresh_token: string };
      const first = await okToken(sessionId);
      assert.equal(first.access_token, authed.access_token);
      assertExpiresIn(first.access_token_expiry, 3600);
      const live = await fetch(slack.provider.userEndpoint, {
        headers: { authorization: `Bearer ${first.access_token}` },
      });
      assert.equal(live.status, 200, "the token works at the provider");

      offset += 3600;
      const refreshed = await okToken(sessionId);
      assert.equal(
        providerTokenRequests(slack, "refresh_token").at(-1)?.params.refresh_token,
        authed.refresh_token,
      );
      assert.equal(refreshed.access_token, lastAnswer("q-slack").access_token);
      assert.notEqual(refreshed.access_token, first.access_token);
    });

    // --- expiry and refresh ----------------------------------------------------------------------

    it("no expires_in: the token comes back with access_token_expiry null and is never refreshed", async () => {
      const noExpiry = entry("q-no-expiry");
      const { sessionId } = await connected("q-no-expiry");
      const answer = lastAnswer("q-no-expiry");
      assert.equal(answer.expires_in, undefined);
      assert.ok(answer.refresh_token, "a refresh token was issued all the same");
      const first = await okToken(sessionId);
      assert.equal(first.access_token, answer.access_token);
      assert.equal(first.access_token_expiry, null);
      for (const days of [1, 30, 364]) {
        offset = days * 86_400;
        const later = await okToken(sessionId);
        assert.equal(later.access_token, first.access_token, `same token after ${days} days`);
        assert.equal(later.access_token_expiry, null);
      }
      assert.equal(providerTokenRequests(noExpiry, "refresh_token").length, 0, "never refreshed");
    });

    it("refresh without a refresh_token in the answer (Google): the old refresh token keeps being used", async () => {
      const google = entry("q-google");
      const { sessionId, authorize } = await connected("q-google");
      assert.equal(authorize.searchParams.get("access_type"), "offline");
      const issued = lastAnswer("q-google");
      const original = issued.refresh_token as string;
      assert.ok(original);
      let previous = (await okToken(sessionId)).access_token;

      for (const round of [1, 2, 3]) {
        offset += 3600;
        const refreshed = await okToken(sessionId);
        const refreshes = providerTokenRequests(google, "refresh_token");
        assert.equal(refreshes.length, round, `refresh #${round} made`);
        assert.equal(refreshes.at(-1)!.params.refresh_token, original, `refresh #${round} used the original`);
        const answer = lastAnswer("q-google");
        assert.equal(answer.refresh_token, undefined, "the provider sent no new refresh token");
        assert.equal(refreshed.access_token, answer.access_token);
        assert.notEqual(refreshed.access_token, previous);
        assertExpiresIn(refreshed.access_token_expiry, 3600);
        previous = refreshed.access_token;
      }
    });

    it("rotation: the new refresh token from each refresh is the one used next time", async () => {
      const rotate = entry("q-rotate");
      const { sessionId } = await connected("q-rotate");
      let current = lastAnswer("q-rotate").refresh_token as string;
      assert.ok(current);
      const seen = new Set([current]);
      for (const round of [1, 2, 3]) {
        offset += 3600;
        const refreshed = await okToken(sessionId);
        const refreshes = providerTokenRequests(rotate, "refresh_token");
        assert.equal(refreshes.length, round);
        assert.equal(refreshes.at(-1)!.params.refresh_token, current, `refresh #${round} used the latest`);
        const answer = lastAnswer("q-rotate");
        assert.equal(refreshed.access_token, answer.access_token);
        current = answer.refresh_token as string;
        assert.ok(current && !seen.has(current), "a new refresh token was issued");
        seen.add(current);
      }
    });

    it("invalid_grant on refresh: /token answers 400 CONNECTION_NEEDS_REAUTHORIZATION, and keeps answering it", async () => {
      const refused = entry("q-invalid-grant");
      const { sessionId } = await connected("q-invalid-grant");
      await okToken(sessionId);
      refused.provider.behaviour.failNextToken = { error: "invalid_grant", description: "Token revoked" };
      offset += 3600;
      const first = await token(sessionId);
      assert.equal(first.status, 400, JSON.stringify(first.body));
      assert.equal(errorCode(first), "CONNECTION_NEEDS_REAUTHORIZATION");
      assert.equal(refused.proxy.exchanges.at(-1)!.status, 400);
      assert.equal(fieldsOf(refused.proxy.exchanges.at(-1)!).error, "invalid_grant");
      const asked = providerTokenRequests(refused, "refresh_token").length;
      assert.equal(asked, 1);

      // The provider would now answer (failNextToken is spent), but the grant is gone: Latchkey
      // must keep saying so, without asking the provider again.
      for (const later of [0, 3600, 86_400]) {
        offset += later;
        const again = await token(sessionId);
        assert.equal(again.status, 400, JSON.stringify(again.body));
        assert.equal(errorCode(again), "CONNECTION_NEEDS_REAUTHORIZATION");
      }
      assert.equal(providerTokenRequests(refused, "refresh_token").length, asked, "not asked again");

      // Connecting again (a new session) works.
      const reconnected = await connected("q-invalid-grant");
      await okToken(reconnected.sessionId);
    });

    it("provider 5xx or unreachable: /token answers 502 PROVIDER_UNAVAILABLE and the connection still works afterwards", async () => {
      const flaky = entry("q-unavailable");
      const { sessionId } = await connected("q-unavailable");
      const issued = lastAnswer("q-unavailable");
      const first = await okToken(sessionId);
      assert.equal(first.access_token, issued.access_token);
      offset += 3600;

      flaky.proxy.mode = "503";
      const down = await token(sessionId);
      assert.equal(down.status, 502, JSON.stringify(down.body));
      assert.equal(errorCode(down), "PROVIDER_UNAVAILABLE");
      assert.equal(flaky.proxy.exchanges.at(-1)!.status, 503);

      // Within the cooldown the provider is left alone: 502 at once, no new request.
      const seen = flaky.proxy.exchanges.length;
      const cooling = await token(sessionId);
      assert.equal(cooling.status, 502);
      assert.equal(flaky.proxy.exchanges.length, seen, "no request to the provider during the cooldown");
      offset += 11;

      flaky.proxy.mode = "drop";
      const unreachable = await token(sessionId);
      assert.equal(unreachable.status, 502, JSON.stringify(unreachable.body));
      assert.equal(errorCode(unreachable), "PROVIDER_UNAVAILABLE");
      assert.equal(providerTokenRequests(flaky, "refresh_token").length, 0, "the provider saw nothing");

      offset += 11;
      flaky.proxy.mode = "forward";
      const back = await okToken(sessionId);
      const refreshes = providerTokenRequests(flaky, "refresh_token");
      assert.equal(refreshes.length, 1);
      assert.equal(refreshes[0]!.params.refresh_token, issued.refresh_token);
      assert.equal(back.access_token, lastAnswer("q-unavailable").access_token);
      assert.notEqual(back.access_token, first.access_token);
      assertExpiresIn(back.access_token_expiry, 3600);
    });

    // --- revocation -------------------------------------------------------------------------------

    it("revocationUrl: present → revoke calls it; absent → revoke succeeds locally; /token then answers 400 CONNECTION_REVOKED", async () => {
      const revocable = entry("q-revocable");
      const withUrl = await connected("q-revocable");
      const issued = lastAnswer("q-revocable");
      await okToken(withUrl.sessionId);
      const revoked = await callApi(
        server,
        "POST",
        `/api/v1/connected_apps/revoke?session_id=${encodeURIComponent(withUrl.sessionId)}`,
      );
      assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
      const calls = revocable.provider.requests.filter((r) => r.path === "/revoke");
      assert.deepEqual(
        calls.map((r) => [r.params.token, r.params.token_type_hint]),
        [
          [issued.refresh_token, "refresh_token"],
          [issued.access_token, "access_token"],
        ],
      );
      for (const call of calls) {
        assert.equal(call.method, "POST");
        assert.equal(call.params.client_id, revocable.provider.clientId, "the client authenticates");
      }
      assert.ok(revocable.proxy.exchanges.filter((e) => e.path === "/revoke").every((e) => e.status === 200));
      const dead = await fetch(revocable.provider.userEndpoint, {
        headers: { authorization: `Bearer ${issued.access_token as string}` },
      });
      assert.equal(dead.status, 401, "the access token no longer works at the provider");
      const after = await token(withUrl.sessionId);
      assert.equal(after.status, 400, JSON.stringify(after.body));
      assert.equal(errorCode(after), "CONNECTION_REVOKED");

      const local = entry("q-no-revocation");
      const withoutUrl = await connected("q-no-revocation");
      await okToken(withoutUrl.sessionId);
      const revokedLocally = await callApi(
        server,
        "POST",
        `/api/v1/connected_apps/revoke?session_id=${encodeURIComponent(withoutUrl.sessionId)}`,
      );
      assert.equal(revokedLocally.status, 200, JSON.stringify(revokedLocally.body));
      assert.equal(local.provider.requests.filter((r) => r.path === "/revoke").length, 0);
      assert.equal(local.proxy.exchanges.filter((e) => e.path !== "/token").length, 0);
      for (const _ of [1, 2]) {
        const afterLocal = await token(withoutUrl.sessionId);
        assert.equal(afterLocal.status, 400, JSON.stringify(afterLocal.body));
        assert.equal(errorCode(afterLocal), "CONNECTION_REVOKED");
      }
    });

    // --- SSRF guard -------------------------------------------------------------------------------

    it("SSRF guard: without CONNECTED_APPS_ALLOW_PRIVATE_NETWORKS a provider URL on 127.0.0.1 is refused (400 INVALID_URL)", async () => {
      const generic = (key: string, tokenUrl: string) => ({
        key_code_ref: key,
        provider: "oauth2",
        client_id: "client",
        client_secret: "secret",
        callback_url: CALLBACK,
        settings: { authorization_url: "https://provider.example/authorize", token_url: tokenUrl },
      });
      const guarded = await startTestServer(kind, { env: { CONNECTED_APPS_CATALOG_FILE: catalogFile } });
      try {
        for (const [index, tokenUrl] of [
          "http://127.0.0.1/token",
          `${entry("q-body").provider.tokenEndpoint}`,
          "https://127.0.0.1/token",
          "https://[::1]/token",
          "https://localhost/token",
        ].entries()) {
          const refused = await callApi(guarded, "POST", "/api/v1/connected_apps", {
            body: generic(`ssrf_${index}`, tokenUrl),
          });
          assert.equal(refused.status, 400, `${tokenUrl}: ${JSON.stringify(refused.body)}`);
          assert.equal(errorCode(refused), "INVALID_URL", tokenUrl);
        }
        // A catalog provider pointing at loopback is refused the same way.
        const catalogRefused = await callApi(guarded, "POST", "/api/v1/connected_apps", {
          body: {
            key_code_ref: "ssrf_catalog",
            provider: "q-body",
            client_id: "client",
            client_secret: "secret",
            callback_url: CALLBACK,
          },
        });
        assert.equal(catalogRefused.status, 400, JSON.stringify(catalogRefused.body));
        assert.equal(errorCode(catalogRefused), "INVALID_URL");
        // A public https provider is fine.
        const allowed = await callApi(guarded, "POST", "/api/v1/connected_apps", {
          body: generic("ssrf_public", "https://provider.example/token"),
        });
        assert.equal(allowed.status, 201, JSON.stringify(allowed.body));
      } finally {
        await guarded.close();
      }
      // With the flag (the suite's server), the same loopback provider is accepted.
      const accepted = await callApi(server, "POST", "/api/v1/connected_apps", {
        body: generic("ssrf_allowed", "http://127.0.0.1/token"),
      });
      assert.equal(accepted.status, 201, JSON.stringify(accepted.body));
    });
  });
}
