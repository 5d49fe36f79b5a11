// Password hashing is bounded: at most PASSWORD_HASH_CONCURRENCY hashes run at once and
// PASSWORD_HASH_QUEUE wait; beyond that a sign-in is answered 503 with Retry-After at once, instead
// of queueing argon2 work (and its memory) without limit.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { SecretBox } from "../../src/crypto/secret-box.js";
import { createServices } from "../../src/services.js";
import { openStorage } from "../../src/storage/database.js";
import {
  configurePasswordHashing,
  DEFAULT_PASSWORD_HASHING_LIMITS,
  hashPassword,
  PasswordHashingBusyError,
  verifyPassword,
  withPasswordCheckReserved,
} from "../../src/users/passwords.js";
import { databaseKinds, freshDatabase, type TestDatabase } from "../helpers/databases.js";
import { CALLBACK } from "../helpers/fixtures.js";
import { type CliProcess, runCli } from "../helpers/process.js";
import { freePort } from "../helpers/server.js";

describe("password hashing limits (in process)", () => {
  after(() => configurePasswordHashing(DEFAULT_PASSWORD_HASHING_LIMITS));

  it("runs `concurrency` hashes, queues `queue` more and refuses the rest with a Retry-After", async () => {
    configurePasswordHashing({ concurrency: 1, queue: 2 });
    const stored = await hashPassword("correct horse battery");
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        i % 2 === 0 ? hashPassword(`password-${i}`) : verifyPassword(stored, "correct horse battery"),
      ),
    );
    const done = results.filter((r) => r.status === "fulfilled");
    const refused = results.filter((r) => r.status === "rejected");
    assert.equal(done.length, 3, "one running and two waiting");
    assert.equal(refused.length, 7);
    for (const r of refused) {
      const error = (r as PromiseRejectedResult).reason as unknown;
      assert.ok(error instanceof PasswordHashingBusyError);
      assert.ok(Number.isInteger(error.retryAfterSeconds) && error.retryAfterSeconds >= 1);
    }
    // The queue was served in order and every slot came back: the next ones all run.
    assert.equal(await verifyPassword(stored, "correct horse battery"), true);
    assert.equal(await verifyPassword(stored, "wrong password here"), false);
    const again = await Promise.allSettled([hashPassword("a-password"), hashPassword("b-password")]);
    assert.ok(again.every((r) => r.status === "fulfilled"));
  });

  it("reserves a place before the work that precedes a check, and gives an unused one back", async () => {
    configurePasswordHashing({ concurrency: 1, queue: 0 });
    const stored = await hashPassword("correct horse battery");
    let proceed!: () => void;
    const gate = new Promise<void>((resolve) => {
      proceed = resolve;
    });
    // The database work of a sign-in (here: waiting on `gate`), then its check.
    const reserved = withPasswordCheckReserved(async (place) => {
      await gate;
      return verifyPassword(stored, "correct horse battery", place);
    });
    // The only place is taken: others are refused before their own work, and direct checks too.
    await assert.rejects(
      withPasswordCheckReserved(async () => "never runs"),
      PasswordHashingBusyError,
    );
    await assert.rejects(hashPassword("another-password"), PasswordHashingBusyError);
    proceed();
    assert.equal(await reserved, true, "the reserved attempt is checked, not refused at the hash");
    // Work that ends before any check (throttled, expired page) or fails gives its place back.
    assert.equal(await withPasswordCheckReserved(async () => "throttled"), "throttled");
    await assert.rejects(
      withPasswordCheckReserved(async () => {
        throw new Error("database away");
      }),
      /database away/,
    );
    assert.equal(await verifyPassword(stored, "correct horse battery"), true);
    configurePasswordHashing(DEFAULT_PASSWORD_HASHING_LIMITS);
  });
});

const running: CliProcess[] = [];
const databases: TestDatabase[] = [];
after(async () => {
  for (const p of running) p.kill();
  for (const d of databases) await d.drop();
});

