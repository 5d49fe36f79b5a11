// Third-party OAuth 2.0 providers on loopback, for testing Latchkey as an OAuth CLIENT ("connected
// apps"):
//
// - startOidcProvider: a real, certified authorization server (the `oidc-provider` package) with one
//   registered client, refresh-token rotation and revocation, whose sign-in and consent are
//   answered automatically for a fixed account, so following the authorization URL's redirects
//   ends at redirect_uri?code=…&state=….
// - startProgrammableProvider: a tiny hand-written provider whose token endpoint reproduces the
//   quirks of real ones (GitHub's form-encoded answers and HTTP 200 errors, Slack's `ok:false` and
//   `authed_user`, Google's refresh answers without a refresh token, JSON request bodies…).
import { createHash, generateKeyPair, type JsonWebKey, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { promisify } from "node:util";
// oidc-provider ships no type declarations; the small surface used here is typed below.
// @ts-expect-error TS7016: no declaration file for "oidc-provider"
import OidcProviderModule from "oidc-provider";
import { UserAgent } from "./user-agent.js";

// ---------------------------------------------------------------------------------------------------
// Shared plumbing

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (!address || typeof address !== "object") throw new Error("server has no address");
  return `http://127.0.0.1:${address.port}`;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

function randomToken(prefix: string): string {
  return `${prefix}_${randomBytes(16).toString("hex")}`;
}

// ---------------------------------------------------------------------------------------------------
// 1. oidc-provider

/** The part of oidc-provider's Koa context the recording middleware reads. */
interface OidcKoaContext {
  method: string;
  path: string;
  req: IncomingMessage;
  status: number;
  body: unknown;
  type: string;
  get(header: string): string;
  set(header: string, value: string): void;
  oidc?: { params?: Record<string, unknown> };
}

interface OidcInteraction {
  prompt: { name: string; details: Record<string, unknown> };
  session?: { accountId?: string };
  grantId?: string;
}

interface OidcGrant {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  addResourceScope(indicator: string, scope: string): void;
  save(): Promise<string>;
}

interface OidcProviderInstance {
  callback(): (request: IncomingMessage, response: ServerResponse) => void;
  use(middleware: (ctx: OidcKoaContext, next: () => Promise<void>) => Promise<void>): void;
  on(event: string, listener: (...args: unknown[]) => void): void;
  urlFor(route: string): string;
  interactionDetails(request: IncomingMessage, response: ServerResponse): Promise<OidcInteraction>;
  interactionFinished(
    request: IncomingMessage,
    response: ServerResponse,
    result: Record<string, unknown>,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>;
  Grant: {
    new (init: { accountId: string; clientId: string }): OidcGrant;
    find(id: string): Promise<OidcGrant | undefined>;
  };
}

const Provider = OidcProviderModule as new (
  issuer: string,
  configuration: Record<string, unknown>,
) => OidcProviderInstance;

type AdapterPayload = Record<string, unknown> & { uid?: string; userCode?: string; grantId?: string };

/**
 * A Map-backed storage adapter, one per provider. oidc-provider's built-in memory adapter is an
 * LRU capped at 1,000 entries and warns loudly on every start; this one does neither.
 */
function mapAdapter() {
  const store = new Map<string, { payload: AdapterPayload; expiresAt: number }>();
  const grantable = new Set(["AccessToken", "AuthorizationCode", "RefreshToken", "DeviceCode"]);
  const live = (key: string): AdapterPayload | undefined => {
    const entry = store.get(key);
    if (entry && entry.expiresAt > Date.now()) return entry.payload;
    store.delete(key);
    return undefined;
  };
  const findBy = (model: string, field: "uid" | "userCode", value: string) => {
    for (const key of store.keys()) {
      if (key.startsWith(`${model}:`) && live(key)?.[field] === value) return live(key);
    }
    return undefined;
  };
  return (model: string) => ({
    async upsert(id: string, payload: AdapterPayload, expiresIn?: number) {
      store.set(`${model}:${id}`, {
        payload,
        expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Infinity,
      });
    },
    find: async (id: string) => live(`${model}:${id}`),
    findByUid: async (uid: string) => findBy(model, "uid", uid),
    findByUserCode: async (userCode: string) => findBy(model, "userCode", userCode),
    async consume(id: string) {
      const payload = live(`${model}:${id}`);
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    },
    async destroy(id: string) {
      store.delete(`${model}:${id}`);
    },
    async revokeByGrantId(grantId: string) {
      for (const [key, { payload }] of store) {
        if (grantable.has(key.slice(0, key.indexOf(":"))) && payload.grantId === grantId) store.delete(key);
      }
    },
  });
}

let signingKey: Promise<JsonWebKey> | undefined;

/** One RSA signing key per test process (generating one takes ~100 ms). */
function rsaSigningKey(): Promise<JsonWebKey> {
  signingKey ??= promisify(generateKeyPair)("rsa", { modulusLength: 2048 }).then(({ privateKey }) => ({
    ...privateKey.export({ format: "jwk" }),
    use: "sig",
    kid: "test-key-1",
  }));
  return signingKey;
}

export interface OidcProviderOptions {
  /** The one registered redirect URI (matched exactly). */
  redirectUri: string;
  clientId?: string;
  clientSecret?: string;
  /** How the client must authenticate at the token and revocation endpoints. Default client_secret_basic. */
  tokenEndpointAuthMethod?: "client_secret_basic" | "client_secret_post";
  /** Access-token lifetime (the token response's expires_in). Default 3600. */
  accessTokenTtlSeconds?: number;
  /**
   * Scope values the provider knows besides openid, offline_access, profile and email. Unknown
   * requested scopes are silently dropped by oidc-provider, and a request left with none is denied.
   * Default ["read", "write"].
   */
  scopes?: string[];
  /** The account every sign-in resolves to. Default "provider-user-1". */
  accountId?: string;
  /** Finish every interaction with error=access_denied (also settable later on the handle). */
  deny?: boolean;
  /** Claims of the account besides the defaults (e.g. another email, email_verified: false). */
  accountClaims?: Record<string, unknown>;
}

export interface TokenRequestRecord {
  grantType: string | undefined;
  /** How the client authenticated: Authorization: Basic, client_secret in the body, or neither. */
  clientAuth: "basic" | "post" | "none";
  status: number;
  /** The OAuth error code when the request failed. */
  error?: string;
  errorDescription?: string;
}

export interface OidcProviderStats {
  /** Successful token-endpoint grants, by grant type. */
  grants: { authorization_code: number; refresh_token: number };
  /** Every token-endpoint request, in order. */
  tokenRequests: TokenRequestRecord[];
  /** Every refresh token presented at the token endpoint, and how many times it was presented. */
  refreshTokensPresented: Map<string, number>;
  /** Refresh tokens presented more than once (oidc-provider then revokes the whole grant). */
  reusedRefreshTokens(): string[];
  /** Every revocation-endpoint call, in order. */
  revocations: { token: string | undefined; tokenTypeHint: string | undefined; status: number }[];
}

export interface OidcProviderHandle {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  revocationEndpoint: string;
  userinfoEndpoint: string;
  clientId: string;
  clientSecret: string;
  accountId: string;
  /** When true, interactions finish with error=access_denied. */
  deny: boolean;
  stats: OidcProviderStats;
  /**
   * Plays the browser: follows the authorization URL's redirects (keeping the provider's cookies)
   * until they leave the provider, and returns that URL — normally redirect_uri?code=…&state=….
   */
  authorize(authorizationUrl: string | URL): Promise<URL>;
  close(): Promise<void>;
}

export async function startOidcProvider(options: OidcProviderOptions): Promise<OidcProviderHandle> {
  const clientId = options.clientId ?? `client-${randomBytes(6).toString("hex")}`;
  const clientSecret = options.clientSecret ?? randomBytes(24).toString("base64url");
  const accountId = options.accountId ?? "provider-user-1";
  const ttl = options.accessTokenTtlSeconds ?? 3600;
  const authMethod = options.tokenEndpointAuthMethod ?? "client_secret_basic";

  const server = createServer();
  const issuer = await listen(server);
  const provider = new Provider(issuer, {
    adapter: mapAdapter(),
    jwks: { keys: [await rsaSigningKey()] },
    cookies: { keys: [randomBytes(32).toString("hex")] },
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [options.redirectUri],
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        token_endpoint_auth_method: authMethod,
      },
    ],
    scopes: ["openid", "offline_access", ...(options.scopes ?? ["read", "write"])],
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    async findAccount(_ctx: unknown, sub: string) {
      return {
        accountId: sub,
        claims: async () => ({
          sub,
          email: `${sub}@provider.test`,
          email_verified: true,
          name: sub,
          ...options.accountClaims,
        }),
      };
    },
    features: {
      devInteractions: { enabled: false },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx: unknown, client: { clientId: string }, token: { clientId: string }) =>
          token.clientId === client.clientId,
      },
    },
    pkce: { required: () => false },
    // Every authorization-code grant gets a refresh token, with or without offline_access (which
    // oidc-provider would otherwise drop unless prompt=consent), and it outlives the browser session.
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) =>
      client.grantTypeAllowed("refresh_token"),
    expiresWithSession: async () => false,
    rotateRefreshToken: true,
    ttl: {
      AccessToken: ttl,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: 14 * 24 * 3600,
      Interaction: 600,
      Session: 24 * 3600,
      Grant: 14 * 24 * 3600,
    },
    interactions: {
      url: async (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
    },
    clientBasedCORS: () => false,
    renderError: async (ctx: OidcKoaContext, out: Record<string, string>) => {
      ctx.type = "json";
      ctx.body = out;
    },
  });

  const stats: OidcProviderStats = {
    grants: { authorization_code: 0, refresh_token: 0 },
    tokenRequests: [],
    refreshTokensPresented: new Map(),
    reusedRefreshTokens: () => [...stats.refreshTokensPresented].filter(([, n]) => n > 1).map(([t]) => t),
    revocations: [],
  };

  const routes = new Map([
    [new URL(provider.urlFor("token")).pathname, "token"],
    [new URL(provider.urlFor("revocation")).pathname, "revocation"],
  ]);
  // Runs around oidc-provider's routes: records token and revocation calls (ctx.oidc, with the
  // parsed params, exists once next() returns) and enforces the registered client authentication
  // method, which oidc-provider itself does not (it takes client_secret_basic and client_secret_post
  // interchangeably).
  provider.use(async (ctx, next) => {
    const route = ctx.method === "POST" ? routes.get(ctx.path) : undefined;
    if (!route) return next();
    const usesBasic = /^basic /i.test(ctx.get("authorization"));
    let params: Record<string, unknown>;
    if (usesBasic !== (authMethod === "client_secret_basic")) {
      let raw = "";
      for await (const chunk of ctx.req) raw += chunk;
      params = Object.fromEntries(new URLSearchParams(raw));
      ctx.status = 401;
      ctx.type = "json";
      ctx.body = { error: "invalid_client", error_description: `the client must use ${authMethod}` };
      if (authMethod === "client_secret_basic") ctx.set("www-authenticate", 'Basic realm="provider"');
    } else {
      await next();
      params = ctx.oidc?.params ?? {};
    }
    const param = (name: string) => (typeof params[name] === "string" ? (params[name] as string) : undefined);
    if (route === "revocation") {
      stats.revocations.push({
        token: param("token"),
        tokenTypeHint: param("token_type_hint"),
        status: ctx.status,
      });
      return;
    }
    const body = (ctx.body ?? {}) as { error?: string; error_description?: string };
    const grantType = param("grant_type");
    stats.tokenRequests.push({
      grantType,
      clientAuth: usesBasic ? "basic" : param("client_secret") ? "post" : "none",
      status: ctx.status,
      ...(body.error ? { error: body.error, errorDescription: body.error_description } : {}),
    });
    if (ctx.status === 200 && (grantType === "authorization_code" || grantType === "refresh_token"))
      stats.grants[grantType] += 1;
    const presented = grantType === "refresh_token" ? param("refresh_token") : undefined;
    if (presented)
      stats.refreshTokensPresented.set(presented, (stats.refreshTokensPresented.get(presented) ?? 0) + 1);
  });
  provider.on("server_error", (_ctx, error) => console.error("oidc-provider server_error:", error));

  const handle: OidcProviderHandle = {
    issuer,
    authorizationEndpoint: provider.urlFor("authorization"),
    tokenEndpoint: provider.urlFor("token"),
    revocationEndpoint: provider.urlFor("revocation"),
    userinfoEndpoint: provider.urlFor("userinfo"),
    clientId,
    clientSecret,
    accountId,
    deny: options.deny ?? false,
    stats,
    async authorize(authorizationUrl) {
      const agent = new UserAgent(issuer);
      let next = new URL(authorizationUrl);
      for (let hop = 0; hop < 10 && next.origin === issuer; hop++) next = await agent.redirectFrom(next);
      return next;
    },
    close: () => closeServer(server),
  };

  // The interaction "UI": signs in the fixed account, then grants everything that was asked for.
  async function interaction(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const details = await provider.interactionDetails(request, response);
    const finish = (result: Record<string, unknown>) =>
      provider.interactionFinished(request, response, result, { mergeWithLastSubmission: false });
    if (handle.deny) {
      return finish({ error: "access_denied", error_description: "The user denied the request" });
    }
    if (details.prompt.name === "login") return finish({ login: { accountId } });
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = details.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    const grant =
      (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ??
      new provider.Grant({ accountId: details.session?.accountId ?? accountId, clientId });
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(" "));
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {}))
      grant.addResourceScope(indicator, scopes.join(" "));
    return finish({ consent: { grantId: await grant.save() } });
  }

  const callback = provider.callback();
  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    if (!request.url?.startsWith("/interaction/")) return callback(request, response);
    interaction(request, response).catch((error: unknown) => {
      response.writeHead(500, { "content-type": "text/plain" }).end(`interaction failed: ${String(error)}`);
    });
  });
  return handle;
}

