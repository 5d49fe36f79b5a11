// Imported password hashes in every format Kinde's SetUserPassword takes (issue 19): each hash is
// made by an independent implementation (node:crypto computing the documented algorithm here,
// OpenSSL's `passwd`, bcryptjs) or is a published test vector (Drepper's SHA-crypt, phpass,
// Firebase's scrypt), imported through PUT /api/v1/users/{id}/password, then the hosted sign-in
// form accepts the right password (and the stored hash becomes argon2id) and refuses a wrong one.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import bcrypt from "bcryptjs";
import { createLogger } from "../../src/logging.js";
import { openStorage } from "../../src/storage/database.js";
import { migrateToLatest } from "../../src/storage/migrate.js";
import { withoutSignerKey } from "../../src/storage/migrations/0044_firebase_signer_key.js";
import { verifyImportedHash } from "../../src/users/imported-hashes.js";
import { storedHashOf } from "../../src/users/stored-hash.js";
import { databaseKinds, freshDatabase } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import { migrateUpTo } from "../helpers/migrations.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";

type Errors = { errors: { code: string; message: string }[] };
const unique = () => randomBytes(5).toString("hex");

// Published vectors: Firebase's scrypt README, Drepper's SHA-crypt.txt, phpass's test.php / passlib.
const FIREBASE = {
  signer_key: "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
  salt_separator: "Bw==",
  rounds: 8,
  mem_cost: 14,
  salt: "42xEC+ixf3L2lw==",
  hashed_password: "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==",
  password: "user1password",
};
const DREPPER = [
  ["$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", "Hello world!"],
  [
    "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
    "Hello world!",
  ],
  [
    "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.",
    "Hello world!",
  ],
  ["$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5", "This is just a test"],
] as const;
const PHPASS = [
  ["$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0", "test12345"],
  ["$H$9aaaaaSXBjgypwqm.JsMssPLiS8YQ00", "test1"],
] as const;

/** OpenSSL's crypt(3) implementations ($1$, $5$, $6$): independent of Latchkey's. */
const opensslCrypt = (scheme: "1" | "5" | "6", salt: string, password: string): string =>
  execFileSync("openssl", ["passwd", `-${scheme}`, "-salt", salt, "-stdin"], { input: `${password}\n` })
    .toString()
    .trim();

const stored = (method: string, body: Record<string, unknown>): string => {
  const result = storedHashOf(method, body as { hashed_password: string });
  assert.ok("hash" in result, JSON.stringify(result));
  return result.hash;
};

