// `latchkey users import` (issue 19): the real command, as a child process, against a running
// Latchkey's database (SQLite and PostgreSQL). A file of good, duplicate and bad rows is reported
// row by row, the good rows' users sign in through the hosted form with their imported passwords,
// the exit status says a row failed, and a re-run creates nothing new.
import assert from "node:assert/strict";
import { createHash, pbkdf2Sync, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import bcrypt from "bcryptjs";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication, createUser } from "../helpers/fixtures.js";
import { runCli } from "../helpers/process.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";

const unique = () => randomBytes(4).toString("hex");

for (const { kind, skip } of await databaseKinds()) {
  describe(`latchkey users import (${kind})`, { skip }, () => {
    let server: TestServer;
    let spa: { clientId: string };
    let dir: string;

    before(async () => {
      server = await startTestServer(kind);
      spa = await createApplication(server, "spa");
      dir = mkdtempSync(path.join(tmpdir(), "latchkey-import-"));
    });
    after(async () => {
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    /** The command against the test server's database and master key. */
    async function importFile(args: string[]): Promise<{ code: number | null; output: string }> {
      const target = server.database.target;
      const cli = runCli(["users", "import", ...args], {
        env: {
          DATA_DIR: dir,
          DATABASE_URL: target.kind === "sqlite" ? `sqlite:${target.path}` : target.url,
          LATCHKEY_MASTER_KEY: server.config.masterKey!.toString("base64"),
          ISSUER_URL: server.url,
        },
      });
      const { code } = await cli.exited;
      return { code, output: cli.output() };
    }

    const reportOf = (text: string) =>
      text
        .split("\n")
        .filter((line) => /^\d+\t/.test(line))
        .map((line) => line.split("\t"));

    async function userCount(): Promise<number> {
      const row = await server.storage.db
        .selectFrom("users")
        .select((eb) => eb.fn.countAll<string | number>().as("n"))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    }

    async function signsIn(email: string, password: string): Promise<boolean> {
      const agent = new UserAgent(server.url);
      const next = await agent.redirectFrom(authorizationUrl(server, spa.clientId, CALLBACK));
      const hidden = await agent.openForm(new URL(`/auth/sign-in${next.search}`, server.url));
      const response = await agent.postForm("/auth/sign-in", { ...hidden, email, password });
      await response.text();
      return response.status === 302 || response.status === 303;
    }

    it("JSON Lines: each row reported, good rows sign in, non-zero exit, a re-run creates nothing", async () => {
      const tag = unique();
      const existing = await createUser(server, { email: `existing-${tag}@example.com` });
      const pw = {
        kinde: `Kinde ${tag} pw`,
        body: `Body ${tag} pw`,
        flat: `Flat ${tag} pw`,
      };
      const salt = randomBytes(16);
      const rows: string[] = [
        // 1: Kinde's NDJSON shape (password object, hex salt as a suffix).
        JSON.stringify({
          id: `ext-${tag}`,
          email: `kinde-${tag}@example.com`,
          first_name: "Grace",
          last_name: "Hopper",
          email_verified: true,
          password: {
            hashed_password: createHash("sha256")
              .update(Buffer.concat([Buffer.from(pw.kinde), Buffer.from("c0ffee", "hex")]))
              .digest("hex"),
            hashing_algorithm: "sha256",
            salt: "c0ffee",
            salt_format: "hex",
            salt_position: "suffix",
          },
        }),
        // 2: a Kinde create-user body with the hash beside it.
        JSON.stringify({
          profile: { given_name: "Alan", family_name: "Turing" },
          identities: [{ type: "email", is_verified: true, details: { email: `body-${tag}@example.com` } }],
          hashed_password: bcrypt.hashSync(pw.body, 5),
          hashing_method: "bcrypt",
        }),
        // 3: flat fields, pbkdf2.
        JSON.stringify({
          email: `flat-${tag}@example.com`,
          hashing_method: "pbkdf2",
          variant: "salted-pbkdf2-hmac-sha256",
          iterations: 1000,
          salt: salt.toString("base64"),
          hashed_password: pbkdf2Sync(pw.flat, salt, 1000, 32, "sha256").toString("base64"),
        }),
        "", // 4: blank, not a row
        JSON.stringify({ email: existing.email, hashed_password: bcrypt.hashSync("x", 4) }), // 5
        "{not json", // 6
        JSON.stringify({
          email: `nosalt-${tag}@example.com`,
          hashing_method: "pbkdf2",
          variant: "salted-pbkdf2-hmac-sha256",
          hashed_password: "AAAA",
        }), // 7
        JSON.stringify({ email: `KINDE-${tag}@example.com`, first_name: "Again" }), // 8: row 1's address
        JSON.stringify({ first_name: "Nobody" }), // 9
        JSON.stringify({
          email: `des-${tag}@example.com`,
          hashing_method: "crypt",
          hashed_password: "abJnggxhB/yWI",
        }), // 10
        `{"email":"long-${tag}@example.com","first_name":"${"x".repeat(1_100_000)}"}`, // 11: over 1 MiB
        JSON.stringify([1, 2]), // 12
        JSON.stringify({ email: `plain-${tag}@example.com`, first_name: "No", last_name: "Password" }), // 13
      ];
      const file = path.join(dir, `users-${tag}.jsonl`);
      writeFileSync(file, `${rows.join("\n")}\n`);
      const reportFile = path.join(dir, `report-${tag}.tsv`);
      const before = await userCount();

      const first = await importFile([file, "--report", reportFile, "--progress", "5"]);
      assert.equal(first.code, 2, first.output);
      assert.match(first.output, /6 of 12 rows failed; see the report/);
      assert.match(first.output, /^5 rows: 3 created, 1 skipped, 1 failed$/m, "progress every 5 rows");
      const report = reportOf(readFileSync(reportFile, "utf8"));
      const expected: [string, string, RegExp][] = [
        ["1", `kinde-${tag}@example.com`, /^created$/],
        ["2", `body-${tag}@example.com`, /^created$/],
        ["3", `flat-${tag}@example.com`, /^created$/],
        ["5", existing.email, /^skipped \(exists\)$/],
        ["6", "-", /^error: not valid JSON$/],
        ["7", `nosalt-${tag}@example.com`, /^error: salt is required for pbkdf2/],
        ["8", `KINDE-${tag}@example.com`, /^skipped \(exists\)$/],
        ["9", "-", /^error: no email$/],
        ["10", `des-${tag}@example.com`, /^error: DES crypt hashes are not supported/],
        ["11", "-", /^error: line longer than 1 MiB$/],
        ["12", "-", /^error: a line must be one JSON object$/],
        ["13", `plain-${tag}@example.com`, /^created$/],
      ];
      assert.equal(report.length, expected.length, JSON.stringify(report));
      expected.forEach(([line, email, outcome], i) => {
        assert.equal(report[i]![0], line);
        assert.equal(report[i]![1], email);
        assert.match(report[i]![2]!, outcome, `line ${line}`);
      });
      assert.equal(await userCount(), before + 4);
      const kinde = (await server.services.users.store.findByEmail(`kinde-${tag}@example.com`))!;
      assert.equal(kinde.given_name, "Grace");
      assert.equal(kinde.family_name, "Hopper");
      assert.equal(kinde.provided_id, `ext-${tag}`);
      assert.equal(kinde.email_verified, 1);
      assert.equal(
        (await server.services.users.store.findByEmail(`plain-${tag}@example.com`))!.password_hash,
        null,
      );

      for (const [email, password] of [
        [`kinde-${tag}@example.com`, pw.kinde],
        [`body-${tag}@example.com`, pw.body],
        [`flat-${tag}@example.com`, pw.flat],
      ] as const) {
        assert.equal(await signsIn(email, `${password}?`), false, `${email}: a wrong password`);
        assert.equal(await signsIn(email, password), true, `${email}: the imported password`);
        const user = (await server.services.users.store.findByEmail(email))!;
        assert.match(user.password_hash!, /^\$argon2id\$/, `${email}: re-hashed at sign-in`);
      }
      assert.ok(!readFileSync(reportFile, "utf8").includes("c0ffee"), "the report holds no salt");

      // A re-run: everything created is now skipped, the same rows fail, nothing new exists.
      const again = await importFile([file, "--report", reportFile]);
      assert.equal(again.code, 2);
      const rerun = reportOf(readFileSync(reportFile, "utf8"));
      for (const line of ["1", "2", "3", "5", "8", "13"])
        assert.equal(rerun.find((r) => r[0] === line)?.[2], "skipped (exists)", `line ${line}`);
      assert.equal(rerun.filter((r) => r[2]!.startsWith("error:")).length, 6);
      assert.equal(await userCount(), before + 4);
    });

    it("CSV with Kinde's columns: quoted fields, TRUE/FALSE, crypt hashes; a clean file exits 0", async () => {
      const tag = unique();
      const password = `Csv ${tag} pw`;
      const md5Salted = createHash("md5").update(`NaCl${password}`).digest("hex");
      const csv = [
        "email,first_name,last_name,id,email_verified,hashed_password,hashing_method,salt,salt_position",
        `csv1-${tag}@example.com,"Ada, Countess","Love""lace""",c-1,TRUE,${md5Salted},md5,NaCl,prefix`,
        `csv2-${tag}@example.com,"Multi`,
        `Line",Name,c-2,FALSE,,,,`,
        `not-an-address,A,B,c-3,TRUE,,,,`,
        `csv4-${tag}@example.com,A,B,c-4,maybe,,,,`,
        `csv5-${tag}@example.com,too,few`,
      ].join("\r\n");
      const file = path.join(dir, `users-${tag}.csv`);
      writeFileSync(file, `\ufeff${csv}\r\n`);
      const run = await importFile([file]); // the report on stdout
      assert.equal(run.code, 2, run.output);
      const report = reportOf(run.output);
      assert.deepEqual(
        report.map((r) => [r[0], r[2]!.replace(/:.*/, "")]),
        [
          ["2", "created"],
          ["3", "created"],
          ["5", "error"],
          ["6", "error"],
          ["7", "error"],
        ],
        run.output,
      );
      assert.match(report[3]![2]!, /email_verified must be TRUE or FALSE/);
      assert.match(report[4]![2]!, /3 columns where the header has 9/);
      const first = (await server.services.users.store.findByEmail(`csv1-${tag}@example.com`))!;
      assert.equal(first.given_name, "Ada, Countess");
      assert.equal(first.family_name, 'Love"lace"');
      assert.equal(first.email_verified, 1);
      const second = (await server.services.users.store.findByEmail(`csv2-${tag}@example.com`))!;
      assert.equal(second.given_name, "Multi\nLine");
      assert.equal(second.email_verified, 0);
      assert.equal(await signsIn(`csv1-${tag}@example.com`, password), true);

      const clean = path.join(dir, `clean-${tag}.csv`);
      writeFileSync(clean, `email,first_name\ncsv9-${tag}@example.com,Nine\ncsv1-${tag}@example.com,Again\n`);
      const ok = await importFile([clean, "--report", path.join(dir, "clean-report.tsv")]);
      assert.equal(ok.code, 0, ok.output);
      assert.match(ok.output, /imported 2 rows: 1 created, 1 skipped \(exists\), 0 failed/);

      const missing = await importFile([path.join(dir, "no-such-file.jsonl")]);
      assert.equal(missing.code, 2);
      assert.match(missing.output, /cannot read .*ENOENT/);
      const noEmail = path.join(dir, `noemail-${tag}.csv`);
      writeFileSync(noEmail, "first_name,last_name\nA,B\n");
      const refused = await importFile([noEmail]);
      assert.equal(refused.code, 2);
      assert.match(refused.output, /the CSV header has no email column/);
    });

    it("is_temporary_password: that user chooses a new password at the first sign-in", async () => {
      const tag = unique();
      const password = `Temp ${tag} pw`;
      const digest = createHash("sha256").update(password).digest("hex");
      const csv = [
        "email,hashed_password,hashing_method,is_temporary_password",
        `temp-${tag}@example.com,${digest},sha256,TRUE`,
        `kept-${tag}@example.com,${digest},sha256,false`,
        `nohash-${tag}@example.com,,,TRUE`,
        `odd-${tag}@example.com,${digest},sha256,soon`,
      ].join("\n");
      const file = path.join(dir, `temporary-${tag}.csv`);
      writeFileSync(file, `${csv}\n`);
      const run = await importFile([file]);
      assert.equal(run.code, 2, run.output);
      assert.deepEqual(
        reportOf(run.output).map((r) => r[2]),
        [
          "created",
          "created",
          "error: is_temporary_password without hashed_password",
          "error: is_temporary_password must be TRUE or FALSE",
        ],
      );
      const flag = async (email: string) =>
        (await server.services.users.store.findByEmail(email))?.password_change_required;
      assert.equal(await flag(`temp-${tag}@example.com`), 1);
      assert.equal(await flag(`kept-${tag}@example.com`), 0);
      assert.equal(await flag(`nohash-${tag}@example.com`), undefined, "a refused row creates nobody");

      const browser = new UserAgent(server.url);
      const next = await browser.redirectFrom(authorizationUrl(server, spa.clientId, CALLBACK));
      const hidden = await browser.openForm(new URL(`/auth/sign-in${next.search}`, server.url));
      const reply = await browser.postForm("/auth/sign-in", {
        ...hidden,
        email: `temp-${tag}@example.com`,
        password,
      });
      assert.equal(reply.status, 200);
      assert.match(await reply.text(), /Choose a new password/);
      assert.equal(await signsIn(`kept-${tag}@example.com`, password), true);
    });
  });
}
