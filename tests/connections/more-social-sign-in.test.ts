// Signing in through the rest of Kinde's social strategies (issue 17), on SQLite and PostgreSQL,
// against one programmable local provider behaving like each (programmable-providers.ts):
// - oauth2:twitter: PKCE the provider insists on, HTTP Basic, users/me under `data`, no address:
//   the person types one and proves it with an e-mail code before any account is made or linked;
//   the pages say the same whether an account has the address; an administrator's gets no code.
// - oauth2:slack, oauth2:linkedin (an issuer with a path), oauth2:twitch (the address only on a
//   claims request) and oauth2:xero (no email_verified): OpenID Connect through discovery.
// - oauth2:discord (`verified`), oauth2:bitbucket (primary AND confirmed from /2.0/user/emails),
//   oauth2:patreon (JSON:API fields[user], is_email_verified), oauth2:facebook (appsecret_proof; the
//   address never verified): the user APIs through the catalog's mapping.
// - An unverified provider address equal to an existing account's is never linked on its word.
// - A just-in-time account's user.created event names the identity it was made with, and
//   GET /api/v1/users?expand=identities lists that identity with its connection.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { ExternalIdentitiesStore } from "../../src/users/external-identities.store.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { codeIn, messagesTo } from "../helpers/mail.js";
import { callApi } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";
import {
  CLIENT_SECRET,
  overridesFor,
  type Programmable,
  startProgrammable,
} from "./programmable-providers.js";

type Json = Record<string, unknown>;