describe("imported hash formats against published vectors (no database)", () => {
  it("SHA-crypt ($5$, $6$, rounds=) matches Drepper's vectors, phpass matches its own", () => {
    for (const [hash, password] of DREPPER) {
      const s = stored("crypt", { hashed_password: hash });
      assert.equal(verifyImportedHash(s, password), true, hash);
      assert.equal(verifyImportedHash(s, `${password}x`), false, hash);
    }
    for (const [hash, password] of PHPASS) {
      const s = stored("wordpress", { hashed_password: hash });
      assert.equal(verifyImportedHash(s, password), true, hash);
      assert.equal(verifyImportedHash(s, "test12346"), false, hash);
    }
  });

  it("Firebase's scrypt matches the vector of github.com/firebase/scrypt", () => {
    const s = stored("firebase-scrypt", FIREBASE);
    assert.equal(verifyImportedHash(s, FIREBASE.password), true);
    assert.equal(verifyImportedHash(s, "user1passwore"), false);
  });

  it("Firebase's signer key is not stored, and hashes stored with it before 0044 still verify", () => {
    const s = stored("firebase-scrypt", FIREBASE);
    const b64u = (b64: string) => Buffer.from(b64, "base64").toString("base64url");
    for (const secret of [FIREBASE.signer_key, FIREBASE.hashed_password])
      for (const form of [secret, b64u(secret), b64u(secret).slice(0, 20)])
        assert.ok(!s.includes(form), "neither the signer key nor Firebase's hash is kept");
    // What a version before migration 0044 stored: the signer key beside Firebase's hash.
    const params = `r=8,m=14,salt=${b64u(FIREBASE.salt)},sep=${b64u(FIREBASE.salt_separator)}`;
    const old = `$latchkey-import$firebase-scrypt$${params},key=${b64u(FIREBASE.signer_key)}$${b64u(FIREBASE.hashed_password)}`;
    assert.equal(verifyImportedHash(old, FIREBASE.password), true);
    assert.equal(verifyImportedHash(old, "user1passwore"), false);
    assert.equal(withoutSignerKey(old), s, "the migration writes what an import writes now");
    assert.equal(withoutSignerKey(s), undefined, "nothing to rewrite");
    assert.equal(withoutSignerKey(`${old.slice(0, -4)}`), undefined, "a malformed hash is left alone");
    // A stored hash too short to mean anything (as a damaged row could be) matches no password:
    // an empty key stream would be equal to an empty hash for every one.
    for (const damaged of [s.slice(0, s.lastIndexOf("$") + 1), `${s.slice(0, s.lastIndexOf("$") + 1)}AAAA`])
      assert.throws(() => verifyImportedHash(damaged, "anything"), /malformed/);
  });

  it("crypt(3) hashes OpenSSL makes (MD5, SHA-256, SHA-512, random salts) verify", () => {
    for (const scheme of ["1", "5", "6"] as const) {
      const password = `pässword ${unique()}`;
      const salt = randomBytes(6).toString("base64").replace(/\+/g, ".");
      const s = stored("crypt", { hashed_password: opensslCrypt(scheme, salt, password) });
      assert.equal(verifyImportedHash(s, password), true, scheme);
      assert.equal(verifyImportedHash(s, password.slice(1)), false, scheme);
    }
  });
});

/** Hashes of `password` for each method, made here (never by Latchkey's code). */
function importCases(password: string): { name: string; body: Record<string, unknown>; password: string }[] {
  const bytes = Buffer.from(password, "utf8");
  const salt = randomBytes(16);
  const aspnet = Buffer.concat([Buffer.from([0]), salt, pbkdf2Sync(bytes, salt, 1000, 32, "sha1")]);
  const wpPrehash = createHmac("sha384", "wp-sha384").update(bytes).digest("base64");
  const cases = [
    {
      name: "md5, salt as prefix, hex digest",
      body: {
        hashing_method: "md5",
        salt: "s4lt!",
        salt_position: "prefix",
        hashed_password: createHash("md5").update(`s4lt!${password}`).digest("hex"),
      },
    },
    {
      name: "md5 without salt",
      body: { hashing_method: "md5", hashed_password: createHash("md5").update(bytes).digest("hex") },
    },
    {
      name: "sha256, salt as suffix, base64 digest",
      body: {
        hashing_method: "sha256",
        salt: "pepper",
        salt_position: "suffix",
        hashed_password: createHash("sha256").update(`${password}pepper`).digest("base64"),
      },
    },
    ...(
      [
        ["salted-pbkdf2-hmac-sha256", "sha256", 32, 24_000, false],
        ["salted-pbkdf2-hmac-sha256-512", "sha256", 64, 1_000, true],
        ["salted-pbkdf2-hmac-sha512-512", "sha512", 64, 2_000, true],
      ] as const
    ).map(([variant, digest, length, iterations, explicit]) => ({
      name: `pbkdf2 ${variant}${explicit ? "" : " (iterations default 24000)"}`,
      body: {
        hashing_method: "pbkdf2",
        variant,
        salt: salt.toString("base64"),
        ...(explicit ? { iterations } : {}),
        hashed_password: pbkdf2Sync(bytes, salt, iterations, length, digest).toString("base64"),
      },
    })),
    {
      name: "aspnet-identity-v2",
      body: { hashing_method: "aspnet-identity-v2", hashed_password: aspnet.toString("base64") },
    },
    {
      name: "wordpress 6.8 ($wp$2y$)",
      body: {
        hashing_method: "wordpress",
        hashed_password: `$wp${bcrypt.hashSync(wpPrehash, 5).replace("$2b$", "$2y$")}`,
      },
    },
    {
      name: "crypt $1$ (OpenSSL)",
      body: { hashing_method: "crypt", hashed_password: opensslCrypt("1", "abcdefgh", password) },
    },
    {
      name: "crypt $5$ (OpenSSL)",
      body: { hashing_method: "crypt", hashed_password: opensslCrypt("5", "saltsalt", password) },
    },
    {
      name: "crypt $6$ (OpenSSL)",
      body: { hashing_method: "crypt", hashed_password: opensslCrypt("6", "salty", password) },
    },
    {
      name: "crypt $2b$ (bcryptjs)",
      body: { hashing_method: "crypt", hashed_password: bcrypt.hashSync(password, 5) },
    },
  ];
  return [
    ...cases.map((c) => ({ ...c, password })),
    {
      name: "firebase-scrypt (published vector)",
      body: { ...FIREBASE, hashing_method: "firebase-scrypt", password: undefined },
      password: FIREBASE.password,
    },
    {
      name: "wordpress phpass (published vector)",
      body: { hashing_method: "wordpress", hashed_password: PHPASS[0][0] },
      password: PHPASS[0][1],
    },
  ];
}

