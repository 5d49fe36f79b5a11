// Kinde's GET /api/v1/search/users: words matched (any letter case, anywhere) against e-mail, names,
// username, id, provided id and property values, every word required; properties[key]=value
// filters (Kinde's deepObject, as @kinde/management-api-js writes it); api_scopes; starting_after /
// ending_before paging with has_more; expand=organizations,identities,properties; LIKE wildcards
// taken literally; read:users required; bad input 400. On both databases.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { createApi } from "../helpers/fixtures.js";
import { callApi, narrowMachineToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

type Result = {
  id: string;
  email: string | null;
  username: string | null;
  first_name?: string;
  last_name?: string;
  organizations?: string[];
  identities?: { type: string; identity: string }[];
  properties?: Record<string, string>;
  api_scopes?: { org_code: string; scope: string; api_id: string }[];
};
type Page = { results: Result[]; has_more: boolean };

const errorCode = (body: unknown) => (body as { errors: { code: string }[] }).errors[0]?.code;

for (const { kind, skip } of await databaseKinds()) {
  describe(`GET /api/v1/search/users (${kind})`, { skip }, () => {
    let server: TestServer;
    const tag = randomBytes(3).toString("hex");
    const ids: Record<string, string> = {};
    before(async () => {
      server = await startTestServer(kind);
      const people = [
        ["ada", "Ada", "Lovelace", "London"],
        ["grace", "Grace", "Hopper", "New York"],
        ["alan", "Alan", "Turing", "London"],
        ["katherine", "Katherine", "Johnson", "Hampton"],
        ["percent", "Per%cent", "Under_score", null],
      ] as const;
      for (const [handle, given, family, city] of people) {
        const user = await server.services.users.create({
          email: `${handle}.${tag}@example.com`,
          username: `${handle}_${tag}`,
          givenName: given,
          familyName: family,
          providedId: `ext-${handle}-${tag}`,
        });
        ids[handle] = user.id;
        if (city)
          await callApi(server, "PATCH", `/api/v1/users/${user.id}/properties`, {
            body: { properties: { kp_usr_city: city, kp_usr_job_title: `${handle} title ${tag}` } },
          });
      }
    });
    after(async () => server?.close());

    const search = async (query: string, token?: string) =>
      callApi<Page>(server, "GET", `/api/v1/search/users?${query}`, { token });
    const found = async (query: string) => {
      const answer = await search(query);
      assert.equal(answer.status, 200, `${query}: ${JSON.stringify(answer.body)}`);
      return answer.body.results.map((r) => r.id).sort();
    };
    const of = (...handles: string[]) => handles.map((h) => ids[h]!).sort();

    it("matches words in e-mail, names, username, id, provided id and property values", async () => {
      assert.deepEqual(await found(`query=${tag}`), of("ada", "grace", "alan", "katherine", "percent"));
      assert.deepEqual(await found(`query=${encodeURIComponent(`GRACE.${tag}`)}`), of("grace"), "any case");
      assert.deepEqual(await found(`query=${encodeURIComponent(`hopper ${tag}`)}`), of("grace"));
      assert.deepEqual(await found(`query=${encodeURIComponent(`Alan Turing ${tag}`)}`), of("alan"));
      assert.deepEqual(await found(`query=${encodeURIComponent(`alan hopper ${tag}`)}`), [], "every word");
      assert.deepEqual(await found(`query=katherine_${tag}`), of("katherine"), "username");
      assert.deepEqual(await found(`query=${ids.ada}`), of("ada"), "id");
      assert.deepEqual(await found(`query=ext-alan-${tag}`), of("alan"), "provided id");
      assert.deepEqual(
        await found(`query=${encodeURIComponent(`london ${tag}`)}`),
        of("ada", "alan"),
        "a property value (kp_usr_city)",
      );
      assert.deepEqual(await found(`query=${encodeURIComponent(`KATHERINE TITLE ${tag}`)}`), of("katherine"));
    });

    it("takes % and _ literally", async () => {
      assert.deepEqual(await found(`query=${encodeURIComponent(`% ${tag}`)}`), of("percent"));
      assert.deepEqual(await found(`query=${encodeURIComponent(`r_s ${tag}`)}`), of("percent"));
      assert.deepEqual(await found(`query=${encodeURIComponent(`p%c ${tag}`)}`), []);
    });

    it("filters by properties[key]=value, as Kinde's SDK writes it", async () => {
      const tagged = `query=${tag}`;
      assert.deepEqual(await found(`${tagged}&properties[kp_usr_city]=London`), of("ada", "alan"));
      assert.deepEqual(
        await found(`${tagged}&properties[kp_usr_city]=London&properties[kp_usr_city]=Hampton`),
        of("ada", "alan", "katherine"),
      );
      assert.deepEqual(
        await found(
          `${tagged}&properties[kp_usr_city]=London&properties[kp_usr_job_title]=${encodeURIComponent(`ada title ${tag}`)}`,
        ),
        of("ada"),
        "every property named",
      );
      assert.deepEqual(await found("query=*&properties[kp_usr_city]=london"), [], "values match exactly");
      const unknown = await search("properties[no_such_property]=x");
      assert.equal(unknown.status, 400);
      assert.equal(errorCode(unknown.body), "INVALID_REQUEST");
    });

    it("pages with starting_after and ending_before", async () => {
      const all = await found(`query=${tag}`);
      const seen: string[] = [];
      let cursor = "";
      for (let guard = 0; guard < 10; guard++) {
        const page = await search(`query=${tag}&page_size=2${cursor}`);
        seen.push(...page.body.results.map((r) => r.id));
        if (!page.body.has_more) break;
        cursor = `&starting_after=${page.body.results.at(-1)!.id}`;
      }
      assert.deepEqual(seen, all, "in id order, each once");
      const back = await search(`query=${tag}&page_size=2&ending_before=${all[4]}`);
      assert.deepEqual(
        back.body.results.map((r) => r.id),
        [all[2], all[3]],
      );
      assert.equal(back.body.has_more, true);
      const everyone = await search("query=*&page_size=500");
      assert.ok(everyone.body.results.length >= 5);
      for (const query of [
        "starting_after=nobody",
        "page_size=0",
        `starting_after=${all[0]}&ending_before=${all[1]}`,
      ]) {
        const refused = await search(query);
        assert.equal(refused.status, 400, query);
      }
      assert.equal(errorCode((await search("page_size=501")).body), "PAGE_SIZE_LIMIT_EXCEEDED");
    });

    it("expands organizations, identities and properties; filters and lists API scopes", async () => {
      const page = await search(`query=ada.${tag}&expand=organizations,identities,properties`);
      const [ada] = page.body.results;
      assert.ok(ada);
      assert.equal(ada.first_name, "Ada");
      assert.equal(ada.last_name, "Lovelace");
      assert.equal(ada.email, `ada.${tag}@example.com`);
      assert.equal(ada.organizations?.length, 1, "the default organization");
      assert.deepEqual(ada.identities, [
        { type: "email", identity: `ada.${tag}@example.com` },
        { type: "username", identity: `ada_${tag}` },
      ]);
      assert.deepEqual(ada.properties, { kp_usr_city: "London", kp_usr_job_title: `ada title ${tag}` });
      const plain = await search(`query=ada.${tag}`);
      assert.equal(plain.body.results[0]!.properties, undefined, "not expanded unless asked");

      const orgCode = ada.organizations![0]!;
      const audience = `https://search-${tag}.example.com`;
      const api = await createApi(server, { audience, scopes: ["read:reports", "write:reports"] });
      const scopes = await server.services.apis.store.scopes(api.id);
      const read = scopes.find((s) => s.key === "read:reports")!;
      const granted = await callApi(
        server,
        "POST",
        `/api/v1/organizations/${orgCode}/users/${ids.grace}/apis/${api.id}/scopes/${read.id}`,
      );
      assert.equal(granted.status, 200, JSON.stringify(granted.body));
      const holders = await search(`query=${tag}&api_scopes=read:reports,delete:reports`);
      assert.deepEqual(
        holders.body.results.map((r) => r.id),
        [ids.grace],
      );
      assert.deepEqual(holders.body.results[0]!.api_scopes, [
        { org_code: orgCode, scope: "read:reports", api_id: api.id },
      ]);
      assert.deepEqual(await found(`query=${tag}&api_scopes=write:reports`), []);
    });

    it("needs read:users", async () => {
      const other = await narrowMachineToken(server, ["read:user_properties"]);
      const refused = await search("query=*", other.token);
      assert.equal(refused.status, 403);
      assert.equal(errorCode(refused.body), "FORBIDDEN");
      const reader = await narrowMachineToken(server, ["read:users"]);
      assert.equal((await search("query=*", reader.token)).status, 200);
    });
  });
}
