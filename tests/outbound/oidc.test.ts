// Latchkey as an OpenID Connect relying party (src/outbound/oidc.ts): discovery through the SSRF
// guard with the issuer check of OIDC Discovery §4.3, ID tokens checked as OIDC Core §3.1.3.7 says
// against the provider's JWKS (refetched once, rate-limited, on an unknown kid), and RFC 9207's
// `iss` in the authorization response. Judged against a certified provider (oidc-provider) and a
// hand-made provider whose documents, keys and tokens the tests forge.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { after, before, beforeEach, describe, it } from "node:test";
import {
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from "jose";
import type { OutboundOptions } from "../../src/outbound/http.js";
import {
  authorizationUrl,
  codeChallengeS256,
  exchangeCode,
  newCodeVerifier,
  type OAuthProvider,
} from "../../src/outbound/oauth-client.js";
import {
  checkAuthorizationResponseIssuer,
  discover,
  fetchDiscoveryDocument,
  type IdTokenExpectations,
  OidcCache,
  OidcError,
  type OidcMetadata,
  validateIdToken,
} from "../../src/outbound/oidc.js";
import { holdAnswers } from "../helpers/held-answers.js";
import { type OidcProviderHandle, startOidcProvider } from "../helpers/oauth-provider.js";

const HTTP: OutboundOptions = { allowPrivateNetworks: true, deadlineMs: 3_000 };

/** The promise's rejection, which must be an OidcError. */
async function refusal(promise: Promise<unknown>): Promise<OidcError> {
  const error = await promise.then(
    () => assert.fail("expected a refusal"),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof OidcError, `an OidcError, got ${String(error)}`);
  return error;
}

function refusalOf(run: () => void): OidcError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof OidcError, `an OidcError, got ${String(error)}`);
    return error;
  }
  return assert.fail("expected a refusal");
}

// ---------------------------------------------------------------------------------------------------
// A hand-made provider: discovery documents and a JWKS the test controls, requests counted.

interface HandMadeProvider {
  origin: string;
  /** Path → what it answers; a function is called per request. */
  routes: Map<string, (request: IncomingMessage, response: ServerResponse) => void>;
  hits: Map<string, number>;
  /** Sets a JSON answer for a path. */
  json(path: string, body: unknown, status?: number): void;
  close(): Promise<void>;
}

async function startHandMadeProvider(): Promise<HandMadeProvider> {
  const routes: HandMadeProvider["routes"] = new Map();
  const hits = new Map<string, number>();
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://x").pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const route = routes.get(path);
    if (route) route(request, response);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address !== "object") throw new Error("no address");
  return {
    origin: `http://127.0.0.1:${address.port}`,
    routes,
    hits,
    json(path, body, status = 200) {
      routes.set(path, (_request, response) =>
        response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body)),
      );
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface SigningKey {
  privateKey: CryptoKey;
  publicJwk: JWK;
  kid: string;
  alg: string;
}

async function signingKey(kid: string, alg = "RS256"): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, use: "sig", alg }, kid, alg };
}

