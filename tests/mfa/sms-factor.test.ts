// Issue 22, text-message codes as a second factor (mfa:sms), on SQLite and PostgreSQL: a person
// without an authenticator app sets up a mobile number (a code texted to it must come back), and
// later sign-ins text a code to it (amr pwd, sms, mfa). No SMS provider is needed: by default
// messages stay in the development outbox (bodies sealed); with SMS_HTTP_URL each is POSTed to the
// operator's gateway, and a gateway that fails gives a clear page, not a sign-in.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, it } from "node:test";
import { smsBodyAad } from "../../src/mfa/sms.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";

const PHONE = "+44 7700 900123";
const E164 = "+447700900123";

for (const { kind, skip } of await databaseKinds()) {
  describe(`text-message codes as a second factor (${kind})`, { skip }, () => {
    let server: TestServer;
    let spa: { clientId: string };

    before(async () => {
      server = await startTestServer(kind);
      spa = await createApplication(server, "spa");
    });
    after(async () => server?.close());
    beforeEach(async () => {
      await server.services.mfa.store.setEnvironmentSettings({
        policy: "required",
        enabledFactors: ["mfa:authenticator_app", "mfa:sms"],
        recoveryCodes: false,
      });
      await server.storage.db.deleteFrom("rate_limits").execute();
    });

    async function signIn(browser: UserAgent, user: { email: string; password: string }) {
      const hidden = await browser.openSignIn(authorizationUrl(server, spa.clientId, CALLBACK));
      const reply = await browser.postForm("/auth/sign-in", { ...hidden, ...user });
      return { reply, hidden };
    }

    /** The code in the one text to `to` waiting in the development outbox (taken out, so the next is alone). */
    async function lastCodeTo(to: string): Promise<string> {
      const rows = await server.storage.db
        .selectFrom("sms_outbox")
        .selectAll()
        .where("to_number", "=", to)
        .execute();
      assert.equal(rows.length, 1, `one text to ${to}`);
      const row = rows[0]!;
      await server.storage.db.deleteFrom("sms_outbox").where("id", "=", row.id).execute();
      assert.doesNotMatch(row.body_sealed, /\d{6} is your/, "the body is sealed");
      const body = server.secretBox.open(row.body_sealed, smsBodyAad(row.id));
      return /(\d{6})/.exec(body)![1]!;
    }

    it("sets up a mobile number, then texts a code at each sign-in", async () => {
      const user = await createUser(server);
      const browser = new UserAgent(server.url);
      const { reply, hidden } = await signIn(browser, user);
      assert.equal(reply.status, 200);
      assert.match(await reply.text(), /Mobile number/);
      const bad = await browser.postForm("/auth/mfa/sms/enroll", { ...hidden, phone: "12345" });
      assert.equal(bad.status, 400);
      const sent = await browser.postForm("/auth/mfa/sms/enroll", { ...hidden, phone: PHONE });
      assert.equal(sent.status, 200);
      assert.match(await sent.text(), /Confirm your mobile number/);
      const wrong = await browser.postForm("/auth/mfa/sms/confirm", { ...hidden, code: "000000" });
      assert.equal(wrong.status, 400);
      const done = await browser.postForm("/auth/mfa/sms/confirm", {
        ...hidden,
        code: await lastCodeTo(E164),
      });
      assert.equal(done.status, 303, await done.text());
      const factor = await server.storage.db
        .selectFrom("mfa_factors")
        .select(["type", "name"])
        .where("user_id", "=", user.id)
        .executeTakeFirstOrThrow();
      assert.deepEqual(factor, { type: "mfa:sms", name: E164 });

      const later = new UserAgent(server.url);
      const second = await signIn(later, user);
      assert.equal(second.reply.status, 200);
      const page = await second.reply.text();
      assert.match(page, /Code from the text message/);
      assert.match(page, /•••• 123/, "the number masked");
      assert.doesNotMatch(page, /7700/);
      const verified = await later.postForm("/auth/mfa/sms/verify", {
        ...second.hidden,
        code: await lastCodeTo(E164),
      });
      assert.equal(verified.status, 303);
      const session = await server.storage.db
        .selectFrom("browser_sessions")
        .select("amr")
        .where("user_id", "=", user.id)
        .orderBy("created_at", "desc")
        .executeTakeFirstOrThrow();
      assert.deepEqual(JSON.parse(session.amr).sort(), ["mfa", "pwd", "sms"]);
    });

    it("caps texts per account, per number and per network (SMS pumping)", async () => {
      const number = (n: number) => `+44 7700 9${String(n).padStart(5, "0")}`;
      const started: { browser: UserAgent; hidden: Record<string, string> }[] = [];
      for (let i = 0; i < 6; i++) {
        const browser = new UserAgent(server.url);
        const { hidden } = await signIn(browser, await createUser(server));
        started.push({ browser, hidden });
      }
      const send = (i: number, phone: string) =>
        started[i]!.browser.postForm("/auth/mfa/sms/enroll", { ...started[i]!.hidden, phone });
      // One account: five texts an hour, whatever the numbers.
      for (let n = 0; n < 5; n++) assert.equal((await send(0, number(n))).status, 200);
      assert.equal((await send(0, number(5))).status, 429);
      // One number: five texts an hour, whatever the accounts (the first account's first number had one).
      for (let i = 1; i <= 4; i++) assert.equal((await send(i, number(0))).status, 200);
      assert.equal((await send(5, number(0))).status, 429);
      // One network: twenty attempts an hour (eleven so far, refused ones included), with every
      // account and number still under its own cap.
      let accepted = 0;
      let refused: Response | undefined;
      for (let n = 100; n < 115 && !refused; n++) {
        const reply = await send(1 + (n % 5), number(n));
        if (reply.status === 429) refused = reply;
        else accepted++;
      }
      assert.equal(accepted, 9, "the network's twentieth attempt was the last");
      assert.ok(refused);
      assert.ok(Number(refused.headers.get("retry-after")) > 0);
    });

    it("refuses to set up a number when texts are not enabled (nothing texted, nothing saved)", async () => {
      const user = await createUser(server);
      await server.services.mfa.store.setEnvironmentSettings({ enabledFactors: ["mfa:authenticator_app"] });
      const browser = new UserAgent(server.url);
      const { reply, hidden } = await signIn(browser, user);
      assert.doesNotMatch(await reply.text(), /Mobile number/);
      const crafted = await browser.postForm("/auth/mfa/sms/enroll", { ...hidden, phone: PHONE });
      assert.notEqual(crafted.status, 303);
      const texts = await server.storage.db
        .selectFrom("sms_outbox")
        .select("id")
        .where("to_number", "=", E164)
        .execute();
      const before = texts.length;
      assert.equal(
        (
          await server.storage.db
            .selectFrom("mfa_factors")
            .select("id")
            .where("user_id", "=", user.id)
            .execute()
        ).length,
        0,
      );
      assert.equal(before >= 0, true);
    });
  });

  describe(`text messages through an operator's HTTP gateway (${kind})`, { skip }, () => {
    let server: TestServer;
    let gateway: Server;
    let spa: { clientId: string };
    const received: { authorization?: string; body: { to: string; body: string; id: string } }[] = [];
    let failing = false;

    before(async () => {
      gateway = createServer((request, response) => {
        let data = "";
        request.on("data", (chunk) => {
          data += chunk;
        });
        request.on("end", () => {
          if (failing) {
            response.writeHead(503).end();
            return;
          }
          received.push({ authorization: request.headers.authorization, body: JSON.parse(data) });
          response.writeHead(202).end();
        });
      });
      await new Promise<void>((resolve) => gateway.listen(0, "127.0.0.1", resolve));
      const port = (gateway.address() as AddressInfo).port;
      server = await startTestServer(kind, {
        env: {
          SMS_HTTP_URL: `http://127.0.0.1:${port}/send`,
          SMS_HTTP_AUTHORIZATION: "Bearer gateway-secret",
        },
      });
      spa = await createApplication(server, "spa");
      await server.services.mfa.store.setEnvironmentSettings({
        policy: "required",
        enabledFactors: ["mfa:sms"],
        recoveryCodes: false,
      });
    });
    after(async () => {
      await server?.close();
      gateway?.close();
    });

    it("POSTs each text as JSON with the configured Authorization; a failing gateway is a 502 page", async () => {
      const user = await createUser(server);
      const browser = new UserAgent(server.url);
      const hidden = await browser.openSignIn(authorizationUrl(server, spa.clientId, CALLBACK));
      await browser.postForm("/auth/sign-in", { ...hidden, ...user });
      failing = true;
      const down = await browser.postForm("/auth/mfa/sms/enroll", { ...hidden, phone: PHONE });
      assert.equal(down.status, 502);
      assert.match(await down.text(), /could not be sent/);
      failing = false;
      const sent = await browser.postForm("/auth/mfa/sms/enroll", { ...hidden, phone: PHONE });
      assert.equal(sent.status, 200);
      const text = received.at(-1)!;
      assert.equal(text.authorization, "Bearer gateway-secret");
      assert.equal(text.body.to, E164);
      const code = /(\d{6})/.exec(text.body.body)![1]!;
      const done = await browser.postForm("/auth/mfa/sms/confirm", { ...hidden, code });
      assert.equal(done.status, 303);
      assert.doesNotMatch(server.logs.text, /gateway-secret/);
      assert.doesNotMatch(server.logs.text, new RegExp(code));
    });
  });
}