for (const { kind, skip } of await databaseKinds()) {
  describe(`signing in through X, Slack, LinkedIn, Discord, Bitbucket, Patreon … (${kind})`, { skip }, () => {
    let server: TestServer;
    let provider: Programmable;
    let app: { clientId: string };
    let dir: string;

    before(async () => {
      provider = await startProgrammable();
      dir = mkdtempSync(path.join(tmpdir(), "latchkey-providers-"));
      const file = path.join(dir, "providers.json");
      writeFileSync(file, JSON.stringify(overridesFor(provider.origin)));
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
            // No colon: X's Basic credentials are client_id:secret.
            client_id: `client-${strategy.slice(7)}`,
            client_secret: CLIENT_SECRET,
            is_trusted: true,
            ...options,
          },
          enabledApplications: [app.clientId],
        })
      ).id;

    /** A whole sign-in in `agent`: the provider's authorization URL and Latchkey's answer to its redirect. */
    const signIn = async (connectionId: string, agent = new UserAgent(server.url)) => {
      let at = authorizationUrl(server, app.clientId, CALLBACK, { connection_id: connectionId });
      for (let hop = 0; hop < 3 && at.origin === new URL(server.url).origin; hop++)
        at = await agent.redirectFrom(at);
      const back = await agent.redirectFrom(at);
      const response = await agent.request(back);
      return { at, back, response, body: await response.text() };
    };

    const signedIn = (response: Response) =>
      response.status === 303 &&
      new URL(response.headers.get("location") ?? "/", server.url).origin === new URL(CALLBACK).origin;

    const identity = (connectionId: string, subject: string) =>
      new ExternalIdentitiesStore(server.storage.db).bySubject(connectionId, subject);

    const hiddenFields = (page: string) => {
      const fields: Record<string, string> = {};
      for (const match of page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
        fields[match[1]!] ??= match[2]!;
      return fields;
    };

    const lastCodeTo = async (email: string) => {
      const [last] = await messagesTo(server, email);
      return last ? codeIn(last.text) : undefined;
    };

    it("oauth2:twitter: PKCE and Basic as X demands; no address, so a typed one is proved before a new account exists", async () => {
      const id = await connect("oauth2:twitter");
      provider.person = { id: "1460000000000000001", name: "Xavier", username: "xav" };
      const agent = new UserAgent(server.url);
      const first = await signIn(id, agent);
      assert.equal(first.at.pathname, "/x/i/oauth2/authorize");
      assert.equal(first.at.searchParams.get("scope"), "users.read tweet.read");
      assert.equal(first.at.searchParams.get("code_challenge_method"), "S256");
      assert.deepEqual(
        provider.refusals.filter((r) => r.provider === "x"),
        [],
        "X took the code_verifier and the Basic credentials",
      );
      assert.equal(first.response.status, 200, first.body.slice(0, 300));
      assert.match(first.body, /What is your email address\?/);
      assert.match(first.body, /action="\/auth\/connections\/email"/);
      assert.equal(await identity(id, "1460000000000000001"), undefined, "nothing stored before the code");
      const usersBefore = await server.storage.db.selectFrom("users").select("id").execute();

      // An address that is not one: the form again.
      const form = hiddenFields(first.body);
      const bad = await agent.postForm("/auth/connections/email", { ...form, email: "not an address" });
      assert.equal(bad.status, 400);

      const codePage = await agent.postForm("/auth/connections/email", { ...form, email: "New-X@x.test" });
      const codeBody = await codePage.text();
      assert.equal(codePage.status, 200, codeBody.slice(0, 300));
      assert.match(codeBody, /action="\/auth\/connections\/link"/);
      const code = await lastCodeTo("new-x@x.test");
      assert.ok(code, "the code goes to the typed address although no account has it");
      assert.equal(
        (await server.storage.db.selectFrom("users").select("id").execute()).length,
        usersBefore.length,
        "no account before the code comes back",
      );
      const wrong = await agent.postForm("/auth/connections/link", {
        ...hiddenFields(codeBody),
        code: code === "000000" ? "111111" : "000000",
      });
      assert.equal(wrong.status, 400);
      assert.equal(await server.services.users.store.findByEmail("new-x@x.test"), undefined);

      const done = await agent.postForm("/auth/connections/link", { ...hiddenFields(codeBody), code });
      assert.ok(signedIn(done), (await done.clone().text()).slice(0, 300));
      const user = (await server.services.users.store.findByEmail("new-x@x.test"))!;
      assert.equal(user.email_verified, 1, "the code proved the mailbox");
      const row = (await identity(id, "1460000000000000001"))!;
      assert.equal(row.user_id, user.id);
      const claims = JSON.parse(row.claims) as Json;
      assert.equal(claims.preferred_username, "xav");
      assert.equal(claims.picture, "https://pbs.x.test/p.png", "profile_image_url asked for by user.fields");

      // The same X account again: signed in at once, no address asked.
      const again = await signIn(id);
      assert.ok(signedIn(again.response), again.body.slice(0, 300));
    });

    it("oauth2:twitter: a typed address an account has links only after its code; the page says the same as for a new address; an administrator's gets nothing", async () => {
      const id = await connect("oauth2:twitter");
      const owner = await createUser(server, { email: "owner-x@x.test" });
      const admin = await server.services.users.create({
        email: "admin-x@x.test",
        password: "an administrator's long password",
        emailVerified: true,
        isAdmin: true,
      });
      const askAndType = async (sub: string, email: string) => {
        provider.person = { id: sub, name: "Someone", username: sub };
        const agent = new UserAgent(server.url);
        const first = await signIn(id, agent);
        const typed = await agent.postForm("/auth/connections/email", { ...hiddenFields(first.body), email });
        return { agent, status: typed.status, body: await typed.text() };
      };
      const known = await askAndType("x-owner", owner.email);
      const fresh = await askAndType("x-fresh", "fresh-x@x.test");
      const toAdmin = await askAndType("x-admin", admin.email!);
      const neutral = (body: string, email: string) =>
        body.replaceAll(email, "ADDRESS").replace(/value="[^"]*"/g, 'value=""');
      assert.equal(known.status, 200);
      assert.equal(neutral(known.body, owner.email), neutral(fresh.body, "fresh-x@x.test"));
      assert.equal(neutral(toAdmin.body, admin.email!), neutral(fresh.body, "fresh-x@x.test"));
      assert.deepEqual(await messagesTo(server, admin.email!), [], "no code to an administrator's address");

      assert.equal(await identity(id, "x-owner"), undefined, "not linked before the code");
      const code = (await lastCodeTo(owner.email))!;
      const done = await known.agent.postForm("/auth/connections/link", {
        ...hiddenFields(known.body),
        code,
      });
      assert.ok(signedIn(done), (await done.clone().text()).slice(0, 300));
      assert.equal((await identity(id, "x-owner"))?.user_id, owner.id, "linked to the mailbox's account");
    });

    it("oauth2:slack and oauth2:linkedin: OpenID Connect through discovery (client_secret_post), verified addresses", async () => {
      for (const [strategy, issuerPath, sub] of [
        ["oauth2:slack", "/slack", "U0SLACK"],
        ["oauth2:linkedin", "/linkedin/oauth", "li-7"],
      ] as const) {
        const id = await connect(strategy);
        const email = `${sub.toLowerCase()}@people.test`;
        provider.person = { id: sub, name: "Lin", email, verified: true };
        const result = await signIn(id);
        assert.equal(result.at.pathname, `${issuerPath}/authorize`, "the endpoint named by discovery");
        assert.equal(result.at.searchParams.get("scope"), "openid profile email");
        assert.ok(result.at.searchParams.get("nonce"));
        assert.ok(signedIn(result.response), `${strategy}: ${result.body.slice(0, 300)}`);
        const user = (await server.services.users.store.findByEmail(email))!;
        assert.equal(user.email_verified, 1);
        assert.equal((await identity(id, sub))?.user_id, user.id);
      }
    });

    it("oauth2:twitch asks for the address with a claims request; oauth2:xero's address is never verified", async () => {
      const twitch = await connect("oauth2:twitch");
      provider.person = { id: "tw-1", username: "streamer", email: "streamer@twitch.test", verified: true };
      const viaTwitch = await signIn(twitch);
      assert.ok(signedIn(viaTwitch.response), viaTwitch.body.slice(0, 300));
      const claims = JSON.parse(viaTwitch.at.searchParams.get("claims") ?? "{}") as { id_token?: Json };
      assert.ok(claims.id_token && "email" in claims.id_token && "email_verified" in claims.id_token);
      assert.equal(viaTwitch.at.searchParams.get("scope"), "openid user:read:email");
      assert.equal(
        (await server.services.users.store.findByEmail("streamer@twitch.test"))?.email_verified,
        1,
      );

      const xero = await connect("oauth2:xero");
      const existing = await createUser(server, { email: "books@xero.test" });
      provider.person = { id: "xe-1", name: "Bea", email: "books@xero.test" };
      const viaXero = await signIn(xero);
      assert.ok(!signedIn(viaXero.response), "no email_verified: nobody signed in to the address's account");
      assert.match(viaXero.body, /Check your email/);
      assert.equal(await identity(xero, "xe-1"), undefined);
      assert.equal((await server.services.users.store.findById(existing.id))?.email, "books@xero.test");
    });

    it("oauth2:discord: `verified` decides; an unverified address equal to an account's is not linked", async () => {
      const id = await connect("oauth2:discord");
      provider.person = {
        id: "80351110224678912",
        name: "Nelly",
        username: "nelly",
        email: "nelly@discord.test",
        verified: true,
      };
      const first = await signIn(id);
      assert.equal(first.at.pathname, "/discord/oauth2/authorize");
      assert.equal(first.at.searchParams.get("scope"), "identify email");
      assert.ok(signedIn(first.response), first.body.slice(0, 300));
      const user = (await server.services.users.store.findByEmail("nelly@discord.test"))!;
      assert.equal(user.email_verified, 1);
      assert.equal(JSON.parse((await identity(id, "80351110224678912"))!.claims).preferred_username, "nelly");

      // Discord has not verified this address, and an account has it: never linked on that word.
      const existing = await createUser(server, { email: "victim@discord.test" });
      provider.person = {
        id: "80351110224678913",
        username: "mallory",
        email: "victim@discord.test",
        verified: false,
      };
      const second = await signIn(id);
      assert.ok(!signedIn(second.response), "nobody signed in to the address's account");
      assert.match(second.body, /Check your email/, "only the mailbox's code could link it");
      const row = await identity(id, "80351110224678913");
      assert.ok(!row || row.user_id !== existing.id);
      assert.equal(row, undefined, "nothing stored before the code");
    });

    it("oauth2:bitbucket: the uuid, and only the address that is primary AND confirmed", async () => {
      const id = await connect("oauth2:bitbucket");
      provider.person = {
        id: "{0a1b2c3d-0000-4000-8000-000000000001}",
        name: "Bit Bucket",
        username: "bb",
        emails: [
          { email: "secondary@bb.test", is_primary: false, is_confirmed: true, type: "email" },
          { email: "primary-unconfirmed@bb.test", is_primary: true, is_confirmed: false, type: "email" },
        ],
      };
      const first = await signIn(id);
      assert.ok(signedIn(first.response), first.body.slice(0, 300));
      const row = (await identity(id, "{0a1b2c3d-0000-4000-8000-000000000001}"))!;
      assert.equal(row.email, null, "neither the unconfirmed primary nor a secondary address");
      assert.equal(JSON.parse(row.claims).picture, "https://bitbucket.test/avatar.png");
      const listed = provider.userApiCalls.get("bitbucket")!.find((u) => u.pathname.endsWith("/emails"))!;
      assert.equal(listed.searchParams.get("pagelen"), "100");

      provider.person = {
        id: "{0a1b2c3d-0000-4000-8000-000000000002}",
        emails: [{ email: "dev@bb.test", is_primary: true, is_confirmed: true }],
      };
      const second = await signIn(id);
      assert.ok(signedIn(second.response), second.body.slice(0, 300));
      assert.equal((await server.services.users.store.findByEmail("dev@bb.test"))?.email_verified, 1);
    });

    it("oauth2:patreon: fields[user] asked for, is_email_verified decides", async () => {
      const id = await connect("oauth2:patreon");
      provider.person = { id: "31337", name: "Pat Ron", email: "pat@patreon.test", verified: true };
      const first = await signIn(id);
      assert.equal(first.at.searchParams.get("scope"), "identity identity[email]");
      assert.ok(signedIn(first.response), first.body.slice(0, 300));
      const user = (await server.services.users.store.findByEmail("pat@patreon.test"))!;
      assert.equal(user.email_verified, 1);
      assert.equal(JSON.parse((await identity(id, "31337"))!.claims).name, "Pat Ron");

      provider.person = { id: "31338", email: "unproved@patreon.test", verified: false };
      const second = await signIn(id);
      assert.ok(signedIn(second.response), second.body.slice(0, 300));
      assert.equal(
        (await server.services.users.store.findByEmail("unproved@patreon.test"))?.email_verified,
        0,
      );
    });

    it("oauth2:facebook: appsecret_proof on the Graph call; its address never counts as verified", async () => {
      const id = await connect("oauth2:facebook");
      provider.person = { id: "10223", name: "Faye", email: "faye@fb.test" };
      const first = await signIn(id);
      assert.ok(signedIn(first.response), first.body.slice(0, 300));
      const call = provider.userApiCalls.get("facebook")!.at(-1)!;
      assert.equal(call.searchParams.get("fields"), "id,name,email,first_name,last_name");
      const user = (await server.services.users.store.findByEmail("faye@fb.test"))!;
      assert.equal(user.email_verified, 0, "a trusted connection, still not verified");

      const existing = await createUser(server, { email: "taken@fb.test" });
      provider.person = { id: "10224", name: "Mal", email: "taken@fb.test" };
      const second = await signIn(id);
      assert.ok(!signedIn(second.response));
      assert.equal(await identity(id, "10224"), undefined);
      assert.ok((await server.services.users.store.findById(existing.id))?.id);
    });

    it("a just-in-time account: user.created names its identity; the users list's expand=identities shows it with its connection", async () => {
      const id = await connect("oauth2:discord");
      provider.person = {
        id: "90000000000000001",
        username: "jit",
        email: "jit@discord.test",
        verified: true,
      };
      const result = await signIn(id);
      assert.ok(signedIn(result.response), result.body.slice(0, 300));
      const user = (await server.services.users.store.findByEmail("jit@discord.test"))!;
      const row = (await identity(id, "90000000000000001"))!;
      const events = await server.storage.db
        .selectFrom("events")
        .selectAll()
        .where("type", "=", "user.created")
        .where("user_id", "=", user.id)
        .execute();
      assert.equal(events.length, 1);
      const data = JSON.parse(events[0]!.data) as { user: Json; identity?: Json };
      assert.equal(data.user.id, user.id);
      assert.deepEqual(data.identity, {
        id: row.id,
        type: "oauth2:discord",
        connection_id: id,
        name: "jit@discord.test",
      });
      // An account made by an operator names none.
      const plain = await createUser(server, { email: "plain-jit@discord.test" });
      const plainEvent = await server.storage.db
        .selectFrom("events")
        .select("data")
        .where("type", "=", "user.created")
        .where("user_id", "=", plain.id)
        .executeTakeFirstOrThrow();
      assert.equal((JSON.parse(plainEvent.data) as Json).identity, undefined);

      const listed = await callApi<{ users: { id: string; identities?: Json[] }[] }>(
        server,
        "GET",
        `/api/v1/users?expand=identities&user_id=${user.id}`,
      );
      assert.equal(listed.status, 200, JSON.stringify(listed.body));
      assert.deepEqual(listed.body.users[0]!.identities, [
        { type: "email", identity: "jit@discord.test", connection_id: null },
        { type: "oauth2:discord", identity: "jit@discord.test", connection_id: id },
      ]);
      const plainListed = await callApi<{ users: { identities?: Json[] }[] }>(
        server,
        "GET",
        `/api/v1/users?expand=identities&user_id=${plain.id}`,
      );
      assert.deepEqual(plainListed.body.users[0]!.identities, [
        { type: "email", identity: "plain-jit@discord.test", connection_id: null },
      ]);
      const one = await callApi<{ identities?: Json[] }>(
        server,
        "GET",
        `/api/v1/user?id=${user.id}&expand=identities`,
      );
      assert.equal(one.status, 200);
      assert.deepEqual(one.body.identities?.at(-1), { type: "oauth2:discord", identity: "jit@discord.test" });
    });
  });
}
