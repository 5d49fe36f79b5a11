import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";

for (const { kind, skip } of await databaseKinds()) {
  describe(`sign-in throttling under parallel guessing (${kind})`, { skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(async () => server?.close());

    it("checks at most ten passwords however many guesses arrive at once", async () => {
      const spa = await createApplication(server, "spa");
      const user = await createUser(server);
      const browser = new UserAgent(server.url);
      const url = new URL("/oauth2/auth", server.url);
      url.search = new URLSearchParams({
        response_type: "code",
        client_id: spa.clientId,
        redirect_uri: CALLBACK,
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        code_challenge_method: "S256",
      }).toString();
      const form = await browser.openForm(await browser.redirectFrom(url));
      const guess = (password: string) =>
        browser.request("/auth/sign-in", {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ ...form, email: user.email, password }),
        });
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => guess(`wrong-${i}`)));
      assert.equal(answers.filter((a) => a.status === 401).length, 10, "ten guesses were checked");
      // The rest are refused unchecked: throttled (429), or — those beyond what hashing admits at
      // once — busy (503, Retry-After) before they reach the throttle or the database at all.
      const refused = answers.filter((a) => a.status === 429 || a.status === 503);
      assert.equal(refused.length, 30, "the rest were refused unchecked");
      for (const a of refused) assert.match(a.headers.get("retry-after") ?? "", /^[1-9]\d*$/);
      const row = await server.storage.db
        .selectFrom("users")
        .select("failed_sign_ins")
        .where("id", "=", user.id)
        .executeTakeFirstOrThrow();
      assert.equal(Number(row.failed_sign_ins), 10);
      assert.equal((await guess(user.password)).status, 429, "the right password waits too");
    });
  });
}