for (const { kind, skip } of await databaseKinds()) {
  describe(`sign-in flood against a small hashing limit (${kind})`, { skip }, () => {
    it("answers the overflow 503 with Retry-After, never 500, and still signs people in", async () => {
      const database = (await freshDatabase(kind))!;
      databases.push(database);
      const port = await freePort();
      const issuer = `http://127.0.0.1:${port}`;
      const masterKey = randomBytes(32);
      const databaseUrl =
        database.target.kind === "sqlite" ? `sqlite:${database.target.path}` : database.target.url;
      const cli = runCli(["start"], {
        env: {
          PORT: String(port),
          HOST: "127.0.0.1",
          ISSUER_URL: issuer,
          DATABASE_URL: databaseUrl,
          LATCHKEY_MASTER_KEY: masterKey.toString("base64"),
          PASSWORD_HASH_CONCURRENCY: "1",
          PASSWORD_HASH_QUEUE: "1",
          // Each attempt comes from its own address, so the sign-in throttle stays out of the way.
          TRUST_PROXY: "127.0.0.1",
        },
      });
      running.push(cli);
      await cli.waitFor(/Latchkey is listening/);

      // An application and an account, made over the same database the server uses.
      const storage = await openStorage(database.target);
      const services = createServices({ db: storage.db, secretBox: new SecretBox(masterKey), issuer });
      const password = "flood-password-123";
      try {
        const { application } = await services.applications.create({
          name: "Flooded app",
          type: "reg",
          callbackUrls: [CALLBACK],
          logoutUrls: [],
        });
        await services.users.create({ email: "flood@example.com", password, emailVerified: true });
        const authorize = new URL("/oauth2/auth", issuer);
        authorize.search = new URLSearchParams({
          response_type: "code",
          client_id: application.id,
          redirect_uri: CALLBACK,
          scope: "openid",
          code_challenge: createHash("sha256").update("verifier").digest("base64url"),
          code_challenge_method: "S256",
        }).toString();
        const pending = await Promise.all(
          Array.from({ length: 30 }, async () => {
            const response = await fetch(authorize, { redirect: "manual" });
            return new URL(response.headers.get("location")!, issuer).searchParams.get("request")!;
          }),
        );
        const csrf = randomBytes(32).toString("base64url").slice(0, 43);
        const answers = await Promise.all(
          pending.map(async (request, i) => {
            const response = await fetch(`${issuer}/auth/sign-in`, {
              method: "POST",
              redirect: "manual",
              headers: {
                "content-type": "application/x-www-form-urlencoded",
                cookie: `latchkey_csrf=${csrf}`,
                "x-forwarded-for": `10.9.0.${i + 1}`,
              },
              body: new URLSearchParams({ request, csrf, email: "flood@example.com", password }),
            });
            return {
              status: response.status,
              retryAfter: response.headers.get("retry-after"),
              type: response.headers.get("content-type"),
              body: await response.text(),
            };
          }),
        );
        const statuses = answers.map((a) => a.status);
        assert.ok(
          statuses.every((s) => s === 303 || s === 503),
          `only sign-ins and refusals: ${statuses}`,
        );
        assert.ok(statuses.includes(303), "the attempts within the limit sign in");
        const refused = answers.filter((a) => a.status === 503);
        assert.ok(refused.length >= 10, `most of the flood is refused: ${statuses}`);
        for (const answer of refused) {
          assert.match(answer.retryAfter ?? "", /^[1-9]\d*$/, "Retry-After in seconds");
          assert.match(answer.type ?? "", /^text\/html/, "the sign-in page's own vocabulary");
          assert.match(answer.body, /temporarily unavailable/);
        }
        // Refused attempts left their sign-in pages usable: retried later, they succeed.
        const retry = answers.findIndex((a) => a.status === 503);
        const again = await fetch(`${issuer}/auth/sign-in`, {
          method: "POST",
          redirect: "manual",
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            cookie: `latchkey_csrf=${csrf}`,
            "x-forwarded-for": "10.9.1.1",
          },
          body: new URLSearchParams({ request: pending[retry]!, csrf, email: "flood@example.com", password }),
        });
        assert.equal(again.status, 303);
        assert.match(again.headers.get("location") ?? "", /[?&]code=/);
      } finally {
        await storage.close();
      }
      cli.kill("SIGTERM");
      assert.equal((await cli.exited).code, 0);
    });
  });
}
