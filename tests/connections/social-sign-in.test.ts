// Signing in through Kinde's social strategies (issue 17, "Provider specifics"), on SQLite and
// PostgreSQL, against one programmable local provider that behaves like each real one, reached
// through CONNECTION_PROVIDERS_FILE's endpoint overrides (with CONNECTED_APPS_ALLOW_PRIVATE_NETWORKS
// for loopback):
// - oauth2:google: OpenID discovery; email_verified from the ID token decides.
// - oauth2:microsoft / oauth2:azure_ad: Entra ID v2's multi-tenant issuer template with a `tid`
//   check; entra_id_domain resolved to its tenant; `email` never counted as verified.
// - oauth2:github: no ID token; /user and /user/emails (primary AND verified only); token errors
//   inside HTTP 200; the token request asks for JSON.
// - oauth2:apple: ES256 client-secret JWT checked by the provider; response_mode=form_post; the
//   name only in the first answer's `user` field; email_verified as the string "true".
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import {
  decodeProtectedHeader,
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  importSPKI,
  jwtVerify,
  SignJWT,
} from "jose";
import { ExternalIdentitiesStore } from "../../src/users/external-identities.store.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";

type Json = Record<string, unknown>;

const TENANT_A = "11111111-2222-4333-8444-555555555555";
const TENANT_B = "99999999-8888-4777-8666-555555555555";
const APPLE_TEAM = "TEAM123456";
const APPLE_KEY = "KEY1234567";

/** What the provider's next answers say; the test sets it before each sign-in. */
interface Behaviour {
  sub?: string;
  email?: string;
  emailVerified?: unknown;
  tid?: string;
  givenName?: string;
  /** GitHub's /user/emails answer. */
  githubEmails?: Json[];
  githubId?: number;
}

interface Programmable {
  origin: string;
  behaviour: Behaviour;
  /** The last token request: headers and form. */
  lastToken?: { headers: IncomingMessage["headers"]; form: URLSearchParams };
  /** The Apple client secret's verified claims and header, or the reason it was refused. */
  appleSecret?: { payload: Json; kid: string | undefined } | { refused: string };
  appleKeyPem: string;
  close(): Promise<void>;
}

/**
 * One local server standing in for Google (/google), Entra ID (/ms/{tenant}/v2.0), GitHub (/github)
 * and Apple (/apple). Codes remember the authorization request's nonce and client.
 */
