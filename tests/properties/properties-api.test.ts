// Kinde's property definitions and categories over the Management API: /api/v1/properties (list
// with starting_after / ending_before paging and a context filter, create 201, update, delete) and
// /api/v1/property_categories (list, create 201, update) — each operation's scope (403 without it),
// bad bodies (400 in Kinde's error shape), unknown ids (404), duplicate keys (409), Kinde's
// built-ins (listed, not deletable), a category of another context refused. Every answer is checked
// against the server's OpenAPI document by callApi. On both databases.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { callApi, narrowMachineToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

type Json = Record<string, unknown>;
type Property = {
  id: string;
  key: string;
  name: string;
  is_private: boolean;
  description?: string;
  is_kinde_property: boolean;
  type: string;
  context: string;
  category_id: string;
};
type Category = { id: string; name: string; context: string };

const errorCode = (body: unknown) => (body as { errors: { code: string }[] }).errors[0]?.code;

for (const { kind, skip } of await databaseKinds()) {
  describe(`Properties and categories over the Management API (${kind})`, { skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(async () => server?.close());

    const api = <T = Json>(method: string, path: string, body?: unknown, token?: string) =>
      callApi<T>(server, method, path, { ...(body === undefined ? {} : { body }), token });

    async function category(name: string, context: string): Promise<string> {
      const created = await api<{ category: { id: string } }>("POST", "/api/v1/property_categories", {
        name,
        context,
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      return created.body.category.id;
    }

    async function allProperties(query = ""): Promise<Property[]> {
      const all: Property[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await api<{ properties: Property[]; has_more: boolean }>(
          "GET",
          `/api/v1/properties?page_size=7${query}${after ? `&starting_after=${after}` : ""}`,
        );
        assert.equal(page.status, 200, JSON.stringify(page.body));
        all.push(...page.body.properties);
        if (!page.body.has_more) return all;
        after = page.body.properties.at(-1)!.id;
      }
    }

    it("lists Kinde's built-in properties and categories", async () => {
      const properties = await allProperties();
      const city = properties.find((p) => p.key === "kp_usr_city");
      assert.ok(city, "kp_usr_city is built in");
      assert.equal(city.is_kinde_property, true);
      assert.equal(city.is_private, false, "the profile built-ins are public");
      assert.equal(city.context, "usr");
      const utm = properties.filter((p) => p.key === "utm_source");
      assert.deepEqual(utm.map((p) => p.context).sort(), ["org", "usr"], "marketing keys for both contexts");
      assert.ok(
        utm.every((p) => p.is_private),
        "marketing built-ins stay out of tokens until made public",
      );
      assert.ok(properties.some((p) => p.key === "kp_org_street_address_2" && p.context === "org"));

      const orgOnly = await allProperties("&context=org");
      assert.ok(orgOnly.length > 0 && orgOnly.every((p) => p.context === "org"));
      const categories = await api<{ categories: Category[]; has_more: boolean }>(
        "GET",
        "/api/v1/property_categories?page_size=500&context=usr",
      );
      assert.equal(categories.status, 200);
      assert.ok(categories.body.categories.every((c) => c.context === "usr"));
      assert.ok(categories.body.categories.some((c) => c.name === "UTM tags"));
      assert.equal(categories.body.has_more, false);
    });

    it("creates, updates and deletes a property; pages by starting_after and ending_before", async () => {
      const profile = await category("Profile", "usr");
      const before = (await allProperties()).length;
      const ids: string[] = [];
      for (const key of ["tier", "nickname", "bio"]) {
        const created = await api<{ code: string; property: { id: string } }>("POST", "/api/v1/properties", {
          name: `The ${key}`,
          description: `What ${key} is`,
          key,
          type: key === "bio" ? "multi_line_text" : "single_line_text",
          context: "usr",
          is_private: key === "nickname",
          category_id: profile,
        });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        assert.match(created.body.property.id, /^prop_[0-9a-f]{32}$/);
        ids.push(created.body.property.id);
      }
      const all = await allProperties();
      assert.equal(all.length, before + 3, "paging with starting_after reaches every property once");
      assert.equal(new Set(all.map((p) => p.id)).size, all.length);
      const tier = all.find((p) => p.id === ids[0])!;
      assert.deepEqual(
        { ...tier, id: "" },
        {
          id: "",
          key: "tier",
          name: "The tier",
          description: "What tier is",
          is_private: false,
          is_kinde_property: false,
          type: "single_line_text",
          context: "usr",
          category_id: profile,
        },
      );

      // ending_before: the page just before a property, in the same order.
      const back = await api<{ properties: Property[]; has_more: boolean }>(
        "GET",
        `/api/v1/properties?page_size=2&ending_before=${ids[2]}`,
      );
      assert.deepEqual(
        back.body.properties.map((p) => p.id),
        [ids[0], ids[1]],
      );
      assert.equal(back.body.has_more, true, "the built-ins lie before them");

      const updated = await api("PUT", `/api/v1/properties/${ids[0]}`, {
        name: "Plan tier",
        is_private: true,
        category_id: profile,
      });
      assert.equal(updated.status, 200, JSON.stringify(updated.body));
      const afterUpdate = (await allProperties()).find((p) => p.id === ids[0])!;
      assert.equal(afterUpdate.name, "Plan tier");
      assert.equal(afterUpdate.is_private, true);
      assert.equal(afterUpdate.description, "What tier is", "an absent description is kept");

      const deleted = await api("DELETE", `/api/v1/properties/${ids[0]}`);
      assert.equal(deleted.status, 200);
      assert.ok(!(await allProperties()).some((p) => p.id === ids[0]));
      const again = await api("DELETE", `/api/v1/properties/${ids[0]}`);
      assert.equal(again.status, 404);
      assert.equal(errorCode(again.body), "PROPERTY_NOT_FOUND");
    });

    it("refuses duplicate keys, reserved keys, bad bodies and categories of another context", async () => {
      const usr = await category("Mine", "usr");
      const org = await category("Theirs", "org");
      const body = {
        name: "Seat count",
        key: "seats",
        type: "single_line_text",
        context: "usr",
        is_private: false,
        category_id: usr,
      };
      assert.equal((await api("POST", "/api/v1/properties", body)).status, 201);
      const duplicate = await api("POST", "/api/v1/properties", body);
      assert.equal(duplicate.status, 409);
      assert.equal(errorCode(duplicate.body), "PROPERTY_EXISTS");
      // The same key in another context is another property.
      const orgSeats = await api("POST", "/api/v1/properties", { ...body, context: "org", category_id: org });
      assert.equal(orgSeats.status, 201, JSON.stringify(orgSeats.body));

      const refusals: [unknown, string][] = [
        [{ ...body, key: "kp_usr_secret" }, "INVALID_KEY"],
        [{ ...body, key: "has space" }, "INVALID_KEY"],
        [{ ...body, key: "x".repeat(129) }, "INVALID_REQUEST"],
        [{ ...body, key: "other", type: "boolean" }, "INVALID_REQUEST"],
        [{ ...body, key: "other", context: "env" }, "INVALID_REQUEST"],
        [{ ...body, key: "other", is_private: "no" }, "INVALID_REQUEST"],
        [{ ...body, key: "other", unknown_field: 1 }, "INVALID_REQUEST"],
        [{ ...body, key: "other", name: "   " }, "INVALID_REQUEST"],
        [{ ...body, key: "other", category_id: org }, "CATEGORY_INVALID"],
        [{ ...body, key: "other", category_id: `cat_${"0".repeat(32)}` }, "CATEGORY_INVALID"],
        [
          { name: "No key", type: "single_line_text", context: "usr", is_private: false, category_id: usr },
          "INVALID_REQUEST",
        ],
      ];
      for (const [request, code] of refusals) {
        const refused = await api("POST", "/api/v1/properties", request);
        assert.equal(refused.status, 400, `${JSON.stringify(request)} → ${JSON.stringify(refused.body)}`);
        assert.equal(errorCode(refused.body), code, JSON.stringify(refused.body));
      }
      const seats = (await allProperties()).find((p) => p.key === "seats" && p.context === "usr")!;
      const wrongCategory = await api("PUT", `/api/v1/properties/${seats.id}`, {
        name: "Seats",
        is_private: false,
        category_id: org,
      });
      assert.equal(wrongCategory.status, 400);
      assert.equal(errorCode(wrongCategory.body), "CATEGORY_INVALID");
      const missing = await api("PUT", `/api/v1/properties/${seats.id}`, { name: "Seats" });
      assert.equal(missing.status, 400, "is_private and category_id are required");
      const unknown = await api("PUT", `/api/v1/properties/prop_${"0".repeat(32)}`, {
        name: "Seats",
        is_private: false,
        category_id: usr,
      });
      assert.equal(unknown.status, 404);
      assert.equal(errorCode(unknown.body), "PROPERTY_NOT_FOUND");
      const badCursor = await api("GET", "/api/v1/properties?starting_after=not-an-id");
      assert.equal(badCursor.status, 400);
      const tooBig = await api("GET", "/api/v1/properties?page_size=501");
      assert.equal(errorCode(tooBig.body), "PAGE_SIZE_LIMIT_EXCEEDED");
    });

    it("keeps Kinde's built-ins: updatable, never deleted", async () => {
      const city = (await allProperties()).find((p) => p.key === "kp_usr_city")!;
      const refused = await api("DELETE", `/api/v1/properties/${city.id}`);
      assert.equal(refused.status, 400);
      assert.equal(errorCode(refused.body), "PROPERTY_PROTECTED");
      const hidden = await api("PUT", `/api/v1/properties/${city.id}`, {
        name: city.name,
        is_private: true,
        category_id: city.category_id,
      });
      assert.equal(hidden.status, 200);
      assert.equal((await allProperties()).find((p) => p.id === city.id)!.is_private, true);
      await api("PUT", `/api/v1/properties/${city.id}`, {
        name: city.name,
        is_private: false,
        category_id: city.category_id,
      });
    });

    it("creates and renames categories; refuses bad ones", async () => {
      const id = await category("Billing", "app");
      assert.match(id, /^cat_[0-9a-f]{32}$/);
      const renamed = await api("PUT", `/api/v1/property_categories/${id}`, { name: "Billing details" });
      assert.equal(renamed.status, 200);
      const listed = await api<{ categories: Category[] }>(
        "GET",
        "/api/v1/property_categories?page_size=500",
      );
      assert.deepEqual(
        listed.body.categories.find((c) => c.id === id),
        { id, name: "Billing details", context: "app" },
      );
      const nothing = await api("PUT", `/api/v1/property_categories/${id}`, {});
      assert.equal(errorCode(nothing.body), "NO_FIELDS_TO_UPDATE");
      const unknown = await api("PUT", `/api/v1/property_categories/cat_${"0".repeat(32)}`, { name: "X" });
      assert.equal(unknown.status, 404);
      assert.equal(errorCode(unknown.body), "CATEGORY_NOT_FOUND");
      for (const body of [{ name: "X" }, { name: "X", context: "everyone" }, { name: "", context: "usr" }]) {
        const refused = await api("POST", "/api/v1/property_categories", body);
        assert.equal(refused.status, 400, JSON.stringify(body));
        assert.equal(errorCode(refused.body), "INVALID_REQUEST");
      }
      // Paging: one at a time reaches each category once.
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await api<{ categories: Category[]; has_more: boolean }>(
          "GET",
          `/api/v1/property_categories?page_size=1${after ? `&starting_after=${after}` : ""}`,
        );
        seen.push(...page.body.categories.map((c) => c.id));
        if (!page.body.has_more) break;
        after = seen.at(-1);
      }
      assert.equal(seen.length, listed.body.categories.length);
      assert.deepEqual(
        seen,
        listed.body.categories.map((c) => c.id),
      );
    });

    it("needs each operation's scope", async () => {
      const usr = await category("Scoped", "usr");
      const reader = await narrowMachineToken(server, ["read:properties", "read:property_categories"]);
      const attempts: [string, string, unknown, string][] = [
        ["GET", "/api/v1/properties", undefined, "read:properties"],
        [
          "POST",
          "/api/v1/properties",
          {
            name: "S",
            key: "scoped",
            type: "single_line_text",
            context: "usr",
            is_private: false,
            category_id: usr,
          },
          "create:properties",
        ],
        [
          "PUT",
          `/api/v1/properties/prop_${"0".repeat(32)}`,
          { name: "S", is_private: false, category_id: usr },
          "update:properties",
        ],
        ["DELETE", `/api/v1/properties/prop_${"0".repeat(32)}`, undefined, "delete:properties"],
        ["GET", "/api/v1/property_categories", undefined, "read:property_categories"],
        ["POST", "/api/v1/property_categories", { name: "S", context: "usr" }, "create:property_categories"],
        ["PUT", `/api/v1/property_categories/${usr}`, { name: "S" }, "update:property_categories"],
      ];
      const none = await narrowMachineToken(server, ["read:users"]);
      for (const [method, path, body, scope] of attempts) {
        const refused = await api(method, path, body, none.token);
        assert.equal(refused.status, 403, `${method} ${path} without ${scope}`);
        assert.equal(errorCode(refused.body), "FORBIDDEN");
        const withReader = await api(method, path, body, reader.token);
        assert.equal(withReader.status === 403, !scope.startsWith("read:"), `${method} ${path} as a reader`);
      }
    });
  });
}
