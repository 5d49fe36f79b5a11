// No secret in logs (security.md §3.1 guarantee 11, ASVS 7.1): a `latchkey start` child process at
// LOG_LEVEL=trace goes through a full run — bootstrap, sign-up, a failed and a good sign-in, code
// flows with PKCE (client_secret_post and Basic), e-mail codes over SMTP with a password (sign-up
// verification, a password reset), refresh, revoke, introspection, userinfo, the
// Management API (tokens in the header and, refused, in the query string; secrets created and
// rotated; Idempotency-Key replays), a connected app against a real provider (code, access and
// refresh tokens, a refresh and a revocation) and logout — then every secret the run used or saw
// is searched for in everything the process wrote, raw and in the encodings a logger might use.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { randomAlphanumeric } from "../../src/crypto/random.js";
import { databaseKinds, freshDatabase } from "../helpers/databases.js";
import { CALLBACK } from "../helpers/fixtures.js";
import { type OidcProviderHandle, startOidcProvider } from "../helpers/oauth-provider.js";
import { type CliProcess, runCli } from "../helpers/process.js";
import { freePort } from "../helpers/server.js";
import { type SmtpPeer, startSmtpPeer } from "../helpers/smtp.js";
import { UserAgent } from "../helpers/user-agent.js";
import { basic, form, pkce, type Reply, send } from "./support.js";

