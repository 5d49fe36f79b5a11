// The Management API under hostile and careless input: every request here must get a clear 4xx in
// Kinde's error shape `{errors: [{code, message}]}` (never a 5xx, never a hang), with the
// WWW-Authenticate challenge RFC 6750 §3 asks for. Bearer tokens: missing, malformed, in the query
// string, for another audience, a user's, expired, revoked, forged (alg none, HS256 over our RSA
// public key, another key, tampered), for a deleted application, without the scope. Bodies:
// malformed JSON, wrong types, unknown fields, arrays for objects, wrong media types, over 1 MiB.
// Text: SQL- and script-looking strings and unicode stored verbatim. Paging, routes and methods.
import assert from "node:assert/strict";
import { createHash, createPublicKey, generateKeyPairSync, type JsonWebKey, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { exportJWK, type JWK, SignJWT, UnsecuredJWT } from "jose";
import type { Clock } from "../../src/clock.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApi, createApplication, createUser } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";

type ErrorBody = { errors: { code: string; message: string }[] };

interface Raw {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body, or undefined when the body is empty or not JSON. */
  json: unknown;
}

const unique = () => randomBytes(4).toString("hex");
const b64url = (value: unknown) =>
  Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
const payloadOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString("utf8")) as Record<string, unknown> & {
    aud: string[];
    scp: string[];
    azp: string;
    jti: string;
    exp: number;
  };
const headerOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split(".")[0]!, "base64url").toString("utf8")) as Record<string, unknown> & {
    kid: string;
  };

/**
 * Runs one case of a table and records its failure instead of stopping, so that one run reports
 * every case the server gets wrong; assert `problems` is empty at the end.
 */
function check(problems: string[], context: string, verify: () => void): void {
  try {
    verify();
  } catch (error) {
    problems.push(`${context}: ${(error as Error).message.split("\n")[0]}`);
  }
}

/** Every string anywhere in a JSON value. */
function textValues(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (value === null || typeof value !== "object") return [];
  return Object.values(value).flatMap(textValues);
}

/** A Kinde error: the status, JSON, `errors` a non-empty array of {code, message}, no stack trace. */
function assertApiError(response: Raw, status: number, code?: string, context = ""): ErrorBody {
  const where = `${context} → ${response.status} ${response.text.slice(0, 400)}`;
  assert.ok(response.status < 500, `never a 5xx: ${where}`);
  assert.equal(response.status, status, where);
  assert.match(response.headers.get("content-type") ?? "", /^application\/json/, where);
  const body = response.json as ErrorBody;
  assert.ok(body && Array.isArray(body.errors) && body.errors.length > 0, `Kinde's error shape: ${where}`);
  for (const error of body.errors) {
    assert.equal(typeof error.code, "string", where);
    assert.match(error.code, /^[A-Z][A-Z_]*$/, where);
    assert.equal(typeof error.message, "string", where);
    assert.ok(error.message.length > 0, where);
  }
  assert.deepEqual(Object.keys(body), ["errors"], where);
  if (code) assert.equal(body.errors[0]!.code, code, where);
  assert.doesNotMatch(response.text, /\n\s+at |node_modules|\.ts:\d+/, `no stack trace: ${where}`);
  return body;
}

/**
 * RFC 6750 §3: a Bearer challenge, with `error="…"` when given, without any error code when null,
 * either way when undefined.
 */
function assertChallenge(response: Raw, error: string | null | undefined, context = ""): string {
  const challenge = response.headers.get("www-authenticate");
  assert.ok(challenge, `WWW-Authenticate on ${response.status}: ${context}`);
  assert.match(challenge, /^Bearer( |$)/, context);
  if (error === null) assert.doesNotMatch(challenge, /error=/, `no error code: ${context} (${challenge})`);
  else if (error !== undefined)
    assert.match(challenge, new RegExp(`error="${error}"`), `${context} (${challenge})`);
  return challenge;
}

