import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication } from "../helpers/fixtures.js";
import { callApi, managementToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";

type Business = Record<string, unknown>;

for (const { kind, skip } of await databaseKinds()) {
  describe(`Management API: business (${kind})`, { skip }, () => {
    let server: TestServer;
    let token: string;
    before(async () => {
      server = await startTestServer(kind);
      token = await managementToken(server);
    });
    after(async () => server?.close());

    const getBusiness = async () => {
      const response = await callApi<{ code: string; message: string; business: Business }>(
        server,
        "GET",
        "/api/v1/business",
        { token },
      );
      assert.equal(response.status, 200);
      return response.body;
    };
    const patch = (body: unknown) => callApi(server, "PATCH", "/api/v1/business", { token, body });

    /** Opens the hosted sign-in page the way a browser does: /oauth2/auth, then its redirect. */
    async function signInPage(): Promise<string> {
      const app = await createApplication(server, "spa");
      const verifier = randomBytes(32).toString("base64url");
      const url = new URL("/oauth2/auth", server.url);
      for (const [k, v] of Object.entries({
        response_type: "code",
        client_id: app.clientId,
        redirect_uri: CALLBACK,
        scope: "openid profile email",
        state: "s",
        code_challenge: createHash("sha256").update(verifier).digest("base64url"),
        code_challenge_method: "S256",
      }))
        url.searchParams.set(k, v);
      const browser = new UserAgent(server.url);
      const next = await browser.redirectFrom(url);
      assert.equal(next.pathname, "/auth/sign-in");
      const page = await browser.request(next);
      assert.equal(page.status, 200);
      return page.text();
    }

    it("reads the business in Kinde's shape", async () => {
      const body = await getBusiness();
      const row = await server.services.business.get();
      assert.deepEqual(body, {
        code: "OK",
        message: "Success",
        business: {
          code: row.id,
          name: "Latchkey",
          phone: null,
          email: null,
          industry: null,
          timezone: null,
          privacy_url: null,
          terms_url: null,
          has_clickwrap: false,
          has_kinde_branding: false,
          created_on: new Date(row.created_at * 1000).toISOString().replace(/\.\d{3}Z$/, "Z"),
        },
      });
      assert.match(row.id, /^bus_[0-9a-f]{11}$/);
      assert.match(body.business.created_on as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    });

    it("updates with Kinde's PATCH field names, shown under GET's names", async () => {
      const updated = await patch({
        business_name: "  Tailsforce Ltd ",
        email: "sally@example.com",
        phone: "555-555-5555",
        industry_key: "healthcare_medical",
        timezone_key: "los_angeles_pacific_standard_time",
        privacy_url: "https://example.com/privacy",
        terms_url: "https://example.com/terms",
        is_click_wrap: true,
        is_show_kinde_branding: true,
        kinde_perk_code: "PERK",
      });
      assert.equal(updated.status, 200, JSON.stringify(updated.body));
      assert.deepEqual(updated.body, { code: "OK", message: "Business successfully updated" });
      const { business } = await getBusiness();
      const { code, created_on, ...rest } = business;
      assert.deepEqual(rest, {
        name: "Tailsforce Ltd",
        phone: "555-555-5555",
        email: "sally@example.com",
        industry: "Healthcare & Medical",
        timezone: "Los Angeles Pacific Standard Time",
        privacy_url: "https://example.com/privacy",
        terms_url: "https://example.com/terms",
        has_clickwrap: true,
        has_kinde_branding: true,
      });
      assert.equal(code, (await server.services.business.get()).id, "the business code never changes");

      // Only what is sent changes; null or "" clears an optional detail; null leaves the name and flags.
      assert.equal(
        (
          await patch({
            business_name: null,
            phone: null,
            email: "",
            industry_key: "administration_office_support",
            is_click_wrap: null,
          })
        ).status,
        200,
      );
      const after = (await getBusiness()).business;
      assert.equal(after.name, "Tailsforce Ltd");
      assert.equal(after.phone, null);
      assert.equal(after.email, null);
      assert.equal(after.industry, "Administration & Office Support");
      assert.equal(after.timezone, "Los Angeles Pacific Standard Time");
      assert.equal(after.has_clickwrap, true);
      assert.equal(after.terms_url, "https://example.com/terms");
      await patch({ is_click_wrap: false, is_show_kinde_branding: false, business_name: "Latchkey" });
      const reset = (await getBusiness()).business;
      assert.equal(reset.has_clickwrap, false);
      assert.equal(reset.has_kinde_branding, false);
    });

    it("refuses invalid, malformed and wrong-type bodies with 400, changing nothing", async () => {
      await patch({ business_name: "Before", phone: "1" });
      const before = (await getBusiness()).business;
      const bad: [unknown, string][] = [
        [{}, "NO_FIELDS_TO_UPDATE"],
        [{ business_name: "" }, "INVALID_REQUEST"],
        [{ business_name: "   " }, "INVALID_REQUEST"],
        [{ business_name: "x".repeat(101) }, "INVALID_REQUEST"],
        [{ business_name: "New\nline" }, "INVALID_REQUEST"],
        [{ business_name: 42 }, "INVALID_REQUEST"],
        [{ business_name: ["A"] }, "INVALID_REQUEST"],
        [{ email: "not-an-email" }, "INVALID_REQUEST"],
        [{ email: "a@b" }, "INVALID_REQUEST"],
        [{ phone: "x".repeat(51) }, "INVALID_REQUEST"],
        [{ industry_key: "Healthcare & Medical" }, "INVALID_REQUEST"],
        [{ timezone_key: "../etc" }, "INVALID_REQUEST"],
        [{ privacy_url: "javascript:alert(1)" }, "INVALID_URL"],
        [{ privacy_url: "/privacy" }, "INVALID_URL"],
        [{ terms_url: "https://user:pw@example.com/terms" }, "INVALID_URL"],
        [{ is_click_wrap: "true" }, "INVALID_REQUEST"],
        [{ is_show_kinde_branding: 1 }, "INVALID_REQUEST"],
        [{ business_name: "Changed", email: "bad" }, "INVALID_REQUEST"],
        [[], "INVALID_REQUEST"],
        [null, "INVALID_REQUEST"],
        ["Tailsforce", "INVALID_REQUEST"],
      ];
      for (const [body, code] of bad) {
        const response = await patch(body);
        assert.equal(response.status, 400, JSON.stringify(body));
        const errors = (response.body as { errors: { code: string; message: string }[] }).errors;
        assert.equal(errors[0]?.code, code, JSON.stringify(body));
      }
      const typed = await patch({ business_name: 42 });
      assert.match(
        (typed.body as { errors: { message: string }[] }).errors[0]!.message,
        /business_name/,
        "the message names the field",
      );
      for (const raw of ["{", "not json", JSON.stringify({ business_name: "x".repeat(2 * 1024 * 1024) })]) {
        const response = await fetch(`${server.url}/api/v1/business`, {
          method: "PATCH",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: raw,
        });
        assert.ok(response.status === 400 || response.status === 413, `${response.status}`);
      }
      const missing = await fetch(`${server.url}/api/v1/business`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(missing.status, 400);
      assert.deepEqual((await getBusiness()).business, before, "nothing changed");
    });

    it("requires read:businesses and update:businesses", async () => {
      const readOnly = await managementToken(server, "read:businesses");
      assert.equal((await callApi(server, "GET", "/api/v1/business", { token: readOnly })).status, 200);
      const forbidden = await callApi(server, "PATCH", "/api/v1/business", {
        token: readOnly,
        body: { business_name: "Nope" },
      });
      assert.equal(forbidden.status, 403);
      assert.match(forbidden.headers.get("www-authenticate") ?? "", /scope="update:businesses"/);
      const writeOnly = await managementToken(server, "update:businesses");
      assert.equal((await callApi(server, "GET", "/api/v1/business", { token: writeOnly })).status, 403);
      assert.equal(
        (await callApi(server, "PATCH", "/api/v1/business", { token: writeOnly, body: { phone: "2" } }))
          .status,
        200,
      );
      assert.notEqual((await getBusiness()).business.name, "Nope");
    });

    it("shows the renamed business on the hosted sign-in page, escaped", async () => {
      assert.equal((await patch({ business_name: "Latchkey" })).status, 200);
      assert.match(await signInPage(), /<p class="business">Latchkey<\/p>/);
      assert.equal((await patch({ business_name: "Tailsforce & <Co>" })).status, 200);
      const html = await signInPage();
      assert.ok(html.includes('<p class="business">Tailsforce &amp; &lt;Co&gt;</p>'), html.slice(0, 2000));
      assert.ok(!html.includes("<Co>"), "the name is escaped");
      assert.equal(await server.services.business.name(), "Tailsforce & <Co>");
    });
  });
}
