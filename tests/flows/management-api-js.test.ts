import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { databaseKinds } from "../helpers/databases.js";
import { runKindeScript } from "../helpers/kinde-script.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { selfSignedCertificate } from "../helpers/tls.js";

type ListedUser = { id: string; email: string | null; first_name: string | null };

const USERS = 7;
const PAGE_SIZE = 3;

for (const { kind, skip } of await databaseKinds()) {
  describe(`@kinde/management-api-js against Latchkey over HTTPS (${kind})`, { skip }, () => {
    const certificate = selfSignedCertificate();
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind, { tls: certificate });
      // A connected app for the client's ConnectedApps calls (configured through Latchkey's own API).
      await server.services.connectedApps.create({
        key_code_ref: "drive",
        provider: "google-drive",
        client_id: "google-client",
        client_secret: "google-secret",
        callback_url: "https://app.example.com/connected",
      });
    });
    after(async () => {
      await server?.close();
      certificate.remove();
    });

    it("manages applications, callbacks, APIs and users with one token for every call", async () => {
      const tag = randomBytes(4).toString("hex");
      const { list, steps, ok } = await runKindeScript(
        server,
        certificate,
        "tests/flows/kinde-management-client.ts",
        [tag, String(USERS)],
      );

      // Applications and callback URLs.
      const application = ok("createApplication").application as { id: string };
      assert.match(application.id, /^[0-9a-f]{32}$/);
      assert.equal((ok("getApplication").application as { name: string }).name, "Made by management-api-js");
      ok("addRedirectCallbackUrls");
      assert.deepEqual(ok("getCallbackUrls"), { redirect_urls: ["https://app.example.com/callback"] });
      assert.equal((ok("getApplications").applications as unknown[]).length, 2);

      // An API, with the application authorised for it.
      const apiId = (ok("addApis").api as { id: string }).id;
      assert.deepEqual(ok("updateApiApplications"), {
        code: "API_APPLICATIONS_UPDATED",
        message: "API applications updated",
        applications_connected: [application.id],
        applications_disconnected: [],
      });
      const readApi = ok("getApi").api as {
        id: string;
        audience: string;
        applications: { id: string; is_active: boolean }[];
      };
      assert.equal(readApi.id, apiId);
      assert.equal(readApi.audience, `https://orders-${tag}.example.com`);
      const apiApps = readApi.applications;
      assert.deepEqual(
        apiApps.filter((a) => a.id === application.id).map((a) => a.is_active),
        [true],
        `the application is authorised: ${JSON.stringify(apiApps)}`,
      );

      // Users created with email identities...
      const created: string[] = [];
      for (let i = 0; i < USERS; i++) {
        const user = ok(`createUser:${i}`) as { id: string; created: boolean; identities: unknown };
        assert.match(user.id, /^kp_[0-9a-f]{32}$/);
        assert.deepEqual(user.identities, [{ type: "email", result: { created: true } }]);
        created.push(user.id);
      }
      assert.equal(new Set(created).size, USERS);

      // ...listed page by page with next_token: every user once, no page larger than asked.
      const pages = list.filter((s) => s.step.startsWith("getUsers:"));
      assert.ok(pages.length >= Math.ceil(USERS / PAGE_SIZE), `${pages.length} pages`);
      const seen: ListedUser[] = [];
      pages.forEach((page, index) => {
        const body = ok(page.step) as { users: ListedUser[]; next_token?: string };
        assert.ok(body.users.length <= PAGE_SIZE, `page ${index + 1} has ${body.users.length} users`);
        if (index < pages.length - 1) {
          assert.equal(body.users.length, PAGE_SIZE, "only the last page is short");
          assert.equal(typeof body.next_token, "string");
        } else assert.ok(!("next_token" in body), "the last page has no next_token");
        seen.push(...body.users);
      });
      const seenIds = seen.map((u) => u.id);
      for (const [i, id] of created.entries()) {
        assert.equal(seenIds.filter((s) => s === id).length, 1, `user ${i} (${id}) listed exactly once`);
        const listed = seen.find((u) => u.id === id)!;
        assert.equal(listed.email, `user${i}.${tag}@example.com`);
        assert.equal(listed.first_name, `Given${i}`);
      }
      assert.equal(new Set(seenIds).size, seenIds.length, "nobody listed twice");
      assert.equal(seenIds.length, USERS, "a fresh server has only these users: all were listed");
      // The client really sent page_size and next_token (camelCase mapped to Kinde's query names).
      const userListings = server.logs.lines.filter(
        (l) => l.includes("incoming request") && l.includes('"url":"/api/v1/users?'),
      );
      assert.equal(userListings.length, pages.length);
      assert.ok(userListings.every((l) => l.includes(`page_size=${PAGE_SIZE}`)));
      assert.equal(userListings.filter((l) => l.includes("next_token=")).length, pages.length - 1);

      // Update one user and delete another.
      const [first, second] = created as [string, string];
      const updated = ok("updateUser");
      assert.equal(updated.id, first);
      assert.equal(updated.given_name, "Renamed");
      assert.equal(updated.family_name, "Person");
      assert.equal(updated.email, `user0.${tag}@example.com`);
      const reread = ok("getUpdatedUser");
      assert.equal(reread.first_name, "Renamed");
      assert.equal(reread.last_name, "Person");
      assert.equal(ok("deleteUser").code, "OK");
      const authUrl = ok("getConnectedAppAuthUrl") as { url: string; session_id: string };
      assert.match(authUrl.url, /\/connected_apps\/start\?token=/);
      assert.equal(typeof authUrl.session_id, "string");
      const notReady = steps.get("getConnectedAppToken")!;
      assert.equal(notReady.error?.status, 400, "no token before the user connects");
      assert.deepEqual(ok("revokeConnectedAppToken"), { code: "OK", message: "Success" });
      const deletedUser = steps.get("getDeletedUser")!;
      assert.equal(deletedUser.ok, false);
      assert.equal(deletedUser.error!.status, 404);
      assert.deepEqual(deletedUser.error!.body, {
        errors: [{ code: "USER_NOT_FOUND", message: "User not found" }],
      });
      assert.equal(await server.services.users.store.findById(second), undefined);
      assert.ok(await server.services.users.store.findById(first));

      // Delete the application: gone, and no longer authorised for the API.
      ok("deleteApplication");
      const deleted = steps.get("getDeletedApplication")!;
      assert.equal(deleted.ok, false);
      assert.equal(deleted.error!.status, 400);
      assert.equal(await server.services.applications.store.findById(application.id), undefined);
      assert.equal(ok("deleteApi").code, "API_DELETED");
      assert.equal(await server.services.apis.store.findById(apiId), undefined);

      // The client reuses its token while `aud` holds <domain>/api (COMPAT.md §3.2): one fetch.
      const tokenRequests = server.logs.lines.filter(
        (l) => l.includes('"url":"/oauth2/token"') && l.includes("incoming request"),
      );
      assert.equal(tokenRequests.length, 1, "one token request served every call");
      const apiCalls = server.logs.lines.filter(
        (l) => l.includes('"url":"/api/v1/') && l.includes("incoming request"),
      );
      assert.equal(apiCalls.length, list.length, "every step was one Management API call");
    });
  });
}