describe("ID tokens against a hand-made provider", () => {
  let provider: HandMadeProvider;
  let issuer: string;
  let keyA: SigningKey;
  let keyB: SigningKey;
  let ecKey: SigningKey;
  let now: number;
  const clock = { now: () => now };
  let cache: OidcCache;
  let metadata: OidcMetadata;
  const CLIENT = "latchkey-client";
  const NONCE = "nonce-123";

  const jwksHits = () => provider.hits.get("/jwks") ?? 0;
  const publish = (...keys: SigningKey[]) => provider.json("/jwks", { keys: keys.map((k) => k.publicJwk) });

  /** A token with sound claims, overridable; `kid: null` leaves the kid out. */
  function token(
    key: SigningKey,
    claims: JWTPayload = {},
    header: { kid?: string | null; alg?: string } = {},
  ): Promise<string> {
    const kid = header.kid === undefined ? key.kid : header.kid;
    return new SignJWT({
      iss: issuer,
      sub: "upstream-user",
      aud: CLIENT,
      iat: now,
      exp: now + 300,
      nonce: NONCE,
      ...claims,
    })
      .setProtectedHeader({ alg: header.alg ?? key.alg, ...(kid === null ? {} : { kid }) })
      .sign(key.privateKey);
  }

  const expect = (overrides: Partial<IdTokenExpectations> = {}): IdTokenExpectations => ({
    metadata,
    clientId: CLIENT,
    nonce: NONCE,
    http: HTTP,
    cache,
    clock,
    ...overrides,
  });

  before(async () => {
    provider = await startHandMadeProvider();
    issuer = provider.origin;
    keyA = await signingKey("key-a");
    keyB = await signingKey("key-b");
    ecKey = await signingKey("key-ec", "ES256");
  });
  after(() => provider.close());

  beforeEach(async () => {
    now = 1_800_000_000;
    cache = new OidcCache({ clock, jwksRefetchCooldownSeconds: 30 });
    provider.hits.clear();
    provider.json("/.well-known/openid-configuration", {
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
      response_types_supported: ["code"],
      subject_types_supported: ["public"],
      // Like oidc-provider's: HS256 is listed, and must still never be accepted.
      id_token_signing_alg_values_supported: ["RS256", "ES256", "HS256", "none"],
    });
    publish(keyA, ecKey);
    metadata = await discover(issuer, { http: HTTP, cache });
  });

  it("accepts a sound token and returns its claims", async () => {
    const claims = await validateIdToken(await token(keyA, { email: "a@example.com" }), expect());
    assert.equal(claims.sub, "upstream-user");
    assert.equal(claims.email, "a@example.com");
    assert.equal(claims.iss, issuer);
    const ec = await validateIdToken(await token(ecKey), expect());
    assert.equal(ec.sub, "upstream-user");
    assert.equal(jwksHits(), 1, "the key set was fetched once and reused");
  });

  it("accepts several audiences only with azp naming this client", async () => {
    const both = [CLIENT, "another-client"];
    const ok = await validateIdToken(await token(keyA, { aud: both, azp: CLIENT }), expect());
    assert.deepEqual(ok.aud, both);
    const noAzp = await refusal(validateIdToken(await token(keyA, { aud: both }), expect()));
    assert.match(noAzp.message, /several audiences and no azp/);
    const otherAzp = await refusal(
      validateIdToken(await token(keyA, { aud: both, azp: "another-client" }), expect()),
    );
    assert.match(otherAzp.message, /azp/);
  });

  it("refuses another issuer, another audience, a missing or wrong nonce", async () => {
    const cases: [string, JWTPayload, RegExp][] = [
      ["wrong issuer", { iss: "https://evil.example" }, /iss/],
      ["issuer with a trailing slash", { iss: `${issuer}/` }, /iss/],
      ["wrong audience", { aud: "another-client" }, /another audience/],
      ["missing nonce", { nonce: undefined }, /no nonce/],
      ["wrong nonce", { nonce: "nonce-of-another-request" }, /nonce does not match/],
      ["missing sub", { sub: undefined }, /sub/],
    ];
    for (const [name, claims, message] of cases) {
      const error = await refusal(validateIdToken(await token(keyA, claims), expect()));
      assert.equal(error.reason, "invalid_id_token", name);
      assert.match(error.message, message, name);
    }
    // A token without a nonce passes when none was sent (nonce: null), and one with a nonce too.
    await validateIdToken(await token(keyA, { nonce: undefined }), expect({ nonce: null }));
  });

  it("refuses an expired token and one issued in the future, within the leeway either way", async () => {
    const expired = await refusal(validateIdToken(await token(keyA, { exp: now - 61 }), expect()));
    assert.match(expired.message, /exp/);
    await validateIdToken(await token(keyA, { exp: now - 30 }), expect()); // within 60 s of skew
    const future = await refusal(validateIdToken(await token(keyA, { iat: now + 3600 }), expect()));
    assert.match(future.message, /iat is in the future/);
    await validateIdToken(await token(keyA, { iat: now + 30 }), expect());
    const noExp = await refusal(validateIdToken(await token(keyA, { exp: undefined }), expect()));
    assert.match(noExp.message, /exp/);
  });

  it("refuses alg none and HS256 keyed with the public key, without fetching anything", async () => {
    cache.clear();
    const before = jwksHits();
    const body = Buffer.from(
      JSON.stringify({ iss: issuer, sub: "x", aud: CLIENT, iat: now, exp: now + 300, nonce: NONCE }),
    ).toString("base64url");
    const unsigned = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${body}.`;
    const none = await refusal(validateIdToken(unsigned, expect()));
    assert.equal(none.reason, "invalid_id_token");
    assert.match(none.message, /alg none/);

    // The classic confusion: HS256 with the provider's public key (PEM, or its JWK's n) as secret.
    const { publicKey } = await generateKeyPair("RS256", { extractable: true });
    for (const secret of [
      new TextEncoder().encode(await exportSPKI(publicKey)),
      new TextEncoder().encode(String(keyA.publicJwk.n)),
    ]) {
      const forged = await new SignJWT({ sub: "admin", aud: CLIENT, iss: issuer, nonce: NONCE })
        .setProtectedHeader({ alg: "HS256", kid: keyA.kid })
        .setIssuedAt(now)
        .setExpirationTime(now + 300)
        .sign(secret);
      const hs = await refusal(validateIdToken(forged, expect()));
      assert.match(hs.message, /alg HS256 is not one of RS256, ES256/);
    }
    assert.equal(jwksHits(), before, "a token refused by its alg never makes us fetch keys");
  });

  it("refuses an alg the provider does not list, even with a key that could verify it", async () => {
    const rsOnly = { ...metadata, id_token_signing_alg_values_supported: ["RS256"] };
    const error = await refusal(validateIdToken(await token(ecKey), expect({ metadata: rsOnly })));
    assert.match(error.message, /alg ES256 is not one of RS256/);
    // A provider that says nothing signs with RS256 (OIDC Discovery §3 default).
    const silent = { ...metadata, id_token_signing_alg_values_supported: undefined };
    await validateIdToken(await token(keyA), expect({ metadata: silent }));
    await refusal(validateIdToken(await token(ecKey), expect({ metadata: silent })));
    // A provider listing only none/HS* cannot be used at all.
    const symmetric = { ...metadata, id_token_signing_alg_values_supported: ["HS256", "none"] };
    const unusable = await refusal(validateIdToken(await token(keyA), expect({ metadata: symmetric })));
    assert.equal(unusable.reason, "invalid_metadata");
  });

  it("refuses a token signed with another key under a published kid", async () => {
    const impostor = await signingKey(keyA.kid);
    const error = await refusal(validateIdToken(await token(impostor), expect()));
    assert.equal(error.reason, "invalid_id_token");
    assert.match(error.message, /signature verification failed/);
  });

  it("tries every matching key when the token names no kid", async () => {
    publish(keyA, keyB);
    const claims = await validateIdToken(await token(keyB, {}, { kid: null }), expect());
    assert.equal(claims.sub, "upstream-user");
    const stranger = await signingKey("stranger");
    const error = await refusal(validateIdToken(await token(stranger, {}, { kid: null }), expect()));
    assert.match(error.message, /signature verification failed/);
  });

  it("an unknown kid: one refetch, then refused — and no refetch again within the cooldown", async () => {
    await validateIdToken(await token(keyA), expect());
    assert.equal(jwksHits(), 1);
    now += 31;
    const unknown = await signingKey("never-published");
    const first = await refusal(validateIdToken(await token(unknown), expect()));
    assert.equal(first.reason, "unknown_key");
    assert.equal(jwksHits(), 2, "one refetch");
    for (let i = 0; i < 5; i++) {
      const again = await refusal(validateIdToken(await token(unknown), expect()));
      assert.equal(again.reason, "unknown_key");
    }
    assert.equal(jwksHits(), 2, "made-up kids within the cooldown fetch nothing");
    // Concurrent unknown kids after the cooldown share one refetch.
    now += 31;
    await Promise.all([1, 2, 3, 4].map(async () => refusal(validateIdToken(await token(unknown), expect()))));
    assert.equal(jwksHits(), 3, "concurrent refetches collapse into one request");
  });

  it("a key rotated at the provider is accepted after a refetch", async () => {
    await validateIdToken(await token(keyA), expect());
    publish(keyB); // the provider rotated: A withdrawn, B published
    // Right after the last fetch the cooldown holds: refused, nothing fetched.
    const early = await refusal(validateIdToken(await token(keyB), expect()));
    assert.equal(early.reason, "unknown_key");
    assert.equal(jwksHits(), 1);
    now += 31;
    const claims = await validateIdToken(await token(keyB), expect());
    assert.equal(claims.sub, "upstream-user");
    assert.equal(jwksHits(), 2);
    // The cached set is now B's: an A token is refused (A is withdrawn) once a refetch confirms it.
    now += 31;
    assert.equal((await refusal(validateIdToken(await token(keyA), expect()))).reason, "unknown_key");
    // And a stale set is fetched again on its own, kid known or not.
    now += 601;
    await validateIdToken(await token(keyB), expect());
    assert.equal(jwksHits(), 4);
  });

  it("a slow JWKS endpoint costs one deadline and says so", { timeout: 30_000 }, async () => {
    // The key set never comes until released: only the deadline can end the wait.
    const held = holdAnswers();
    provider.routes.set("/jwks", held.handle);
    cache.clear();
    const error = await refusal(
      validateIdToken(await token(keyA), expect({ http: { ...HTTP, deadlineMs: 300 } })),
    );
    assert.equal(error.reason, "jwks_failed");
    assert.match(error.message, /no complete answer within 300 ms/);
    assert.equal(held.received, 1, "one request, not retried: one deadline");
    await held.abandonedBy(1);
    held.release();
  });

  it("a JWKS endpoint answering garbage is a clear error, whatever the garbage", async () => {
    const answers: [string, (response: ServerResponse) => void, RegExp][] = [
      [
        "HTML",
        (r) => r.writeHead(200, { "content-type": "text/html" }).end("<html>hi</html>"),
        /could not be read/,
      ],
      ["JSON array", (r) => r.writeHead(200).end("[1,2]"), /not a JSON object/],
      ["no keys", (r) => r.writeHead(200).end('{"keys":"yes"}'), /no list of keys/],
      [
        "bad keys",
        (r) => r.writeHead(200).end('{"keys":[{"kty":"RSA","n":5}]}'),
        /malformed|could not|no key/,
      ],
      ["HTTP 500", (r) => r.writeHead(500).end("{}"), /HTTP 500/],
      ["too large", (r) => r.writeHead(200).end(`{"keys":[],"pad":"${"x".repeat(200_000)}"}`), /exceeds/],
    ];
    for (const [name, answer, message] of answers) {
      provider.routes.set("/jwks", (_request, response) => answer(response));
      cache.clear();
      const error = await refusal(validateIdToken(await token(keyA), expect()));
      assert.ok(["jwks_failed", "unknown_key"].includes(error.reason), `${name}: ${error.reason}`);
      assert.match(error.message, message, name);
      assert.doesNotMatch(error.message, /eyJ/, `${name}: the token is never in the message`);
    }
  });

  it("Microsoft's multi-tenant issuer: the token's tid fills the template, from allowed tenants only", async () => {
    const tenantA = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const tenantB = "9188040d-6c67-4c5b-b112-36a304b66dad";
    const template = `${issuer}/{tenantid}/v2.0`;
    provider.json("/common/v2.0/.well-known/openid-configuration", {
      issuer: template,
      authorization_endpoint: `${issuer}/common/oauth2/v2.0/authorize`,
      token_endpoint: `${issuer}/common/oauth2/v2.0/token`,
      jwks_uri: `${issuer}/jwks`,
      response_types_supported: ["code"],
      subject_types_supported: ["pairwise"],
      id_token_signing_alg_values_supported: ["RS256"],
    });
    const common = `${issuer}/common/v2.0`;
    const mismatch = await refusal(discover(common, { http: HTTP, cache }));
    assert.equal(mismatch.reason, "issuer_mismatch", "the template is accepted only when asked for");
    const ms = await discover(common, { http: HTTP, cache, allowTenantTemplate: true });
    assert.equal(ms.issuer, template);

    const issued = (tid: string, iss = `${issuer}/${tid}/v2.0`) => token(keyA, { iss, tid });
    const msExpect = (tenants?: "any" | string[]) => expect({ metadata: ms, tenants });
    assert.equal((await validateIdToken(await issued(tenantA), msExpect("any"))).tid, tenantA);
    await validateIdToken(await issued(tenantA.toUpperCase()), msExpect([tenantA]));
    assert.match(
      (await refusal(validateIdToken(await issued(tenantB), msExpect([tenantA])))).message,
      /tenant .* is not allowed/,
    );
    assert.match(
      (await refusal(validateIdToken(await issued(tenantA), msExpect()))).message,
      /no tenants were given/,
    );
    // iss of one tenant with the tid of another: refused.
    const crossed = await refusal(
      validateIdToken(await issued(tenantA, `${issuer}/${tenantB}/v2.0`), msExpect("any")),
    );
    assert.match(crossed.message, /iss/);
    // A tid that is not a tenant id cannot steer the expected issuer.
    const sneaky = await refusal(
      validateIdToken(await issued("x/../evil", `${issuer}/x/../evil/v2.0`), msExpect("any")),
    );
    assert.match(sneaky.message, /no valid tid/);
    // The template stands for common/organizations/consumers only, never for a named tenant.
    provider.json(`/${tenantA}/v2.0/.well-known/openid-configuration`, {
      issuer: template,
      jwks_uri: `${issuer}/jwks`,
    });
    const named = await refusal(
      fetchDiscoveryDocument(`${issuer}/${tenantA}/v2.0`, { http: HTTP, allowTenantTemplate: true }),
    );
    assert.equal(named.reason, "issuer_mismatch");
  });
});

describe("discovery", () => {
  let provider: HandMadeProvider;
  let now = 1_800_000_000;
  const clock = { now: () => now };
  const docHits = () => provider.hits.get("/.well-known/openid-configuration") ?? 0;
  const document = (overrides: Record<string, unknown> = {}) => ({
    issuer: provider.origin,
    authorization_endpoint: `${provider.origin}/authorize`,
    token_endpoint: `${provider.origin}/token`,
    jwks_uri: `${provider.origin}/jwks`,
    response_types_supported: ["code"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256"],
    ...overrides,
  });

  before(async () => {
    provider = await startHandMadeProvider();
  });
  after(() => provider.close());
  beforeEach(() => provider.hits.clear());

  it("reads the document once per issuer while it is fresh, and afresh with cache: false", async () => {
    provider.json(
      "/.well-known/openid-configuration",
      document({ authorization_response_iss_parameter_supported: true }),
    );
    const cache = new OidcCache({ clock, discoveryMaxAgeSeconds: 3600 });
    const [one, two] = await Promise.all([
      discover(provider.origin, { http: HTTP, cache }),
      discover(`${provider.origin}/`, { http: HTTP, cache }),
    ]);
    assert.equal(one.token_endpoint, `${provider.origin}/token`);
    assert.equal(one.authorization_response_iss_parameter_supported, true);
    assert.equal(two, one);
    assert.equal(docHits(), 1, "concurrent and repeated reads share one request");
    now += 3601;
    await discover(provider.origin, { http: HTTP, cache });
    assert.equal(docHits(), 2, "an old document is read again");
    await fetchDiscoveryDocument(provider.origin, { http: HTTP, cache: false });
    await fetchDiscoveryDocument(provider.origin, { http: HTTP, cache: false });
    assert.equal(docHits(), 4);
  });

  it("refuses a document naming another issuer (OIDC Discovery §4.3)", async () => {
    provider.json("/.well-known/openid-configuration", document({ issuer: "https://accounts.example.com" }));
    const error = await refusal(discover(provider.origin, { http: HTTP, cache: false }));
    assert.equal(error.reason, "issuer_mismatch");
    provider.json("/.well-known/openid-configuration", document({ issuer: undefined }));
    assert.equal(
      (await refusal(discover(provider.origin, { http: HTTP, cache: false }))).reason,
      "issuer_mismatch",
    );
    // Nor is a refused document cached.
    const cache = new OidcCache({ clock });
    await refusal(discover(provider.origin, { http: HTTP, cache }));
    provider.json("/.well-known/openid-configuration", document());
    await discover(provider.origin, { http: HTTP, cache });
  });

  it("requires what OIDC Discovery §3 requires, with the right types", async () => {
    for (const field of ["jwks_uri", "token_endpoint", "id_token_signing_alg_values_supported"]) {
      provider.json("/.well-known/openid-configuration", document({ [field]: undefined }));
      const error = await refusal(discover(provider.origin, { http: HTTP, cache: false }));
      assert.equal(error.reason, "invalid_metadata");
      assert.match(error.message, new RegExp(`no ${field}`));
      // The lenient read (connected apps) takes the document anyway.
      const lenient = await fetchDiscoveryDocument(provider.origin, { http: HTTP, cache: false });
      assert.equal(lenient[field as "jwks_uri"], undefined);
    }
    for (const [field, value] of [
      ["jwks_uri", 42],
      ["id_token_signing_alg_values_supported", "RS256"],
      ["authorization_response_iss_parameter_supported", "yes"],
    ] as const) {
      provider.json("/.well-known/openid-configuration", document({ [field]: value }));
      const error = await refusal(fetchDiscoveryDocument(provider.origin, { http: HTTP, cache: false }));
      assert.equal(error.reason, "invalid_metadata", field);
    }
  });

  it("reads through the SSRF guard: https only, and no name resolving to a private address", async () => {
    provider.json("/.well-known/openid-configuration", document());
    const strict: OutboundOptions = { allowPrivateNetworks: false, deadlineMs: 1_000 };
    const http = await refusal(discover(provider.origin, { http: strict, cache: false }));
    assert.match(http.message, /https/);
    const port = new URL(provider.origin).port;
    const rebound = await refusal(
      discover(`https://issuer.test:${port}`, {
        http: { ...strict, resolveHost: async () => [{ address: "127.0.0.1", family: 4 }] },
        cache: false,
      }),
    );
    assert.equal(rebound.reason, "discovery_failed");
    assert.match(rebound.message, /resolves to 127\.0\.0\.1/);
    assert.equal(docHits(), 0, "nothing reached the provider");
    // An issuer identifier has no query (OIDC Discovery §2).
    const query = await refusal(discover(`${provider.origin}/?x=1`, { http: HTTP, cache: false }));
    assert.match(query.message, /query or fragment/);
  });

  it("garbage, a 404 or a slow issuer: a clear error, the slow one at the deadline", {
    timeout: 30_000,
  }, async () => {
    provider.routes.set("/.well-known/openid-configuration", (_q, r) => r.writeHead(200).end("<html>"));
    assert.equal(
      (await refusal(discover(provider.origin, { http: HTTP, cache: false }))).reason,
      "discovery_failed",
    );
    provider.json("/.well-known/openid-configuration", {}, 404);
    assert.match(
      (await refusal(discover(provider.origin, { http: HTTP, cache: false }))).message,
      /HTTP 404/,
    );
    // A document that never comes until released: only the deadline can end the wait.
    const held = holdAnswers();
    provider.routes.set("/.well-known/openid-configuration", held.handle);
    const slow = await refusal(
      discover(provider.origin, { http: { ...HTTP, deadlineMs: 300 }, cache: false }),
    );
    assert.equal(slow.reason, "discovery_failed");
    assert.match(slow.message, /no complete answer within 300 ms/);
    assert.equal(held.received, 1);
    await held.abandonedBy(1);
    held.release();
  });
});