// ---------------------------------------------------------------------------------------------------
// 2. A programmable provider for quirks

/** What the token endpoint does. Mutable: change it between requests within a test. */
export interface ProviderBehaviour {
  /** Milliseconds /token waits before answering (a slow provider, to open race windows). */
  tokenDelayMs?: number;
  /**
   * Milliseconds /token waits AFTER processing the grant, before answering: the tokens are issued
   * (a rotated refresh token already spent) while the client still waits — a late answer.
   */
  responseDelayMs?: number;
  /**
   * /token sends its headers at once, then `paddingBytes` spaces one per `intervalMs`, then the
   * JSON (leading whitespace is valid JSON): a provider that drips its answer. With Infinity it
   * never completes: only the client closing the connection ends it (counted in `cutDrips`).
   */
  drip?: { intervalMs: number; paddingBytes: number };
  /** How the client must authenticate at /token and /revoke; the other way is rejected. */
  clientAuth: "basic" | "body" | "any";
  /** The request body /token accepts: form (RFC 6749), JSON (Atlassian, Notion), or either. */
  requestBody: "form" | "json" | "any";
  /** "github": form-encoded unless the request says Accept: application/json. */
  responseFormat: "json" | "github";
  /** "oauth": HTTP 400/401 with {error}; "github": HTTP 200 with {error}; "slack": HTTP 200 with {ok:false, error}. */
  errorStyle: "oauth" | "github" | "slack";
  /** "slack-v2": {ok:true, …, authed_user:{access_token, refresh_token, …}} for the code grant. */
  tokenShape: "standard" | "slack-v2";
  /** Access-token lifetime; null omits expires_in (and the token never expires). */
  expiresIn: number | null;
  /** Whether the code grant returns a refresh token. */
  issueRefreshToken: boolean;
  /** On refresh: a new refresh token (the old one stops working), the same one, or none (Google). */
  refreshTokens: "rotate" | "same" | "omit";
  /** /authorize redirects back with error=access_denied. */
  deny: boolean;
  /** The next token request fails with this error (then it is cleared). */
  failNextToken?: { error: string; description?: string };
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  /** Query parameters for GET, the parsed form or JSON body for POST. */
  params: Record<string, unknown>;
}