async function startProgrammable(): Promise<Programmable> {
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  const apple = await generateKeyPair("ES256", { extractable: true });
  const applePublic = await importSPKI(
    (await import("node:crypto"))
      .createPublicKey(await exportPKCS8(apple.privateKey))
      .export({ type: "spki", format: "pem" })
      .toString(),
    "ES256",
  );
  const codes = new Map<string, { nonce: string; clientId: string }>();
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const origin = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  const p: Programmable = {
    origin,
    behaviour: {},
    appleKeyPem: await exportPKCS8(apple.privateKey),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const json = (response: ServerResponse, status: number, body: unknown) =>
    response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  const discovery = (issuer: string, base: string, extra: Json = {}) => ({
    issuer,
    authorization_endpoint: `${base}/authorize`,
    token_endpoint: `${base}/token`,
    jwks_uri: `${origin}/jwks`,
    response_types_supported: ["code"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256"],
    ...extra,
  });
  const idToken = async (issuer: string, code: { nonce: string; clientId: string }, claims: Json) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ nonce: code.nonce, ...claims })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer(issuer)
      .setSubject(p.behaviour.sub ?? "person-1")
      .setAudience(code.clientId)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(privateKey);
  };
  server.on("request", async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", origin);
    const b = p.behaviour;
    const route = url.pathname;
    if (route === "/jwks") return json(response, 200, { keys: [jwk] });
    if (route === "/google/.well-known/openid-configuration")
      return json(response, 200, discovery(`${origin}/google`, `${origin}/google`));
    if (route === "/apple/.well-known/openid-configuration")
      return json(
        response,
        200,
        discovery(`${origin}/apple`, `${origin}/apple`, {
          token_endpoint_auth_methods_supported: ["client_secret_post"],
        }),
      );
    // Entra ID: the common endpoint names the template; a tenant (by id or by domain) its own id.
    const ms = /^\/ms\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(route);
    if (ms) {
      const segment = ms[1]!;
      const tenant = segment === "contoso.test" ? TENANT_A : segment;
      const issuer = segment === "common" ? `${origin}/ms/{tenantid}/v2.0` : `${origin}/ms/${tenant}/v2.0`;
      return json(response, 200, discovery(issuer, `${origin}/ms/${segment}/oauth2/v2.0`));
    }
    if (/\/authorize$/.test(route)) {
      const code = `code-${Math.random().toString(16).slice(2)}`;
      codes.set(code, {
        nonce: url.searchParams.get("nonce") ?? "",
        clientId: url.searchParams.get("client_id") ?? "",
      });
      const back = new URL(url.searchParams.get("redirect_uri")!);
      back.searchParams.set("code", code);
      back.searchParams.set("state", url.searchParams.get("state") ?? "");
      return response.writeHead(302, { location: back.href }).end();
    }
    if (/\/(token|access_token)$/.test(route)) {
      let raw = "";
      for await (const chunk of request) raw += chunk;
      const form = new URLSearchParams(raw);
      p.lastToken = { headers: request.headers, form };
      const code = codes.get(form.get("code") ?? "");
      codes.delete(form.get("code") ?? "");
      if (route.startsWith("/github/")) {
        // GitHub: a bad code is an error inside a 200.
        if (!code) return json(response, 200, { error: "bad_verification_code" });
        return json(response, 200, { access_token: "gho_token", token_type: "bearer", scope: "user:email" });
      }
      if (!code) return json(response, 400, { error: "invalid_grant" });
      const common = { email: b.email, email_verified: b.emailVerified };
      if (route.startsWith("/google/"))
        return json(response, 200, {
          access_token: "at",
          token_type: "Bearer",
          id_token: await idToken(`${origin}/google`, code, { ...common, given_name: b.givenName }),
        });
      if (route.startsWith("/ms/")) {
        const tid = b.tid ?? TENANT_A;
        return json(response, 200, {
          access_token: "at",
          token_type: "Bearer",
          id_token: await idToken(`${origin}/ms/${tid}/v2.0`, code, { ...common, tid }),
        });
      }
      if (route.startsWith("/apple/")) {
        // Apple checks its client secret: an ES256 JWT by the team's key.
        try {
          const secret = form.get("client_secret") ?? "";
          const { payload } = await jwtVerify(secret, applePublic, {
            algorithms: ["ES256"],
            issuer: APPLE_TEAM,
            audience: `${origin}/apple`,
            subject: code.clientId,
          });
          p.appleSecret = { payload: payload as Json, kid: decodeProtectedHeader(secret).kid };
        } catch (error) {
          p.appleSecret = { refused: String(error) };
          return json(response, 400, { error: "invalid_client" });
        }
        return json(response, 200, {
          access_token: "at",
          token_type: "Bearer",
          id_token: await idToken(`${origin}/apple`, code, { ...common, is_private_email: "false" }),
        });
      }
    }
    if (route === "/github/user") {
      if (request.headers.authorization !== "Bearer gho_token") return json(response, 401, {});
      return json(response, 200, {
        id: b.githubId ?? 583231,
        login: "octocat",
        name: "The Octocat",
        avatar_url: "https://avatars.example/octocat.png",
        // The public profile address: typed by the user, never verified by GitHub.
        email: "public-profile@github.test",
      });
    }
    if (route === "/github/user/emails") return json(response, 200, b.githubEmails ?? []);
    response.writeHead(404).end();
  });
  return p;
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`signing in through Kinde's social strategies (${kind})`, { skip }, () => {
    let server: TestServer;
    let provider: Programmable;
    let app: { clientId: string };
    let dir: string;

    before(async () => {
      provider = await startProgrammable();
      dir = mkdtempSync(path.join(tmpdir(), "latchkey-providers-"));
      const file = path.join(dir, "providers.json");
      const o = provider.origin;
      writeFileSync(
        file,
        JSON.stringify({
          "oauth2:google": { issuer: `${o}/google` },
          "oauth2:microsoft": { microsoftAuthority: `${o}/ms` },
          "oauth2:azure_ad": { microsoftAuthority: `${o}/ms` },
          "oauth2:apple": { issuer: `${o}/apple` },
          "oauth2:github": {
            authorizationUrl: `${o}/github/login/oauth/authorize`,
            tokenUrl: `${o}/github/login/oauth/access_token`,
            userUrl: `${o}/github/user`,
            emailsUrl: `${o}/github/user/emails`,
          },
        }),
      );
      server = await startTestServer(kind, {
        env: { CONNECTED_APPS_ALLOW_PRIVATE_NETWORKS: "true", CONNECTION_PROVIDERS_FILE: file },
      });
      app = await createApplication(server, "spa");
    });
    after(async () => {
      await server?.close();
      await provider?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const connect = async (strategy: string, options: Json = {}) =>
      (
        await server.services.connections.create({
          name: `${strategy.slice(7)}-${Math.random().toString(16).slice(2, 10)}`,
          displayName: strategy,
          strategy,
          options: {
            client_id: `client-of-${strategy}`,
            client_secret: "s3cret",
            is_trusted: true,
            ...options,
          },
          enabledApplications: [app.clientId],
        })
      ).id;

    /** Latchkey's start route → the provider's authorization URL. */
    const toProvider = async (agent: UserAgent, connectionId: string): Promise<URL> => {
      let next = authorizationUrl(server, app.clientId, CALLBACK, { connection_id: connectionId });
      for (let hop = 0; hop < 3 && next.origin === new URL(server.url).origin; hop++)
        next = await agent.redirectFrom(next);
      return next;
    };

    /** A whole sign-in; returns the provider's authorization URL and Latchkey's final answer. */
    const signIn = async (connectionId: string) => {
      const agent = new UserAgent(server.url);
      const at = await toProvider(agent, connectionId);
      const back = await agent.redirectFrom(at);
      const response = await agent.request(back);
      return { at, response, body: await response.text() };
    };

    const signedIn = (response: Response) =>
      response.status === 303 &&
      new URL(response.headers.get("location") ?? "/", server.url).origin === new URL(CALLBACK).origin;

    const identity = (connectionId: string, subject: string) =>
      new ExternalIdentitiesStore(server.storage.db).bySubject(connectionId, subject);

    it("oauth2:google: discovery, nonce and PKCE; a verified address makes a verified account, an unverified one links nothing", async () => {
      const id = await connect("oauth2:google");
      provider.behaviour = { sub: "g-1", email: "new-g@gmail.test", emailVerified: true, givenName: "Gia" };
      const first = await signIn(id);
      assert.equal(first.at.pathname, "/google/authorize");
      assert.equal(first.at.searchParams.get("scope"), "openid profile email");
      assert.equal(first.at.searchParams.get("code_challenge_method"), "S256");
      assert.ok(first.at.searchParams.get("nonce"));
      assert.ok(signedIn(first.response), first.body.slice(0, 300));
      const user = (await server.services.users.store.findByEmail("new-g@gmail.test"))!;
      assert.equal(user.email_verified, 1);
      assert.equal(user.given_name, "Gia");
      assert.equal((await identity(id, "g-1"))?.user_id, user.id);

      // Google says the address is not verified: an existing account with it is not linked.
      const existing = await createUser(server, { email: "owner-g@gmail.test" });
      provider.behaviour = { sub: "g-2", email: "owner-g@gmail.test", emailVerified: false };
      const second = await signIn(id);
      assert.ok(!signedIn(second.response), "an unverified address signs nobody in to its account");
      const linked = await identity(id, "g-2");
      assert.ok(!linked || linked.user_id !== existing.id, "never linked to the address's account");
    });

    it("oauth2:microsoft: the tenant template accepts any tenant's iss, and Microsoft's email never counts as verified", async () => {
      const id = await connect("oauth2:microsoft");
      provider.behaviour = { sub: "ms-1", email: "ms-new@contoso.test", emailVerified: true, tid: TENANT_B };
      const first = await signIn(id);
      assert.equal(first.at.pathname, "/ms/common/oauth2/v2.0/authorize");
      assert.equal(first.at.searchParams.get("response_mode"), "query");
      assert.ok(signedIn(first.response), first.body.slice(0, 300));
      const row = await identity(id, "ms-1");
      assert.ok(row);
      assert.equal(row.email_verified_by_provider, 0, "email_verified: true in the token is not believed");
      const user = (await server.services.users.store.findById(row.user_id))!;
      assert.notEqual(user.email_verified, 1);

      // nOAuth: a tenant's administrator sets someone else's address on an account of theirs.
      const victim = await createUser(server, { email: "victim@contoso.test" });
      provider.behaviour = { sub: "ms-2", email: "victim@contoso.test", emailVerified: true, tid: TENANT_B };
      const takeover = await signIn(id);
      assert.ok(!signedIn(takeover.response));
      const attacker = await identity(id, "ms-2");
      assert.ok(!attacker || attacker.user_id !== victim.id, "never linked by Microsoft's email");
    });

    it("oauth2:azure_ad: entra_id_domain resolves to its tenant; another tenant's token is refused, also through the common endpoint", async () => {
      const single = await connect("oauth2:azure_ad", { entra_id_domain: "contoso.test" });
      provider.behaviour = { sub: "aad-1", email: "aad-1@contoso.test", tid: TENANT_A };
      const ok = await signIn(single);
      assert.equal(ok.at.pathname, `/ms/${TENANT_A}/oauth2/v2.0/authorize`);
      assert.ok(signedIn(ok.response), ok.body.slice(0, 300));

      provider.behaviour = { sub: "aad-2", email: "aad-2@fabrikam.test", tid: TENANT_B };
      const foreign = await signIn(single);
      assert.equal(foreign.response.status, 400);
      assert.match(foreign.body, /could not be verified/);
      assert.equal(await identity(single, "aad-2"), undefined);

      const commonWithDomain = await connect("oauth2:azure_ad", {
        entra_id_domain: "contoso.test",
        is_use_common_endpoint: true,
      });
      const viaCommon = await signIn(commonWithDomain);
      assert.equal(viaCommon.at.pathname, "/ms/common/oauth2/v2.0/authorize");
      assert.equal(
        viaCommon.response.status,
        400,
        "the common endpoint still only admits the domain's tenant",
      );
      assert.equal(await identity(commonWithDomain, "aad-2"), undefined);

      const anyTenant = await connect("oauth2:azure_ad", { is_use_common_endpoint: true });
      const any = await signIn(anyTenant);
      assert.ok(signedIn(any.response), any.body.slice(0, 300));
    });

    it("oauth2:github: the profile from /user, the address only if primary and verified, token errors inside a 200", async () => {
      const id = await connect("oauth2:github");
      // A verified address that is not primary and a primary one not verified: no address at all.
      provider.behaviour = {
        githubId: 1001,
        githubEmails: [
          { email: "secondary@github.test", primary: false, verified: true },
          { email: "primary-unverified@github.test", primary: true, verified: false },
        ],
      };
      const first = await signIn(id);
      assert.equal(first.at.pathname, "/github/login/oauth/authorize");
      assert.equal(first.at.searchParams.get("scope"), "read:user user:email");
      assert.ok(signedIn(first.response), first.body.slice(0, 300));
      assert.equal(provider.lastToken?.headers.accept, "application/json");
      assert.equal(provider.lastToken?.form.get("client_id"), "client-of-oauth2:github");
      const row = (await identity(id, "1001"))!;
      assert.equal(row.email, null, "neither the public profile address nor a non-primary one");
      const user = (await server.services.users.store.findById(row.user_id))!;
      assert.equal(user.email, null);
      const claims = JSON.parse(row.claims) as Json;
      assert.equal(claims.preferred_username, "octocat");
      assert.equal(claims.name, "The Octocat");

      provider.behaviour = {
        githubId: 1002,
        githubEmails: [{ email: "octo@github.test", primary: true, verified: true }],
      };
      const second = await signIn(id);
      assert.ok(signedIn(second.response), second.body.slice(0, 300));
      assert.equal((await identity(id, "1002"))?.email, "octo@github.test");
      assert.equal((await server.services.users.store.findByEmail("octo@github.test"))?.email_verified, 1);

      // A code GitHub does not know: {"error": …} with HTTP 200 is a refusal, not tokens.
      const agent = new UserAgent(server.url);
      const at = await toProvider(agent, id);
      const back = new URL(at.searchParams.get("redirect_uri")!);
      back.searchParams.set("code", "not-a-code");
      back.searchParams.set("state", at.searchParams.get("state")!);
      const refused = await agent.request(back);
      assert.equal(refused.status, 400);
      assert.match(await refused.text(), /could not be verified/);
    });

    it("oauth2:apple: a signed ES256 client secret, form_post, the name from the first answer only, email_verified as text", async () => {
      const id = await connect("oauth2:apple", {
        client_id: "com.example.web",
        client_secret: provider.appleKeyPem,
        apple_team_id: APPLE_TEAM,
        apple_key_id: APPLE_KEY,
      });
      const viaFormPost = async (user?: Json) => {
        const agent = new UserAgent(server.url);
        const at = await toProvider(agent, id);
        assert.equal(at.searchParams.get("response_mode"), "form_post");
        assert.equal(at.searchParams.get("scope"), "name email");
        const back = await agent.redirectFrom(at);
        // Apple's page posts the answer to the callback from its own origin.
        const form = new URLSearchParams(back.searchParams);
        if (user) form.set("user", JSON.stringify(user));
        const posted = await agent.request("/auth/connections/callback", {
          method: "POST",
          headers: { "sec-fetch-site": "cross-site", "content-type": "application/x-www-form-urlencoded" },
          body: form,
        });
        assert.equal(posted.status, 303);
        return agent.request(new URL(posted.headers.get("location")!, server.url));
      };
      provider.behaviour = {
        sub: "001234.apple",
        email: "hidden@privaterelay.appleid.test",
        emailVerified: "true",
      };
      const first = await viaFormPost({ name: { firstName: "Ana", lastName: "Apfel" }, email: "x" });
      assert.ok(signedIn(first), (await first.text()).slice(0, 300));
      assert.ok(
        provider.appleSecret && "payload" in provider.appleSecret,
        JSON.stringify(provider.appleSecret),
      );
      assert.equal(provider.appleSecret.kid, APPLE_KEY);
      const { exp, iat } = provider.appleSecret.payload as { exp: number; iat: number };
      assert.ok(exp - iat <= 600, "a short-lived secret per request");
      const user = (await server.services.users.store.findByEmail("hidden@privaterelay.appleid.test"))!;
      assert.equal(user.given_name, "Ana");
      assert.equal(user.family_name, "Apfel");
      assert.equal(user.email_verified, 1, 'email_verified "true" counts');

      // Later sign-ins carry no `user`: the same account, its name kept.
      const second = await viaFormPost();
      assert.ok(signedIn(second));
      const again = (await server.services.users.store.findById(user.id))!;
      assert.equal(again.given_name, "Ana");
      assert.equal((await identity(id, "001234.apple"))?.total_logins, 2);

      // A wrong key: Apple refuses the secret, and nobody is signed in.
      const other = await generateKeyPair("ES256", { extractable: true });
      await server.services.connections.update(id, {
        options: { client_secret: await exportPKCS8(other.privateKey) },
      });
      const refused = await viaFormPost();
      assert.equal(refused.status, 400);
      assert.ok(provider.appleSecret && "refused" in provider.appleSecret);
    });

    it("a strategy not built yet offers no button and says so", async () => {
      const id = await connect("oauth2:stripe");
      const agent = new UserAgent(server.url);
      const page = await agent.redirectFrom(authorizationUrl(server, app.clientId, CALLBACK));
      assert.doesNotMatch(await (await agent.request(page)).text(), new RegExp(`/auth/connections/${id}`));
      const direct = await agent.redirectFrom(
        authorizationUrl(server, app.clientId, CALLBACK, { connection_id: id }),
      );
      const response = await agent.request(direct);
      assert.equal(response.status, 400);
      assert.match(await response.text(), /Signing in with oauth2:stripe is not supported yet/);
    });
  });
}
