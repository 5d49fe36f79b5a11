// Scenario data for the user-facing grants, made through the real flows against a running
// deployment (as bench/run.ts does, for the runners that keep several servers up at once:
// bench/targets.ts, bench/instances.ts): authorization codes minted by a signed-in browser just
// before their run (RFC 6749 §4.1.2: they live 60 s), and hosted sign-in forms posted for waiting
// authorization requests from many accounts and addresses, so the throttles never decide a figure.
import { createHash, randomBytes } from "node:crypto";
import type autocannon from "autocannon";
import { hashPassword } from "../../src/users/passwords.js";
import { CALLBACK, LOGOUT } from "../../tests/helpers/fixtures.js";
import { signedInUserAgent, type UserAgent } from "../../tests/helpers/user-agent.js";
import { type LatchkeyDeployment, openServices } from "./latchkey.js";
import type { LoadSpec } from "./load.js";

export type Spec = Omit<LoadSpec, "url" | "seconds"> & { path: string };
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = { "content-type": "application/x-www-form-urlencoded" };

export interface WebApp {
  clientId: string;
  clientSecret: string;
}

/** A confidential web application, a user with a password, and a browser signed in as that user. */
export async function signedInWebApp(
  deployment: LatchkeyDeployment,
): Promise<{ webApp: WebApp; browser: UserAgent }> {
  const { storage, services } = await openServices(deployment);
  try {
    const created = await services.applications.create({
      name: `Bench web app ${randomBytes(4).toString("hex")}`,
      type: "reg",
      callbackUrls: [CALLBACK],
      logoutUrls: [LOGOUT],
    });
    const webApp = { clientId: created.application.id, clientSecret: created.secret! };
    const user = {
      email: `code-${randomBytes(6).toString("hex")}@example.com`,
      password: randomBytes(18).toString("base64url"),
    };
    await services.users.create({ ...user, givenName: "Bench", emailVerified: true });
    const browser = await signedInUserAgent({ url: deployment.issuer }, webApp.clientId, CALLBACK, user);
    return { webApp, browser };
  } finally {
    await storage.close();
  }
}

/**
 * Authorization code exchange: `mint(n)` has the browser ask /oauth2/auth for `n` codes (8 at a
 * time); `spec()` then sends exactly those codes, oldest first, to the token endpoint (run it with
 * `amount` = what was minted). Exchanged refresh tokens are kept in `refreshTokens`.
 */
export function codeExchange(deployment: LatchkeyDeployment, webApp: WebApp, browser: UserAgent) {
  const verifier = randomBytes(32).toString("base64url");
  const authorizeUrl = new URL("/oauth2/auth", deployment.issuer);
  authorizeUrl.search = form({
    response_type: "code",
    client_id: webApp.clientId,
    redirect_uri: CALLBACK,
    scope: "openid profile email offline",
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
    state: "bench",
  });
  let codes: string[] = [];
  const refreshTokens: string[] = [];
  return {
    refreshTokens,
    /** Mints up to `count` codes within `maxSeconds`; returns how many it has. */
    async mint(count: number, maxSeconds = 20): Promise<number> {
      codes = [];
      const started = performance.now();
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (codes.length < count && performance.now() - started < maxSeconds * 1000) {
            const landed = await browser.redirectFrom(authorizeUrl);
            const code = landed.searchParams.get("code");
            if (!code) throw new Error(`no code: ${landed.href}`);
            codes.push(code);
          }
        }),
      );
      return codes.length;
    },
    spec(): Spec {
      let next = 0;
      const minted = codes;
      return {
        path: "/oauth2/token",
        method: "POST",
        headers: FORM,
        setupRequest: (request: autocannon.Request) => ({
          ...request,
          body: form({
            grant_type: "authorization_code",
            code: minted[next++] ?? "exhausted",
            redirect_uri: CALLBACK,
            code_verifier: verifier,
            client_id: webApp.clientId,
            client_secret: webApp.clientSecret,
          }),
        }),
        onResponse: (status: number, body: string) => {
          if (status !== 200) return;
          const tokens = JSON.parse(body) as { refresh_token?: string };
          if (tokens.refresh_token) refreshTokens.push(tokens.refresh_token);
        },
      };
    },
  };
}

/**
 * Password sign-in on the hosted form: `count` waiting authorization requests of `clientId` (they
 * live 30 minutes) and accounts sharing one argon2id hash of `password`, ~40 attempts each, so the
 * per-account throttle (ASVS 6.3.1) never decides the figure; each attempt comes from its own
 * address (X-Forwarded-For, trusted from loopback by the deployment). Only a successful sign-in
 * (303) uses a request up; a refused one puts it back.
 */
export async function signInForms(
  deployment: LatchkeyDeployment,
  clientId: string,
  count: number,
  password: string,
): Promise<{ spec(connections: number): Spec; left(): number }> {
  const pending: string[] = [];
  const authorizeUrl = new URL("/oauth2/auth", deployment.issuer);
  authorizeUrl.search = form({
    response_type: "code",
    client_id: clientId,
    redirect_uri: CALLBACK,
    scope: "openid",
    code_challenge: createHash("sha256").update("bench").digest("base64url"),
    code_challenge_method: "S256",
  });
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (pending.length < count) {
        const response = await fetch(authorizeUrl, { redirect: "manual" });
        await response.arrayBuffer();
        const location = new URL(response.headers.get("location") ?? "", deployment.issuer);
        const id = location.searchParams.get("request");
        if (!id) throw new Error(`no pending request: ${location.href}`);
        pending.push(id);
      }
    }),
  );
  const accounts = Math.ceil(count / 40) + 10;
  const prefix = randomBytes(4).toString("hex");
  const passwordHash = await hashPassword(password);
  const now = Math.floor(Date.now() / 1000);
  const { storage } = await openServices(deployment);
  try {
    for (let start = 0; start < accounts; start += 500) {
      await storage.db
        .insertInto("users")
        .values(
          Array.from({ length: Math.min(500, accounts - start) }, (_, i) => ({
            id: `kp_${randomBytes(16).toString("hex")}`,
            email: `signin-${prefix}-${start + i}@bench.example`,
            email_verified: 1,
            password_hash: passwordHash,
            created_at: now,
            updated_at: now,
          })),
        )
        .execute();
    }
  } finally {
    await storage.close();
  }
  let attempt = 0;
  const csrf = randomBytes(32).toString("base64url").slice(0, 43);
  return {
    left: () => pending.length,
    spec: (connections) => ({
      path: "/auth/sign-in",
      method: "POST",
      connections,
      setupRequest: (request, context) => {
        attempt++;
        const id = pending.shift() ?? "exhausted";
        context.id = id;
        const ip = `10.${(attempt >> 16) & 255}.${(attempt >> 8) & 255}.${attempt & 255}`;
        return {
          ...request,
          headers: { ...FORM, cookie: `latchkey_csrf=${csrf}`, "x-forwarded-for": ip },
          body: form({
            request: id,
            csrf,
            email: `signin-${prefix}-${attempt % accounts}@bench.example`,
            password,
          }),
        };
      },
      onResponse: (status, _body, context) => {
        if (status !== 303 && typeof context.id === "string" && context.id !== "exhausted")
          pending.push(context.id);
      },
      okStatuses: [303],
    }),
  };
}
