// openid-client v6 (a certified OpenID Connect relying party, on top of oauth4webapi) judges
// Latchkey over real HTTP: discovery, the authorization code flow for confidential and public
// clients (ID token signature, iss, aud, azp, exp/iat, nonce, state, PKCE and the RFC 9207 `iss`
// response parameter checked by the client itself), refresh token rotation with reuse detection,
// client credentials, UserInfo, introspection and revocation. openid-client does not check
// `at_hash` in the code flow (OIDC Core makes it optional there), so the tests compare it.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from "jose";
import * as client from "openid-client";
import { MANAGEMENT_API_SCOPES } from "../../src/management/scopes.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApi, createApplication, createUser } from "../helpers/fixtures.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";

const USER_SCOPE = "openid profile email offline";

/** One request openid-client made, as it went on the wire. */
interface RecordedRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: URLSearchParams;
}

/** OIDC Core §3.1.3.6: base64url of the left half of SHA-256 of the access token. */
function expectedAtHash(accessToken: string): string {
  const digest = createHash("sha256").update(accessToken, "ascii").digest();
  return digest.subarray(0, digest.length / 2).toString("base64url");
}

/** Asserts that a promise fails with an OAuth error response (RFC 6749 §5.2) of this code. */
async function rejectsWithOAuthError(promise: Promise<unknown>, error: string, status = 400): Promise<void> {
  await assert.rejects(promise, (thrown: unknown) => {
    assert.ok(thrown instanceof client.ResponseBodyError, `expected an OAuth error response, got ${thrown}`);
    assert.equal(thrown.error, error, thrown.error_description);
    assert.equal(thrown.status, status);
    return true;
  });
}

