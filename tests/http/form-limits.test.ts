// Form bodies (application/x-www-form-urlencoded) carry at most 1 000 parameters: one more is a
// 400 in the surface's own vocabulary, decided by counting before the body is parsed — on every
// route that accepts forms (OAuth endpoints, the authorization endpoint, sign-in pages, logout).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { exceedsParameterLimit, MAX_FORM_PARAMETERS, parseFormBody } from "../../src/http/form-body.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApi, createApplication, createUser } from "../helpers/fixtures.js";
import { managementToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";

const API = "https://forms.example.com";
const FORM = { "content-type": "application/x-www-form-urlencoded" };

/** `fields`, then filler parameters (ignored as unknown, RFC 6749 §3.1) up to `total` in all. */
function padded(fields: Record<string, string>, total: number): string {
  const form = new URLSearchParams(fields);
  for (let i = form.size; i < total; i++) form.append(`pad${i}`, "1");
  assert.equal(form.size, total);
  return form.toString();
}

async function expectOAuthError(response: Response, what: string): Promise<void> {
  const text = await response.text();
  assert.equal(response.status, 400, `${what}: ${text.slice(0, 300)}`);
  assert.match(response.headers.get("content-type") ?? "", /^application\/json/, what);
  const body = JSON.parse(text) as Record<string, unknown>;
  assert.equal(body.error, "invalid_request", what);
  assert.match(String(body.error_description), /1000 parameters/, what);
}

async function expectErrorPage(response: Response, what: string): Promise<void> {
  const text = await response.text();
  assert.equal(response.status, 400, `${what}: ${text.slice(0, 300)}`);
  assert.match(response.headers.get("content-type") ?? "", /^text\/html/, what);
  assert.match(text, /<html/i, what);
}

describe("counting form parameters", () => {
  const pairs = (body: string) => [...new URLSearchParams(`&${body}`)].length;

  it("counts what the URL Standard's parser yields, before parsing", () => {
    const body = fc.stringMatching(/^[&=a?%+]{0,40}$/);
    fc.assert(
      fc.property(body, fc.nat(8), (text, max) => exceedsParameterLimit(text, max) === pairs(text) > max),
      { numRuns: 2000 },
    );
  });

  it("keeps repeated names as arrays and a leading ? in the name", () => {
    assert.deepEqual({ ...parseFormBody("a=1&a=2&b=+x%20&&c&a=3") }, { a: ["1", "2", "3"], b: " x ", c: "" });
    assert.deepEqual(Object.keys(parseFormBody("?a=1")), ["?a"]);
    assert.equal(Object.getPrototypeOf(parseFormBody("__proto__=x")), null);
  });
});

for (const { kind, skip } of await databaseKinds()) {
  describe(`form bodies of more than ${MAX_FORM_PARAMETERS} parameters (${kind})`, { skip }, () => {
    let server: TestServer;
    let m2m: { clientId: string; clientSecret?: string };
    let web: { clientId: string; clientSecret?: string };
    let user: { email: string; password: string };

    const post = (path: string, body: string, headers: Record<string, string> = FORM) =>
      fetch(`${server.url}${path}`, { method: "POST", headers, body, redirect: "manual" });
    const clientCredentials = () => ({
      grant_type: "client_credentials",
      client_id: m2m.clientId,
      client_secret: m2m.clientSecret ?? "",
      audience: API,
    });

    before(async () => {
      server = await startTestServer(kind);
      m2m = await createApplication(server, "m2m");
      web = await createApplication(server, "reg");
      await createApi(server, { audience: API, scopes: ["read"], grant: { [m2m.clientId]: ["read"] } });
      user = await createUser(server);
    });
    after(async () => server?.close());

    it("the token endpoint takes 1 000 parameters as before and refuses 1 001 with invalid_request", async () => {
      const accepted = await post("/oauth2/token", padded(clientCredentials(), 1000));
      const tokens = (await accepted.json()) as Record<string, unknown>;
      assert.equal(accepted.status, 200, JSON.stringify(tokens));
      assert.equal(typeof tokens.access_token, "string");
      // Empty segments are no parameters (the URL Standard's parser skips them).
      const withEmpties = await post("/oauth2/token", `&&${padded(clientCredentials(), 1000)}&&`);
      assert.equal(withEmpties.status, 200, await withEmpties.text());

      await expectOAuthError(await post("/oauth2/token", padded(clientCredentials(), 1001)), "token");
    });

    it("revocation and introspection refuse 1 001 parameters with invalid_request", async () => {
      const fields = { client_id: web.clientId, client_secret: web.clientSecret ?? "", token: "x" };
      for (const path of ["/oauth2/revoke", "/oauth2/introspect"]) {
        const accepted = await post(path, padded(fields, 1000));
        assert.equal(accepted.status, 200, `${path}: ${await accepted.text()}`);
        await expectOAuthError(await post(path, padded(fields, 1001)), path);
      }
    });

    it("a repeated parameter is still refused as before (RFC 6749 §3.1)", async () => {
      const body = `${padded(clientCredentials(), 999)}&client_id=${m2m.clientId}`;
      const response = await post("/oauth2/token", body);
      const reply = (await response.json()) as Record<string, unknown>;
      assert.equal(response.status, 400);
      assert.equal(reply.error, "invalid_request");
      assert.match(String(reply.error_description), /client_id is repeated/);
    });

    it("a 10 000-parameter body is answered 400", async () => {
      // Counted before anything is parsed; how fast the answer comes is timed in bench/refusals.ts.
      const body = padded(clientCredentials(), 10_000);
      await expectOAuthError(await post("/oauth2/token", body), "10 000 parameters");
    });

    it("the sign-in page takes 1 000 parameters as before and answers 1 001 with an HTML error page", async () => {
      const browser = new UserAgent(server.url);
      const next = await browser.redirectFrom(authorizationUrl(server, web.clientId, CALLBACK));
      assert.equal(next.pathname, "/auth/sign-in");
      const hidden = await browser.openForm(next);
      const fields = { ...hidden, email: user.email, password: user.password };
      const signIn = (total: number) =>
        browser.request("/auth/sign-in", { method: "POST", headers: FORM, body: padded(fields, total) });

      await expectErrorPage(await signIn(1001), "sign-in");
      const accepted = await signIn(1000);
      await accepted.text();
      assert.equal(accepted.status, 303);
      const callback = new URL(accepted.headers.get("location") ?? "", server.url);
      assert.equal(`${callback.origin}${callback.pathname}`, CALLBACK);
      assert.ok(callback.searchParams.get("code"), callback.href);
    });

    it("the authorization endpoint (POST), logout and the connected-app sign-in answer 1 001 parameters with an HTML error page", async () => {
      const authorization = Object.fromEntries(authorizationUrl(server, web.clientId, CALLBACK).searchParams);
      const accepted = await post("/oauth2/auth", padded(authorization, 1000));
      await accepted.text();
      assert.equal(accepted.status, 303, "accepted: on to the sign-in page");
      await expectErrorPage(await post("/oauth2/auth", padded(authorization, 1001)), "authorize");
      await expectErrorPage(await post("/logout", padded({ redirect: CALLBACK }, 1001)), "logout");
      await expectErrorPage(await post("/connected_apps/start", padded({}, 1001)), "connected app sign-in");
    });

    it("the Management API takes no form bodies at all: 415 in Kinde's shape", async () => {
      const token = await managementToken(server);
      for (const total of [1, 10_000]) {
        const response = await post("/api/v1/organization", padded({ name: "Forms" }, total), {
          ...FORM,
          authorization: `Bearer ${token}`,
        });
        const body = (await response.json()) as { errors?: { code: string }[] };
        assert.equal(response.status, 415, JSON.stringify(body));
        assert.equal(body.errors?.[0]?.code, "UNSUPPORTED_MEDIA_TYPE");
      }
    });
  });
}