describe("RFC 9207: iss in the authorization response", () => {
  const ISSUER = "https://idp.example.com";
  const supported = { authorization_response_iss_parameter_supported: true };

  it("accepts the right iss, and its absence only when the provider does not promise it", () => {
    checkAuthorizationResponseIssuer(new URLSearchParams({ code: "c", iss: ISSUER }), ISSUER, supported);
    checkAuthorizationResponseIssuer({ code: "c", iss: ISSUER }, ISSUER, {});
    checkAuthorizationResponseIssuer(new URLSearchParams({ code: "c" }), ISSUER, {});
    checkAuthorizationResponseIssuer({ code: "c" }, ISSUER, undefined);
  });

  it("refuses another issuer's iss, a missing promised iss, and a repeated iss", () => {
    for (const [params, metadata] of [
      [new URLSearchParams({ code: "c", iss: "https://attacker.example" }), {}],
      [new URLSearchParams({ code: "c", iss: `${ISSUER}/` }), {}],
      [{ code: "c", iss: "https://attacker.example" }, supported],
      [new URLSearchParams({ code: "c" }), supported],
      [{ code: "c" }, supported],
      [
        new URLSearchParams([
          ["code", "c"],
          ["iss", ISSUER],
          ["iss", "https://attacker.example"],
        ]),
        supported,
      ],
    ] as const) {
      const error = refusalOf(() => checkAuthorizationResponseIssuer(params, ISSUER, metadata));
      assert.equal(error.reason, "authorization_response_issuer");
    }
  });
});

