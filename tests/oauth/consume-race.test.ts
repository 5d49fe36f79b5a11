// Issue 21: the code and refresh grants read their row without a lock, check it, sign, and then
// consume it and write the issue in ONE conditional statement. These tests hold one request between
// its read and its write while another request uses the same code or refresh token, so the held one
// reads an unconsumed row and then loses the consume: it must write nothing, and be refused exactly
// as a replay is — the code's first tokens revoked (RFC 6749 §4.1.2), the refresh family revoked
// (RFC 9700 §4.14.2). The database is real; only the order of the two requests is arranged.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { decodeJwt } from "jose";
import { sha256 } from "../../src/crypto/random.js";
import type { KyselyOAuthStore } from "../../src/oauth/oauth.store.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { backChannel, pkcePair, type TokenResponse } from "../helpers/tokens.js";
import { UserAgent } from "../helpers/user-agent.js";

type ErrorBody = { error?: string; error_description?: string };

for (const { kind, skip } of await databaseKinds()) {
  describe(`a code or refresh token consumed between a request's read and its write (${kind})`, {
    skip,
  }, () => {
    let server: TestServer;
    let clientId: string;
    let browser: UserAgent;
    let user: { id: string; email: string; password: string };
    /** The store behind the request's cached view (config-cache.ts builds on it by prototype). */
    let store: KyselyOAuthStore;

    before(async () => {
      server = await startTestServer(kind);
      ({ clientId } = await createApplication(server, "spa"));
      user = await createUser(server);
      browser = new UserAgent(server.url);
      store = Object.getPrototypeOf(server.services.oauth.store) as KyselyOAuthStore;
    });
    after(async () => server?.close());

    /**
     * Makes the next call of `method` return its read only when `release` is called; `read` resolves
     * once that read has been made (so the row was seen as it was then).
     */
    function holdNextRead(method: "readCodeForExchange" | "readRefreshTokenForUse") {
      const original = store[method] as (this: KyselyOAuthStore, hash: string) => Promise<unknown>;
      let release!: () => void;
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      let readDone!: () => void;
      const read = new Promise<void>((resolve) => {
        readDone = resolve;
      });
      const held = async function (this: KyselyOAuthStore, hash: string) {
        // Only the first request is held; the one that overtakes it runs as usual.
        (store as unknown as Record<string, unknown>)[method] = original;
        const found = await original.call(this, hash);
        readDone();
        await released;
        return found;
      };
      (store as unknown as Record<string, unknown>)[method] = held;
      return { read, release };
    }

    async function code(): Promise<{ code: string; verifier: string }> {
      const { verifier, challenge } = pkcePair();
      const url = new URL("/oauth2/auth", server.url);
      url.search = new URLSearchParams({
        response_type: "code",
        client_id: clientId,
        redirect_uri: CALLBACK,
        scope: "openid offline",
        code_challenge: challenge,
        code_challenge_method: "S256",
        state: "s",
      }).toString();
      const callback = await browser.authorize(url, user);
      const value = callback.searchParams.get("code");
      assert.ok(value, callback.href);
      return { code: value, verifier };
    }

    const exchange = (grant: { code: string; verifier: string }) =>
      backChannel<TokenResponse & ErrorBody>(server, "/oauth2/token", {
        grant_type: "authorization_code",
        client_id: clientId,
        code: grant.code,
        redirect_uri: CALLBACK,
        code_verifier: grant.verifier,
      });

    const refresh = (refreshToken: string) =>
      backChannel<TokenResponse & ErrorBody>(server, "/oauth2/token", {
        grant_type: "refresh_token",
        client_id: clientId,
        refresh_token: refreshToken,
      });

    async function userinfoStatus(accessToken: string): Promise<number> {
      const response = await fetch(`${server.url}/oauth2/v2/user_profile`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      await response.text();
      return response.status;
    }

    const grantsOfClient = async () =>
      (
        await server.storage.db
          .selectFrom("grants")
          .select("id")
          .where("client_id", "=", clientId)
          .where("user_id", "=", user.id)
          .execute()
      ).map((row) => row.id);

    it("a code exchange that loses the consume writes nothing and revokes the winner's tokens (RFC 6749 §4.1.2)", async () => {
      const grant = await code();
      const grantsBefore = await grantsOfClient();
      const hold = holdNextRead("readCodeForExchange");
      const late = exchange(grant);
      await hold.read;
      // Overtaken: this exchange reads, checks and consumes while the first one is held.
      const first = await exchange(grant);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.equal(await userinfoStatus(first.body.access_token), 200, "control: live before the late write");
      hold.release();
      const lost = await late;
      assert.equal(lost.status, 400, JSON.stringify(lost.body));
      assert.equal(lost.body.error, "invalid_grant");
      assert.equal(lost.body.access_token, undefined);
      assert.match(String(lost.body.error_description), /already been used/);
      // One grant came of the code — the winner's — and the loser's replay revoked it.
      const made = (await grantsOfClient()).filter((id) => !grantsBefore.includes(id));
      assert.equal(made.length, 1, `grants made: ${made.join(", ")}`);
      const row = await server.storage.db
        .selectFrom("grants")
        .select(["revoked_at", "revoked_reason"])
        .where("id", "=", made[0]!)
        .executeTakeFirstOrThrow();
      assert.equal(row.revoked_reason, "authorization code reused");
      const tokens = await server.storage.db
        .selectFrom("access_tokens")
        .select("jti")
        .where("grant_id", "=", made[0]!)
        .execute();
      assert.equal(tokens.length, 1, "only the winner's access token was recorded");
      assert.equal(await userinfoStatus(first.body.access_token), 401);
      assert.equal((await refresh(first.body.refresh_token!)).body.error, "invalid_grant");
    });

    it("a refresh that loses the consume writes nothing and revokes the family (RFC 9700 §4.14.2)", async () => {
      const issued = await exchange(await code());
      assert.equal(issued.status, 200, JSON.stringify(issued.body));
      const original = issued.body.refresh_token!;
      const [grantId] = (
        await server.storage.db
          .selectFrom("refresh_tokens")
          .select("grant_id")
          .where("token_hash", "=", sha256(original))
          .execute()
      ).map((row) => row.grant_id);
      assert.ok(grantId);
      const familyBefore = await family(grantId);

      const hold = holdNextRead("readRefreshTokenForUse");
      const late = refresh(original);
      await hold.read;
      const rotated = await refresh(original);
      assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
      assert.equal(
        await userinfoStatus(rotated.body.access_token),
        200,
        "control: live before the late write",
      );
      hold.release();
      const lost = await late;
      assert.equal(lost.status, 400, JSON.stringify(lost.body));
      assert.equal(lost.body.error, "invalid_grant");
      assert.equal(lost.body.refresh_token, undefined);
      // Only the winner's successor was written: one refresh token and one access token more.
      const familyAfter = await family(grantId);
      assert.equal(familyAfter.refreshTokens, familyBefore.refreshTokens + 1);
      assert.equal(familyAfter.accessTokens, familyBefore.accessTokens + 1);
      assert.equal(familyAfter.revokedReason, "refresh token reused");
      assert.equal(await userinfoStatus(rotated.body.access_token), 401);
      assert.equal((await refresh(rotated.body.refresh_token!)).body.error, "invalid_grant");
    });

    it("a refresh that read before a revocation writes nothing after it (RFC 7009 §2.1)", async () => {
      const issued = await exchange(await code());
      assert.equal(issued.status, 200, JSON.stringify(issued.body));
      const original = issued.body.refresh_token!;
      const { grant_id: grantId } = await server.storage.db
        .selectFrom("refresh_tokens")
        .select("grant_id")
        .where("token_hash", "=", sha256(original))
        .executeTakeFirstOrThrow();
      const familyBefore = await family(grantId);

      const hold = holdNextRead("readRefreshTokenForUse");
      const late = refresh(original);
      await hold.read;
      // The held refresh saw the grant live; the client revokes it before the refresh writes.
      const revoked = await fetch(`${server.url}/oauth2/revoke`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ client_id: clientId, token: original }),
      });
      await revoked.text();
      assert.equal(revoked.status, 200);
      assert.equal(await userinfoStatus(issued.body.access_token), 401, "control: the revocation took");
      hold.release();
      const refused = await late;
      assert.equal(refused.status, 400, JSON.stringify(refused.body));
      assert.equal(refused.body.error, "invalid_grant");
      assert.equal(refused.body.access_token, undefined);
      assert.match(String(refused.body.error_description), /revoked/);
      // Nothing written under the revoked grant, and it stays revoked for the client's reason
      // (not taken for a reuse).
      const familyAfter = await family(grantId);
      assert.equal(familyAfter.accessTokens, familyBefore.accessTokens);
      assert.equal(familyAfter.refreshTokens, familyBefore.refreshTokens);
      assert.equal(familyAfter.revokedReason, "revoked by client");
    });

    it("a recorded access token whose grant is gone is revoked (user deletion)", async () => {
      // Deleting a user marks its access tokens revoked, then the grants cascade away: a token
      // recorded in between (a refresh committing then) names a grant that no longer exists.
      const issued = await exchange(await code());
      assert.equal(issued.status, 200, JSON.stringify(issued.body));
      assert.equal(await userinfoStatus(issued.body.access_token), 200, "control: live with its grant");
      const { grant_id: grantId } = await server.storage.db
        .selectFrom("access_tokens")
        .select("grant_id")
        .where("jti", "=", String(decodeJwt(issued.body.access_token).jti))
        .executeTakeFirstOrThrow();
      assert.ok(grantId);
      await server.storage.db.deleteFrom("grants").where("id", "=", grantId).execute();
      assert.equal(await userinfoStatus(issued.body.access_token), 401);
    });

    it("a refused exchange (wrong redirect_uri) that loses the consume is a replay too", async () => {
      const grant = await code();
      const hold = holdNextRead("readCodeForExchange");
      const late = backChannel<TokenResponse & ErrorBody>(server, "/oauth2/token", {
        grant_type: "authorization_code",
        client_id: clientId,
        code: grant.code,
        redirect_uri: `${CALLBACK}x`,
        code_verifier: grant.verifier,
      });
      await hold.read;
      const first = await exchange(grant);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      hold.release();
      const lost = await late;
      assert.equal(lost.status, 400);
      assert.equal(lost.body.error, "invalid_grant");
      // It presented a code already exchanged: the first exchange's tokens are revoked (§4.1.2).
      assert.equal(await userinfoStatus(first.body.access_token), 401);
    });

    async function family(grantId: string) {
      const db = server.storage.db;
      const refreshTokens = await db
        .selectFrom("refresh_tokens")
        .select("token_hash")
        .where("grant_id", "=", grantId)
        .execute();
      const accessTokens = await db
        .selectFrom("access_tokens")
        .select("jti")
        .where("grant_id", "=", grantId)
        .execute();
      const grant = await db
        .selectFrom("grants")
        .select("revoked_reason")
        .where("id", "=", grantId)
        .executeTakeFirstOrThrow();
      return {
        refreshTokens: refreshTokens.length,
        accessTokens: accessTokens.length,
        revokedReason: grant.revoked_reason,
      };
    }
  });
}