export interface ProgrammableProvider {
  origin: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  revocationEndpoint: string;
  /** GET with Authorization: Bearer → 200 {id} while the access token is live, else 401. */
  userEndpoint: string;
  clientId: string;
  clientSecret: string;
  behaviour: ProviderBehaviour;
  /** Every request, in order. */
  requests: RecordedRequest[];
  /** Every token the token endpoint issued, in order (whether or not its answer was delivered). */
  issued: { grantType: string; accessToken: string; refreshToken?: string }[];
  /** Dripping /token answers whose client closed the connection before the last byte. */
  cutDrips: number;
  /** The last request to a path ("/authorize", "/token", "/revoke", "/user"). */
  last(path: string): RecordedRequest | undefined;
  close(): Promise<void>;
}

export const DEFAULT_BEHAVIOUR: ProviderBehaviour = {
  clientAuth: "any",
  requestBody: "any",
  responseFormat: "json",
  errorStyle: "oauth",
  tokenShape: "standard",
  expiresIn: 3600,
  issueRefreshToken: true,
  refreshTokens: "rotate",
  deny: false,
};

class OAuthError extends Error {
  constructor(
    readonly error: string,
    readonly status = 400,
    readonly description = `${error} (programmable provider)`,
  ) {
    super(error);
  }
}

