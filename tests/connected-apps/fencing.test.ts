// The refresh lease is fenced: every refresh takes the lease with a fresh owner id, and every write
// the refresh makes — its tokens, a "reauthorize" verdict, a cooldown — and the lease's release only
// land while that owner still holds it. A holder whose lease passed on (a provider answering late, a
// paused process, a skewed clock) can no longer overwrite its successor. Two service instances on one
// database play two Latchkey processes; the shared test clock jumps past the lease while a
// programmable provider holds an answer back. Each provider request also has a deadline, shorter than
// the lease, that covers a dripping body.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { loadCatalog } from "../../src/connected-apps/catalog.js";
import {
  ConnectedAppError,
  type ConnectedAppsOptions,
  ConnectedAppsService,
  REFRESH_COOLDOWN_SECONDS,
  REFRESH_LEASE_SECONDS,
} from "../../src/connected-apps/connected-apps.service.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import { type ProgrammableProvider, startProgrammableProvider } from "../helpers/oauth-provider.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { signedInUserAgent, type UserAgent } from "../helpers/user-agent.js";

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const until = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function isCode(code: ConnectedAppError["code"]) {
  return (error: unknown) => error instanceof ConnectedAppError && error.code === code;
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`fenced refresh lease and provider deadline (${kind})`, { skip }, () => {
    let server: TestServer;
    let provider: ProgrammableProvider;
    let token: string;
    let browser: UserAgent;
    let userId: string;
    let now = Math.floor(Date.now() / 1000);
    const clock = { now: () => now };
    const dir = mkdtempSync(path.join(tmpdir(), "latchkey-fencing-"));
    const catalogFile = path.join(dir, "catalog.json");

    before(async () => {
      provider = await startProgrammableProvider({ refreshTokens: "same" });
      const endpoints = {
        authorizationUrl: provider.authorizationEndpoint,
        tokenUrl: provider.tokenEndpoint,
      };
      writeFileSync(
        catalogFile,
        JSON.stringify([
          // Revocation would end the whole grant (the default assumption): stale results are dropped.
          { id: "grant-wide", ...endpoints, revocationUrl: provider.revocationEndpoint },
          // Revocation ends one token only: stale results are dropped and revoked.
          {
            id: "single-token",
            ...endpoints,
            revocationUrl: provider.revocationEndpoint,
            revokesSingleToken: true,
          },
        ]),
      );
      server = await startTestServer(kind, {
        clock,
        env: { CONNECTED_APPS_ALLOW_PRIVATE_NETWORKS: "true", CONNECTED_APPS_CATALOG_FILE: catalogFile },
      });
      token = await managementToken(server);
      for (const key of ["grant-wide", "single-token"]) {
        await server.services.connectedApps.create({
          key_code_ref: key,
          provider: key,
          client_id: provider.clientId,
          client_secret: provider.clientSecret,
          callback_url: "https://app.example.com/connected",
        });
      }
      const user = await createUser(server);
      userId = user.id;
      const spa = await createApplication(server, "spa");
      browser = await signedInUserAgent(server, spa.clientId, CALLBACK, user);
    });
    after(async () => {
      await server?.close();
      await provider?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    /** Another Latchkey process on the same database (its own in-process single-flight map). */
    function instance(options: Partial<ConnectedAppsOptions> = {}): ConnectedAppsService {
      return new ConnectedAppsService(server.storage.db, server.secretBox, clock, {
        issuer: server.url,
        catalog: loadCatalog(catalogFile),
        allowPrivateNetworks: true,
        logger: server.logger,
        ...options,
      });
    }

    /** A connected connection whose access token has just expired. */
    async function expiredConnection(key: string): Promise<string> {
      const { body } = await callApi<{ url: string; session_id: string }>(
        server,
        "GET",
        `/api/v1/connected_apps/auth_url?key_code_ref=${key}&user_id=${userId}`,
        { token },
      );
      const toProvider = await browser.redirectFrom(body.url);
      const back = new URL((await fetch(toProvider, { redirect: "manual" })).headers.get("location")!);
      await browser.redirectFrom(back);
      const row = await connection(body.session_id);
      assert.equal(row.status, "connected", row.last_error ?? "");
      now += 7200;
      return body.session_id;
    }

    function connection(id: string) {
      return server.storage.db
        .selectFrom("connections")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirstOrThrow();
    }

    async function storedAccessToken(id: string): Promise<string> {
      const row = await connection(id);
      return server.secretBox.open(row.access_token_sealed!, `connection:${id}`);
    }

    const refreshRequests = () =>
      provider.requests.filter((r) => r.path === "/token" && r.params.grant_type === "refresh_token").length;
    const revocations = () => provider.requests.filter((r) => r.path === "/revoke");
    const worksAtProvider = async (accessToken: string) =>
      (await fetch(provider.userEndpoint, { headers: { authorization: `Bearer ${accessToken}` } })).status ===
      200;

    it("stores only the current holder's result when a refresh is answered after its lease passed on", async () => {
      provider.behaviour.refreshTokens = "same";
      const sessionId = await expiredConnection("grant-wide");
      const [first, second] = [instance(), instance()];
      const issuedBefore = provider.issued.length;
      const revocationsBefore = revocations().length;

      provider.behaviour.responseDelayMs = 1500;
      const late = first.token(sessionId);
      await waitFor(() => provider.issued.length === issuedBefore + 1, "the first refresh to be issued");
      const stale = provider.issued.at(-1)!;
      provider.behaviour.responseDelayMs = 0;
      now += REFRESH_LEASE_SECONDS + 1; // the first holder's lease has run out

      const current = await second.token(sessionId);
      const winner = provider.issued.at(-1)!;
      assert.notEqual(winner.accessToken, stale.accessToken);
      assert.equal(current.accessToken, winner.accessToken);

      const answered = await late;
      assert.equal(answered.accessToken, winner.accessToken, "the late holder hands out the stored token");
      assert.equal(await storedAccessToken(sessionId), winner.accessToken, "the stale result was not stored");
      const row = await connection(sessionId);
      assert.equal(row.status, "connected");
      assert.equal(row.refresh_lock_owner, null);
      assert.equal(row.refresh_locked_until, null);
      assert.equal(provider.issued.length, issuedBefore + 2);
      assert.equal(revocations().length, revocationsBefore, "revoking could end the winner's grant too");
      assert.ok(await worksAtProvider(winner.accessToken));

      assert.match(server.logs.text, /connected_app_stale_refresh_discarded/);
      for (const secret of [stale.accessToken, winner.accessToken, stale.refreshToken!, sessionId])
        assert.ok(!server.logs.text.includes(secret), "no token or session id in the logs");
    });

    it("revokes a discarded result at a provider whose revocation ends one token only", async () => {
      provider.behaviour.refreshTokens = "same";
      const sessionId = await expiredConnection("single-token");
      const [first, second] = [instance(), instance()];
      const revocationsBefore = revocations().length;

      provider.behaviour.responseDelayMs = 1500;
      const issuedBefore = provider.issued.length;
      const late = first.token(sessionId);
      await waitFor(() => provider.issued.length === issuedBefore + 1, "the first refresh to be issued");
      const stale = provider.issued.at(-1)!;
      provider.behaviour.responseDelayMs = 0;
      now += REFRESH_LEASE_SECONDS + 1;
      const current = await second.token(sessionId);
      assert.equal((await late).accessToken, current.accessToken);

      const revoked = revocations().slice(revocationsBefore);
      assert.deepEqual(
        revoked.map((r) => r.params.token),
        [stale.accessToken],
        "the stale access token only; the refresh token is the live connection's too",
      );
      assert.equal(await worksAtProvider(stale.accessToken), false);
      assert.ok(await worksAtProvider(current.accessToken));
      now += 7200;
      const later = await instance().token(sessionId);
      assert.ok(await worksAtProvider(later.accessToken), "the connection's grant survived");
    });

    it("a stale holder's release leaves its successor's lease in place", async () => {
      provider.behaviour.refreshTokens = "same";
      const sessionId = await expiredConnection("grant-wide");
      const [first, second, third] = [instance(), instance(), instance()];
      const issuedBefore = provider.issued.length;

      provider.behaviour.responseDelayMs = 800;
      const late = first.token(sessionId);
      await waitFor(() => provider.issued.length === issuedBefore + 1, "the first refresh to be issued");
      provider.behaviour.responseDelayMs = 2000;
      now += REFRESH_LEASE_SECONDS + 1;
      const successor = second.token(sessionId);
      await waitFor(() => provider.issued.length === issuedBefore + 2, "the second refresh to be issued");
      provider.behaviour.responseDelayMs = 0;

      // The first holder's answer arrives while the second still waits for its own: it is
      // discarded, and the first holder's release must not free the second's lease.
      await assert.rejects(late, isCode("PROVIDER_UNAVAILABLE"));
      const during = await connection(sessionId);
      assert.notEqual(during.refresh_lock_owner, null, "the successor still holds the lease");
      assert.equal(during.refresh_locked_until, now + REFRESH_LEASE_SECONDS);

      // So a third caller waits for the successor instead of refreshing a third time.
      const waiting = third.token(sessionId);
      const [fromSuccessor, fromWaiter] = await Promise.all([successor, waiting]);
      assert.equal(fromWaiter.accessToken, fromSuccessor.accessToken);
      assert.equal(provider.issued.length, issuedBefore + 2, "no third refresh at the provider");
      assert.equal(await storedAccessToken(sessionId), provider.issued.at(-1)!.accessToken);
      assert.equal((await connection(sessionId)).refresh_lock_owner, null);
    });

    it("a stale holder's refusal from the provider does not mark the connection for reauthorization", async () => {
      provider.behaviour.refreshTokens = "rotate";
      const sessionId = await expiredConnection("grant-wide");
      const [first, second] = [instance(), instance()];
      const refreshesBefore = refreshRequests();
      const issuedBefore = provider.issued.length;

      // The first request reaches the provider, which only processes it later — after the second
      // holder has rotated the refresh token both presented. The first then gets invalid_grant.
      provider.behaviour.tokenDelayMs = 1000;
      const late = first.token(sessionId);
      await waitFor(() => refreshRequests() === refreshesBefore + 1, "the first refresh request");
      provider.behaviour.tokenDelayMs = 0;
      now += REFRESH_LEASE_SECONDS + 1;
      const current = await second.token(sessionId);

      const answered = await late;
      assert.equal(answered.accessToken, current.accessToken);
      assert.equal(provider.issued.length, issuedBefore + 1, "only the second refresh succeeded");
      const row = await connection(sessionId);
      assert.equal(row.status, "connected", "not needs_reauthorization");
      assert.equal(row.last_error, null);
      assert.equal(row.refresh_lock_owner, null);
      provider.behaviour.refreshTokens = "same";
    });

    it("cuts a provider that drips its answer at the deadline, and keeps the connection", {
      timeout: 60_000, // a hang guard: without the deadline the dripping answer never ends
    }, async () => {
      provider.behaviour.refreshTokens = "same";
      const sessionId = await expiredConnection("grant-wide");
      const hurried = instance({ providerDeadlineMs: 400 });
      const issuedBefore = provider.issued.length;
      const cutBefore = provider.cutDrips;
      // Whitespace without end: only Latchkey's deadline can end the wait.
      provider.behaviour.drip = { intervalMs: 50, paddingBytes: Number.POSITIVE_INFINITY };
      await assert.rejects(hurried.token(sessionId), isCode("PROVIDER_UNAVAILABLE"));
      provider.behaviour.drip = undefined;
      assert.equal(
        provider.issued.length,
        issuedBefore + 1,
        "the provider issued the tokens it was dripping",
      );
      await waitFor(() => provider.cutDrips === cutBefore + 1, "Latchkey to close the dripping answer");

      const row = await connection(sessionId);
      assert.equal(row.status, "connected");
      assert.equal(row.refresh_lock_owner, null, "the lease is released");
      assert.equal(row.refresh_retry_after, now + REFRESH_COOLDOWN_SECONDS);
      assert.match(row.last_error ?? "", /no complete answer within 400 ms/);
      assert.match(server.logs.text, /connected_app_refresh_failed/);

      now += REFRESH_COOLDOWN_SECONDS + 1;
      const recovered = await hurried.token(sessionId);
      assert.ok(await worksAtProvider(recovered.accessToken));
    });

    it("refuses a provider deadline that does not fit inside the lease", () => {
      assert.throws(() => instance({ providerDeadlineMs: REFRESH_LEASE_SECONDS * 1000 }), /shorter than/);
      assert.throws(() => instance({ refreshLeaseSeconds: 2, providerDeadlineMs: 2500 }), /shorter than/);
      assert.throws(() => instance({ providerDeadlineMs: 0 }), /positive/);
      assert.ok(instance({ refreshLeaseSeconds: 2, providerDeadlineMs: 1500 }));
    });
  });
}