/** Asserts that a protected-resource call fails with an RFC 6750 §3 challenge of this error. */
async function rejectsWithBearerChallenge(promise: Promise<unknown>, error: string): Promise<void> {
  await assert.rejects(promise, (thrown: unknown) => {
    assert.ok(
      thrown instanceof client.WWWAuthenticateChallengeError,
      `expected a WWW-Authenticate challenge, got ${thrown}`,
    );
    assert.equal(thrown.status, 401);
    const bearer = thrown.cause.find((challenge) => challenge.scheme === "bearer");
    assert.ok(bearer, "a Bearer challenge");
    assert.equal(bearer.parameters.error, error);
    return true;
  });
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`openid-client v6 relying party (${kind})`, { skip }, () => {
    let server: TestServer;
    let user: { id: string; email: string; password: string };
    let jwks: ReturnType<typeof createRemoteJWKSet>;
    const requests: RecordedRequest[] = [];

    before(async () => {
      server = await startTestServer(kind);
      user = await createUser(server, { givenName: "Ada", familyName: "Lovelace" });
      jwks = createRemoteJWKSet(new URL("/.well-known/jwks", server.url));
    });
    after(async () => server?.close());

    /** Discovers Latchkey for one client, recording every request the client sends. */
    function discover(
      clientId: string,
      auth: client.ClientAuth,
      options: { algorithm?: "oidc" | "oauth2" } = {},
    ): Promise<client.Configuration> {
      return client.discovery(new URL(server.url), clientId, undefined, auth, {
        algorithm: options.algorithm,
        execute: [client.allowInsecureRequests],
        [client.customFetch]: async (url, init) => {
          requests.push({
            url,
            method: init.method,
            headers: Object.fromEntries(Object.entries(init.headers).map(([k, v]) => [k.toLowerCase(), v])),
            body: new URLSearchParams(
              init.body instanceof URLSearchParams || typeof init.body === "string" ? init.body : undefined,
            ),
          });
          return fetch(url, init);
        },
      });
    }

    function lastRequestTo(path: string): RecordedRequest {
      const found = requests.findLast((r) => new URL(r.url).pathname === path);
      assert.ok(found, `openid-client sent no request to ${path}`);
      return found;
    }

    /**
     * Runs the front channel: builds the authorization URL with openid-client, signs the user in
     * through the hosted page and returns the callback URL with the values to check it against.
     */
    async function authorize(
      config: client.Configuration,
      options: { pkce?: boolean; scope?: string; audience?: string } = {},
    ) {
      const state = client.randomState();
      const nonce = client.randomNonce();
      const parameters: Record<string, string> = {
        redirect_uri: CALLBACK,
        scope: options.scope ?? USER_SCOPE,
        state,
        nonce,
      };
      let pkceCodeVerifier: string | undefined;
      if (options.pkce) {
        pkceCodeVerifier = client.randomPKCECodeVerifier();
        parameters.code_challenge = await client.calculatePKCECodeChallenge(pkceCodeVerifier);
        parameters.code_challenge_method = "S256";
      }
      if (options.audience) parameters.audience = options.audience;
      const url = client.buildAuthorizationUrl(config, parameters);
      assert.equal(url.origin + url.pathname, `${server.url}/oauth2/auth`);
      const callback = await new UserAgent(server.url).authorize(url, user);
      assert.equal(callback.origin + callback.pathname, CALLBACK);
      return { callback, state, nonce, pkceCodeVerifier };
    }

    /** The whole code flow, with every check openid-client makes. */
    async function signIn(
      config: client.Configuration,
      options: { pkce?: boolean; scope?: string; audience?: string } = {},
    ) {
      const { callback, state, nonce, pkceCodeVerifier } = await authorize(config, options);
      const tokens = await client.authorizationCodeGrant(config, callback, {
        expectedState: state,
        expectedNonce: nonce,
        pkceCodeVerifier,
      });
      return { tokens, nonce };
    }

    /** Verifies an access token against the published JWKS and returns its claims. */
    async function accessTokenClaims(token: string): Promise<JWTPayload & Record<string, unknown>> {
      const { payload, protectedHeader } = await jwtVerify(token, jwks, {
        issuer: server.url,
        algorithms: ["RS256"],
      });
      assert.equal(protectedHeader.alg, "RS256");
      assert.equal(typeof protectedHeader.kid, "string");
      return payload;
    }

    /** The ID token claims openid-client validated, checked against the values they must have. */
    function assertIdToken(
      claims: client.IDToken | undefined,
      expected: { clientId: string; accessToken: string; nonce?: string },
    ): void {
      assert.ok(claims, "an ID token was returned");
      assert.equal(claims.iss, server.url);
      assert.equal(claims.sub, user.id);
      assert.deepEqual([claims.aud].flat(), [expected.clientId]);
      assert.equal(claims.azp, expected.clientId);
      assert.equal(claims.nonce, expected.nonce);
      assert.equal(claims.at_hash, expectedAtHash(expected.accessToken));
      assert.equal(typeof claims.auth_time, "number");
      assert.ok(claims.exp > claims.iat);
      // profile and email scopes
      assert.equal(claims.email, user.email);
      assert.equal(claims.email_verified, true);
      assert.equal(claims.given_name, "Ada");
      assert.equal(claims.family_name, "Lovelace");
      assert.equal(claims.name, "Ada Lovelace");
    }

    it("discovers the issuer and its endpoints (OIDC Discovery and RFC 8414)", async () => {
      const app = await createApplication(server, "reg");
      const config = await discover(app.clientId, client.ClientSecretPost(app.clientSecret!));
      const metadata = config.serverMetadata();
      assert.equal(metadata.issuer, server.url);
      assert.equal(metadata.authorization_endpoint, `${server.url}/oauth2/auth`);
      assert.equal(metadata.token_endpoint, `${server.url}/oauth2/token`);
      assert.equal(metadata.userinfo_endpoint, `${server.url}/oauth2/v2/user_profile`);
      assert.equal(metadata.jwks_uri, `${server.url}/.well-known/jwks`);
      assert.equal(metadata.revocation_endpoint, `${server.url}/oauth2/revoke`);
      assert.equal(metadata.introspection_endpoint, `${server.url}/oauth2/introspect`);
      assert.equal(metadata.end_session_endpoint, `${server.url}/logout`);
      assert.deepEqual(metadata.response_types_supported, ["code"]);
      assert.deepEqual(metadata.code_challenge_methods_supported, ["S256"]);
      assert.deepEqual(metadata.id_token_signing_alg_values_supported, ["RS256"]);
      assert.equal(metadata.authorization_response_iss_parameter_supported, true);
      for (const method of ["client_secret_post", "client_secret_basic", "none"]) {
        assert.ok(metadata.token_endpoint_auth_methods_supported?.includes(method), method);
      }
      for (const grant of ["authorization_code", "refresh_token", "client_credentials"]) {
        assert.ok(metadata.grant_types_supported?.includes(grant), grant);
      }
      assert.equal(config.clientMetadata().client_id, app.clientId);
      assert.equal(new URL(lastRequestTo("/.well-known/openid-configuration").url).origin, server.url);

      // The RFC 8414 well-known path describes the same issuer.
      const oauth2 = await discover(app.clientId, client.None(), { algorithm: "oauth2" });
      assert.deepEqual(oauth2.serverMetadata(), metadata);

      // The JWKS holds RSA signature keys that verify what the server signs.
      const keys = (await (await fetch(metadata.jwks_uri!)).json()) as { keys: Record<string, unknown>[] };
      assert.ok(keys.keys.length >= 1);
      for (const key of keys.keys) {
        assert.equal(key.kty, "RSA");
        assert.equal(typeof key.kid, "string");
        assert.equal(key.d, undefined, "no private key material is published");
      }
    });

    it("code flow, confidential client, client_secret_post: ID token, nonce, state and iss", async () => {
      const app = await createApplication(server, "reg");
      const config = await discover(app.clientId, client.ClientSecretPost(app.clientSecret!));
      const { callback, state, nonce } = await authorize(config);
      assert.equal(callback.searchParams.get("iss"), server.url);
      assert.equal(callback.searchParams.get("state"), state);

      // RFC 9207: a response claiming another issuer is refused by the client before any exchange.
      const forged = new URL(callback);
      forged.searchParams.set("iss", "https://attacker.example");
      await assert.rejects(
        client.authorizationCodeGrant(config, forged, { expectedState: state, expectedNonce: nonce }),
        (thrown: unknown) => {
          assert.ok(thrown instanceof client.ClientError);
          assert.match(String((thrown.cause as Error | undefined)?.message), /"iss" \(issuer\)/);
          return true;
        },
      );

      const tokens = await client.authorizationCodeGrant(config, callback, {
        expectedState: state,
        expectedNonce: nonce,
      });
      const sent = lastRequestTo("/oauth2/token");
      assert.equal(sent.method, "POST");
      assert.equal(sent.body.get("grant_type"), "authorization_code");
      assert.equal(sent.body.get("client_id"), app.clientId);
      assert.equal(sent.body.get("client_secret"), app.clientSecret);
      assert.equal(sent.body.get("redirect_uri"), CALLBACK);
      assert.equal(sent.headers.authorization, undefined);

      assert.equal(tokens.token_type, "bearer");
      assert.ok(tokens.expires_in! > 0);
      assert.equal(tokens.scope, USER_SCOPE);
      assert.equal(typeof tokens.refresh_token, "string");
      assertIdToken(tokens.claims(), { clientId: app.clientId, accessToken: tokens.access_token, nonce });

      const access = await accessTokenClaims(tokens.access_token);
      assert.equal(access.sub, user.id);
      assert.equal(access.azp, app.clientId);
      assert.deepEqual(access.scp, USER_SCOPE.split(" "));
      assert.equal(typeof access.jti, "string");
      assert.ok(access.exp! > access.iat!);

      // The code is single-use, and a replay revokes what it produced (RFC 6749 §4.1.2).
      await rejectsWithOAuthError(
        client.authorizationCodeGrant(config, callback, { expectedState: state, expectedNonce: nonce }),
        "invalid_grant",
      );
      assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, false);
      await rejectsWithOAuthError(client.refreshTokenGrant(config, tokens.refresh_token!), "invalid_grant");
    });

    it("code flow, confidential client, client_secret_basic with PKCE and an API audience", async () => {
      const app = await createApplication(server, "reg");
      const audience = `https://things-${randomBytes(4).toString("hex")}.example.com`;
      // The user holds read:things through a role (user tokens carry only the API scopes held).
      await createApi(server, {
        audience,
        scopes: ["read:things"],
        authorize: [app.clientId],
        holders: { [user.id]: ["read:things"] },
      });
      const config = await discover(app.clientId, client.ClientSecretBasic(app.clientSecret!));
      const scope = `${USER_SCOPE} read:things`;
      const { callback, state, nonce, pkceCodeVerifier } = await authorize(config, {
        pkce: true,
        scope,
        audience,
      });
      assert.equal(callback.searchParams.get("iss"), server.url);

      const tokens = await client.authorizationCodeGrant(config, callback, {
        expectedState: state,
        expectedNonce: nonce,
        pkceCodeVerifier,
      });
      const sent = lastRequestTo("/oauth2/token");
      assert.match(sent.headers.authorization ?? "", /^Basic /);
      const [id, secret] = Buffer.from(sent.headers.authorization!.slice(6), "base64").toString().split(":");
      assert.equal(id, app.clientId);
      assert.equal(secret, app.clientSecret);
      assert.equal(sent.body.get("client_secret"), null);
      assert.equal(sent.body.get("code_verifier"), pkceCodeVerifier);

      assert.equal(tokens.scope, scope);
      assertIdToken(tokens.claims(), { clientId: app.clientId, accessToken: tokens.access_token, nonce });
      const access = await accessTokenClaims(tokens.access_token);
      assert.equal(access.sub, user.id);
      assert.equal(access.azp, app.clientId);
      assert.deepEqual(access.aud, [audience]);
      assert.deepEqual(access.scp, scope.split(" "));
    });

    it("code flow with PKCE for a public client (none), with a refresh", async () => {
      const app = await createApplication(server, "spa");
      assert.equal(app.clientSecret, undefined);
      const config = await discover(app.clientId, client.None());
      const { callback, state, nonce, pkceCodeVerifier } = await authorize(config, { pkce: true });
      assert.equal(callback.searchParams.get("iss"), server.url);

      const tokens = await client.authorizationCodeGrant(config, callback, {
        expectedState: state,
        expectedNonce: nonce,
        pkceCodeVerifier,
      });
      const sent = lastRequestTo("/oauth2/token");
      assert.equal(sent.body.get("client_id"), app.clientId);
      assert.equal(sent.body.get("client_secret"), null);
      assert.equal(sent.headers.authorization, undefined);
      assert.equal(sent.body.get("code_verifier"), pkceCodeVerifier);

      assert.equal(tokens.scope, USER_SCOPE);
      assertIdToken(tokens.claims(), { clientId: app.clientId, accessToken: tokens.access_token, nonce });
      const access = await accessTokenClaims(tokens.access_token);
      assert.equal(access.sub, user.id);
      assert.equal(access.azp, app.clientId);
      assert.deepEqual(access.scp, USER_SCOPE.split(" "));

      // A public client's refresh token rotates too (RFC 9700 §4.14.2).
      assert.ok(tokens.refresh_token);
      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
      assert.ok(refreshed.refresh_token);
      assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
      assert.equal((await accessTokenClaims(refreshed.access_token)).sub, user.id);
    });

    it("a public client's code cannot be redeemed without the PKCE verifier", async () => {
      const app = await createApplication(server, "spa");
      const config = await discover(app.clientId, client.None());
      const { callback, state, nonce } = await authorize(config, { pkce: true });
      await rejectsWithOAuthError(
        client.authorizationCodeGrant(config, callback, { expectedState: state, expectedNonce: nonce }),
        "invalid_grant",
      );
    });

    it("rotates refresh tokens and revokes the family when an old one is reused", async () => {
      const app = await createApplication(server, "reg");
      const config = await discover(app.clientId, client.ClientSecretPost(app.clientSecret!));
      const { tokens: first } = await signIn(config);
      const oldRefresh = first.refresh_token;
      assert.ok(oldRefresh);

      const second = await client.refreshTokenGrant(config, oldRefresh);
      assert.equal(lastRequestTo("/oauth2/token").body.get("grant_type"), "refresh_token");
      const newRefresh = second.refresh_token;
      assert.ok(newRefresh, "a new refresh token is issued");
      assert.notEqual(newRefresh, oldRefresh);
      assert.notEqual(second.access_token, first.access_token);
      assert.equal(second.scope, USER_SCOPE);
      // The refreshed ID token (validated by openid-client) is about the same user, without a nonce.
      const claims = second.claims();
      assert.ok(claims);
      assert.equal(claims.sub, user.id);
      assert.equal(claims.iss, server.url);
      assert.deepEqual([claims.aud].flat(), [app.clientId]);
      assert.equal(claims.nonce, undefined);
      assert.equal(claims.auth_time, first.claims()!.auth_time);
      assert.equal(claims.at_hash, expectedAtHash(second.access_token));
      const access = await accessTokenClaims(second.access_token);
      assert.equal(access.sub, user.id);
      assert.equal(access.azp, app.clientId);
      assert.deepEqual(access.scp, USER_SCOPE.split(" "));

      // The rotated-out token is dead…
      await rejectsWithOAuthError(client.refreshTokenGrant(config, oldRefresh), "invalid_grant");
      // …and its reuse revoked the whole family: the newest token is dead as well.
      await rejectsWithOAuthError(client.refreshTokenGrant(config, newRefresh), "invalid_grant");
      const introspected = await client.tokenIntrospection(config, newRefresh, {
        token_type_hint: "refresh_token",
      });
      assert.equal(introspected.active, false);
      // So are the access tokens of the family.
      assert.equal((await client.tokenIntrospection(config, second.access_token)).active, false);
    });

    it("refresh may narrow the scope but never widen it (RFC 6749 §6)", async () => {
      const app = await createApplication(server, "reg");
      const config = await discover(app.clientId, client.ClientSecretPost(app.clientSecret!));
      const { tokens } = await signIn(config, { scope: "openid email offline" });
      const narrowed = await client.refreshTokenGrant(config, tokens.refresh_token!, {
        scope: "openid offline",
      });
      assert.equal(narrowed.scope, "openid offline");
      assert.deepEqual((await accessTokenClaims(narrowed.access_token)).scp, ["openid", "offline"]);
      await rejectsWithOAuthError(
        client.refreshTokenGrant(config, narrowed.refresh_token!, { scope: "openid email profile offline" }),
        "invalid_scope",
      );
    });

    it("client credentials for an M2M application granted scopes on an API", async () => {
      const app = await createApplication(server, "m2m");
      const audience = `https://orders-${randomBytes(4).toString("hex")}.example.com`;
      await createApi(server, {
        audience,
        scopes: ["read:orders", "write:orders", "admin:orders"],
        grant: { [app.clientId]: ["read:orders", "write:orders"] },
      });
      const config = await discover(app.clientId, client.ClientSecretBasic(app.clientSecret!));

      const one = await client.clientCredentialsGrant(config, { audience, scope: "read:orders" });
      assert.equal(lastRequestTo("/oauth2/token").body.get("grant_type"), "client_credentials");
      assert.equal(one.token_type, "bearer");
      assert.equal(one.scope, "read:orders");
      assert.equal(one.refresh_token, undefined);
      assert.equal(one.id_token, undefined);
      assert.ok(one.expires_in! > 0);
      const claims = await accessTokenClaims(one.access_token);
      assert.deepEqual(claims.aud, [audience]);
      assert.equal(claims.azp, app.clientId);
      assert.deepEqual(claims.scp, ["read:orders"]);
      assert.deepEqual(claims.gty, ["client_credentials"]);

      // No scope: everything the application was granted, nothing more.
      const all = await client.clientCredentialsGrant(config, { audience });
      assert.deepEqual(all.scope?.split(" ").sort(), ["read:orders", "write:orders"]);
      assert.deepEqual(((await accessTokenClaims(all.access_token)).scp as string[]).sort(), [
        "read:orders",
        "write:orders",
      ]);

      await rejectsWithOAuthError(
        client.clientCredentialsGrant(config, { audience, scope: "admin:orders" }),
        "invalid_scope",
      );
      await rejectsWithOAuthError(
        client.clientCredentialsGrant(config, { audience: "https://not-authorised.example.com" }),
        "invalid_target",
      );

      // A machine token is not a user's: UserInfo refuses it.
      await rejectsWithBearerChallenge(
        client.fetchUserInfo(config, one.access_token, client.skipSubjectCheck),
        "invalid_token",
      );
    });

    it("client credentials for the bootstrap Management API application (empty scope = all granted)", async () => {
      const config = await discover(
        server.management.clientId,
        client.ClientSecretPost(server.management.clientSecret),
      );
      const audience = `${server.url}/api`;
      const tokens = await client.clientCredentialsGrant(config, { audience, scope: "" });
      assert.equal(lastRequestTo("/oauth2/token").body.get("scope"), "");
      const expected = [...MANAGEMENT_API_SCOPES].sort();
      assert.deepEqual(tokens.scope?.split(" ").sort(), expected);
      const claims = await accessTokenClaims(tokens.access_token);
      assert.deepEqual(claims.aud, [audience]);
      assert.equal(claims.azp, server.management.clientId);
      assert.deepEqual([...(claims.scp as string[])].sort(), expected);
      assert.deepEqual(claims.gty, ["client_credentials"]);

      await rejectsWithOAuthError(
        client.clientCredentialsGrant(
          await discover(server.management.clientId, client.ClientSecretPost("wrong-secret")),
          { audience, scope: "" },
        ),
        "invalid_client",
        401,
      );
    });

    it("UserInfo returns the signed-in user's claims", async () => {
      const app = await createApplication(server, "reg");
      const config = await discover(app.clientId, client.ClientSecretPost(app.clientSecret!));
      const { tokens } = await signIn(config);
      const info = await client.fetchUserInfo(config, tokens.access_token, user.id);
      const sent = lastRequestTo("/oauth2/v2/user_profile");
      assert.equal(sent.headers.authorization, `Bearer ${tokens.access_token}`);
      assert.equal(info.sub, user.id);
      assert.equal(info.email, user.email);
      assert.equal(info.email_verified, true);
      assert.equal(info.given_name, "Ada");
      assert.equal(info.family_name, "Lovelace");
      assert.equal(info.name, "Ada Lovelace");

      // openid-client refuses a response about someone else (OIDC Core §5.3.2).
      await assert.rejects(client.fetchUserInfo(config, tokens.access_token, "someone-else"));
      // An ID token is not an access token.
      await rejectsWithBearerChallenge(
        client.fetchUserInfo(config, tokens.id_token!, client.skipSubjectCheck),
        "invalid_token",
      );
    });

    it("introspects fresh tokens as active and a revoked access token as inactive", async () => {
      const app = await createApplication(server, "reg");
      const config = await discover(app.clientId, client.ClientSecretBasic(app.clientSecret!));
      const { tokens } = await signIn(config);
      const now = Math.floor(Date.now() / 1000);

      const access = await client.tokenIntrospection(config, tokens.access_token);
      assert.equal(lastRequestTo("/oauth2/introspect").body.get("token"), tokens.access_token);
      assert.equal(access.active, true);
      assert.equal(access.sub, user.id);
      assert.equal(access.client_id, app.clientId);
      assert.equal(access.scope, USER_SCOPE);
      assert.equal(access.iss, server.url);
      assert.equal(access.jti, (await accessTokenClaims(tokens.access_token)).jti);
      assert.ok(access.exp! > now);

      const refresh = await client.tokenIntrospection(config, tokens.refresh_token!, {
        token_type_hint: "refresh_token",
      });
      assert.equal(refresh.active, true);
      assert.equal(refresh.sub, user.id);
      assert.equal(refresh.client_id, app.clientId);
      assert.equal(refresh.scope, USER_SCOPE);

      assert.equal((await client.tokenIntrospection(config, "not-a-token")).active, false);

      await client.tokenRevocation(config, tokens.access_token, { token_type_hint: "access_token" });
      const revoke = lastRequestTo("/oauth2/revoke");
      assert.equal(revoke.body.get("token"), tokens.access_token);
      assert.match(revoke.headers.authorization ?? "", /^Basic /);
      assert.deepEqual(await client.tokenIntrospection(config, tokens.access_token), { active: false });
      await rejectsWithBearerChallenge(
        client.fetchUserInfo(config, tokens.access_token, user.id),
        "invalid_token",
      );
    });

    it("revoking a refresh token ends the grant and its access tokens (RFC 7009 §2.1)", async () => {
      const app = await createApplication(server, "reg");
      const config = await discover(app.clientId, client.ClientSecretPost(app.clientSecret!));
      const { tokens } = await signIn(config);
      assert.equal((await client.fetchUserInfo(config, tokens.access_token, user.id)).sub, user.id);

      await client.tokenRevocation(config, tokens.refresh_token!, { token_type_hint: "refresh_token" });
      assert.equal((await client.tokenIntrospection(config, tokens.refresh_token!)).active, false);
      await rejectsWithOAuthError(client.refreshTokenGrant(config, tokens.refresh_token!), "invalid_grant");
      assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, false);
      await rejectsWithBearerChallenge(
        client.fetchUserInfo(config, tokens.access_token, user.id),
        "invalid_token",
      );

      // Revoking again, or revoking an unknown token, still succeeds (§2.2).
      await client.tokenRevocation(config, tokens.refresh_token!);
      await client.tokenRevocation(config, "no-such-token");
    });

    it("a public client revokes its own refresh token", async () => {
      const app = await createApplication(server, "spa");
      const config = await discover(app.clientId, client.None());
      const { tokens } = await signIn(config, { pkce: true });
      await client.tokenRevocation(config, tokens.refresh_token!);
      const sent = lastRequestTo("/oauth2/revoke");
      assert.equal(sent.body.get("client_id"), app.clientId);
      assert.equal(sent.headers.authorization, undefined);
      await rejectsWithOAuthError(client.refreshTokenGrant(config, tokens.refresh_token!), "invalid_grant");
    });

    it("introspects and revokes a machine access token", async () => {
      const app = await createApplication(server, "m2m");
      const audience = `https://reports-${randomBytes(4).toString("hex")}.example.com`;
      await createApi(server, {
        audience,
        scopes: ["read:reports"],
        grant: { [app.clientId]: ["read:reports"] },
      });
      const config = await discover(app.clientId, client.ClientSecretPost(app.clientSecret!));
      const { access_token } = await client.clientCredentialsGrant(config, { audience });

      const active = await client.tokenIntrospection(config, access_token);
      assert.equal(active.active, true);
      assert.equal(active.client_id, app.clientId);
      assert.equal(active.scope, "read:reports");
      assert.deepEqual(active.aud, [audience]);

      await client.tokenRevocation(config, access_token);
      assert.deepEqual(await client.tokenIntrospection(config, access_token), { active: false });
    });
  });
}
