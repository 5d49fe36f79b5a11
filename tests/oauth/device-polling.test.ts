// The device authorization grant (RFC 8628) over plain HTTP, as Kinde documents its polling: the
// device authorization endpoint's answer, the token endpoint's authorization_pending, slow_down
// (the interval enforced per device code, and raised by 5 s each time), access_denied,
// expired_token, single use, and the /device page's limits. A person approves or denies on /device
// through the ordinary sign-in pages (a cookie-keeping user agent here; Chromium in device-flow).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { decodeJwt } from "jose";
import type { Clock } from "../../src/clock.js";
import { sha256 } from "../../src/crypto/random.js";
import { DEVICE_CODE_LIMITS } from "../../src/sign-in/device.routes.js";
import { databaseKinds } from "../helpers/databases.js";
import { createApi, createApplication, createUser } from "../helpers/fixtures.js";
import { callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { backChannel } from "../helpers/tokens.js";
import { UserAgent } from "../helpers/user-agent.js";

const GRANT = "urn:ietf:params:oauth:grant-type:device_code";

interface DeviceAuthorization {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

type Json = Record<string, unknown>;

for (const { kind, skip } of await databaseKinds()) {
  describe(`device authorization grant over HTTP (${kind})`, { skip }, () => {
    let server: TestServer;
    let deviceClient: string;
    let offset = 0;
    const clock: Clock = { now: () => Math.floor(Date.now() / 1000) + offset };

    before(async () => {
      server = await startTestServer(kind, { clock });
      deviceClient = (await createApplication(server, "device", { callbackUrls: [], logoutUrls: [] }))
        .clientId;
    });
    after(async () => server?.close());

    const post = (path: string, fields: Record<string, string>) => backChannel(server, path, fields);
    const authorizeDevice = async (fields: Record<string, string> = {}) => {
      const answer = await post("/oauth2/device/auth", {
        client_id: deviceClient,
        scope: "openid offline",
        ...fields,
      });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      return answer.body as unknown as DeviceAuthorization;
    };
    const poll = (deviceCode: string, clientId = deviceClient) =>
      post("/oauth2/token", { grant_type: GRANT, client_id: clientId, device_code: deviceCode });

    /** A person signs in through the hosted pages from /device and answers the code shown. */
    async function answer(
      user: { email: string; password: string },
      userCode: string,
      decision: "approve" | "deny",
      agent = new UserAgent(server.url),
    ): Promise<{ status: number; html: string; agent: UserAgent }> {
      let page = await agent.request(`/device?user_code=${encodeURIComponent(userCode)}`);
      if (page.status === 302) {
        // To the authorization endpoint as /device's own application, the sign-in page, and back.
        const authorize = new URL(page.headers.get("location")!, server.url);
        assert.equal(authorize.pathname, "/oauth2/auth");
        const callback = await agent.authorize(authorize, user);
        assert.equal(callback.pathname, "/device/callback");
        const back = await agent.redirectFrom(callback);
        // Back with the code as it is read (a typed variant normalised), never with anything else.
        const display = userCode
          .toUpperCase()
          .replace(/[\s-]/g, "")
          .replace(/^(.{4})/, "$1-");
        assert.equal(back.pathname + back.search, `/device?user_code=${display}`);
        page = await agent.request(back);
      }
      const html = await page.text();
      assert.equal(page.status, 200, html.slice(0, 500));
      const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
      assert.ok(csrf, "the confirmation form carries a CSRF token");
      const decided = await agent.postForm("/device/decision", { csrf, user_code: userCode, decision });
      return { status: decided.status, html: await decided.text(), agent };
    }

    it("answers the device authorization request as Kinde documents it, and discovery names it", async () => {
      const started = await authorizeDevice();
      assert.match(started.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
      assert.equal(started.verification_uri, `${server.url}/device`);
      assert.equal(started.verification_uri_complete, `${server.url}/device?user_code=${started.user_code}`);
      assert.equal(started.expires_in, 600);
      assert.equal(started.interval, 5);
      assert.ok(started.device_code.length >= 43);

      // Stored hashed: neither code appears in its row.
      const row = await server.storage.db
        .selectFrom("device_codes")
        .selectAll()
        .where("device_code_hash", "=", sha256(started.device_code))
        .executeTakeFirstOrThrow();
      const stored = JSON.stringify(row);
      assert.ok(!stored.includes(started.device_code));
      assert.ok(!stored.includes(started.user_code.replace("-", "")));

      const discovery = (await (
        await fetch(`${server.url}/.well-known/openid-configuration`)
      ).json()) as Json;
      assert.equal(discovery.device_authorization_endpoint, `${server.url}/oauth2/device/auth`);
      assert.ok((discovery.grant_types_supported as string[]).includes(GRANT));
    });

    it("creates device applications through the Management API (Kinde's type device): public, no secret", async () => {
      const created = await callApi<{ application: { id: string; client_secret: string | null } }>(
        server,
        "POST",
        "/api/v1/applications",
        { body: { name: "Kiosk", type: "device" } },
      );
      assert.equal(created.status, 201);
      assert.equal(created.body.application.client_secret, null);
      const id = created.body.application.id;
      const read = await callApi<{ application: { type: string; client_secret: string | null } }>(
        server,
        "GET",
        `/api/v1/applications/${id}`,
      );
      assert.equal(read.body.application.type, "device");
      assert.equal(read.body.application.client_secret, null);
      const rotate = await callApi(server, "POST", `/api/v1/applications/${id}/rotate_secret`);
      assert.equal(rotate.status, 400);
      // Its user signs in by the device grant alone: a secret presented is refused, none is fine.
      const withSecret = await post("/oauth2/device/auth", { client_id: id, client_secret: "x".repeat(52) });
      assert.equal(withSecret.status, 401);
      assert.equal((await post("/oauth2/device/auth", { client_id: id })).status, 200);
    });

    it("refuses clients that are not device applications, and requests that are not forms", async () => {
      const spa = (await createApplication(server, "spa")).clientId;
      const refused = await post("/oauth2/device/auth", { client_id: spa });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error, "unauthorized_client");
      const unknown = await post("/oauth2/device/auth", { client_id: "0".repeat(32) });
      assert.equal(unknown.status, 401);
      assert.equal(unknown.body.error, "invalid_client");
      const json = await fetch(`${server.url}/oauth2/device/auth`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ client_id: deviceClient }),
      });
      assert.equal(json.status, 400);
      // A device code cannot be redeemed by another client, nor through the code flow's endpoint.
      const started = await authorizeDevice();
      const other = (await createApplication(server, "device", { callbackUrls: [], logoutUrls: [] }))
        .clientId;
      const stolen = await poll(started.device_code, other);
      assert.equal(stolen.body.error, "invalid_grant");
      const page = await fetch(
        `${server.url}/oauth2/auth?response_type=code&client_id=${deviceClient}&redirect_uri=${encodeURIComponent("http://localhost:8080/callback")}`,
        { redirect: "manual" },
      );
      assert.equal(page.status, 400);
    });

    it("pending until approved, slow_down when polled too fast (interval raised each time), then tokens once", async () => {
      const user = await createUser(server);
      const started = await authorizeDevice({ scope: "openid profile email offline" });
      const first = await poll(started.device_code);
      assert.equal(first.status, 400);
      assert.equal(first.body.error, "authorization_pending");
      // At once again: too fast, and the interval grows by 5 s for this and every later poll.
      const tooFast = await poll(started.device_code);
      assert.equal(tooFast.body.error, "slow_down");
      const row = async () =>
        server.storage.db
          .selectFrom("device_codes")
          .select(["poll_interval", "status"])
          .where("device_code_hash", "=", sha256(started.device_code))
          .executeTakeFirstOrThrow();
      assert.equal(Number((await row()).poll_interval), 10);
      offset += 6; // 6 s later: still under the raised 10 s interval.
      assert.equal((await poll(started.device_code)).body.error, "slow_down");
      assert.equal(Number((await row()).poll_interval), 15);
      offset += 15;
      assert.equal((await poll(started.device_code)).body.error, "authorization_pending");

      const decided = await answer(user, started.user_code, "approve");
      assert.equal(decided.status, 200, decided.html.slice(0, 300));
      assert.match(decided.html, /Your device is signed in/);
      assert.equal((await row()).status, "approved");

      offset += 15;
      const tokens = await poll(started.device_code);
      assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
      assert.equal(tokens.body.token_type, "bearer");
      assert.equal(tokens.body.scope, "openid profile email offline");
      assert.ok(typeof tokens.body.refresh_token === "string");
      const access = decodeJwt(tokens.body.access_token as string);
      assert.equal(access.sub, user.id);
      assert.equal(access.azp, deviceClient);
      assert.equal(decodeJwt(tokens.body.id_token as string).email, user.email);
      const profile = await fetch(`${server.url}/oauth2/v2/user_profile`, {
        headers: { authorization: `Bearer ${tokens.body.access_token}` },
      });
      assert.equal(((await profile.json()) as Json).email, user.email);

      // Used twice: refused, and what the first use produced is revoked (the code was copied).
      offset += 15;
      const again = await poll(started.device_code);
      assert.equal(again.status, 400);
      assert.equal(again.body.error, "invalid_grant");
      const revoked = await fetch(`${server.url}/oauth2/v2/user_profile`, {
        headers: { authorization: `Bearer ${tokens.body.access_token}` },
      });
      assert.equal(revoked.status, 401);
      const refresh = await post("/oauth2/token", {
        grant_type: "refresh_token",
        client_id: deviceClient,
        refresh_token: tokens.body.refresh_token as string,
      });
      assert.equal(refresh.body.error, "invalid_grant");
    });

    it("two polls at once after approval: exactly one gets tokens", async () => {
      const user = await createUser(server);
      const started = await authorizeDevice();
      await answer(user, started.user_code, "approve");
      const results = await Promise.all([poll(started.device_code), poll(started.device_code)]);
      assert.deepEqual(results.map((r) => r.status).sort(), [200, 400]);
      const loser = results.find((r) => r.status === 400)!;
      assert.ok(
        ["slow_down", "invalid_grant"].includes(loser.body.error as string),
        String(loser.body.error),
      );
    });

    it("denied → access_denied; expired → expired_token; a denied or expired code cannot be answered", async () => {
      const user = await createUser(server);
      const denied = await authorizeDevice();
      const refusal = await answer(user, denied.user_code, "deny");
      assert.equal(refusal.status, 200);
      assert.match(refusal.html, /Request denied/);
      const deniedPoll = await poll(denied.device_code);
      assert.equal(deniedPoll.status, 400);
      assert.equal(deniedPoll.body.error, "access_denied");
      // The code is answered: entering it again finds nothing to approve.
      const late = await refusal.agent.request(`/device?user_code=${denied.user_code}`);
      assert.equal(late.status, 400);
      assert.match(await late.text(), /not valid, or it has expired/);

      const expiring = await authorizeDevice();
      offset += 601;
      const expired = await poll(expiring.device_code);
      assert.equal(expired.status, 400);
      assert.equal(expired.body.error, "expired_token");
      const tooLate = await refusal.agent.request(`/device?user_code=${expiring.user_code}`);
      assert.equal(tooLate.status, 400);
    });

    it("scopes of an API only as far as the user holds them; unknown codes and typing variants", async () => {
      const user = await createUser(server);
      const audience = `https://device-api-${Date.now()}.example`;
      await createApi(server, {
        audience,
        scopes: ["read:things", "write:things"],
        authorize: [deviceClient],
        holders: { [user.id]: ["read:things"] },
      });
      const started = await authorizeDevice({ scope: "openid read:things write:things", audience });
      // Typed in lower case with spaces instead of the dash: still the code.
      const typed = started.user_code.toLowerCase().replace("-", " ");
      const decided = await answer(user, typed, "approve");
      assert.equal(decided.status, 200, decided.html.slice(0, 300));
      offset += 10;
      const tokens = await poll(started.device_code);
      assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
      const access = decodeJwt(tokens.body.access_token as string);
      assert.deepEqual(access.aud, [audience]);
      assert.deepEqual(access.scp, ["openid", "read:things"]);

      const unknown = await poll("not-a-device-code");
      assert.equal(unknown.body.error, "invalid_grant");
    });

    it("entering codes is rate limited per account (counted before the lookup)", async () => {
      const user = await createUser(server);
      const started = await authorizeDevice();
      // Sign in once through /device, then type wrong codes until the limit.
      const agent = new UserAgent(server.url);
      const first = await agent.request("/device");
      const callback = await agent.authorize(new URL(first.headers.get("location")!, server.url), user);
      await agent.redirectFrom(callback);
      const entry = await agent.request("/device");
      const csrf = /name="csrf" value="([^"]+)"/.exec(await entry.text())![1]!;
      for (let i = 0; i < DEVICE_CODE_LIMITS.perUser.max; i++) {
        const wrong = await agent.postForm("/device", { csrf, user_code: "BBBB-BBBB" });
        assert.equal(wrong.status, 400);
        await wrong.text();
      }
      // Even the right code is refused now: the count comes first.
      const limited = await agent.postForm("/device", { csrf, user_code: started.user_code });
      assert.equal(limited.status, 429);
      assert.ok(Number(limited.headers.get("retry-after")) > 0);
      // A form without the CSRF token is refused before anything is looked up.
      const forged = await agent.postForm("/device/decision", {
        csrf: "x".repeat(43),
        user_code: started.user_code,
        decision: "approve",
      });
      assert.equal(forged.status, 403);
    });
  });
}