describe("against a certified provider (oidc-provider)", () => {
  const REDIRECT = "http://127.0.0.1:9/callback";
  let provider: OidcProviderHandle;
  let metadata: OidcMetadata;
  let other: OidcProviderHandle;
  let client: OAuthProvider;
  const cache = new OidcCache();

  before(async () => {
    provider = await startOidcProvider({ redirectUri: REDIRECT });
    other = await startOidcProvider({ redirectUri: REDIRECT, clientId: "another-client" });
    metadata = await discover(provider.issuer, { http: HTTP, cache });
    client = {
      authorizationUrl: metadata.authorization_endpoint,
      tokenUrl: metadata.token_endpoint,
      clientAuth: "basic",
      bodyFormat: "form",
      scopeSeparator: " ",
      pkce: true,
    };
  });
  after(async () => {
    await provider.close();
    await other.close();
  });

  /** One authorization-code flow with PKCE, state and nonce; returns the callback parameters and tokens. */
  async function signIn(target: OidcProviderHandle, nonce: string) {
    const verifier = newCodeVerifier();
    const state = newCodeVerifier();
    const targetMetadata =
      target === provider ? metadata : await discover(target.issuer, { http: HTTP, cache });
    const url = authorizationUrl(
      {
        ...client,
        authorizationUrl: targetMetadata.authorization_endpoint,
        tokenUrl: targetMetadata.token_endpoint,
      },
      {
        clientId: target.clientId,
        redirectUri: REDIRECT,
        scopes: ["openid", "email"],
        state,
        nonce,
        codeChallenge: codeChallengeS256(verifier),
      },
    );
    const back = await target.authorize(url);
    assert.equal(back.searchParams.get("state"), state);
    const tokens = await exchangeCode(
      { ...client, tokenUrl: targetMetadata.token_endpoint },
      { clientId: target.clientId, clientSecret: target.clientSecret },
      { code: back.searchParams.get("code") ?? "", redirectUri: REDIRECT, codeVerifier: verifier },
      Math.floor(Date.now() / 1000),
      HTTP,
    );
    return { params: back.searchParams, tokens };
  }

  it("discovers the provider, and the full flow ends in verified claims", async () => {
    assert.equal(metadata.issuer, provider.issuer);
    assert.equal(metadata.authorization_response_iss_parameter_supported, true);
    const { params, tokens } = await signIn(provider, "n-1");
    checkAuthorizationResponseIssuer(params, metadata.issuer, metadata);
    assert.ok(tokens.idToken, "the token response carried an ID token");
    const claims = await validateIdToken(tokens.idToken, {
      metadata,
      clientId: provider.clientId,
      nonce: "n-1",
      http: HTTP,
      cache,
    });
    assert.equal(claims.sub, provider.accountId);
    assert.equal(claims.iss, provider.issuer);
    assert.equal(claims.nonce, "n-1");
  });

  it("refuses its ID token for another nonce or another client", async () => {
    const { tokens } = await signIn(provider, "n-2");
    const base = { metadata, clientId: provider.clientId, nonce: "n-2", http: HTTP, cache };
    assert.match(
      (await refusal(validateIdToken(tokens.idToken!, { ...base, nonce: "n-3" }))).message,
      /nonce/,
    );
    assert.match(
      (await refusal(validateIdToken(tokens.idToken!, { ...base, clientId: "latchkey-elsewhere" }))).message,
      /another audience/,
    );
  });

  it("mix-up: another provider's response and token are refused for this one", async () => {
    const { params, tokens } = await signIn(other, "n-4");
    // The other provider's callback parameters presented as if they came from this provider.
    const mixed = refusalOf(() => checkAuthorizationResponseIssuer(params, metadata.issuer, metadata));
    assert.equal(mixed.reason, "authorization_response_issuer");
    // Its ID token, even with the right client id and nonce, is not this provider's.
    const error = await refusal(
      validateIdToken(tokens.idToken!, {
        metadata,
        clientId: other.clientId,
        nonce: "n-4",
        http: HTTP,
        cache,
      }),
    );
    assert.equal(error.reason, "invalid_id_token");
    assert.match(error.message, /iss/);
    // A response stripped of iss is refused: the metadata promises it.
    const stripped = new URLSearchParams(params);
    stripped.delete("iss");
    assert.equal(
      refusalOf(() => checkAuthorizationResponseIssuer(stripped, metadata.issuer, metadata)).reason,
      "authorization_response_issuer",
    );
  });
});