export async function startProgrammableProvider(
  behaviour: Partial<ProviderBehaviour> & { clientId?: string; clientSecret?: string } = {},
): Promise<ProgrammableProvider> {
  const { clientId = randomToken("client"), clientSecret = randomToken("secret"), ...rest } = behaviour;
  const codes = new Map<string, { redirectUri: string; scope: string; challenge?: string }>();
  const refreshTokens = new Map<string, string>(); // refresh token → scope
  const accessTokens = new Map<string, number>(); // access token → expiry (ms)
  const requests: RecordedRequest[] = [];
  const issued: ProgrammableProvider["issued"] = [];
  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      response.writeHead(500, { "content-type": "text/plain" }).end(String(error));
    });
  });
  const origin = await listen(server);
  const provider: ProgrammableProvider = {
    origin,
    authorizationEndpoint: `${origin}/authorize`,
    tokenEndpoint: `${origin}/token`,
    revocationEndpoint: `${origin}/revoke`,
    userEndpoint: `${origin}/user`,
    clientId,
    clientSecret,
    behaviour: { ...DEFAULT_BEHAVIOUR, ...rest },
    requests,
    issued,
    cutDrips: 0,
    last: (path) => requests.findLast((r) => r.path === path),
    close: () => closeServer(server),
  };

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", origin);
    let raw = "";
    for await (const chunk of request) raw += chunk;
    const json = /^application\/json/i.test(request.headers["content-type"] ?? "");
    const params: Record<string, unknown> =
      request.method !== "POST"
        ? Object.fromEntries(url.searchParams)
        : json
          ? (JSON.parse(raw || "{}") as Record<string, unknown>)
          : Object.fromEntries(new URLSearchParams(raw));
    requests.push({ method: request.method ?? "GET", path: url.pathname, headers: request.headers, params });
    const param = (name: string) => (typeof params[name] === "string" ? (params[name] as string) : undefined);
    const b = provider.behaviour;

    if (url.pathname === "/authorize") {
      const redirectUri = param("redirect_uri");
      if (param("client_id") !== clientId || !redirectUri) {
        response.writeHead(400, { "content-type": "text/plain" }).end("unknown client_id or no redirect_uri");
        return;
      }
      const target = new URL(redirectUri);
      if (b.deny) target.searchParams.set("error", "access_denied");
      else {
        const code = randomToken("code");
        codes.set(code, { redirectUri, scope: param("scope") ?? "", challenge: param("code_challenge") });
        target.searchParams.set("code", code);
      }
      if (param("state") !== undefined) target.searchParams.set("state", param("state")!);
      response.writeHead(302, { location: target.href }).end();
      return;
    }

    if (url.pathname === "/user") {
      const token = /^bearer (.+)$/i.exec(request.headers.authorization ?? "")?.[1];
      const live = token !== undefined && (accessTokens.get(token) ?? 0) > Date.now();
      response.writeHead(live ? 200 : 401, { "content-type": "application/json" });
      response.end(JSON.stringify(live ? { id: "provider-user-1" } : { error: "invalid_token" }));
      return;
    }

    const send = async (status: number, body: Record<string, unknown>) => {
      const form = b.responseFormat === "github" && !/application\/json/.test(request.headers.accept ?? "");
      const flat = Object.entries(body).map(([k, v]): [string, string] => [k, String(v)]);
      response.writeHead(status, {
        "content-type": form ? "application/x-www-form-urlencoded; charset=utf-8" : "application/json",
        "cache-control": "no-store",
      });
      const text = form ? new URLSearchParams(flat).toString() : JSON.stringify(body);
      const drip = url.pathname === "/token" ? b.drip : undefined;
      if (drip) {
        let closed = false;
        response.once("close", () => {
          closed = true;
        });
        response.flushHeaders();
        for (let i = 0; i < drip.paddingBytes && !closed; i++) {
          response.write(" ");
          await new Promise((resolve) => setTimeout(resolve, drip.intervalMs));
        }
        if (closed) {
          provider.cutDrips += 1;
          return;
        }
      }
      response.end(text);
    };
    const sendError = (error: OAuthError) => {
      if (b.errorStyle === "slack") return send(200, { ok: false, error: error.error });
      const body = { error: error.error, error_description: error.description };
      return send(b.errorStyle === "github" ? 200 : error.status, body);
    };

    try {
      // Client authentication: Basic or body fields, as the behaviour demands.
      const basic = /^basic (.+)$/i.exec(request.headers.authorization ?? "")?.[1];
      const [basicId, basicSecret] = basic
        ? Buffer.from(basic, "base64").toString().split(":").map(decodeURIComponent)
        : [];
      const inBody = param("client_secret") !== undefined;
      if ((b.clientAuth === "basic" && (!basic || inBody)) || (b.clientAuth === "body" && (basic || !inBody)))
        throw new OAuthError("invalid_client", 401);
      const [id, secret] = basic ? [basicId, basicSecret] : [param("client_id"), param("client_secret")];
      if (id !== clientId || secret !== clientSecret) throw new OAuthError("invalid_client", 401);

      if (url.pathname === "/revoke") {
        const token = param("token") ?? "";
        refreshTokens.delete(token);
        accessTokens.delete(token);
        response.writeHead(200).end();
        return;
      }
      if (url.pathname !== "/token" || request.method !== "POST") throw new OAuthError("not_found", 404);
      if (b.tokenDelayMs) await new Promise((resolve) => setTimeout(resolve, b.tokenDelayMs));
      if ((b.requestBody === "json" && !json) || (b.requestBody === "form" && json))
        throw new OAuthError("invalid_request");
      if (b.failNextToken) {
        const { error, description } = b.failNextToken;
        b.failNextToken = undefined;
        throw new OAuthError(error, 400, description);
      }

      const grantType = param("grant_type");
      let scope: string;
      let refreshToken: string | undefined;
      if (grantType === "authorization_code") {
        const code = codes.get(param("code") ?? "");
        codes.delete(param("code") ?? "");
        if (!code || code.redirectUri !== param("redirect_uri")) throw new OAuthError("invalid_grant");
        const verifier = param("code_verifier");
        if (
          code.challenge &&
          (!verifier || createHash("sha256").update(verifier).digest("base64url") !== code.challenge)
        )
          throw new OAuthError("invalid_grant");
        scope = code.scope;
        refreshToken = b.issueRefreshToken ? randomToken("refresh") : undefined;
      } else if (grantType === "refresh_token") {
        const presented = param("refresh_token") ?? "";
        const known = refreshTokens.get(presented);
        if (known === undefined) throw new OAuthError("invalid_grant");
        scope = known;
        if (b.refreshTokens === "rotate") refreshTokens.delete(presented);
        refreshToken = { rotate: randomToken("refresh"), same: presented, omit: undefined }[b.refreshTokens];
      } else {
        throw new OAuthError("unsupported_grant_type");
      }

      const accessToken = randomToken("access");
      accessTokens.set(accessToken, b.expiresIn === null ? Infinity : Date.now() + b.expiresIn * 1000);
      if (refreshToken) refreshTokens.set(refreshToken, scope);
      issued.push({ grantType, accessToken, ...(refreshToken ? { refreshToken } : {}) });
      if (b.responseDelayMs) await new Promise((resolve) => setTimeout(resolve, b.responseDelayMs));
      const tokens = {
        access_token: accessToken,
        token_type: "bearer",
        scope,
        ...(b.expiresIn === null ? {} : { expires_in: b.expiresIn }),
        ...(refreshToken ? { refresh_token: refreshToken } : {}),
      };
      if (b.tokenShape === "slack-v2" && grantType === "authorization_code") {
        await send(200, {
          ok: true,
          app_id: "A0PROGRAMMABLE",
          team: { id: "T0PROGRAMMABLE", name: "Test team" },
          authed_user: { id: "provider-user-1", ...tokens, token_type: "user" },
        });
      } else {
        await send(
          200,
          b.tokenShape === "slack-v2" || b.errorStyle === "slack" ? { ok: true, ...tokens } : tokens,
        );
      }
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error;
      await sendError(error);
    }
  }

  return provider;
}