for (const { kind, skip } of await databaseKinds()) {
  describe(`imported password hashes through the Management API and the sign-in form (${kind})`, {
    skip,
  }, () => {
    let server: TestServer;
    let token: string;
    let spa: { clientId: string };

    before(async () => {
      server = await startTestServer(kind);
      token = await managementToken(server);
      spa = await createApplication(server, "spa");
    });
    after(async () => server?.close());

    const put = (id: string, body: Record<string, unknown>) =>
      callApi(server, "PUT", `/api/v1/users/${id}/password`, { token, body });
    const hashOf = async (id: string) => (await server.services.users.store.findById(id))!.password_hash;

    /** Posts the hosted sign-in form once: the callback URL on success, the page's status otherwise. */
    async function signIn(email: string, password: string): Promise<URL | number> {
      const agent = new UserAgent(server.url);
      const next = await agent.redirectFrom(authorizationUrl(server, spa.clientId, CALLBACK));
      const hidden = await agent.openForm(new URL(`/auth/sign-in${next.search}`, server.url));
      const response = await agent.postForm("/auth/sign-in", { ...hidden, email, password });
      await response.text();
      if (response.status !== 302 && response.status !== 303) return response.status;
      // Any further steps (consent is not asked of a first-party SPA) end at the callback.
      let location = new URL(response.headers.get("location")!, server.url);
      while (location.origin === new URL(server.url).origin) location = await agent.redirectFrom(location);
      return location;
    }

    it("each format: imported, the right password signs in and re-hashes to argon2id, a wrong one fails", async () => {
      const password = `Imported ${unique()} pässword`;
      const secrets: string[] = [];
      for (const { name, body, password: right } of importCases(password)) {
        const user = await createUser(server, { email: `import-${unique()}@example.com` });
        const response = await put(user.id, body);
        assert.equal(response.status, 200, `${name}: ${JSON.stringify(response.body)}`);
        const imported = await hashOf(user.id);
        assert.ok(imported && !imported.startsWith("$argon2id$"), name);
        secrets.push(String(body.hashed_password), ...(typeof body.salt === "string" ? [body.salt] : []));

        assert.equal(await signIn(user.email, `${right}!`), 401, `${name}: a wrong password`);
        assert.equal(await hashOf(user.id), imported, `${name}: a wrong password upgrades nothing`);
        const callback = await signIn(user.email, right);
        assert.ok(callback instanceof URL && callback.searchParams.get("code"), `${name}: signed in`);
        assert.match((await hashOf(user.id))!, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/, `${name}: re-hashed`);
        // The argon2id hash now answers for the same password.
        assert.ok((await signIn(user.email, right)) instanceof URL, `${name}: signs in again`);
      }
      for (const secret of secrets)
        assert.ok(!server.logs.text.includes(secret), "no hash or salt is logged");
      assert.ok(!server.logs.text.includes(password), "no password is logged");
    });

    it("refuses malformed hashes and wrong parameter combinations with Kinde's 400s", async () => {
      const user = await createUser(server);
      const salt = randomBytes(16).toString("base64");
      const key32 = randomBytes(32).toString("base64");
      const cases: [Record<string, unknown>, string | RegExp, RegExp][] = [
        [
          { hashing_method: "pbkdf2", variant: "salted-pbkdf2-hmac-sha256", hashed_password: key32 },
          "INVALID_PASSWORD_HASH",
          /salt is required for pbkdf2/,
        ],
        [
          { hashing_method: "pbkdf2", salt, hashed_password: key32 },
          "INVALID_PASSWORD_HASH",
          /variant is required for pbkdf2/,
        ],
        [
          { hashing_method: "pbkdf2", variant: "pbkdf2-md5", salt, hashed_password: key32 },
          "INVALID_PASSWORD_HASH",
          /variant must be one of/,
        ],
        [
          {
            hashing_method: "pbkdf2",
            variant: "salted-pbkdf2-hmac-sha256",
            salt,
            iterations: 0,
            hashed_password: key32,
          },
          "INVALID_PASSWORD_HASH",
          /iterations must be between 1 and/,
        ],
        [
          {
            hashing_method: "pbkdf2",
            variant: "salted-pbkdf2-hmac-sha256",
            salt,
            iterations: 50_000_000,
            hashed_password: key32,
          },
          "INVALID_PASSWORD_HASH",
          /iterations must be between 1 and/,
        ],
        [
          {
            hashing_method: "pbkdf2",
            variant: "salted-pbkdf2-hmac-sha512-512",
            salt,
            hashed_password: key32,
          },
          "INVALID_PASSWORD_HASH",
          /64 bytes/,
        ],
        [
          {
            hashing_method: "pbkdf2",
            variant: "salted-pbkdf2-hmac-sha256",
            salt,
            signer_key: salt,
            hashed_password: key32,
          },
          "INVALID_REQUEST",
          /signer_key is not used with hashing_method pbkdf2/,
        ],
        [
          { ...FIREBASE, password: undefined, hashing_method: "firebase-scrypt", signer_key: undefined },
          "INVALID_PASSWORD_HASH",
          /signer_key is required for firebase-scrypt/,
        ],
        [
          { ...FIREBASE, password: undefined, hashing_method: "firebase-scrypt", salt_separator: undefined },
          "INVALID_PASSWORD_HASH",
          /salt_separator is required/,
        ],
        [
          { ...FIREBASE, password: undefined, hashing_method: "firebase-scrypt", iterations: 10 },
          "INVALID_REQUEST",
          /iterations is not used with hashing_method firebase-scrypt/,
        ],
        [
          { ...FIREBASE, password: undefined, hashing_method: "firebase-scrypt", variant: "x" },
          "INVALID_REQUEST",
          /variant is not used/,
        ],
        [
          { ...FIREBASE, password: undefined, hashing_method: "firebase-scrypt", rounds: 17 },
          "INVALID_PASSWORD_HASH",
          /rounds is required for firebase-scrypt, between 1 and 16/,
        ],
        [
          { ...FIREBASE, password: undefined, hashing_method: "firebase-scrypt", mem_cost: 21 },
          "INVALID_PASSWORD_HASH",
          /mem_cost .* between 1 and 20/,
        ],
        [
          { ...FIREBASE, password: undefined, hashing_method: "firebase-scrypt", mem_cost: 20, rounds: 16 },
          "INVALID_PASSWORD_HASH",
          /256 MiB/,
        ],
        [
          { ...FIREBASE, password: undefined, hashing_method: "firebase-scrypt", hashed_password: key32 },
          "INVALID_PASSWORD_HASH",
          /firebase-scrypt hash/,
        ],
        [
          {
            ...FIREBASE,
            password: undefined,
            hashing_method: "firebase-scrypt",
            signer_key: "AA==",
            hashed_password: "AA==",
          },
          "INVALID_PASSWORD_HASH",
          /signer_key must be at least 32 bytes/,
        ],
        [
          { hashing_method: "md5", salt: "abc", hashed_password: "5f4dcc3b5aa765d61d8327deb882cf99" },
          "INVALID_PASSWORD_HASH",
          /salt_position \(prefix or suffix\) is required/,
        ],
        [
          {
            hashing_method: "md5",
            salt_position: "prefix",
            hashed_password: "5f4dcc3b5aa765d61d8327deb882cf99",
          },
          "INVALID_REQUEST",
          /salt_position is only used with a salt/,
        ],
        [
          { hashing_method: "md5", hashed_password: "5f4dcc3b5aa765d61d8327deb882cf9" },
          "INVALID_PASSWORD_HASH",
          /not a md5 digest/,
        ],
        [
          { hashing_method: "sha256", hashed_password: "5f4dcc3b5aa765d61d8327deb882cf99" },
          "INVALID_PASSWORD_HASH",
          /not a sha256 digest/,
        ],
        [
          { hashing_method: "md5", hashed_password: "5f4dcc3b5aa765d61d8327deb882cf99", rounds: 3 },
          "INVALID_REQUEST",
          /rounds is not used with hashing_method md5/,
        ],
        [
          {
            hashing_method: "aspnet-identity-v2",
            hashed_password: Buffer.concat([Buffer.from([1]), randomBytes(60)]).toString("base64"),
          },
          "INVALID_PASSWORD_HASH",
          /v3/,
        ],
        [
          {
            hashing_method: "aspnet-identity-v2",
            hashed_password: randomBytes(49).fill(0, 0, 1).toString("base64"),
            salt,
          },
          "INVALID_REQUEST",
          /salt is not used with hashing_method aspnet-identity-v2/,
        ],
        [
          { hashing_method: "aspnet-identity-v2", hashed_password: key32 },
          "INVALID_PASSWORD_HASH",
          /ASP\.NET Identity v2/,
        ],
        [
          { hashing_method: "crypt", hashed_password: "abJnggxhB/yWI" },
          "INVALID_PASSWORD_HASH",
          /DES crypt hashes are not supported/,
        ],
        [
          {
            hashing_method: "crypt",
            hashed_password: "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7",
          },
          "INVALID_PASSWORD_HASH",
          /not a supported crypt\(3\) hash/,
        ],
        [
          { hashing_method: "crypt", hashed_password: "$6$rounds=5000000$salt$x" },
          "INVALID_PASSWORD_HASH",
          /crypt rounds must be at most|not a \$6\$ crypt hash/,
        ],
        [
          { hashing_method: "crypt", hashed_password: bcrypt.hashSync("x", 4).replace("$04$", "$15$") },
          "INVALID_PASSWORD_HASH",
          /bcrypt cost/,
        ],
        [
          { hashing_method: "wordpress", hashed_password: "$P$_IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0" },
          "INVALID_PASSWORD_HASH",
          /not a WordPress hash|iteration count/,
        ],
        [
          { hashing_method: "wordpress", hashed_password: "$P$zIQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0" },
          "INVALID_PASSWORD_HASH",
          /phpass iteration count/,
        ],
        [
          { hashing_method: "wordpress", hashed_password: bcrypt.hashSync("x", 4) },
          "INVALID_PASSWORD_HASH",
          /hashing_method bcrypt/,
        ],
        [
          { hashing_method: "sha1", hashed_password: "x" },
          "HASHING_METHOD_NOT_SUPPORTED",
          /Unknown hashing method sha1/,
        ],
        [
          { hashing_method: "bcrypt", hashed_password: bcrypt.hashSync("x", 4), variant: "x" },
          "INVALID_REQUEST",
          /variant is not used with hashing_method bcrypt/,
        ],
      ];
      // Hostile input for every method: long garbage, control characters, the storage separator.
      // (a NUL byte may already be refused as a malformed request, before the hash is read)
      for (const method of [
        "crypt",
        "md5",
        "sha256",
        "wordpress",
        "pbkdf2",
        "firebase-scrypt",
        "aspnet-identity-v2",
      ])
        for (const garbage of ["$".repeat(1024), "\u0000\n$latchkey-import$md5$$", "A".repeat(1024)])
          cases.push([
            { hashing_method: method, hashed_password: garbage },
            /^(INVALID_PASSWORD_HASH|INVALID_REQUEST)$/,
            /./,
          ]);
      const before = await hashOf(user.id);
      for (const [body, code, message] of cases) {
        const response = await put(user.id, body);
        assert.equal(
          response.status,
          400,
          `${JSON.stringify(body).slice(0, 160)}: ${JSON.stringify(response.body)}`,
        );
        const error = (response.body as unknown as Errors).errors[0]!;
        assert.match(
          error.code,
          typeof code === "string" ? new RegExp(`^${code}$`) : code,
          JSON.stringify(body).slice(0, 160),
        );
        assert.match(error.message, message);
        if (typeof body.hashed_password === "string" && body.hashed_password.length > 8)
          assert.ok(!error.message.includes(body.hashed_password), "the message never repeats the hash");
      }
      assert.equal(await hashOf(user.id), before, "nothing refused was stored");
    });

    it("migration 0044 takes the signer key out of firebase-scrypt hashes stored before it", async () => {
      const database = (await freshDatabase(kind))!;
      const storage = await openStorage(database.target, { logger: createLogger("warn"), poolSize: 2 });
      try {
        await migrateUpTo(storage.db, "0043_sign_in_config_cache");
        const b64u = (b64: string) => Buffer.from(b64, "base64").toString("base64url");
        const params = `r=8,m=14,salt=${b64u(FIREBASE.salt)},sep=${b64u(FIREBASE.salt_separator)}`;
        const old = `$latchkey-import$firebase-scrypt$${params},key=${b64u(FIREBASE.signer_key)}$${b64u(FIREBASE.hashed_password)}`;
        const md5 = stored("md5", { hashed_password: createHash("md5").update("x").digest("hex") });
        const row = (id: string, password_hash: string) => ({
          id,
          password_hash,
          created_at: 1,
          updated_at: 1,
        });
        await storage.db
          .insertInto("users")
          .values([row("kp_fb", old), row("kp_md5", md5), row("kp_bad", `${old}$extra`)])
          .execute();
        await migrateToLatest(storage.db, createLogger("warn"));
        const hashes = Object.fromEntries(
          (await storage.db.selectFrom("users").select(["id", "password_hash"]).execute()).map((u) => [
            u.id,
            u.password_hash,
          ]),
        );
        assert.equal(hashes.kp_fb, stored("firebase-scrypt", FIREBASE));
        assert.equal(verifyImportedHash(hashes.kp_fb!, FIREBASE.password), true);
        assert.equal(hashes.kp_md5, md5);
        assert.equal(hashes.kp_bad, `${old}$extra`, "a hash it cannot read is left as it was");
      } finally {
        await storage.close();
        await database.drop();
      }
    });

    it("is_temporary_password with an imported hash: stored with the demand for a new password", async () => {
      const user = await createUser(server);
      const password = `Temp ${unique()} word`;
      const response = await put(user.id, {
        hashing_method: "sha256",
        hashed_password: createHash("sha256").update(password).digest("hex"),
        is_temporary_password: true,
      });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.equal((await server.services.users.store.findById(user.id))!.password_change_required, 1);
    });
  });
}
