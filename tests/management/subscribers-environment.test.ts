// Kinde's environment variables, subscribers, industries and timezones (issue 19), on both
// databases: values sealed at rest and secrets never read back, keys unique (409), a secret cannot
// become readable; subscribers one per mailbox, paged by next_token in each of Kinde's sort orders;
// the catalogues' keys are the ones PATCH /api/v1/business accepts. Scopes as Kinde names them.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { callApi, narrowMachineToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

type Errors = { errors?: { code: string; message: string }[] };
type Variable = { id: string; key: string; value: string | null; is_secret: boolean; created_on: string };
type Listed = { id: string; email: string; full_name: string; first_name: string; last_name: string | null };

for (const { kind, skip } of await databaseKinds()) {
  describe(`environment variables, subscribers, catalogues (${kind})`, { skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(async () => server?.close());

    const createVariable = (body: unknown) =>
      callApi<{ code: string; environment_variable: { id: string } } & Errors>(
        server,
        "POST",
        "/api/v1/environment_variables",
        { body },
      );
    const getVariable = (id: string) =>
      callApi<{ environment_variable: Variable } & Errors>(
        server,
        "GET",
        `/api/v1/environment_variables/${id}`,
      );

    it("keeps a variable sealed at rest, reads it back, and hides a secret one from then on", async () => {
      const plain = await createVariable({ key: "API_BASE", value: "https://api.example.com" });
      assert.equal(plain.status, 201, JSON.stringify(plain.body));
      assert.equal(plain.body.code, "VARIABLE_CREATED");
      assert.match(plain.body.environment_variable.id, /^env_var_[0-9a-f]{32}$/);
      const secret = await createVariable({ key: "SIGNING_SECRET", value: "s3cr3t-value", is_secret: true });
      assert.equal(secret.status, 201);

      const read = await getVariable(plain.body.environment_variable.id);
      assert.equal(read.status, 200);
      assert.deepEqual(
        { key: read.body.environment_variable.key, value: read.body.environment_variable.value },
        { key: "API_BASE", value: "https://api.example.com" },
      );
      assert.equal(
        (await getVariable(secret.body.environment_variable.id)).body.environment_variable.value,
        null,
      );

      const list = await callApi<{ has_more: boolean; environment_variables: Variable[] }>(
        server,
        "GET",
        "/api/v1/environment_variables",
      );
      assert.equal(list.body.has_more, false);
      const byKey = Object.fromEntries(list.body.environment_variables.map((v) => [v.key, v]));
      assert.equal(byKey.API_BASE?.value, "https://api.example.com");
      assert.equal(byKey.SIGNING_SECRET?.value, null);
      assert.equal(byKey.SIGNING_SECRET?.is_secret, true);

      // Neither value is stored in clear.
      const rows = await server.storage.db
        .selectFrom("environment_variables")
        .select("value_sealed")
        .execute();
      for (const row of rows) {
        assert.ok(!row.value_sealed.includes("api.example.com"));
        assert.ok(!row.value_sealed.includes("s3cr3t"));
      }

      // A secret stays secret; its value can still be replaced.
      const reveal = await callApi<Errors>(
        server,
        "PATCH",
        `/api/v1/environment_variables/${secret.body.environment_variable.id}`,
        { body: { is_secret: false } },
      );
      assert.equal(reveal.status, 400);
      const replaced = await callApi<{ code: string }>(
        server,
        "PATCH",
        `/api/v1/environment_variables/${secret.body.environment_variable.id}`,
        { body: { value: "rotated" } },
      );
      assert.equal(replaced.body.code, "ENVIRONMENT_VARIABLE_UPDATED");
      const stillHidden = await getVariable(secret.body.environment_variable.id);
      assert.equal(stillHidden.body.environment_variable.value, null);
      assert.equal(
        (await server.services.environmentVariables.list()).find((v) => v.key === "SIGNING_SECRET")?.isSecret,
        true,
      );
    });

    it("refuses a duplicate key, a bad key or value, an empty change, and unknown ids", async () => {
      await createVariable({ key: "DUPLICATE_ME", value: "one" });
      const duplicate = await createVariable({ key: "DUPLICATE_ME", value: "two" });
      assert.equal(duplicate.status, 409);
      assert.equal(duplicate.body.errors?.[0]?.code, "ENVIRONMENT_VARIABLE_EXISTS");
      const other = await createVariable({ key: "RENAME_ME", value: "x" });
      const rename = await callApi<Errors>(
        server,
        "PATCH",
        `/api/v1/environment_variables/${other.body.environment_variable.id}`,
        { body: { key: "DUPLICATE_ME" } },
      );
      assert.equal(rename.status, 409);

      for (const body of [
        { key: "has space", value: "x" },
        { key: "9STARTS_WITH_DIGIT", value: "x" },
        { key: "A".repeat(129), value: "x" },
        { key: "LONG", value: "x".repeat(2049) },
        { key: "NUL", value: "a\u0000b" },
        { value: "no key" },
        { key: "NO_VALUE" },
      ]) {
        const { status, body: answer } = await createVariable(body);
        assert.equal(status, 400, JSON.stringify(body));
        assert.ok(answer.errors?.length, JSON.stringify(answer));
      }
      const empty = await callApi<Errors>(
        server,
        "PATCH",
        `/api/v1/environment_variables/${other.body.environment_variable.id}`,
        { body: {} },
      );
      assert.equal(empty.status, 400);
      assert.equal((await getVariable("env_var_missing")).status, 404);
      const gone = await callApi<Errors>(
        server,
        "DELETE",
        `/api/v1/environment_variables/${other.body.environment_variable.id}`,
      );
      assert.equal(gone.status, 200);
      assert.equal((await getVariable(other.body.environment_variable.id)).status, 404);
      const again = await callApi<Errors>(
        server,
        "DELETE",
        `/api/v1/environment_variables/${other.body.environment_variable.id}`,
      );
      assert.equal(again.status, 404);
    });

    const subscribe = (query: Record<string, string>) =>
      callApi<{ subscriber: { subscriber_id: string } } & Errors>(
        server,
        "POST",
        `/api/v1/subscribers?${new URLSearchParams(query)}`,
      );

    it("keeps one subscriber per mailbox and pages them in every sort order", async () => {
      const first = await subscribe({ first_name: "Ada", last_name: "Lovelace", email: "Ada@Example.com" });
      assert.equal(first.status, 201, JSON.stringify(first.body));
      const again = await subscribe({ first_name: "Augusta", last_name: "King", email: "ada@example.com" });
      assert.equal(again.body.subscriber.subscriber_id, first.body.subscriber.subscriber_id);
      const one = await callApi<{ subscribers: { preferred_email: string; first_name: string }[] }>(
        server,
        "GET",
        `/api/v1/subscribers/${first.body.subscriber.subscriber_id}`,
      );
      assert.deepEqual(one.body.subscribers[0], {
        id: first.body.subscriber.subscriber_id,
        preferred_email: "ada@example.com",
        first_name: "Augusta",
        last_name: "King",
      });

      const names = ["Grace Hopper", "Alan Turing", "Edsger Dijkstra", "Barbara Liskov", "Donald Knuth"];
      for (const [i, name] of names.entries()) {
        const [given, family] = name.split(" ") as [string, string];
        await subscribe({ first_name: given, last_name: family, email: `reader${i}@example.org` });
      }
      const all = async (sort: string) => {
        const seen: Listed[] = [];
        let token: string | null = null;
        do {
          const query: URLSearchParams = new URLSearchParams({
            sort,
            page_size: "2",
            ...(token ? { next_token: token } : {}),
          });
          const page: { body: { subscribers: Listed[]; next_token: string | null }; status: number } =
            await callApi<{
              subscribers: Listed[];
              next_token: string | null;
            }>(server, "GET", `/api/v1/subscribers?${query}`);
          assert.equal(page.status, 200);
          assert.ok(page.body.subscribers.length <= 2);
          seen.push(...page.body.subscribers);
          token = page.body.next_token;
        } while (token);
        return seen;
      };
      const byName = (await all("name_asc")).map((s) => s.full_name);
      assert.deepEqual(byName, [
        "Alan Turing",
        "Augusta King",
        "Barbara Liskov",
        "Donald Knuth",
        "Edsger Dijkstra",
        "Grace Hopper",
      ]);
      assert.deepEqual(
        (await all("name_desc")).map((s) => s.full_name),
        [...byName].reverse(),
      );
      const byEmail = (await all("email_asc")).map((s) => s.email);
      assert.deepEqual(byEmail, [...byEmail].sort());
      assert.equal(byEmail[0], "ada@example.com");
      assert.deepEqual(
        (await all("email_desc")).map((s) => s.email),
        [...byEmail].reverse(),
      );
    });

    it("refuses bad subscribers, forged tokens and oversized pages", async () => {
      const bad: Record<string, string>[] = [
        { first_name: "No", last_name: "Mail", email: "not-an-address" },
        { first_name: "", last_name: "Blank", email: "blank@example.com" },
        { first_name: "Bell\u0007", last_name: "Char", email: "bell@example.com" },
        { last_name: "Only", email: "only@example.com" },
      ];
      for (const query of bad) {
        const answer = await subscribe(query);
        assert.equal(answer.status, 400, JSON.stringify(query));
      }
      const forged = await callApi<Errors>(server, "GET", "/api/v1/subscribers?next_token=bm90LWEtY3Vyc29y");
      assert.equal(forged.body.errors?.[0]?.code, "INVALID_NEXT_TOKEN");
      const big = await callApi<Errors>(server, "GET", "/api/v1/subscribers?page_size=501");
      assert.equal(big.body.errors?.[0]?.code, "PAGE_SIZE_LIMIT_EXCEEDED");
      assert.equal((await callApi(server, "GET", "/api/v1/subscribers/sub_missing")).status, 404);
    });

    it("serves the catalogues whose keys the business settings take", async () => {
      const industries = await callApi<{ industries: { key: string; name: string }[] }>(
        server,
        "GET",
        "/api/v1/industries",
      );
      assert.ok(
        industries.body.industries.some(
          (i) => i.key === "administration_office_support" && i.name === "Administration & Office Support",
        ),
      );
      const timezones = await callApi<{ timezones: { key: string; name: string }[] }>(
        server,
        "GET",
        "/api/v1/timezones",
      );
      const london = timezones.body.timezones.find((t) => t.key === "london_greenwich_mean_time");
      assert.match(london?.name ?? "", /^London \(Greenwich Mean Time\) \[\+0[01]:00\]$/);
      assert.ok(timezones.body.timezones.some((t) => t.key === "los_angeles_pacific_standard_time"));
      assert.equal(new Set(timezones.body.timezones.map((t) => t.key)).size, timezones.body.timezones.length);
      const stored = await callApi(server, "PATCH", "/api/v1/business", {
        body: { timezone_key: london!.key, industry_key: industries.body.industries[0]!.key },
      });
      assert.equal(stored.status, 200);
    });

    it("asks for Kinde's scopes", async () => {
      const { token } = await narrowMachineToken(server, ["read:subscribers"]);
      assert.equal((await callApi(server, "GET", "/api/v1/subscribers", { token })).status, 200);
      for (const [method, path] of [
        ["POST", "/api/v1/subscribers?first_name=A&last_name=B&email=ab%40example.com"],
        ["GET", "/api/v1/environment_variables"],
        ["POST", "/api/v1/environment_variables"],
        ["GET", "/api/v1/industries"],
        ["GET", "/api/v1/timezones"],
      ] as const) {
        const answer = await callApi(server, method, path, {
          token,
          ...(method === "POST" && path.includes("environment") ? { body: { key: "K", value: "v" } } : {}),
        });
        assert.equal(answer.status, 403, `${method} ${path}`);
      }
    });
  });
}
