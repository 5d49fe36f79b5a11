// Issue 15 §3, one mailbox, one account: addresses are stored and compared in one canonical form
// (NFC, IDNA domain, no trailing dot, lower case) on sign-up, sign-in, the Management API and the
// CLI; compatibility characters are folded in the domain and refused before the @; the migration
// rewrites stored addresses and reports — never merges — the accounts that turn out to share one.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createLogger } from "../../src/logging.js";
import { openStorage } from "../../src/storage/database.js";
import { migrateToLatest } from "../../src/storage/migrate.js";
import { canonicalEmail, emailProblem } from "../../src/users/email.js";
import { UsersStore } from "../../src/users/users.store.js";
import { databaseKinds, freshDatabase } from "../helpers/databases.js";
import { CALLBACK, createApplication } from "../helpers/fixtures.js";
import { callApi } from "../helpers/management.js";
import { migrateUpTo } from "../helpers/migrations.js";
import { LogCapture, startTestServer, type TestServer } from "../helpers/server.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";

const NFC = "jos\u00e9@example.com";
const NFD = "jose\u0301@example.com";

describe("canonical e-mail addresses", () => {
  it("writes every spelling of one mailbox the same way", () => {
    const spellings: [string, string][] = [
      [NFD, NFC],
      ["Ada@B\u00dcCHER.example", "ada@xn--bcher-kva.example"],
      ["ada@xn--bcher-kva.example", "ada@xn--bcher-kva.example"],
      ["ada@example.org.", "ada@example.org"],
      ["  Ada@Example.ORG  ", "ada@example.org"],
      // Full-width letters and the ideographic full stop in the domain fold (UTS #46 mapping).
      ["ada@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45\u3002com", "ada@example.com"],
      ["admin@example.com.", "admin@example.com"],
    ];
    for (const [typed, canonical] of spellings) {
      assert.equal(canonicalEmail(typed), canonical, typed);
      assert.equal(emailProblem(typed), undefined, typed);
    }
  });

  it("refuses compatibility characters before the @ and domains IDNA refuses, saying why", (t) => {
    assert.match(emailProblem("\uff41\uff44\uff4d\uff49\uff4e@example.com")!, /full-width/);
    assert.match(emailProblem("ada@xn--zz.com")!, /internationalised domain/);
    assert.match(emailProblem("ada@exa mple.com")!, /domain/);
    // Text far longer than any address is refused without being normalised: NFC reorders a run of
    // combining marks of two classes (U+0301 above, U+0316 below) in quadratic time. Which strings
    // reach String.prototype.normalize is watched (calls go through); how fast a megabyte is
    // refused is measured in bench/refusals.ts.
    const huge = `a${"\u0301\u0316".repeat(10_000)}@example.com`;
    const normalize = t.mock.method(String.prototype, "normalize");
    const problem = emailProblem(huge);
    const canonical = canonicalEmail(huge);
    const normalised = normalize.mock.calls.map((call) => String(call.this).length);
    normalize.mock.restore();
    assert.equal(problem, "is not valid");
    assert.equal(canonical, huge.toLowerCase(), "the marks are left as typed, not reordered");
    assert.notEqual(canonical, canonicalEmail("a@example.com"));
    // 1024 is MAX_TYPED_LENGTH in src/users/email.ts.
    assert.deepEqual(
      normalised.filter((length) => length > 1024),
      [],
      "nothing past the typed-length limit was normalised",
    );
    // Characters that do not show: look-alikes of another account on every screen.
    for (const invisible of ["\u200b", "\u00ad", "\u202e", "\ufeff", "\ue000", "\ud800"])
      assert.ok(emailProblem(`admin${invisible}@example.com`), JSON.stringify(invisible));
    for (const bad of [
      "ada",
      "@example.com",
      "ada@example",
      "ada@example..com",
      "ada@-x.com",
      "a\u0000@x.com",
    ])
      assert.ok(emailProblem(bad), bad);
  });
});

