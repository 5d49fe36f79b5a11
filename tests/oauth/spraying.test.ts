// Password spraying: one address trying a few passwords against many accounts stays under every
// per-account and 15-minute counter, so failed sign-ins per address are also limited per day
// (SIGN_IN_DAILY_LIMIT_PER_ADDRESS). Successful sign-ins do not use that budget, so many people
// behind one NAT can still sign in all day; and a browser holding a device cookie for an account
// (a successful sign-in there within 30 days) is not held back by its address's daily budget.
// An IPv6 client is counted by its /64, the block one subscriber picks addresses from.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Clock } from "../../src/clock.js";
import { clientNetwork } from "../../src/sign-in/rate-limit.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";

const DAY = 24 * 60 * 60;

/**
 * One sign-in from `address` (X-Forwarded-For; the proxy is trusted), from a fresh browser or the
 * given one (prompt=login, so a browser already signed in still gets the form).
 */
async function signIn(
  server: TestServer,
  clientId: string,
  email: string,
  password: string,
  address: string,
  browser = new UserAgent(server.url),
) {
  const headers = { "x-forwarded-for": address };
  const next = await browser.redirectFrom(authorizationUrl(server, clientId, CALLBACK, { prompt: "login" }), {
    headers,
  });
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

describe("clientNetwork: the unit a per-address limit counts", () => {
  it("is the address for IPv4, and for an IPv4-mapped IPv6 address the IPv4 address it maps", () => {
    assert.equal(clientNetwork("203.0.113.7"), "203.0.113.7");
    assert.equal(clientNetwork("::ffff:203.0.113.7"), "203.0.113.7");
    // Behind a NAT64 translator (RFC 6052 well-known prefix) each IPv4 client keeps its own budget.
    assert.equal(clientNetwork("64:ff9b::203.0.113.7"), "203.0.113.7");
    assert.equal(clientNetwork("64:ff9b::cb00:7109"), "203.0.113.9");
    assert.equal(clientNetwork("::FFFF:cb00:7107"), "203.0.113.7");
    assert.notEqual(clientNetwork("203.0.113.7"), clientNetwork("203.0.113.8"));
  });

  it("is the /64 for IPv6, however the address is written", () => {
    const network = clientNetwork("2001:db8::1");
    for (const same of [
      "2001:db8::",
      "2001:db8::2",
      "2001:0db8:0000:0000:ffff:ffff:ffff:ffff",
      "2001:DB8:0:0:1:2:3:4",
      "2001:db8::a:b:c:d",
      "2001:db8::192.0.2.1",
      "2001:db8::1%eth0",
    ]) {
      assert.equal(clientNetwork(same), network, same);
    }
    for (const other of ["2001:db8:0:1::1", "2001:db9::1", "::1"]) {
      assert.notEqual(clientNetwork(other), network, other);
    }
    assert.equal(clientNetwork("fe80::1%eth0"), clientNetwork("fe80::2"));
  });

  it("keeps anything else as it came (bounded), apart from every address", () => {
    assert.equal(clientNetwork("unknown"), "unknown");
    assert.equal(clientNetwork("x".repeat(1000)).length, 100);
  });
});

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

    it("counts an IPv6 client by its /64: every address in it shares one daily budget", async () => {
      const users = await Promise.all(Array.from({ length: 6 }, () => createUser(server)));
      for (const [i, user] of users.slice(0, 5).entries()) {
        const failed = await signIn(server, clientId, user.email, "Spring2024!", `2001:db8::${i + 1}`);
        assert.equal(failed.status, 401, `failure ${i + 1}: ${failed.html.slice(0, 200)}`);
      }
      const last = users[5]!;
      const refused = await signIn(server, clientId, last.email, last.password, "2001:db8::a:b:c:d");
      assert.equal(refused.status, 429, refused.html.slice(0, 300));
      assert.match(refused.html, /Too many failed sign-ins from your network/);
      const otherNetwork = await signIn(server, clientId, last.email, last.password, "2001:db8:0:1::1");
      assert.equal(otherNetwork.status, 303, otherNetwork.html.slice(0, 200));
    });

    it("a browser that signed in to an account in the last 30 days is not held back by its address's daily budget", async () => {
      const office = "192.0.2.44";
      const [colleague, other, ...victims] = await Promise.all(
        Array.from({ length: 13 }, () => createUser(server)),
      );
      const laptop = new UserAgent(server.url);
      const first = await signIn(server, clientId, colleague!.email, colleague!.password, office, laptop);
      assert.equal(first.status, 303, first.html.slice(0, 200));

      // Someone else behind the same address (an office NAT) sprays until its budget is spent.
      const spray = async (targets: typeof victims) => {
        for (const victim of targets) {
          const failed = await signIn(server, clientId, victim.email, "Spring2024!", office);
          assert.equal(failed.status, 401, failed.html.slice(0, 200));
        }
      };
      await spray(victims.slice(0, 5));
      const blocked = await signIn(server, clientId, colleague!.email, colleague!.password, office);
      assert.equal(
        blocked.status,
        429,
        "a browser without the device cookie is held back, right password or not",
      );

      // The colleague's own browser still signs in to the colleague's account …
      const known = await signIn(server, clientId, colleague!.email, colleague!.password, office, laptop);
      assert.equal(known.status, 303, known.html.slice(0, 300));
      // … but its device cookie vouches for that account only.
      const otherAccount = await signIn(server, clientId, other!.email, other!.password, office, laptop);
      assert.equal(otherAccount.status, 429, otherAccount.html.slice(0, 300));

      // The 15-minute limits per account still apply to it: ten wrong guesses, then refused.
      for (let i = 0; i < 10; i++) {
        const wrong = await signIn(server, clientId, colleague!.email, `wrong-${i}`, office, laptop);
        assert.equal(wrong.status, 401, `guess ${i + 1}: ${wrong.html.slice(0, 200)}`);
      }
      const throttled = await signIn(server, clientId, colleague!.email, colleague!.password, office, laptop);
      assert.equal(throttled.status, 429, throttled.html.slice(0, 300));
      assert.match(throttled.html, /Too many sign-in attempts/);

      // Thirty days after its last successful sign-in the cookie vouches no more.
      offset += 31 * DAY;
      await spray(victims.slice(5, 10));
      const stale = await signIn(server, clientId, colleague!.email, colleague!.password, office, laptop);
      assert.equal(stale.status, 429, stale.html.slice(0, 300));
      assert.match(stale.html, /Too many failed sign-ins from your network/);
    });

    it("cuts the e-mail field to 320 characters before reading it: a megabyte of it is a 401", async () => {
      // Canonical ordering (NFC) of one long run of combining marks is quadratic: normalising the
      // whole field took seconds of the event loop before any limit was consulted. How fast the
      // answer comes is timed in bench/refusals.ts (a speed target, not a test's assertion).
      const email = `a${"\u0301\u0316".repeat(85_000)}@example.com`;
      const answer = await signIn(server, clientId, email, "Spring2024!", "198.51.100.99");
      assert.equal(answer.status, 401, answer.html.slice(0, 200));
      assert.match(answer.html, /Incorrect email or password/);
    });
  });

  describe(`per-address limits count an IPv6 client by its /64 (${kind})`, { skip }, () => {
    let server: TestServer;
    let clientId: string;
    before(async () => {
      // No daily budget here, so each 15-minute limit is seen on its own.
      server = await startTestServer(kind, {
        env: { SIGN_IN_DAILY_LIMIT_PER_ADDRESS: "0", TRUST_PROXY: "loopback" },
      });
      ({ clientId } = await createApplication(server, "spa"));
    });
    after(async () => server?.close());

    it("guesses at one account from anywhere in a /64 share its ten per 15 minutes", async () => {
      const user = await createUser(server);
      for (let i = 1; i <= 10; i++) {
        const wrong = await signIn(server, clientId, user.email, `wrong-${i}`, `2001:db8:1::${i}`);
        assert.equal(wrong.status, 401, `guess ${i}: ${wrong.html.slice(0, 200)}`);
      }
      const refused = await signIn(server, clientId, user.email, user.password, "2001:db8:1::ff");
      assert.equal(refused.status, 429, refused.html.slice(0, 300));
      assert.match(refused.html, /Too many sign-in attempts/);
      const otherNetwork = await signIn(server, clientId, user.email, user.password, "2001:db8:1:1::1");
      assert.equal(otherNetwork.status, 303, otherNetwork.html.slice(0, 200));
    });

    it("sign-ups from anywhere in a /64 share its 100 per 15 minutes", async () => {
      const existing = await createUser(server);
      const browser = new UserAgent(server.url);
      const next = await browser.redirectFrom(
        authorizationUrl(server, clientId, CALLBACK, { prompt: "create" }),
      );
      const form = await browser.openForm(new URL(`/auth/sign-up${next.search}`, server.url));
      // An address already taken is refused after the throttle counts it, without hashing.
      const signUp = async (address: string) => {
        const response = await browser.request("/auth/sign-up", {
          method: "POST",
          headers: { "x-forwarded-for": address, "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ ...form, email: existing.email, password: "a long enough passphrase" }),
        });
        await response.text();
        return response.status;
      };
      for (let i = 1; i <= 100; i++)
        assert.equal(await signUp(`2001:db8:2::${i.toString(16)}`), 400, `sign-up ${i}`);
      assert.equal(await signUp("2001:db8:2::ffff"), 429);
      assert.equal(await signUp("2001:db8:2:1::1"), 400, "another /64 has its own budget");
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
