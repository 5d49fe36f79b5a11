// Kinde's Management API client (@kinde/management-api-js, unchanged) drives properties, property
// categories, property values on a user, an organization and an application, and the user search
// (its `properties` filter serialised as the client does). Answers are checked against the client's
// own schemas, refusals are Kinde's error shape, and the stored values are read back. Both databases.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { PropertiesStore } from "../../src/properties/properties.store.js";
import { databaseKinds } from "../helpers/databases.js";
import { createApplication } from "../helpers/fixtures.js";
import { runKindeScript } from "../helpers/kinde-script.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { selfSignedCertificate } from "../helpers/tls.js";

type Json = Record<string, unknown>;
type Value = { key: string; value: string | null };

for (const { kind, skip } of await databaseKinds()) {
  describe(`@kinde/management-api-js drives properties and the user search (${kind})`, { skip }, () => {
    const certificate = selfSignedCertificate();
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind, { tls: certificate });
    });
    after(async () => {
      await server?.close();
      certificate.remove();
    });

    it("creates categories and properties, sets values, searches", async () => {
      const tag = randomBytes(4).toString("hex");
      const user = await server.services.users.create({ email: `sdk-${tag}@example.com`, givenName: "Sid" });
      const org = await server.services.organizations.create({ name: "SDK properties" });
      const app = await createApplication(server, "m2m");

      const { ok, refused } = await runKindeScript(
        server,
        certificate,
        "tests/properties/kinde-management-properties.ts",
        [user.id, org.code, app.clientId, tag],
      );

      for (const context of ["usr", "org", "app"]) {
        const created = ok(`createCategory:${context}`, "create_category_response");
        assert.match((created.category as Json).id as string, /^cat_[0-9a-f]{32}$/);
      }
      ok("updateCategory", "success_response");
      const categories = ok("getCategories:usr", "get_categories_response").categories as Json[];
      assert.ok(
        categories.some((c) => c.name === "SDK persons"),
        "renamed",
      );
      const firstPage = ok("getCategories:first", "get_categories_response");
      assert.equal((firstPage.categories as Json[]).length, 1);
      assert.equal(firstPage.has_more, true);

      const created = ok("createProperty", "create_property_response");
      const propertyId = (created.property as Json).id as string;
      ok("createProperty:org", "create_property_response");
      ok("createProperty:app", "create_property_response");
      refused("createProperty:duplicate", 409, "PROPERTY_EXISTS");
      ok("updateProperty", "success_response");
      const listed = ok("getProperties:usr", "get_properties_response").properties as Json[];
      const colour = listed.find((p) => p.id === propertyId)!;
      assert.equal(colour.name, "Colour");
      assert.equal(colour.description, "Their colour");
      assert.equal(colour.is_kinde_property, false);
      const page1 = ok("getProperties:page1", "get_properties_response");
      const page2 = ok("getProperties:page2", "get_properties_response");
      assert.equal(page1.has_more, true);
      const ids = [...(page1.properties as Json[]), ...(page2.properties as Json[])].map((p) => p.id);
      assert.equal(new Set(ids).size, 4, "the second page follows the first");

      ok("updateUserProperty", "success_response");
      ok("updateUserProperties", "success_response");
      refused("updateUserProperty:unknown", 404, "PROPERTY_NOT_FOUND");
      const userValues = ok("getUserPropertyValues", "get_property_values_response").properties as Value[];
      const byKey = Object.fromEntries(userValues.map((v) => [v.key, v.value]));
      assert.equal(byKey.favourite_colour, "teal");
      assert.equal(byKey.kp_usr_city, "Lisbon");

      ok("updateOrganizationProperty", "success_response");
      ok("updateOrganizationProperties", "success_response");
      const orgValues = ok("getOrganizationPropertyValues", "get_property_values_response")
        .properties as Value[];
      assert.deepEqual(
        orgValues.filter((v) => v.value !== null).map((v) => [v.key, v.value]),
        [
          ["kp_org_city", "Porto"],
          ["seats", "25"],
        ],
      );
      ok("updateApplicationsProperty", "success_response");
      const appValues = ok("getApplicationPropertyValues", "get_property_values_response")
        .properties as Json[];
      assert.deepEqual(
        appValues.map(({ id: _, ...rest }) => rest),
        [{ name: "Region", description: null, key: "region", value: "eu" }],
      );
      const byWords = ok("searchUsers:query", "search_users_response").results as Json[];
      assert.deepEqual(
        byWords.map((r) => r.id),
        [user.id],
      );
      assert.deepEqual(byWords[0]!.properties, { favourite_colour: "teal", kp_usr_city: "Lisbon" });
      const byProperty = ok("searchUsers:properties", "search_users_response").results as Json[];
      assert.deepEqual(
        byProperty.map((r) => r.id),
        [user.id],
      );
      assert.deepEqual(ok("searchUsers:none", "search_users_response").results, []);

      ok("deleteProperty", "success_response");
      refused("deleteProperty:again", 404, "PROPERTY_NOT_FOUND");
      const after = await new PropertiesStore(server.services.db).values({ context: "usr", id: user.id });
      assert.ok(!after.some((v) => v.property.key === "favourite_colour"), "its values went with it");
    });
  });
}