for (const { kind, skip } of await databaseKinds()) {
  describe(`one mailbox, one account (${kind})`, { skip }, () => {
    let server: TestServer;
    let spa: { clientId: string };

    before(async () => {
      server = await startTestServer(kind, {
        env: {
          BOOTSTRAP_ADMIN_EMAIL: "admin@example.com",
          BOOTSTRAP_ADMIN_PASSWORD: "the admin's passphrase",
        },
      });
      spa = await createApplication(server, "spa");
    });
    after(async () => server?.close());

    const signUp = (email: string, password: string) =>
      new UserAgent(server.url).authorize(
        authorizationUrl(server, spa.clientId, CALLBACK, { prompt: "create" }),
        {
          email,
          password,
          signUp: true,
        },
      );

    it("signs up once per mailbox, whichever spelling comes second, and signs in with any", async () => {
      const first = await signUp(NFC, "correct horse battery staple 1");
      assert.ok(first.searchParams.get("code"), first.href);
      for (const spelling of [NFD, "JOS\u00c9@EXAMPLE.COM.", "admin@example.com.", "Admin@Example.com"]) {
        await assert.rejects(
          signUp(spelling, "correct horse battery staple 2"),
          /expected a redirect/,
          spelling,
        );
      }
      const users = await callApi<{ users: { email: string }[] }>(
        server,
        "GET",
        "/api/v1/users?page_size=500",
      );
      assert.deepEqual(users.body.users.map((u) => u.email).sort(), ["admin@example.com", NFC]);
      const signedIn = await new UserAgent(server.url).authorize(
        authorizationUrl(server, spa.clientId, CALLBACK),
        {
          email: NFD,
          password: "correct horse battery staple 1",
        },
      );
      assert.ok(signedIn.searchParams.get("code"), signedIn.href);
    });

    it("the Management API creates, finds and refuses by the canonical form", async () => {
      const created = await callApi<{ id: string }>(server, "POST", "/api/v1/user", {
        body: { identities: [{ type: "email", details: { email: "Ada@B\u00dcCHER.example" } }] },
      });
      assert.equal(created.status, 200);
      const stored = await server.services.users.store.findById(created.body.id);
      assert.equal(stored!.email, "ada@xn--bcher-kva.example");
      const again = await callApi<{ errors: { code: string }[] }>(server, "POST", "/api/v1/user", {
        body: { identities: [{ type: "email", details: { email: "ada@xn--bcher-kva.example." } }] },
      });
      assert.equal(again.status, 409);
      assert.equal(again.body.errors[0]!.code, "USER_EXISTS");
      const found = await callApi<{ users: { id: string }[] }>(
        server,
        "GET",
        `/api/v1/users?email=${encodeURIComponent("ADA@b\u00fccher.example.")}`,
      );
      assert.deepEqual(
        found.body.users.map((u) => u.id),
        [created.body.id],
      );
      const fullwidth = await callApi<{ errors: { code: string; message: string }[] }>(
        server,
        "POST",
        "/api/v1/user",
        {
          body: { identities: [{ type: "email", details: { email: "\uff41\uff44\uff41@example.com" } }] },
        },
      );
      assert.equal(fullwidth.status, 400);
      assert.equal(fullwidth.body.errors[0]!.code, "INVALID_EMAIL");
      assert.match(fullwidth.body.errors[0]!.message, /full-width/);
      const person = await callApi<{ id: string }>(server, "POST", "/api/v1/user", { body: {} });
      const taken = await callApi<{ errors: { code: string }[] }>(
        server,
        "POST",
        `/api/v1/users/${person.body.id}/identities`,
        { body: { type: "email", value: "ADMIN@example.com." } },
      );
      assert.equal(taken.status, 409);
    });

    it("the migration rewrites stored addresses and reports the accounts that share one", async () => {
      const database = (await freshDatabase(kind))!;
      const logs = new LogCapture();
      const logger = createLogger("info", logs);
      const storage = await openStorage(database.target, { logger, poolSize: 2 });
      try {
        await migrateUpTo(storage.db, "0012_application_org_code");
        const row = (id: string, email: string) => ({ id, email, created_at: 1, updated_at: 1 });
        await storage.db
          .insertInto("users")
          .values([
            row("kp_a", NFC),
            row("kp_b", NFD),
            row("kp_c", "Bob@B\u00fccher.Example."),
            row("kp_d", "carol@example.org"),
            row("kp_e", "carol@example.org."),
            row("kp_f", "carol@EXAMPLE.org"),
          ])
          .execute();
        await migrateToLatest(storage.db, logger);
        const emails = Object.fromEntries(
          (await storage.db.selectFrom("users").select(["id", "email"]).execute()).map((u) => [
            u.id,
            u.email,
          ]),
        );
        // Rewritten where nobody else holds the canonical form; left for the operator otherwise.
        assert.equal(emails.kp_a, NFC);
        assert.equal(emails.kp_b, NFD);
        assert.equal(emails.kp_c, "bob@xn--bcher-kva.example");
        assert.equal(emails.kp_d, "carol@example.org");
        assert.equal(emails.kp_e, "carol@example.org.");
        assert.equal(emails.kp_f, "carol@EXAMPLE.org");
        const duplicates = await new UsersStore(storage.db).emailDuplicates();
        assert.deepEqual(
          duplicates
            .map((d) => ({ email: d.email, userIds: [...d.userIds].sort() }))
            .sort((a, b) => a.email.localeCompare(b.email)),
          [
            { email: "carol@example.org", userIds: ["kp_d", "kp_e", "kp_f"] },
            { email: NFC, userIds: ["kp_a", "kp_b"] },
          ],
        );
        const warning = logs.lines.map((l) => JSON.parse(l)).find((l) => l.event === "email_duplicates");
        assert.ok(warning, logs.text);
        assert.equal(warning.accounts.length, 2);
        assert.doesNotMatch(logs.text, /carol@/, "addresses stay out of the log");
      } finally {
        await storage.close();
        await database.drop();
      }
    });
  });
}
