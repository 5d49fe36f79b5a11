// Password spraying: one address trying a few passwords against many accounts stays under every
// per-account and 15-minute counter, so failed sign-ins per address are also limited per day
// (SIGN_IN_DAILY_LIMIT_PER_ADDRESS). Successful sign-ins do not use that budget, so many people
// behind one NAT can still sign in all day.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { Clock } from "../../src/clock.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";

const DAY = 24 * 60 * 60;

/** One sign-in from a fresh browser, from `address` (X-Forwarded-For; the proxy is trusted). */
async function signIn(
  server: TestServer,
  clientId: string,
  email: string,
  password: string,
  address: string,
) {
  const browser = new UserAgent(server.url);
  const headers = { "x-forwarded-for": address };
  const url = new URL("/oauth2/auth", server.url);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: CALLBACK,
    code_challenge: createHash("sha256").update(randomBytes(32).toString("base64url")).digest("base64url"),
    code_challenge_method: "S256",
  }).toString();
  const next = await browser.redirectFrom(url, { headers });
  const form = await browser.openForm(new URL(`/auth/sign-in${next.search}`, server.url));
  const response = await browser.request("/auth/sign-in", {
    method: "POST",
    headers: { ...headers, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ ...form, email, password }),
  });
  return {
    status: response.status,
    retryAfter: response.headers.get("retry-after"),
    html: await response.text(),
  };
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`password spraying from one address (${kind})`, { skip }, () => {
    let server: TestServer;
    let offset = 0;
    const clock: Clock = { now: () => Math.floor(Date.now() / 1000) + offset };
    let clientId: string;

    before(async () => {
      server = await startTestServer(kind, {
        clock,
        env: { SIGN_IN_DAILY_LIMIT_PER_ADDRESS: "5", TRUST_PROXY: "loopback" },
      });
      ({ clientId } = await createApplication(server, "spa"));
    });
    after(async () => server?.close());

    it("limits failed sign-ins across accounts per address per day; successes use no budget", async () => {
      const sprayer = "203.0.113.7";
      const users = await Promise.all(Array.from({ length: 7 }, () => createUser(server)));
      const [first, ...others] = users;

      // More successful sign-ins than the daily limit: none of them counts.
      for (let i = 0; i < 7; i++) {
        const ok = await signIn(server, clientId, first!.email, first!.password, sprayer);
        assert.equal(ok.status, 303, `success ${i + 1}: ${ok.html.slice(0, 200)}`);
      }

      // Five wrong passwords, each against another account: every per-account counter sees one.
      for (const [i, user] of others.slice(0, 5).entries()) {
        const failed = await signIn(server, clientId, user.email, "Spring2024!", sprayer);
        assert.equal(failed.status, 401, `failure ${i + 1}: ${failed.html.slice(0, 200)}`);
      }

      // The sixth attempt is refused before its password is checked, even a correct one.
      const last = others[5]!;
      const refused = await signIn(server, clientId, last.email, last.password, sprayer);
      assert.equal(refused.status, 429, refused.html.slice(0, 300));
      assert.match(refused.html, /Too many failed sign-ins from your network/);
      const wait = Number(refused.retryAfter);
      assert.ok(wait > 15 * 60 && wait <= DAY, `Retry-After ${refused.retryAfter} counts down the day`);

      // Another address is not affected.
      const elsewhere = await signIn(server, clientId, last.email, last.password, "198.51.100.20");
      assert.equal(elsewhere.status, 303, elsewhere.html.slice(0, 200));

      // Past the 15-minute windows the daily limit still holds …
      offset += 15 * 60 + 1;
      const later = await signIn(server, clientId, last.email, last.password, sprayer);
      assert.equal(later.status, 429, later.html.slice(0, 300));
      assert.ok(Number(later.retryAfter) <= wait - 15 * 60, `Retry-After ${later.retryAfter} went down`);

      // … and a day after the first failure it is over.
      offset += DAY;
      const nextDay = await signIn(server, clientId, last.email, last.password, sprayer);
      assert.equal(nextDay.status, 303, nextDay.html.slice(0, 200));
    });
  });

  describe(`SIGN_IN_DAILY_LIMIT_PER_ADDRESS=0 (${kind})`, { skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind, { env: { SIGN_IN_DAILY_LIMIT_PER_ADDRESS: "0" } });
    });
    after(async () => server?.close());

    it("turns the daily limit off (the 15-minute limits still apply)", async () => {
      const { clientId } = await createApplication(server, "spa");
      const users = await Promise.all(Array.from({ length: 7 }, () => createUser(server)));
      for (const user of users.slice(0, 6)) {
        assert.equal((await signIn(server, clientId, user.email, "Spring2024!", "127.0.0.1")).status, 401);
      }
      const last = users[6]!;
      assert.equal((await signIn(server, clientId, last.email, last.password, "127.0.0.1")).status, 303);
    });
  });
}