/** 401 INVALID_CREDENTIALS with `error="invalid_token"`: the answer to any token we did not issue. */
function assertInvalidToken(response: Raw, context = ""): void {
  assertApiError(response, 401, "INVALID_CREDENTIALS", context);
  assertChallenge(response, "invalid_token", context);
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`Management API: negative cases (${kind})`, { skip }, () => {
    // A clock the expiry test can move forward; everything else runs on real time.
    let offset = 0;
    const clock: Clock = { now: () => Math.floor(Date.now() / 1000) + offset };
    let server: TestServer;
    let token: string;
    let audience: string;
    let managementApiId: string;

    before(async () => {
      server = await startTestServer(kind, { clock });
      token = await managementToken(server);
      audience = `${server.url}/api`;
      managementApiId = (await server.services.apis.store.findManagementApi())!.id;
    });
    after(async () => server?.close());

    /** One request exactly as given: no default token, raw body, a timeout instead of a hang. */
    async function send(
      method: string,
      path: string,
      options: {
        token?: string | null;
        headers?: Record<string, string>;
        body?: string | ReadableStream<Uint8Array>;
        json?: unknown;
      } = {},
    ): Promise<Raw> {
      const headers: Record<string, string> = { accept: "application/json" };
      const bearer = options.token === undefined ? token : options.token;
      if (bearer !== null) headers.authorization = `Bearer ${bearer}`;
      let body = options.body;
      if (options.json !== undefined) {
        body = JSON.stringify(options.json);
        headers["content-type"] = "application/json";
      } else if (typeof body === "string") headers["content-type"] = "application/json";
      Object.assign(headers, options.headers);
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(20_000),
        ...(body instanceof ReadableStream ? { duplex: "half" } : {}),
      } as RequestInit);
      const text = await response.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return { status: response.status, headers: response.headers, text, json };
    }

    /** A client_credentials token response (audience omitted when undefined). */
    async function tokenResponse(
      client: { clientId: string; clientSecret?: string },
      tokenAudience: string | undefined,
      scope?: string,
    ): Promise<{ status: number; body: { access_token?: string } }> {
      const params = new URLSearchParams({
        grant_type: "client_credentials",
        client_id: client.clientId,
        client_secret: client.clientSecret!,
      });
      if (tokenAudience !== undefined) params.set("audience", tokenAudience);
      if (scope !== undefined) params.set("scope", scope);
      const response = await fetch(`${server.url}/oauth2/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: params,
      });
      return { status: response.status, body: (await response.json()) as { access_token?: string } };
    }

    async function clientCredentials(
      client: { clientId: string; clientSecret?: string },
      tokenAudience: string,
      scope?: string,
    ): Promise<string> {
      const { status, body } = await tokenResponse(client, tokenAudience, scope);
      assert.equal(status, 200, JSON.stringify(body));
      return body.access_token!;
    }

    /** An M2M application authorised for the Management API with the given scopes. */
    async function managementClient(scopes: string[]): Promise<{ clientId: string; clientSecret?: string }> {
      const app = await createApplication(server, "m2m", { name: `negative m2m ${unique()}` });
      await server.services.apis.authorizeApplication(managementApiId, app.clientId);
      if (scopes.length) await server.services.apis.grantScopes(managementApiId, app.clientId, scopes);
      return app;
    }

    async function userCount(): Promise<number> {
      const row = await server.services.db
        .selectFrom("users")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    }

    async function applicationCount(): Promise<number> {
      const row = await server.services.db
        .selectFrom("applications")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    }

    // ---- Authentication (RFC 6750) ------------------------------------------------------------

    it("no token: 401 with a bare Bearer challenge (no error code, RFC 6750 §3.1)", async () => {
      const calls: [string, string, unknown?][] = [
        ["GET", "/api/v1/users"],
        ["GET", "/api/v1/user?id=kp_00000000000000000000000000000000"],
        ["POST", "/api/v1/applications", { name: "x", type: "reg" }],
        ["PATCH", "/api/v1/business", { business_name: "x" }],
        ["DELETE", `/api/v1/apis/${managementApiId}`],
      ];
      const appsBefore = await applicationCount();
      for (const [method, path, json] of calls) {
        const response = await send(method, path, { token: null, json });
        assertApiError(response, 401, "INVALID_CREDENTIALS", `${method} ${path}`);
        assertChallenge(response, null, `${method} ${path}`);
      }
      // An empty header is no credentials either; HEAD (Fastify's automatic route) is protected too.
      const empty = await send("GET", "/api/v1/users", { token: null, headers: { authorization: "" } });
      assertApiError(empty, 401, "INVALID_CREDENTIALS", "empty Authorization");
      assertChallenge(empty, null, "empty Authorization");
      const head = await send("HEAD", "/api/v1/users", { token: null });
      assert.equal(head.status, 401, "HEAD without a token");
      assertChallenge(head, null, "HEAD");
      assert.equal(await applicationCount(), appsBefore, "nothing was created");
    });

    it("malformed Authorization headers: 401 invalid_token (or 400 invalid_request), never a 5xx", async () => {
      const [header, payload, signature] = token.split(".") as [string, string, string];
      const short = await managementToken(server, "read:users");
      const credentials = `${server.management.clientId}:${server.management.clientSecret}`;
      const malformed = [
        "Bearer",
        "Bearer ",
        "Bearer  ",
        "Bearer a b",
        "Bearer !!!",
        "Bearer ..",
        "Bearer x.y.z",
        `Bearer ${header}.${payload}`,
        `Bearer ${header}.${payload}.`,
        `Bearer ${header}.${payload}.${signature}.${signature}`,
        `Bearer ${short} extra`,
        `Bearer ${short},Bearer ${short}`,
        `Bearer "${short}"`,
        `Bearer ${short.slice(0, -2)}`,
        `Bearer ${"a".repeat(8000)}`,
        `Bearer ${b64url({ alg: "RS256" })}.${b64url("not json")}.${signature}`,
        `Bearer ${b64url("not json")}.${payload}.${signature}`,
        `Bearer\t${short}x`,
      ];
      for (const value of malformed) {
        const response = await send("GET", "/api/v1/users", {
          token: null,
          headers: { authorization: value },
        });
        const context = `Authorization: ${value.slice(0, 60)}`;
        if (response.status === 400) {
          assertApiError(response, 400, "INVALID_REQUEST", context);
          assertChallenge(response, "invalid_request", context);
        } else assertInvalidToken(response, context);
      }
      // Other schemes, even carrying the client's own valid credentials, are not Bearer tokens.
      for (const value of [
        `Basic ${Buffer.from(credentials).toString("base64")}`,
        `Token ${short}`,
        "Digest x",
      ]) {
        const response = await send("GET", "/api/v1/users", {
          token: null,
          headers: { authorization: value },
        });
        assertApiError(response, 401, "INVALID_CREDENTIALS", value.split(" ")[0]);
        // RFC 6750 §3.1 says an unsupported scheme SHOULD get no error code; not enforced here.
        assertChallenge(response, undefined, value);
      }
      // The scheme name is case-insensitive (RFC 9110 §11.1): a valid token still works.
      const lower = await send("GET", "/api/v1/users", {
        token: null,
        headers: { authorization: `bearer ${short}` },
      });
      assert.equal(lower.status, 200, lower.text);
    });

    it("a token in the query string is refused (400 invalid_request) and never logged", async () => {
      const short = await managementToken(server, "read:users");
      const alone = await send("GET", `/api/v1/users?access_token=${short}`, { token: null });
      assertApiError(alone, 400, "INVALID_REQUEST", "query only");
      assertChallenge(alone, "invalid_request", "query only");
      // RFC 6750 §3.1: more than one method of sending the token is invalid_request too.
      const both = await send("GET", `/api/v1/users?access_token=${short}`, { token: short });
      assertApiError(both, 400, "INVALID_REQUEST", "query and header");
      assertChallenge(both, "invalid_request", "query and header");
      const post = await send("POST", `/api/v1/applications?access_token=${short}`, {
        token: null,
        json: { name: "query token", type: "reg" },
      });
      assertApiError(post, 400, "INVALID_REQUEST", "POST with query token");
      // A form-encoded body token (RFC 6750 §2.2) is no credential here either.
      const appsBefore = await applicationCount();
      const form = await send("POST", "/api/v1/applications", {
        token: null,
        body: new URLSearchParams({ access_token: token, name: "form token", type: "reg" }).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      assert.ok(form.status >= 400 && form.status < 500, `form body token → ${form.status} ${form.text}`);
      assert.equal(await applicationCount(), appsBefore);
      for (const response of [alone, both, post, form]) assert.ok(!response.text.includes(short));
      assert.ok(!server.logs.text.includes(short), "the token never reaches the log");
      assert.ok(!server.logs.text.includes(token.split(".")[2]!), "no signature in the log");
    });

    it("a token for another audience (or none) is refused: 401 invalid_token", async () => {
      const m2m = await createApplication(server, "m2m", { name: `orders client ${unique()}` });
      const ordersAudience = `https://orders-${unique()}.example.com`;
      await createApi(server, {
        audience: ordersAudience,
        scopes: ["read:orders", "read:users"],
        grant: { [m2m.clientId]: ["read:orders", "read:users"] },
      });
      const orders = await clientCredentials(m2m, ordersAudience);
      assert.deepEqual(payloadOf(orders).aud, [ordersAudience], "a valid token, for the orders API");
      assert.ok(payloadOf(orders).scp.includes("read:users"), "even with a scope of the same name");
      assertInvalidToken(await send("GET", "/api/v1/users", { token: orders }), "orders API token");
      // The same application with no audience at all gets a token with aud [] — not ours either.
      const none = await tokenResponse(m2m, undefined);
      if (none.status === 200) {
        assert.deepEqual(payloadOf(none.body.access_token!).aud, []);
        assertInvalidToken(await send("GET", "/api/v1/users", { token: none.body.access_token }), "aud []");
      }
      // And the bootstrap application's token for the orders API is not a Management API token.
      await server.services.apis.authorizeApplication(
        (await server.services.apis.store.findByAudience(ordersAudience))!.id,
        server.management.clientId,
      );
      const bootstrapOrders = await clientCredentials(server.management, ordersAudience);
      assertInvalidToken(
        await send("GET", "/api/v1/users", { token: bootstrapOrders }),
        "bootstrap app, orders",
      );
    });

    it("a signed-in user's tokens are refused: access token 403, ID and refresh tokens 401", async () => {
      const spa = await createApplication(server, "spa", { name: `negative spa ${unique()}` });
      await server.services.apis.authorizeApplication(managementApiId, spa.clientId);
      const user = await createUser(server);
      const verifier = randomBytes(32).toString("base64url");
      const url = new URL("/oauth2/auth", server.url);
      for (const [k, v] of Object.entries({
        response_type: "code",
        client_id: spa.clientId,
        redirect_uri: CALLBACK,
        scope: "openid profile email offline",
        audience,
        state: "st",
        code_challenge: createHash("sha256").update(verifier).digest("base64url"),
        code_challenge_method: "S256",
      }))
        url.searchParams.set(k, v);
      const callback = await new UserAgent(server.url).authorize(url, user);
      const code = callback.searchParams.get("code");
      assert.ok(code, callback.href);
      const exchanged = await fetch(`${server.url}/oauth2/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "authorization_code",
          client_id: spa.clientId,
          code,
          redirect_uri: CALLBACK,
          code_verifier: verifier,
        }),
      });
      const tokens = (await exchanged.json()) as {
        access_token: string;
        id_token: string;
        refresh_token: string;
      };
      assert.equal(exchanged.status, 200, JSON.stringify(tokens));
      const claims = payloadOf(tokens.access_token);
      assert.ok(claims.aud.includes(audience), `the user's token names the Management API: ${claims.aud}`);
      assert.equal(claims.sub, user.id);

      // A valid token that does not enable access: 403, and RFC 6750 §3 wants the challenge (MUST).
      const problems: string[] = [];
      for (const [method, path, json] of [
        ["GET", "/api/v1/users"],
        ["GET", `/api/v1/user?id=${user.id}`],
        ["PATCH", `/api/v1/user?id=${user.id}`, { given_name: "Mallory" }],
        ["POST", "/api/v1/applications", { name: "by a user", type: "reg" }],
      ] as [string, string, unknown?][]) {
        const response = await send(method, path, { token: tokens.access_token, json });
        check(problems, `user token ${method} ${path}`, () => {
          assertApiError(response, 403, "FORBIDDEN");
          assertChallenge(response, "insufficient_scope");
        });
      }
      assert.equal((await server.services.users.store.findById(user.id))!.given_name, "Ada", "not renamed");

      // Not access tokens at all.
      assertInvalidToken(await send("GET", "/api/v1/users", { token: tokens.id_token }), "ID token");
      assertInvalidToken(
        await send("GET", "/api/v1/users", { token: tokens.refresh_token }),
        "refresh token",
      );
      assert.deepEqual(problems, [], "a user's access token: 403 with a Bearer insufficient_scope challenge");
    });

    it("an expired token is refused: 401 invalid_token once the 24 h lifetime (and leeway) is past", async () => {
      const short = await managementToken(server, "read:users");
      const lifetime = payloadOf(short).exp - (payloadOf(short).iat as number);
      assert.equal(lifetime, 24 * 3600, "Management API tokens live 24 h");
      try {
        offset = lifetime - 60;
        assert.equal((await send("GET", "/api/v1/users", { token: short })).status, 200, "a minute before");
        offset = lifetime + 61;
        assertInvalidToken(await send("GET", "/api/v1/users", { token: short }), "a minute after");
        offset = 400 * 24 * 3600;
        assertInvalidToken(await send("GET", "/api/v1/users", { token: short }), "a year after");
        // A token issued now (on the moved clock) works: the clock is what decides.
        const fresh = await managementToken(server, "read:users");
        assert.equal((await send("GET", "/api/v1/users", { token: fresh })).status, 200);
      } finally {
        offset = 0;
      }
    });

    it("a revoked token is refused at once (RFC 7009), though it has not expired", async () => {
      const short = await managementToken(server, "read:users");
      assert.equal((await send("GET", "/api/v1/users", { token: short })).status, 200);
      const revoked = await fetch(`${server.url}/oauth2/revoke`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          token: short,
          client_id: server.management.clientId,
          client_secret: server.management.clientSecret,
        }),
      });
      await revoked.arrayBuffer();
      assert.equal(revoked.status, 200);
      assertInvalidToken(await send("GET", "/api/v1/users", { token: short }), "revoked");
    });

    it("forged tokens with alg none are refused", async () => {
      const claims = payloadOf(token);
      const { kid } = headerOf(token);
      const forged = [
        new UnsecuredJWT(claims).encode(),
        `${b64url({ alg: "none", kid, typ: "JWT" })}.${b64url(claims)}.`,
        `${b64url({ alg: "none", kid, typ: "JWT" })}.${b64url(claims)}`,
        `${b64url({ alg: "None", kid })}.${b64url(claims)}.`,
        `${b64url({ alg: "NONE", kid })}.${b64url(claims)}.`,
        `${b64url({ alg: "none", kid })}.${token.split(".")[1]}.${token.split(".")[2]}`,
        `${b64url({ kid })}.${b64url(claims)}.${token.split(".")[2]}`,
      ];
      for (const jwt of forged) {
        assertInvalidToken(
          await send("GET", "/api/v1/users", { token: jwt }),
          `alg none: ${jwt.slice(0, 50)}`,
        );
        assertInvalidToken(
          await send("POST", "/api/v1/applications", { token: jwt, json: { name: "forged", type: "m2m" } }),
          "alg none POST",
        );
      }
    });

    it("HS256 tokens signed with our RSA public key (algorithm confusion) are refused", async () => {
      const jwksResponse = await fetch(`${server.url}/.well-known/jwks.json`);
      const jwks = (await jwksResponse.json()) as { keys: (JWK & { kid: string })[] };
      assert.ok(jwks.keys.length > 0);
      const claims = payloadOf(token);
      for (const jwk of jwks.keys) {
        const publicKey = createPublicKey({ key: jwk as JsonWebKey, format: "jwk" });
        const secrets: [string, Uint8Array][] = [
          ["SPKI PEM", Buffer.from(publicKey.export({ type: "spki", format: "pem" }) as string)],
          ["PKCS#1 PEM", Buffer.from(publicKey.export({ type: "pkcs1", format: "pem" }) as string)],
          ["SPKI DER", publicKey.export({ type: "spki", format: "der" })],
          ["JWK JSON", Buffer.from(JSON.stringify(jwk))],
          ["modulus", Buffer.from(jwk.n!, "base64url")],
        ];
        for (const [name, secret] of secrets) {
          for (const alg of ["HS256", "HS384", "HS512"]) {
            const jwt = await new SignJWT(claims)
              .setProtectedHeader({ alg, kid: jwk.kid, typ: "JWT" })
              .sign(secret);
            assertInvalidToken(await send("GET", "/api/v1/users", { token: jwt }), `${alg} over ${name}`);
          }
        }
      }
    });

    it("tokens signed with another key, or pointing at one (jwk, jku, x5u), are refused", async () => {
      const claims = payloadOf(token);
      const { kid } = headerOf(token);
      const attacker = generateKeyPairSync("rsa", { modulusLength: 2048 });
      const attackerJwk = await exportJWK(attacker.publicKey);
      const headers = [
        { alg: "RS256", kid },
        { alg: "RS256", kid: "attacker" },
        { alg: "RS256" },
        { alg: "RS256", kid, jwk: attackerJwk },
        { alg: "RS256", jwk: attackerJwk },
        { alg: "RS256", kid: "attacker", jku: "https://attacker.example/jwks.json" },
        { alg: "RS256", kid: "attacker", x5u: "https://attacker.example/cert.pem" },
        { alg: "PS256", kid },
      ];
      for (const header of headers) {
        const jwt = await new SignJWT(claims).setProtectedHeader(header).sign(attacker.privateKey);
        assertInvalidToken(
          await send("GET", "/api/v1/users", { token: jwt }),
          JSON.stringify(header).slice(0, 80),
        );
      }
      // An ES256 key of the attacker's, named with our kid.
      const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
      const es = await new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid }).sign(ec.privateKey);
      assertInvalidToken(await send("GET", "/api/v1/users", { token: es }), "ES256");
    });

    it("a token with a tampered payload, header or signature is refused", async () => {
      const short = await managementToken(server, "read:users");
      const [header, payload, signature] = short.split(".") as [string, string, string];
      const claims = payloadOf(short);
      assert.deepEqual(claims.scp, ["read:users"]);
      const create = { name: "tampered", type: "m2m" };
      assertApiError(
        await send("POST", "/api/v1/applications", { token: short, json: create }),
        403,
        "FORBIDDEN",
      );

      const tamperings: [string, Record<string, unknown>][] = [
        [
          "more scopes",
          { ...claims, scp: ["read:users", "create:applications"], scope: "read:users create:applications" },
        ],
        ["later exp", { ...claims, exp: claims.exp + 365 * 24 * 3600 }],
        ["other azp", { ...claims, azp: "f".repeat(32) }],
        ["other iss", { ...claims, iss: "https://evil.example" }],
        ["user sub", { ...claims, sub: "kp_00000000000000000000000000000000", gty: undefined }],
      ];
      const appsBefore = await applicationCount();
      for (const [name, changed] of tamperings) {
        const jwt = `${header}.${b64url(changed)}.${signature}`;
        assertInvalidToken(await send("GET", "/api/v1/users", { token: jwt }), name);
        assertInvalidToken(await send("POST", "/api/v1/applications", { token: jwt, json: create }), name);
      }
      // The same claims re-serialised (other whitespace or key order) are other bytes: not signed.
      const reordered = Object.fromEntries(Object.entries(claims).reverse());
      assertInvalidToken(
        await send("GET", "/api/v1/users", { token: `${header}.${b64url(reordered)}.${signature}` }),
      );
      // Header changes and signature bit flips.
      const otherHeader = b64url({ ...headerOf(short), typ: "at+jwt" });
      assertInvalidToken(
        await send("GET", "/api/v1/users", { token: `${otherHeader}.${payload}.${signature}` }),
      );
      const bytes = Buffer.from(signature, "base64url");
      bytes[0] = (bytes[0] ?? 0) ^ 1;
      assertInvalidToken(
        await send("GET", "/api/v1/users", { token: `${header}.${payload}.${bytes.toString("base64url")}` }),
        "flipped bit",
      );
      assertInvalidToken(
        await send("GET", "/api/v1/users", { token: `${header}.${payload}.${signature.slice(0, 20)}` }),
      );
      assert.equal(await applicationCount(), appsBefore, "nothing was created");
    });

    it("a token of a deleted application is refused at once: 401 invalid_token", async () => {
      const m2m = await managementClient(["read:users", "read:applications"]);
      const its = await clientCredentials(m2m, audience);
      assert.equal((await send("GET", "/api/v1/users", { token: its })).status, 200, "works while it exists");
      const deleted = await callApi(server, "DELETE", `/api/v1/applications/${m2m.clientId}`, { token });
      assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
      assertInvalidToken(await send("GET", "/api/v1/users", { token: its }), "deleted application");
      assertInvalidToken(await send("GET", "/api/v1/applications", { token: its }), "deleted application");
    });

    it("missing or insufficient scope: 403 FORBIDDEN with error=insufficient_scope naming the scope", async () => {
      const readUsers = await managementToken(server, "read:users");
      assert.equal((await send("GET", "/api/v1/users", { token: readUsers })).status, 200);
      const usersBefore = await userCount();
      const cases: [string, string, string, unknown?][] = [
        ["POST", "/api/v1/user", "create:users", { profile: { given_name: "No scope" } }],
        ["DELETE", "/api/v1/user?id=kp_00000000000000000000000000000000", "delete:users"],
        ["PATCH", "/api/v1/user?id=kp_00000000000000000000000000000000", "update:users", { given_name: "x" }],
        ["GET", "/api/v1/applications", "read:applications"],
        ["POST", "/api/v1/applications", "create:applications", { name: "x", type: "reg" }],
        ["GET", "/api/v1/business", "read:businesses"],
        [
          "PATCH",
          `/api/v1/apis/${managementApiId}/applications`,
          "update:apis",
          { applications: [{ id: "x" }] },
        ],
      ];
      for (const [method, path, scope, json] of cases) {
        const response = await send(method, path, { token: readUsers, json });
        // 403 before any lookup: a missing scope never reveals whether the user exists (no 404).
        assertApiError(response, 403, "FORBIDDEN", `${method} ${path}`);
        const challenge = assertChallenge(response, "insufficient_scope", `${method} ${path}`);
        assert.match(challenge, new RegExp(`scope="${scope}"`), challenge);
      }
      assert.equal(await userCount(), usersBefore);

      // An application authorised with no scopes at all gets a token that opens nothing.
      const bare = await managementClient([]);
      const empty = await clientCredentials(bare, audience);
      assert.deepEqual(payloadOf(empty).scp, []);
      const nothing = await send("GET", "/api/v1/users", { token: empty });
      assertApiError(nothing, 403, "FORBIDDEN", "no scopes");
      assertChallenge(nothing, "insufficient_scope", "no scopes");

      // A scope withdrawn after the token was issued stops working before the token expires.
      const client = await managementClient(["read:users"]);
      const granted = await clientCredentials(client, audience);
      assert.equal((await send("GET", "/api/v1/users", { token: granted })).status, 200);
      const scope = (await server.services.apis.store.scopes(managementApiId)).find(
        (s) => s.key === "read:users",
      )!;
      await server.services.apis.revokeScope(managementApiId, client.clientId, scope.id);
      const withdrawn = await send("GET", "/api/v1/users", { token: granted });
      assertApiError(withdrawn, 403, "FORBIDDEN", "withdrawn scope");
      assertChallenge(withdrawn, "insufficient_scope", "withdrawn scope");
    });

    // ---- Bodies -------------------------------------------------------------------------------

    it("malformed JSON: 400 INVALID_REQUEST, nothing created", async () => {
      const user = await callApi<{ id: string }>(server, "POST", "/api/v1/user", {
        token,
        body: { profile: { given_name: "Target" } },
      });
      const bodies = [
        '{"name":',
        "{name: 'x', type: 'reg'}",
        '{"name":"x","type":"reg",}',
        "{'name':'x','type':'reg'}",
        '{"name":"x"}{"type":"reg"}',
        '{"name":"x","type":"reg"',
        '{"name":"\\x41","type":"reg"}',
        '{"name":NaN,"type":"reg"}',
        "\ufeff{}x",
        "undefined",
        " ",
        // Prototype poisoning (Fastify's secure-json-parse refuses it).
        '{"__proto__":{"is_admin":true},"name":"x","type":"reg"}',
        '{"constructor":{"prototype":{"is_admin":true}},"name":"x","type":"reg"}',
      ];
      const appsBefore = await applicationCount();
      const usersBefore = await userCount();
      for (const body of bodies) {
        for (const [method, path] of [
          ["POST", "/api/v1/applications"],
          ["POST", "/api/v1/user"],
          ["PATCH", `/api/v1/user?id=${user.body.id}`],
          ["PATCH", "/api/v1/business"],
        ] as const) {
          assertApiError(
            await send(method, path, { body }),
            400,
            "INVALID_REQUEST",
            `${method} ${path} ${body}`,
          );
        }
      }
      // Deep nesting (within 1 MiB) is a 400 too, not a stack overflow.
      for (const body of [
        "[".repeat(200_000) + "]".repeat(200_000),
        `${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`,
      ]) {
        assertApiError(await send("POST", "/api/v1/applications", { body }), 400, "INVALID_REQUEST", "deep");
      }
      assert.equal(await applicationCount(), appsBefore);
      assert.equal(await userCount(), usersBefore);
      assert.equal(({} as Record<string, unknown>).is_admin, undefined, "no prototype was polluted");
    });

    it("bodies that are not JSON: 415 UNSUPPORTED_MEDIA_TYPE, nothing created", async () => {
      const appsBefore = await applicationCount();
      const cases: [string, string][] = [
        ["application/x-www-form-urlencoded", "name=Form+app&type=reg"],
        ["text/plain", '{"name":"Text app","type":"reg"}'],
        ["text/plain;charset=UTF-8", "hello"],
        ["application/xml", "<application><name>x</name></application>"],
        [
          "multipart/form-data; boundary=x",
          '--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--x--',
        ],
        ["application/octet-stream", "\u0000\u0001"],
      ];
      const problems: string[] = [];
      for (const [type, body] of cases) {
        const response = await send("POST", "/api/v1/applications", {
          body,
          headers: { "content-type": type },
        });
        check(problems, type, () => assertApiError(response, 415, "UNSUPPORTED_MEDIA_TYPE"));
      }
      assert.deepEqual(problems, [], "the Management API reads JSON bodies only");
      assert.equal(await applicationCount(), appsBefore, "no application from a non-JSON body");
    });

    it("JSON with wrong types: 400 INVALID_REQUEST naming the field, nothing changed", async () => {
      const user = await callApi<{ id: string }>(server, "POST", "/api/v1/user", {
        token,
        body: { profile: { given_name: "Typed", family_name: "Person" } },
      });
      const app = await createApplication(server, "reg", { name: "typed app" });
      const api = await createApi(server, { audience: `https://typed-${unique()}.example.com` });
      const cases: [string, string, unknown, string][] = [
        ["POST", "/api/v1/applications", { name: 5, type: "reg" }, "name"],
        ["POST", "/api/v1/applications", { name: "x", type: 5 }, "type"],
        ["POST", "/api/v1/applications", { name: null, type: "reg" }, "name"],
        ["POST", "/api/v1/applications", { name: true, type: "reg" }, "name"],
        ["POST", "/api/v1/applications", { name: ["x"], type: "reg" }, "name"],
        ["POST", "/api/v1/applications", { name: { first: "x" }, type: "reg" }, "name"],
        ["POST", "/api/v1/applications", { type: "reg" }, "name"],
        ["POST", "/api/v1/apis", { name: 5, audience: "https://five.example.com" }, "name"],
        ["POST", "/api/v1/apis", { name: "x", audience: ["https://a.example.com"] }, "audience"],
        ["POST", "/api/v1/user", { profile: { given_name: 5 } }, "given_name"],
        ["POST", "/api/v1/user", { identities: [{ type: "email", details: "a@example.com" }] }, "details"],
        [
          "POST",
          "/api/v1/user",
          { identities: [{ type: "email", is_verified: "true", details: { email: "t@example.com" } }] },
          "is_verified",
        ],
        ["POST", "/api/v1/user", { identities: [{ type: 1, details: { email: "t@example.com" } }] }, "type"],
        ["PATCH", `/api/v1/user?id=${user.body.id}`, { given_name: 5 }, "given_name"],
        ["PATCH", `/api/v1/user?id=${user.body.id}`, { is_suspended: "true" }, "is_suspended"],
        ["PATCH", `/api/v1/user?id=${user.body.id}`, { is_suspended: 1 }, "is_suspended"],
        ["PATCH", `/api/v1/user?id=${user.body.id}`, { family_name: ["x"] }, "family_name"],
        ["PATCH", "/api/v1/business", { business_name: 5 }, "business_name"],
        ["PATCH", "/api/v1/business", { is_click_wrap: "yes" }, "is_click_wrap"],
        ["PATCH", `/api/v1/applications/${app.clientId}`, { name: 5 }, "name"],
        [
          "PATCH",
          `/api/v1/applications/${app.clientId}`,
          { redirect_uris: "https://a.example.com" },
          "redirect_uris",
        ],
        [
          "POST",
          `/api/v1/applications/${app.clientId}/auth_redirect_urls`,
          { urls: "https://a.example.com" },
          "urls",
        ],
        ["POST", `/api/v1/applications/${app.clientId}/auth_redirect_urls`, { urls: [5] }, "urls"],
        [
          "PATCH",
          `/api/v1/applications/${app.clientId}/tokens`,
          { access_token_lifetime: "3600" },
          "access_token_lifetime",
        ],
        [
          "PATCH",
          `/api/v1/applications/${app.clientId}/tokens`,
          { access_token_lifetime: 3600.5 },
          "access_token_lifetime",
        ],
        ["POST", `/api/v1/apis/${api.id}/scopes`, { key: 5 }, "key"],
        [
          "PATCH",
          `/api/v1/apis/${api.id}/applications`,
          { applications: { id: app.clientId } },
          "applications",
        ],
        ["PATCH", `/api/v1/apis/${api.id}/applications`, { applications: [app.clientId] }, "applications"],
      ];
      const appsBefore = await applicationCount();
      const usersBefore = await userCount();
      for (const [method, path, json, field] of cases) {
        const response = await send(method, path, { json });
        const body = assertApiError(
          response,
          400,
          "INVALID_REQUEST",
          `${method} ${path} ${JSON.stringify(json)}`,
        );
        assert.match(body.errors[0]!.message, new RegExp(field), `the message names ${field}`);
      }
      assert.equal(await applicationCount(), appsBefore);
      assert.equal(await userCount(), usersBefore);
      const stored = (await server.services.users.store.findById(user.body.id))!;
      assert.equal(stored.given_name, "Typed");
      assert.equal(stored.is_suspended, 0);
      assert.deepEqual(
        (await callApi(server, "GET", `/api/v1/applications/${app.clientId}/auth_redirect_urls`, { token }))
          .body,
        {
          redirect_urls: [CALLBACK],
        },
      );
    });

    it("arrays or scalars where objects go: 400 INVALID_REQUEST", async () => {
      const user = await callApi<{ id: string }>(server, "POST", "/api/v1/user", { token, body: {} });
      const cases: [string, string, unknown][] = [
        ["POST", "/api/v1/applications", [{ name: "x", type: "reg" }]],
        ["POST", "/api/v1/applications", []],
        ["POST", "/api/v1/applications", "x"],
        ["POST", "/api/v1/applications", 5],
        ["POST", "/api/v1/applications", true],
        ["POST", "/api/v1/applications", null],
        ["POST", "/api/v1/apis", [{ name: "x", audience: "https://x.example.com" }]],
        ["POST", "/api/v1/user", []],
        ["POST", "/api/v1/user", [{ profile: { given_name: "x" } }]],
        ["POST", "/api/v1/user", "x"],
        ["POST", "/api/v1/user", { profile: [] }],
        ["POST", "/api/v1/user", { profile: ["Ada"] }],
        ["POST", "/api/v1/user", { identities: [[{ type: "email" }]] }],
        ["POST", "/api/v1/user", { identities: [{ type: "email", details: [] }] }],
        ["PATCH", `/api/v1/user?id=${user.body.id}`, [{ given_name: "x" }]],
        ["PATCH", `/api/v1/user?id=${user.body.id}`, []],
        ["PATCH", "/api/v1/business", [{ business_name: "x" }]],
        ["PATCH", "/api/v1/business", "x"],
      ];
      const appsBefore = await applicationCount();
      const usersBefore = await userCount();
      for (const [method, path, json] of cases) {
        assertApiError(
          await send(method, path, { json }),
          400,
          "INVALID_REQUEST",
          `${method} ${path} ${JSON.stringify(json)}`,
        );
      }
      assert.equal(await applicationCount(), appsBefore);
      assert.equal(await userCount(), usersBefore);
    });

    it("privileged unknown fields never take effect (no mass assignment)", async () => {
      const created = await send("POST", "/api/v1/user", {
        json: {
          profile: { given_name: "Plain" },
          is_admin: true,
          id: "kp_ffffffffffffffffffffffffffffffff",
          identities: [{ type: "email", details: { email: `mass.${unique()}@example.com` } }],
        },
      });
      assert.ok(created.status < 500, created.text);
      if (created.status === 200) {
        const id = (created.json as { id: string }).id;
        assert.notEqual(id, "kp_ffffffffffffffffffffffffffffffff");
        assert.equal((await server.services.users.store.findById(id))!.is_admin, 0);
      }
      const patched = await send("PATCH", `/api/v1/user?id=${(await createUser(server)).id}`, {
        json: { given_name: "Still plain", is_admin: true, email: "takeover@example.com" },
      });
      assert.ok(patched.status < 500, patched.text);
      const admins = await server.services.db
        .selectFrom("users")
        .select("id")
        .where("is_admin", "=", 1)
        .execute();
      assert.deepEqual(admins, [], "nobody became an administrator");
      const api = await send("POST", "/api/v1/apis", {
        json: {
          name: "Not management",
          audience: `https://nm-${unique()}.example.com`,
          is_management_api: true,
        },
      });
      assert.ok(api.status < 500, api.text);
      const managementApis = (await server.services.apis.store.list()).filter(
        (a) => a.is_management_api === 1,
      );
      assert.equal(managementApis.length, 1, "still one Management API");
    });

    it("unknown fields are refused with 400 naming the field, never silently dropped", async () => {
      const user = await createUser(server);
      const cases: [string, string, unknown, string][] = [
        ["POST", "/api/v1/applications", { name: "x", type: "reg", bogus: 1 }, "bogus"],
        [
          "POST",
          "/api/v1/applications",
          { name: "x", type: "reg", redirect_uris: ["https://a.example.com"] },
          "redirect_uris",
        ],
        [
          "POST",
          "/api/v1/apis",
          { name: "x", audience: `https://u-${unique()}.example.com`, scopes: [] },
          "scopes",
        ],
        ["POST", "/api/v1/user", { profile: { given_name: "x", nickname: "y" } }, "nickname"],
        ["POST", "/api/v1/user", { profile: { given_name: "x" }, email: "typo@example.com" }, "email"],
        ["PATCH", `/api/v1/user?id=${user.id}`, { given_name: "x", first_name: "y" }, "first_name"],
        ["PATCH", "/api/v1/business", { business_name: "x", name: "y" }, "name"],
      ];
      const appsBefore = await applicationCount();
      const usersBefore = await userCount();
      const problems: string[] = [];
      for (const [method, path, json, field] of cases) {
        const response = await send(method, path, { json });
        check(problems, `${method} ${path.replace(/\?.*/, "")} ${JSON.stringify(json)}`, () => {
          const body = assertApiError(response, 400, "INVALID_REQUEST");
          assert.match(body.errors[0]!.message, new RegExp(field), `the message names ${field}`);
        });
      }
      const now = { apps: await applicationCount(), users: await userCount() };
      check(problems, "applications created", () => assert.equal(now.apps, appsBefore));
      check(problems, "users created", () => assert.equal(now.users, usersBefore));
      const stored = (await server.services.users.store.findById(user.id))!;
      check(problems, "user renamed", () => assert.equal(stored.given_name, "Ada"));
      assert.deepEqual(problems, [], "unknown fields must be refused, not silently dropped");
    });

    it("bodies over 1 MiB: 413 PAYLOAD_TOO_LARGE, with or without Content-Length; just under is read", async () => {
      const appsBefore = await applicationCount();
      const over = JSON.stringify({ name: "x".repeat(1024 * 1024), type: "reg" });
      assertApiError(
        await send("POST", "/api/v1/applications", { body: over }),
        413,
        "PAYLOAD_TOO_LARGE",
        "1 MiB + 30 B",
      );
      const huge = JSON.stringify({ name: "x".repeat(8 * 1024 * 1024), type: "reg" });
      assertApiError(
        await send("POST", "/api/v1/applications", { body: huge }),
        413,
        "PAYLOAD_TOO_LARGE",
        "8 MiB",
      );
      const user = await createUser(server);
      assertApiError(
        await send("PATCH", `/api/v1/user?id=${user.id}`, {
          body: JSON.stringify({ given_name: "y".repeat(2 << 20) }),
        }),
        413,
        "PAYLOAD_TOO_LARGE",
        "PATCH 2 MiB",
      );
      // Chunked, no Content-Length: the limit holds while streaming.
      const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"type":"reg","name":"'));
          for (let i = 0; i < 40; i++) controller.enqueue(chunk);
          controller.enqueue(new TextEncoder().encode('"}'));
          controller.close();
        },
      });
      assertApiError(
        await send("POST", "/api/v1/applications", {
          body: stream,
          headers: { "content-type": "application/json" },
        }),
        413,
        "PAYLOAD_TOO_LARGE",
        "chunked 2.5 MiB",
      );
      // 1 MiB exactly is within the limit: it is parsed (and refused by the name's length limit).
      const exact = JSON.stringify({ type: "reg", name: "" });
      const fill = "z".repeat(1024 * 1024 - exact.length);
      const atLimit = JSON.stringify({ type: "reg", name: fill });
      assert.equal(Buffer.byteLength(atLimit), 1024 * 1024);
      const read = assertApiError(
        await send("POST", "/api/v1/applications", { body: atLimit }),
        400,
        "INVALID_REQUEST",
      );
      assert.match(read.errors[0]!.message, /name/);
      assert.equal(await applicationCount(), appsBefore);
      // The server still answers normally afterwards.
      assert.equal((await send("GET", "/api/v1/applications?page_size=1")).status, 200);
    });

    // ---- Text ---------------------------------------------------------------------------------

    it("SQL- and script-looking strings are stored and returned verbatim, never interpreted", async () => {
      const usersBefore = await userCount();
      const appsBefore = await applicationCount();
      const strings = {
        given: "Robert'); DROP TABLE users;--",
        family: `"; DELETE FROM applications; --`,
        provided: "1' OR '1'='1",
        picture: "https://example.com/a.png?q='OR'1'='1",
      };
      const email = `o'brien+${unique()}@example.com`;
      const created = await callApi<{ id: string }>(server, "POST", "/api/v1/user", {
        token,
        body: {
          profile: { given_name: strings.given, family_name: strings.family, picture: strings.picture },
          provided_id: strings.provided,
          identities: [{ type: "email", details: { email } }],
        },
      });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const read = await send("GET", `/api/v1/user?id=${created.body.id}`);
      assert.equal(read.status, 200, read.text);
      const body = read.json as Record<string, unknown>;
      assert.equal(body.first_name, strings.given);
      assert.equal(body.last_name, strings.family);
      assert.equal(body.provided_id, strings.provided);
      assert.equal(body.picture, strings.picture);
      assert.equal(body.preferred_email, email);
      assert.equal(await userCount(), usersBefore + 1, "the users table is intact");
      assert.equal(await applicationCount(), appsBefore, "no application was deleted");

      // Filters are values, not SQL: an apostrophe finds exactly that user; injections find nobody.
      const byEmail = await send("GET", `/api/v1/users?email=${encodeURIComponent(email)}`);
      assert.deepEqual(
        (byEmail.json as { users: { id: string }[] }).users.map((u) => u.id),
        [created.body.id],
      );
      for (const filter of [
        "email=' OR '1'='1",
        "email=%' OR email LIKE '%",
        "user_id=%",
        "user_id=kp_%",
        "user_id=_",
        "username=' OR 1=1 --",
        "user_id=1) OR (1=1",
      ]) {
        const [name, value] = filter.split(/=(.*)/s) as [string, string];
        const response = await send("GET", `/api/v1/users?${name}=${encodeURIComponent(value)}`);
        assert.equal(response.status, 200, `${filter}: ${response.text}`);
        assert.deepEqual((response.json as { users: unknown[] }).users, [], filter);
      }
      // A cursor whose id looks like SQL is only compared, never run.
      const cursor = b64url({ id: "' OR 1=1; DROP TABLE users; --" });
      const paged = await send("GET", `/api/v1/users?next_token=${cursor}`);
      assert.ok(paged.status === 200 || paged.status === 400, paged.text);
      assert.equal(await userCount(), usersBefore + 1);

      // Script-looking names come back as JSON text, never as HTML.
      const script = "<script>alert(document.cookie)</script>";
      const img = `<img src=x onerror="alert('x')">`;
      const app = await callApi<{ application: { id: string } }>(server, "POST", "/api/v1/applications", {
        token,
        body: { name: script, type: "reg" },
      });
      assert.equal(app.status, 201, JSON.stringify(app.body));
      const readApp = await send("GET", `/api/v1/applications/${app.body.application.id}`);
      assert.equal((readApp.json as { application: { name: string } }).application.name, script);
      assert.match(readApp.headers.get("content-type") ?? "", /^application\/json/);
      assert.equal(readApp.headers.get("x-content-type-options"), "nosniff");
      const renamed = await send("PATCH", `/api/v1/applications/${app.body.application.id}`, {
        json: { name: "'; UPDATE applications SET name='pwned'; --" },
      });
      assert.equal(renamed.status, 200, renamed.text);
      const list = await send("GET", "/api/v1/applications?page_size=500");
      const names = (list.json as { applications: { name: string }[] }).applications.map((a) => a.name);
      assert.ok(names.includes("'; UPDATE applications SET name='pwned'; --"));
      assert.ok(!names.includes("pwned"), "no row was rewritten");
      const api = await callApi<{ api: { id: string } }>(server, "POST", "/api/v1/apis", {
        token,
        body: { name: img, audience: `https://sql-${unique()}.example.com` },
      });
      assert.equal(api.status, 200, JSON.stringify(api.body));
      const scope = await send("POST", `/api/v1/apis/${api.body.api.id}/scopes`, {
        json: { key: "read:things", description: "Robert'); DROP TABLE api_scopes;--" },
      });
      assert.equal(scope.status, 200, scope.text);
      const readApi = await send("GET", `/api/v1/apis/${api.body.api.id}`);
      assert.equal((readApi.json as { api: { name: string } }).api.name, img);
      const scopes = await send("GET", `/api/v1/apis/${api.body.api.id}/scopes`);
      assert.deepEqual(
        (scopes.json as { scopes: { description: string }[] }).scopes.map((s) => s.description),
        ["Robert'); DROP TABLE api_scopes;--"],
      );
      const business = await send("PATCH", "/api/v1/business", { json: { business_name: `${script}'--` } });
      assert.equal(business.status, 200, business.text);
      const readBusiness = await send("GET", "/api/v1/business");
      assert.ok(textValues(readBusiness.json).includes(`${script}'--`), readBusiness.text);
    });

    it("unicode and emoji round-trip exactly (no normalisation, no mojibake)", async () => {
      const names = {
        given: "Zoë 🦄 👩🏽‍💻",
        family: "李小龍 مرحبا 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
        // NFD (e + combining acute) must not come back NFC, nor the reverse.
        decomposed: "Ame\u0301lie",
        composed: "Am\u00e9lie",
      };
      const created = await callApi<{ id: string }>(server, "POST", "/api/v1/user", {
        token,
        body: { profile: { given_name: names.given, family_name: names.family } },
      });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const read = (await send("GET", `/api/v1/user?id=${created.body.id}`)).json as Record<string, unknown>;
      assert.equal(read.first_name, names.given);
      assert.equal(read.last_name, names.family);
      const listed = await send("GET", `/api/v1/users?user_id=${created.body.id}`);
      assert.equal((listed.json as { users: { first_name: string }[] }).users[0]!.first_name, names.given);
      for (const value of [names.decomposed, names.composed]) {
        const patched = await send("PATCH", `/api/v1/user?id=${created.body.id}`, {
          json: { given_name: value },
        });
        assert.equal((patched.json as { given_name: string }).given_name, value);
        const again = (await send("GET", `/api/v1/user?id=${created.body.id}`)).json as {
          first_name: string;
        };
        assert.equal(again.first_name, value);
        assert.equal(Buffer.from(again.first_name).toString("hex"), Buffer.from(value).toString("hex"));
      }
      const app = await callApi<{ application: { id: string } }>(server, "POST", "/api/v1/applications", {
        token,
        body: { name: "Приложение 🚀 アプリ", type: "spa" },
      });
      assert.equal(app.status, 201);
      const readApp = await send("GET", `/api/v1/applications/${app.body.application.id}`);
      assert.equal(
        (readApp.json as { application: { name: string } }).application.name,
        "Приложение 🚀 アプリ",
      );
      // Unicode in filters and path parameters finds nothing rather than failing.
      for (const path of [
        `/api/v1/users?email=${encodeURIComponent("😀@example.com")}`,
        `/api/v1/users?username=${encodeURIComponent("ünïcödé")}`,
      ]) {
        const response = await send("GET", path);
        assert.equal(response.status, 200, `${path}: ${response.text}`);
        assert.deepEqual((response.json as { users: unknown[] }).users, []);
      }
      assertApiError(
        await send("GET", `/api/v1/users/${encodeURIComponent("😀")}/identities`),
        404,
        "USER_NOT_FOUND",
      );
      assertApiError(
        await send("GET", `/api/v1/user?id=${encodeURIComponent("kp_😀")}`),
        404,
        "USER_NOT_FOUND",
      );
      // A lone surrogate or a NUL: refused or stored safely, never a 5xx.
      const surrogate = await send("POST", "/api/v1/user", {
        body: '{"profile":{"given_name":"a\\ud800b"}}',
      });
      assert.ok(surrogate.status === 200 || surrogate.status === 400, surrogate.text);
      assertApiError(
        await send("POST", "/api/v1/user", { json: { profile: { given_name: "a\u0000b" } } }),
        400,
        "INVALID_REQUEST",
        "NUL",
      );
    });

    it("invalid percent-encoding and over-long path parameters: 4xx in Kinde's shape", async () => {
      const problems: string[] = [];
      for (const path of [
        "/api/v1/users/%E0%A4%A/identities",
        "/api/v1/applications/%ZZ",
        `/api/v1/applications/${"a".repeat(250)}`,
        `/api/v1/apis/${"a".repeat(250)}/scopes`,
      ]) {
        const response = await send("GET", path);
        assert.ok(response.status >= 400 && response.status < 500, `${path}: ${response.status}`);
        check(problems, path.slice(0, 60), () => assertApiError(response, response.status));
      }
      assert.deepEqual(problems, [], "router errors answer in Kinde's error shape");
      const query = await send("GET", "/api/v1/users?email=%E0%A4%A");
      assert.ok(query.status === 200 || query.status === 400, query.text);
    });

    // ---- Paging -------------------------------------------------------------------------------

    it("bad page_size: 400 (PAGE_SIZE_LIMIT_EXCEEDED above 500), on users and applications", async () => {
      for (const list of ["/api/v1/users", "/api/v1/applications"]) {
        for (const size of ["0", "-1", "ten", "1.5", "1e3", "0x10", "%205", "5&page_size=6", "true"]) {
          const response = await send("GET", `${list}?page_size=${size}`);
          assertApiError(response, 400, "INVALID_REQUEST", `${list} page_size=${size}`);
        }
        // Too big to be a number at all: a 400 either way.
        assertApiError(await send("GET", `${list}?page_size=99999999999999999999`), 400);
        for (const size of ["501", "100000"]) {
          assertApiError(
            await send("GET", `${list}?page_size=${size}`),
            400,
            "PAGE_SIZE_LIMIT_EXCEEDED",
            size,
          );
        }
        assert.equal((await send("GET", `${list}?page_size=500`)).status, 200);
        assert.equal((await send("GET", `${list}?page_size=1`)).status, 200);
      }
    });

    it("garbage next_token: 400 INVALID_NEXT_TOKEN (or INVALID_REQUEST when over-long)", async () => {
      for (const list of ["/api/v1/users", "/api/v1/applications"]) {
        for (const garbage of [
          "garbage",
          "%25%25%25",
          "eyJ",
          b64url("{}"),
          b64url("null"),
          b64url("[]"),
          b64url('"id"'),
          b64url("not json"),
          b64url({ id: 5 }),
          b64url({ id: "" }),
          b64url({ key: null }),
          Buffer.from('{"id":"x"').toString("base64url"),
        ]) {
          const response = await send("GET", `${list}?next_token=${garbage}`);
          assertApiError(response, 400, "INVALID_NEXT_TOKEN", `${list} next_token=${garbage}`);
        }
        assertApiError(await send("GET", `${list}?next_token=${"x".repeat(5000)}`), 400, "INVALID_REQUEST");
        assertApiError(await send("GET", `${list}?next_token=${b64url({ id: "x".repeat(400) })}`), 400);
      }
    });

    // ---- Routes and methods -------------------------------------------------------------------

    it("unknown routes: 404 ROUTE_NOT_FOUND with `errors` as an object (Kinde's quirk)", async () => {
      for (const path of [
        "/api/v1/nope",
        "/api/v1/users/",
        "/api/v1/user/extra",
        "/api/v2/users",
        "/api/v1",
        "/api/",
        "/api/v1/applications/x/y/z",
        "/api/v1/users/kp_x/unknown",
      ]) {
        for (const bearer of [token, null]) {
          const response = await send("GET", path, { token: bearer });
          assert.equal(response.status, 404, `${path}: ${response.text}`);
          assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
          assert.deepEqual(response.json, {
            errors: { code: "ROUTE_NOT_FOUND", message: "The requested API route does not exist" },
          });
        }
      }
    });

    it("wrong methods: 404 ROUTE_NOT_FOUND or 405 METHOD_NOT_ALLOWED with Allow, never a 5xx", async () => {
      const appsBefore = await applicationCount();
      for (const [method, path] of [
        ["DELETE", "/api/v1/users"],
        ["PATCH", "/api/v1/users"],
        ["PUT", "/api/v1/user"],
        ["PUT", "/api/v1/applications"],
        ["DELETE", "/api/v1/applications"],
        ["POST", "/api/v1/business"],
        ["DELETE", "/api/v1/business"],
        ["POST", `/api/v1/apis/${managementApiId}`],
        ["PUT", `/api/v1/apis/${managementApiId}/applications`],
        ["OPTIONS", "/api/v1/users"],
      ]) {
        const response = await send(method!, path!, method === "OPTIONS" ? {} : { json: {} });
        const context = `${method} ${path}: ${response.status} ${response.text}`;
        if (response.status === 405) {
          assertApiError(response, 405, "METHOD_NOT_ALLOWED", context);
          assert.ok(response.headers.get("allow"), `405 needs Allow (RFC 9110 §15.5.6): ${context}`);
        } else {
          assert.equal(response.status, 404, context);
          assert.deepEqual(response.json, {
            errors: { code: "ROUTE_NOT_FOUND", message: "The requested API route does not exist" },
          });
        }
      }
      assert.equal(await applicationCount(), appsBefore);
    });
  });
}