const children: CliProcess[] = [];
const dirs: string[] = [];
after(() => {
  for (const child of children) child.kill("SIGKILL");
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

for (const { kind, skip } of await databaseKinds()) {
  describe(`no secret in the logs (${kind})`, { skip }, () => {
    let provider: OidcProviderHandle | undefined;
    let smtp: SmtpPeer | undefined;
    after(async () => {
      await provider?.close();
      await smtp?.close();
    });

    it("a full run at LOG_LEVEL=trace logs none of the secrets it used", async (t) => {
      const database = (await freshDatabase(kind))!;
      const dataDir = mkdtempSync(path.join(tmpdir(), "latchkey-secrets-"));
      dirs.push(dataDir);
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      provider = await startOidcProvider({
        redirectUri: `${url}/connected_apps/callback`,
        accessTokenTtlSeconds: 2,
      });
      const secrets = new Map<string, string>();
      const keep = (name: string, value: string | undefined | null) => {
        if (value) secrets.set(`${name}#${secrets.size}`, value);
        return value ?? "";
      };
      const smtpPassword = keep("SMTP password", randomAlphanumeric(24));
      smtp = await startSmtpPeer({ tls: "none", auth: { user: "latchkey", pass: smtpPassword } });
      const masterKey = randomBytes(32);
      keep("master key (base64)", masterKey.toString("base64"));
      keep("master key (hex)", masterKey.toString("hex"));
      const m2m = {
        clientId: randomBytes(16).toString("hex"),
        clientSecret: keep("bootstrap M2M secret", randomAlphanumeric(52)),
      };
      const adminPassword = keep("bootstrap admin password", `Adm1n-${randomBytes(12).toString("hex")}`);
      keep("provider client secret", provider.clientSecret);

      const child = runCli(["start"], {
        env: {
          PORT: String(port),
          HOST: "127.0.0.1",
          ISSUER_URL: url,
          DATABASE_URL:
            database.target.kind === "sqlite" ? `sqlite:${database.target.path}` : database.target.url,
          DATA_DIR: dataDir,
          LATCHKEY_MASTER_KEY: masterKey.toString("base64"),
          BOOTSTRAP_M2M_CLIENT_ID: m2m.clientId,
          BOOTSTRAP_M2M_CLIENT_SECRET: m2m.clientSecret,
          BOOTSTRAP_ADMIN_EMAIL: "admin@example.com",
          BOOTSTRAP_ADMIN_PASSWORD: adminPassword,
          CONNECTED_APPS_ALLOW_PRIVATE_NETWORKS: "true",
          MANAGEMENT_API_RATE_LIMIT: "0",
          LOG_LEVEL: "trace",
          EMAIL_VERIFICATION: "required",
          SMTP_URL: `smtp://latchkey:${smtpPassword}@127.0.0.1:${smtp.port}`,
          SMTP_ALLOW_INSECURE: "true",
        },
      });
      children.push(child);
      try {
        await child.waitFor(/Latchkey is listening/, 60_000);
        const post = (
          target: string,
          fields: Record<string, string>,
          headers: Record<string, string> = {},
        ) => {
          const init = form(fields);
          return send(`${url}${target}`, { ...init, headers: { ...init.headers, ...headers } });
        };
        const json = (reply: Reply) => reply.json as Record<string, string>;

        // Management API token, then JSON calls.
        const managementToken = keep(
          "management token",
          json(
            await post("/oauth2/token", {
              grant_type: "client_credentials",
              client_id: m2m.clientId,
              client_secret: m2m.clientSecret,
              audience: `${url}/api`,
            }),
          ).access_token,
        );
        const api = async (
          method: string,
          target: string,
          body?: unknown,
          headers: Record<string, string> = {},
        ) => {
          const reply = await send(`${url}${target}`, {
            method,
            headers: {
              authorization: `Bearer ${managementToken}`,
              ...(body === undefined ? {} : { "content-type": "application/json" }),
              ...headers,
            },
            body: body === undefined ? undefined : JSON.stringify(body),
          });
          assert.ok(reply.status < 500, `${method} ${target}: ${reply.status} ${reply.text}`);
          return reply.json as Record<string, Record<string, string>> & Record<string, string>;
        };
        const spa = (await api("POST", "/api/v1/applications", { name: "Logs SPA", type: "spa" }))
          .application!.client_id!;
        await api("POST", `/api/v1/applications/${spa}/auth_redirect_urls`, { urls: [CALLBACK] });
        const createdReg = await api(
          "POST",
          "/api/v1/applications",
          { name: "Logs web", type: "reg" },
          { "idempotency-key": "logs-reg" },
        );
        const reg = createdReg.application!.client_id!;
        keep("created client secret", createdReg.application!.client_secret);
        // The replay returns the sealed secret again: it must not be logged either.
        await api(
          "POST",
          "/api/v1/applications",
          { name: "Logs web", type: "reg" },
          { "idempotency-key": "logs-reg" },
        );
        await api("POST", `/api/v1/applications/${reg}/auth_redirect_urls`, { urls: [CALLBACK] });
        const rotated = await api("POST", `/api/v1/applications/${reg}/rotate_secret`);
        const regSecret = keep(
          "rotated client secret",
          rotated.client_secret ?? rotated.application?.client_secret,
        );
        const shown = await api("GET", `/api/v1/applications/${reg}`);
        keep("client secret read back", shown.application?.client_secret);
        const apiUser = await api("POST", "/api/v1/user", {
          profile: { given_name: "Log", family_name: "Test" },
          identities: [{ type: "email", details: { email: "api-user@example.com" } }],
        });
        const apiUserId = (apiUser.id as unknown as string) ?? apiUser.user?.id;
        const importedPassword = keep("imported password", `Imp0rted-${randomBytes(8).toString("hex")}`);
        if (apiUserId)
          await api("PUT", `/api/v1/users/${apiUserId}/password`, { password: importedPassword });
        // A token in the query string is refused, and must not be logged from the URL.
        await send(`${url}/api/v1/users?access_token=${managementToken}`);
        await send(`${url}/oauth2/v2/user_profile?access_token=${managementToken}`);

        // Sign-up, a failed sign-in, a good sign-in; code flows for a public and a confidential client.
        const email = `logs-${randomBytes(4).toString("hex")}@example.com`;
        const password = keep("user password", `Pw-${randomBytes(12).toString("hex")}`);
        const wrongPassword = keep("wrong password", `Wrong-${randomBytes(12).toString("hex")}`);
        const authorizeUrl = (clientId: string, challenge: string, extra: Record<string, string> = {}) => {
          const target = new URL("/oauth2/auth", url);
          target.search = new URLSearchParams({
            response_type: "code",
            client_id: clientId,
            redirect_uri: CALLBACK,
            scope: "openid profile email offline",
            code_challenge: challenge,
            code_challenge_method: "S256",
            ...extra,
          }).toString();
          return target;
        };
        const browser = new UserAgent(url);
        const signUp = pkce();
        keep("code verifier", signUp.verifier);
        // Sign-up, then the verification code that arrives by mail (SMTP with a password).
        const start = await browser.redirectFrom(authorizeUrl(spa, signUp.challenge, { prompt: "create" }));
        const signUpForm = await browser.openForm(new URL(`/auth/sign-up${start.search}`, url));
        const formPost = (target: string, fields: Record<string, string>) =>
          browser.request(target, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams(fields),
          });
        const codePage = await formPost("/auth/sign-up", { ...signUpForm, email, password });
        assert.equal(codePage.status, 200, (await codePage.text()).slice(0, 300));
        await smtp.waitFor(1, 15_000);
        const mailed = keep("e-mail verification code", /\b(\d{6})\b/.exec(smtp.received[0]!.text)![1]);
        const verified = await formPost("/auth/verify-email", { ...signUpForm, code: mailed });
        assert.equal(verified.status, 303);
        const firstCallback = new URL(verified.headers.get("location")!);
        keep("session cookie", browser.cookie("latchkey_session"));
        keep("CSRF token", browser.cookie("latchkey_csrf"));
        const code = keep("authorization code", firstCallback.searchParams.get("code"));
        const tokens = json(
          await post("/oauth2/token", {
            grant_type: "authorization_code",
            client_id: spa,
            code,
            redirect_uri: CALLBACK,
            code_verifier: signUp.verifier,
          }),
        );
        keep("access token", tokens.access_token);
        keep("refresh token", tokens.refresh_token);
        keep("ID token", tokens.id_token);
        // A reused code (logged as an attack) must not log the code either.
        await post("/oauth2/token", {
          grant_type: "authorization_code",
          client_id: spa,
          code,
          redirect_uri: CALLBACK,
          code_verifier: signUp.verifier,
        });

        const other = new UserAgent(url);
        const failed = await other.redirectFrom(authorizeUrl(spa, pkce().challenge));
        const hidden = await other.openForm(new URL(`/auth/sign-in${failed.search}`, url));
        await other.request("/auth/sign-in", {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ ...hidden, email, password: wrongPassword }),
        });
        const confidential = pkce();
        keep("code verifier", confidential.verifier);
        const regCallback = await other.authorize(authorizeUrl(reg, confidential.challenge), {
          email,
          password,
        });
        keep("session cookie", other.cookie("latchkey_session"));
        const regCode = keep("authorization code", regCallback.searchParams.get("code"));
        const regTokens = json(
          await post(
            "/oauth2/token",
            {
              grant_type: "authorization_code",
              code: regCode,
              redirect_uri: CALLBACK,
              code_verifier: confidential.verifier,
            },
            { authorization: basic(reg, regSecret) },
          ),
        );
        keep("access token", regTokens.access_token);
        keep("refresh token", regTokens.refresh_token);
        keep("ID token", regTokens.id_token);
        const refreshed = json(
          await post("/oauth2/token", {
            grant_type: "refresh_token",
            client_id: spa,
            refresh_token: tokens.refresh_token!,
          }),
        );
        keep("refreshed access token", refreshed.access_token);
        keep("refreshed refresh token", refreshed.refresh_token);
        // A reused refresh token (reuse detection) and a wrong client secret.
        await post("/oauth2/token", {
          grant_type: "refresh_token",
          client_id: spa,
          refresh_token: tokens.refresh_token!,
        });
        await post("/oauth2/token", {
          grant_type: "client_credentials",
          client_id: reg,
          client_secret: `${regSecret}x`,
        });
        await send(`${url}/oauth2/v2/user_profile`, {
          headers: { authorization: `Bearer ${regTokens.access_token}` },
        });
        await post(
          "/oauth2/introspect",
          { token: regTokens.access_token! },
          { authorization: basic(m2m.clientId, m2m.clientSecret) },
        );
        await post(
          "/oauth2/revoke",
          { token: regTokens.refresh_token! },
          { authorization: basic(reg, regSecret) },
        );

        // A connected app against a real provider: code, tokens, a refresh, a revocation.
        await api("POST", "/api/v1/connected_apps", {
          key_code_ref: "drive",
          provider: "oauth2",
          name: "Drive",
          client_id: provider.clientId,
          client_secret: provider.clientSecret,
          callback_url: "https://app.example.com/connected",
          scopes: ["openid", "offline_access", "read"],
          settings: {
            authorization_url: provider.authorizationEndpoint,
            token_url: provider.tokenEndpoint,
            revocation_url: provider.revocationEndpoint,
            client_auth: "basic",
          },
        });
        // (The refreshed tokens died with the reuse above: the user id comes from the ID token.)
        const userId = (
          JSON.parse(Buffer.from(tokens.id_token!.split(".")[1]!, "base64url").toString()) as { sub: string }
        ).sub;
        const link = await api("GET", `/api/v1/connected_apps/auth_url?key_code_ref=drive&user_id=${userId}`);
        assert.ok(link.url, `auth_url: ${JSON.stringify(link)} user ${userId}`);
        keep("connected-app link token", new URL(link.url!).searchParams.get("token"));
        keep("connected-app session id", link.session_id);
        const toProvider = await browser.redirectFrom(link.url!);
        const back = await provider.authorize(toProvider);
        keep("provider code", back.searchParams.get("code"));
        await browser.redirectFrom(back);
        const sessionId = link.session_id!;
        const providerToken = await api(
          "GET",
          `/api/v1/connected_apps/token?session_id=${encodeURIComponent(sessionId)}`,
        );
        keep("provider access token", providerToken.access_token);
        await new Promise((resolve) => setTimeout(resolve, 2500));
        const providerRefreshed = await api(
          "GET",
          `/api/v1/connected_apps/token?session_id=${encodeURIComponent(sessionId)}`,
        );
        keep("provider refreshed access token", providerRefreshed.access_token);
        for (const refreshToken of provider.stats.refreshTokensPresented.keys())
          keep("provider refresh token", refreshToken);
        await api("POST", `/api/v1/connected_apps/revoke?session_id=${encodeURIComponent(sessionId)}`);
        for (const revocation of provider.stats.revocations) keep("provider revoked token", revocation.token);

        await browser.request("/logout", { headers: { "sec-fetch-site": "same-origin" } });
        assert.ok(provider.stats.refreshTokensPresented.size > 0, "the provider token was refreshed");
      } finally {
        child.kill("SIGTERM");
        await child.exited;
        await database.drop();
      }

      const output = child.output();
      const lines = output.split("\n").filter(Boolean).length;
      t.diagnostic(`${lines} log lines, ${secrets.size} secrets searched`);
      assert.ok(lines > 50, "trace logging produced a real log");
      const leaks: string[] = [];
      for (const [name, value] of secrets) {
        // Long secrets are searched by their tail too (a logger may truncate; a JWT's head is shared).
        const forms = new Set([value, encodeURIComponent(value), JSON.stringify(value).slice(1, -1)]);
        if (value.length >= 24) forms.add(value.slice(-20));
        for (const candidate of forms) {
          if (output.includes(candidate)) {
            const at = output.indexOf(candidate);
            leaks.push(`${name.split("#")[0]}: …${output.slice(Math.max(0, at - 120), at + 40)}…`);
            break;
          }
        }
      }
      assert.deepEqual(leaks, [], "secrets found in the logs");
    });
  });
}
