// Access-token verification (TokenService.verify, RFC 7519 §7.2 for the one shape Latchkey
// issues), with node:crypto instead of a JOSE library: every token is signed here with the
// server's real key, so only the property under test makes it fail.
import assert from "node:assert/strict";
import { generateKeyPairSync, randomUUID, sign } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { OAuthError } from "../../src/oauth/errors.js";
import { CLOCK_TOLERANCE_SECONDS } from "../../src/oauth/tokens.js";
import { databaseKinds } from "../helpers/databases.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

for (const { kind, skip } of await databaseKinds()) {
  describe(`access-token verification (${kind})`, { skip }, () => {
    let server: TestServer;
    let now = Math.floor(Date.now() / 1000);
    before(async () => {
      server = await startTestServer(kind, { clock: { now: () => now } });
    });
    after(async () => server?.close());

    /** A token signed with the server's current key, built from the parts given. */
    async function token(
      claims: Record<string, unknown> = {},
      header: Record<string, unknown> = {},
      key?: Parameters<typeof sign>[2],
    ): Promise<string> {
      const current = await server.services.keys.current();
      const input = `${b64({ alg: "RS256", kid: current.kid, typ: "JWT", ...header })}.${b64({
        iss: server.url,
        aud: ["https://api.example.com"],
        azp: "client",
        jti: randomUUID(),
        iat: now,
        exp: now + 600,
        scp: [],
        ...claims,
      })}`;
      return `${input}.${sign("sha256", Buffer.from(input), key ?? current.privateKey).toString("base64url")}`;
    }
    const verify = (jwt: string) => server.services.oauth.tokens.verify(jwt);
    const refused = async (jwt: string, why: string) =>
      assert.rejects(
        verify(jwt),
        (error) => error instanceof OAuthError && error.error === "invalid_token",
        why,
      );

    it("accepts a token it issued, within the clock tolerance", async () => {
      const claims = await verify(await token());
      assert.equal(claims.iss, server.url);
      assert.equal(claims.azp, "client");
      await verify(await token({ exp: now - CLOCK_TOLERANCE_SECONDS + 1 }));
      await verify(await token({ nbf: now + CLOCK_TOLERANCE_SECONDS }));
    });

    it("refuses other algorithms, unknown keys, critical headers and foreign signatures", async () => {
      const good = await token();
      const [h, p] = good.split(".");
      await refused(
        `${b64({ alg: "none", kid: JSON.parse(Buffer.from(h!, "base64url").toString()).kid })}.${p}.`,
        "alg none",
      );
      await refused(await token({}, { alg: "HS256" }), "HS256");
      await refused(await token({}, { alg: "RS512" }), "RS512");
      await refused(await token({}, { kid: "unknown-kid" }), "unknown kid");
      await refused(await token({}, { kid: 7 }), "non-string kid");
      await refused(await token({}, { crit: ["exp"] }), "crit");
      const stranger = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
      await refused(await token({}, {}, stranger), "signed by another key");
      await refused(await token({}, { jwk: { kty: "RSA" } }, stranger), "embedded jwk is never trusted");
    });

    it("refuses tampered, malformed and non-compact tokens", async () => {
      const good = await token();
      const [h, p, s] = good.split(".") as [string, string, string];
      // Verified (and so remembered, by its signature) first: another payload or header under the
      // same signature must not borrow it.
      await verify(good);
      await refused(
        `${h}.${b64({ ...JSON.parse(Buffer.from(p, "base64url").toString()), azp: "x" })}.${s}`,
        "tampered",
      );
      await refused(
        `${b64({ ...JSON.parse(Buffer.from(h, "base64url").toString()), x: 1 })}.${p}.${s}`,
        "header",
      );
      assert.equal((await verify(good)).azp, "client", "the genuine token still verifies");
      await refused(`${h}.${p}.${s.slice(0, -4)}`, "truncated signature");
      await refused(`${h}.${p}.${s}=`, "padding");
      await refused(`${h}.${p}.${s.replace(/^./, "+")}`, "base64 (not base64url) character");
      await refused(`${h}.${p}`, "two segments");
      await refused(`${h}.${p}.${s}.${s}`, "four segments");
      await refused("", "empty");
      await refused(`${b64("a string")}.${p}.${s}`, "header not an object");
    });

    it("re-checks a remembered token's times and key at every use", async () => {
      const jwt = await token({ exp: now + 60 });
      assert.equal((await verify(jwt)).exp, now + 60);
      assert.equal((await verify(jwt)).exp, now + 60, "the same token again");
      now += 60 + CLOCK_TOLERANCE_SECONDS;
      await refused(jwt, "expired since it was first verified");
      const later = await token({ exp: now + 600 });
      await verify(later);
      // The key that signed it leaves the JWKS: a token it signed stops verifying at once.
      await server.services.keys.rotate(0, 0);
      await refused(later, "its key is no longer published");
      await verify(await token());
    });

    it("refuses a wrong issuer, expiry, a future nbf and missing claims", async () => {
      await refused(await token({ iss: "https://elsewhere.example.com" }), "issuer");
      await refused(await token({ exp: now - CLOCK_TOLERANCE_SECONDS }), "expired past the tolerance");
      await refused(await token({ exp: String(now + 600) }), "exp not a number");
      await refused(await token({ nbf: now + CLOCK_TOLERANCE_SECONDS + 1 }), "not yet valid");
      for (const claim of ["exp", "iat", "jti", "azp"]) {
        await refused(await token({ [claim]: undefined }), `missing ${claim}`);
      }
      await refused(await token({ jti: 42 }), "jti not a string");
    });
  });
}
