// Management API users operations against Kinde's shapes (COMPAT.md §2.5): CRUD, listing with
// keyset pagination and filters, identities, sessions, passwords (imported bcrypt hashes upgraded
// to argon2id at sign-in), suspension ending refresh tokens, scopes, idempotency and bad input.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import bcrypt from "bcryptjs";
import { hashPassword } from "../../src/users/passwords.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication } from "../helpers/fixtures.js";
import { type ApiResponse, callApi, managementToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { UserAgent } from "../helpers/user-agent.js";

type Errors = { errors: { code: string; message: string }[] };
type ListedUser = Record<string, unknown> & { id: string; email: string | null };
type UsersPage = { code: string; message: string; users: ListedUser[]; next_token?: string };

const errorCode = (response: ApiResponse) => (response.body as unknown as Errors).errors?.[0]?.code;
const unique = () => randomBytes(5).toString("hex");
const jtiOf = (jwt: string) =>
  (JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString("utf8")) as { jti: string }).jti;
const iso = (seconds: number | null) => (seconds === null ? null : new Date(seconds * 1000).toISOString());

for (const { kind, skip } of await databaseKinds()) {
  describe(`Management API: users (${kind})`, { skip }, () => {
    let server: TestServer;
    let token: string;
    let spa: { clientId: string };

    before(async () => {
      server = await startTestServer(kind);
      token = await managementToken(server);
      spa = await createApplication(server, "spa");
    });
    after(async () => server?.close());

    const api = <T = Record<string, unknown>>(
      method: string,
      path: string,
      options: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
    ) => callApi<T>(server, method, path, { token, ...options });

    async function createUser(
      email: string,
      extra: Record<string, unknown> = {},
    ): Promise<{ id: string; email: string }> {
      const created = await api<{ id: string }>("POST", "/api/v1/user", {
        body: {
          profile: { given_name: "Ada", family_name: "Lovelace" },
          identities: [{ type: "email", is_verified: true, details: { email } }],
          ...extra,
        },
      });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      return { id: created.body.id, email };
    }

    const row = async (id: string) => (await server.services.users.store.findById(id))!;

    /** The authorization code flow with PKCE through the hosted sign-in page: the token response. */
    async function signIn(
      email: string,
      password: string,
      browser = new UserAgent(server.url),
    ): Promise<{ access_token: string; refresh_token: string }> {
      const verifier = randomBytes(32).toString("base64url");
      const url = new URL("/oauth2/auth", server.url);
      for (const [k, v] of Object.entries({
        response_type: "code",
        client_id: spa.clientId,
        redirect_uri: CALLBACK,
        scope: "openid profile email offline",
        state: "st",
        code_challenge: createHash("sha256").update(verifier).digest("base64url"),
        code_challenge_method: "S256",
      }))
        url.searchParams.set(k, v);
      const callback = await browser.authorize(url, { email, password });
      const code = callback.searchParams.get("code");
      assert.ok(code, `no code in ${callback.href}`);
      const response = await fetch(`${server.url}/oauth2/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "authorization_code",
          client_id: spa.clientId,
          code,
          redirect_uri: CALLBACK,
          code_verifier: verifier,
        }),
      });
      const body = (await response.json()) as { access_token: string; refresh_token: string };
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.ok(body.refresh_token);
      return body;
    }

    /** Posts the sign-in form (a wrong password unless one is given): the page's status. */
    async function signInStatus(email: string, password = "definitely-wrong-password"): Promise<number> {
      const browser = new UserAgent(server.url);
      const url = new URL("/oauth2/auth", server.url);
      for (const [k, v] of Object.entries({
        response_type: "code",
        client_id: spa.clientId,
        redirect_uri: CALLBACK,
        scope: "openid",
        code_challenge: createHash("sha256").update("x".repeat(43)).digest("base64url"),
        code_challenge_method: "S256",
      }))
        url.searchParams.set(k, v);
      const next = await browser.redirectFrom(url);
      const hidden = await browser.openForm(new URL(`/auth/sign-in${next.search}`, server.url));
      const response = await browser.request("/auth/sign-in", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ ...hidden, email, password }),
      });
      await response.text();
      return response.status;
    }

    async function refresh(refreshToken: string) {
      const response = await fetch(`${server.url}/oauth2/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "refresh_token",
          client_id: spa.clientId,
          refresh_token: refreshToken,
        }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    }

    async function userinfoStatus(accessToken: string): Promise<number> {
      const response = await fetch(`${server.url}/oauth2/v2/user_profile`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      await response.arrayBuffer();
      return response.status;
    }

    it("creates a user and reads it back in Kinde's flat shape", async () => {
      const email = `Grace.${unique()}@Example.com`;
      const username = `grace_${unique()}`;
      const created = await api("POST", "/api/v1/user", {
        body: {
          profile: { given_name: "Grace", family_name: "Hopper", picture: "https://example.com/g.png" },
          provided_id: "ext-42",
          identities: [
            { type: "email", is_verified: true, details: { email } },
            { type: "username", details: { username } },
          ],
        },
      });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const id = created.body.id as string;
      assert.match(id, /^kp_[0-9a-f]{32}$/);
      assert.deepEqual(created.body, {
        id,
        created: true,
        identities: [
          { type: "email", result: { created: true } },
          { type: "username", result: { created: true } },
        ],
      });

      const stored = await row(id);
      assert.equal(stored.email, email.toLowerCase(), "emails are stored lower-cased");
      assert.equal(stored.email_verified, 1);
      const read = await api("GET", `/api/v1/user?id=${id}`);
      assert.equal(read.status, 200);
      assert.deepEqual(read.body, {
        id,
        provided_id: "ext-42",
        phone: null,
        username,
        last_name: "Hopper",
        first_name: "Grace",
        is_suspended: false,
        picture: "https://example.com/g.png",
        total_sign_ins: 0,
        failed_sign_ins: 0,
        last_signed_in: null,
        created_on: iso(stored.created_at),
        preferred_email: email.toLowerCase(),
      });

      const expanded = await api("GET", `/api/v1/user?id=${id}&expand=organizations,identities,billing`);
      assert.deepEqual(expanded.body.identities, [
        { type: "email", identity: email.toLowerCase() },
        { type: "username", identity: username },
      ]);
      const defaultOrg = (await server.services.organizations.store.findDefault())!;
      assert.deepEqual(
        expanded.body.organizations,
        [defaultOrg.code],
        "new users join the default organization",
      );
    });

    it("creates a user without a body or identities (Kinde's body is optional)", async () => {
      const bare = await api("POST", "/api/v1/user");
      assert.equal(bare.status, 200, JSON.stringify(bare.body));
      assert.deepEqual(bare.body, { id: bare.body.id, created: true, identities: [] });
      const read = await api("GET", `/api/v1/user?id=${bare.body.id}`);
      assert.equal(read.body.preferred_email, null);
    });

    it("refuses a duplicate email or username with 409 USER_EXISTS, whatever the case", async () => {
      const { email } = await createUser(`dup.${unique()}@example.com`);
      const again = await api("POST", "/api/v1/user", {
        body: { identities: [{ type: "email", details: { email: email.toUpperCase() } }] },
      });
      assert.equal(again.status, 409);
      assert.deepEqual(again.body, {
        errors: [{ code: "USER_EXISTS", message: "A user with this email already exists" }],
      });
      const username = `taken_${unique()}`;
      await api("POST", "/api/v1/user", {
        body: { identities: [{ type: "username", details: { username } }] },
      });
      const sameName = await api("POST", "/api/v1/user", {
        body: { identities: [{ type: "username", details: { username: username.toUpperCase() } }] },
      });
      assert.equal(sameName.status, 409);
      assert.deepEqual(sameName.body, {
        errors: [{ code: "USER_EXISTS", message: "A user with this username already exists" }],
      });
    });

    it("lists users with keyset pagination: every user once, stable across pages", async () => {
      const tag = unique();
      const mine = new Set<string>();
      for (let i = 0; i < 23; i++) mine.add((await createUser(`page${i}.${tag}@example.com`)).id);

      const first = await api<UsersPage>("GET", "/api/v1/users");
      assert.equal(first.status, 200);
      assert.equal(first.body.code, "OK");
      assert.equal(first.body.message, "Success");
      assert.equal(first.body.users.length, 10, "page_size defaults to 10");
      assert.equal(typeof first.body.next_token, "string");

      const seen: string[] = [];
      let next: string | undefined;
      let pages = 0;
      do {
        const response: ApiResponse<UsersPage> = await api<UsersPage>(
          "GET",
          `/api/v1/users?page_size=7${next ? `&next_token=${encodeURIComponent(next)}` : ""}`,
        );
        assert.equal(response.status, 200, JSON.stringify(response.body));
        assert.ok(response.body.users.length <= 7);
        seen.push(...response.body.users.map((u) => u.id));
        next = response.body.next_token;
        pages++;
      } while (next && pages < 100);
      assert.equal(next, undefined, "the last page has no next_token");
      assert.equal(new Set(seen).size, seen.length, "no user twice");
      for (const id of mine) assert.ok(seen.includes(id), "every user seen");
      const total = await server.services.db
        .selectFrom("users")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow();
      assert.equal(seen.length, Number(total.n), "every user of the database, once");
      assert.deepEqual([...seen].sort(), seen, "stable order (by id)");

      // The listed shape, field by field.
      const someone = [...mine][0]!;
      const stored = await row(someone);
      const listed = await api<UsersPage>("GET", `/api/v1/users?user_id=${someone}`);
      assert.deepEqual(listed.body, {
        code: "OK",
        message: "Success",
        users: [
          {
            id: someone,
            provided_id: null,
            phone: null,
            username: null,
            last_name: "Lovelace",
            first_name: "Ada",
            is_suspended: false,
            picture: null,
            total_sign_ins: 0,
            failed_sign_ins: 0,
            last_signed_in: null,
            created_on: iso(stored.created_at),
            email: stored.email,
          },
        ],
      });
    });

    it("filters by email, user_id and username (comma-separated) and expands identities", async () => {
      const tag = unique();
      const a = await createUser(`a.${tag}@example.com`);
      const b = await createUser(`b.${tag}@example.com`, {
        identities: [
          { type: "email", details: { email: `b.${tag}@example.com` } },
          { type: "username", details: { username: `bee_${tag}` } },
        ],
      });
      await createUser(`c.${tag}@example.com`);

      const byEmail = await api<UsersPage>(
        "GET",
        `/api/v1/users?email=${encodeURIComponent(`A.${tag}@example.com, b.${tag}@example.com`)}`,
      );
      assert.deepEqual(byEmail.body.users.map((u) => u.id).sort(), [a.id, b.id].sort());

      const byId = await api<UsersPage>("GET", `/api/v1/users?user_id=${b.id},kp_${"0".repeat(32)}`);
      assert.deepEqual(
        byId.body.users.map((u) => u.email),
        [b.email],
      );

      const byUsername = await api<UsersPage>("GET", `/api/v1/users?username=BEE_${tag}&expand=identities`);
      assert.equal(byUsername.body.users.length, 1);
      assert.deepEqual(byUsername.body.users[0]!.identities, [
        { type: "email", identity: b.email, connection_id: null },
        { type: "username", identity: `bee_${tag}`, connection_id: null },
      ]);

      const paged = await api<UsersPage>(
        "GET",
        `/api/v1/users?page_size=1&email=${encodeURIComponent(`a.${tag}@example.com,b.${tag}@example.com`)}`,
      );
      assert.equal(paged.body.users.length, 1);
      const rest = await api<UsersPage>(
        "GET",
        `/api/v1/users?page_size=1&next_token=${paged.body.next_token}&email=${encodeURIComponent(
          `a.${tag}@example.com,b.${tag}@example.com`,
        )}`,
      );
      assert.equal(rest.body.users.length, 1);
      assert.notEqual(rest.body.users[0]!.id, paged.body.users[0]!.id);
      assert.ok(!("next_token" in rest.body), "the last page has no next_token");

      const nobody = await api<UsersPage>("GET", `/api/v1/users?phone=%2B61426148233`);
      assert.deepEqual(nobody.body.users, [], "no user has a phone number");
      // has_organization: every new user is in the default organization until removed from it.
      const member = await createUser(`member.${tag}@example.com`);
      const withOrg = (has: boolean) =>
        api<UsersPage>("GET", `/api/v1/users?has_organization=${has}&user_id=${member.id}`).then((r) =>
          r.body.users.map((u) => u.id),
        );
      assert.deepEqual(await withOrg(true), [member.id]);
      assert.deepEqual(await withOrg(false), []);
      await server.services.db.deleteFrom("organization_users").where("user_id", "=", member.id).execute();
      assert.deepEqual(await withOrg(true), []);
      assert.deepEqual(await withOrg(false), [member.id]);
    });

    it("refuses bad paging: page_size over 500, zero or text, and invalid next_token", async () => {
      const tooBig = await api("GET", "/api/v1/users?page_size=501");
      assert.equal(tooBig.status, 400);
      assert.equal(errorCode(tooBig), "PAGE_SIZE_LIMIT_EXCEEDED");
      assert.equal((await api("GET", "/api/v1/users?page_size=500")).status, 200);
      for (const bad of ["0", "-1", "ten", "1.5"]) {
        const response = await api("GET", `/api/v1/users?page_size=${bad}`);
        assert.equal(response.status, 400, bad);
        assert.equal(errorCode(response), "INVALID_REQUEST");
      }
      for (const bad of [
        "garbage",
        Buffer.from("{}").toString("base64url"),
        Buffer.from('{"id":5}').toString("base64url"),
        "x".repeat(501),
      ]) {
        const response = await api("GET", `/api/v1/users?next_token=${bad}`);
        assert.equal(response.status, 400, bad);
      }
      assert.equal(errorCode(await api("GET", "/api/v1/users?next_token=garbage")), "INVALID_NEXT_TOKEN");
      const many = Array.from({ length: 101 }, (_, i) => `u${i}@example.com`).join(",");
      assert.equal((await api("GET", `/api/v1/users?email=${encodeURIComponent(many)}`)).status, 400);
      assert.equal((await api("GET", "/api/v1/users?active_since=yesterday")).status, 400);
      assert.equal((await api("GET", "/api/v1/users?has_organization=maybe")).status, 400);
    });

    it("updates a user (PATCH /user?id=) and answers with Kinde's update_user_response", async () => {
      const { id, email } = await createUser(`patch.${unique()}@example.com`, {
        profile: { given_name: "Old", family_name: "Name", picture: "https://example.com/old.png" },
      });
      const patched = await api("PATCH", `/api/v1/user?id=${id}`, {
        body: { given_name: "New", family_name: "Surname", picture: null, provided_id: "crm-7" },
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.deepEqual(patched.body, {
        id,
        given_name: "New",
        family_name: "Surname",
        email,
        is_suspended: false,
        is_password_reset_requested: false,
        picture: null,
      });
      const read = await api("GET", `/api/v1/user?id=${id}`);
      assert.equal(read.body.provided_id, "crm-7");
      assert.equal(read.body.first_name, "New");

      const nothing = await api("PATCH", `/api/v1/user?id=${id}`, { body: {} });
      assert.equal(nothing.status, 400);
      assert.equal(errorCode(nothing), "NO_FIELDS_TO_UPDATE");
      const reset = await api("PATCH", `/api/v1/user?id=${id}`, {
        body: { is_password_reset_requested: true },
      });
      assert.equal(reset.status, 200, "a new password at the next sign-in (tests/sign-in/choose-password)");
      assert.equal(reset.body.is_password_reset_requested, true);
      const badPicture = await api("PATCH", `/api/v1/user?id=${id}`, {
        body: { picture: "javascript:alert(1)" },
      });
      assert.equal(badPicture.status, 400);
    });

    it("suspending a user ends their sessions and refresh tokens; the user cannot sign in", async () => {
      const password = `pw-${unique()}-long`;
      const { id, email } = await createUser(`suspend.${unique()}@example.com`);
      assert.equal((await api("PUT", `/api/v1/users/${id}/password`, { body: { password } })).status, 200);
      const tokens = await signIn(email, password);
      const rotated = await refresh(tokens.refresh_token);
      assert.equal(rotated.status, 200, "the refresh token works before");
      const sessions = await api<{ sessions: unknown[] }>("GET", `/api/v1/users/${id}/sessions`);
      assert.equal(sessions.body.sessions.length, 1);

      const suspended = await api("PATCH", `/api/v1/user?id=${id}`, { body: { is_suspended: true } });
      assert.equal(suspended.status, 200);
      assert.equal(suspended.body.is_suspended, true);

      const after = await refresh(String(rotated.body.refresh_token));
      assert.equal(after.status, 400);
      assert.equal(after.body.error, "invalid_grant");
      assert.equal(await userinfoStatus(String(rotated.body.access_token)), 401, "access token revoked");
      const grants = await server.services.db
        .selectFrom("grants")
        .select(["revoked_at", "revoked_reason"])
        .where("user_id", "=", id)
        .execute();
      assert.ok(
        grants.length > 0 &&
          grants.every((g) => g.revoked_at !== null && g.revoked_reason === "user suspended"),
      );
      const live = await api<{ sessions: unknown[] }>("GET", `/api/v1/users/${id}/sessions`);
      assert.deepEqual(live.body.sessions, []);
      assert.equal(await signInStatus(email, password), 401, "a suspended user cannot sign in");
      assert.equal((await row(id)).failed_sign_ins, 0, "a right password is not a failed one");

      // Reinstated: they sign in again (old tokens stay dead).
      await api("PATCH", `/api/v1/user?id=${id}`, { body: { is_suspended: false } });
      await signIn(email, password);
      assert.equal((await refresh(String(rotated.body.refresh_token))).status, 400);
    });

    it("imports a bcrypt hash: the user signs in and the hash becomes argon2id; counters move", async () => {
      const password = `Correct horse ${unique()}`;
      const { id, email } = await createUser(`bcrypt.${unique()}@example.com`);
      const bcryptHash = bcrypt.hashSync(password, 10);
      const set = await api("PUT", `/api/v1/users/${id}/password`, {
        body: { hashed_password: bcryptHash, hashing_method: "bcrypt" },
      });
      assert.equal(set.status, 200, JSON.stringify(set.body));
      assert.deepEqual(set.body, { code: "OK", message: "User password successfully set" });
      assert.equal((await row(id)).password_hash, bcryptHash);

      assert.equal(await signInStatus(email), 401);
      assert.equal((await row(id)).failed_sign_ins, 1, "a wrong password counts");
      assert.equal((await row(id)).password_hash, bcryptHash, "a wrong password upgrades nothing");

      await signIn(email, password);
      const upgraded = await row(id);
      assert.match(upgraded.password_hash!, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      assert.equal(upgraded.total_sign_ins, 1);
      assert.ok(upgraded.last_signed_in_at !== null);
      await signIn(email, password);
      assert.equal((await row(id)).total_sign_ins, 2, "the upgraded hash verifies");

      const read = await api("GET", `/api/v1/user?id=${id}`);
      assert.equal(read.body.total_sign_ins, 2);
      assert.equal(read.body.failed_sign_ins, 1);
      assert.equal(read.body.last_signed_in, iso((await row(id)).last_signed_in_at));

      // $2y$ (PHP) and the default method (bcrypt when hashing_method is absent).
      const phpHash = bcrypt.hashSync(password, 4).replace(/^\$2b\$/, "$2y$");
      assert.equal(
        (await api("PUT", `/api/v1/users/${id}/password`, { body: { hashed_password: phpHash } })).status,
        200,
      );
      await signIn(email, password);
      assert.match((await row(id)).password_hash!, /^\$argon2id\$/);
      assert.ok(!server.logs.text.includes(password), "the password is never logged");
      assert.ok(!server.logs.text.includes(bcryptHash), "the hash is never logged");
    });

    it("sets passwords: argon2id PHC strings and plaintext (policy-checked); refuses other methods", async () => {
      const { id, email } = await createUser(`pw.${unique()}@example.com`);
      const put = (body: unknown) => api("PUT", `/api/v1/users/${id}/password`, { body });

      const password = `argon ${unique()} password`;
      const argonHash = await hashPassword(password);
      assert.equal((await put({ hashed_password: argonHash })).status, 200, "argon2id recognised");
      assert.equal((await put({ hashed_password: argonHash, hashing_method: "argon2id" })).status, 200);
      await signIn(email, password);

      const plain = `plain ${unique()} password`;
      assert.equal((await put({ password: plain })).status, 200);
      assert.match((await row(id)).password_hash!, /^\$argon2id\$/);
      await signIn(email, plain);

      const short = await put({ password: "short" });
      assert.equal(short.status, 400);
      assert.equal(errorCode(short), "INVALID_PASSWORD");
      // md5 and Kinde's other import formats are tests/users/password-import*.test.ts's; sha1 is none.
      const sha1 = await put({
        hashed_password: "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8",
        hashing_method: "sha1",
      });
      assert.equal(sha1.status, 400);
      assert.equal(errorCode(sha1), "HASHING_METHOD_NOT_SUPPORTED");
      assert.match(
        (sha1.body as unknown as Errors).errors[0]!.message,
        /Unknown hashing method sha1.*bcrypt/,
      );
      assert.equal(
        errorCode(await put({ hashed_password: "x", hashing_method: "rot13" })),
        "HASHING_METHOD_NOT_SUPPORTED",
      );
      for (const body of [
        { hashed_password: "not-a-bcrypt-hash" },
        { hashed_password: bcrypt.hashSync("x", 4).replace(/^\$2b\$04\$/, "$2b$15$") },
        { hashed_password: "$argon2id$v=19$m=9999999,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g" },
        { hashed_password: argonHash, hashing_method: "bcrypt" },
      ]) {
        const response = await put(body);
        assert.equal(response.status, 400, JSON.stringify(body));
        assert.equal(errorCode(response), "INVALID_PASSWORD_HASH");
      }
      for (const body of [
        {},
        { password: plain, hashed_password: argonHash },
        { hashed_password: bcrypt.hashSync("x", 4), salt: "c2FsdA==" },
        { hashed_password: 42 },
        { password: "x".repeat(1025) },
        { hashed_password: "" },
      ]) {
        const response = await put(body);
        assert.equal(response.status, 400, JSON.stringify(body));
      }
      assert.equal((await row(id)).password_hash?.startsWith("$argon2id$"), true, "refusals change nothing");
      assert.ok(!server.logs.text.includes(plain) && !server.logs.text.includes(argonHash));
    });

    it("lists and adds identities derived from the user's email and username", async () => {
      const { id, email } = await createUser(`ident.${unique()}@example.com`);
      const listed = await api<{ identities: { id: string }[] }>("GET", `/api/v1/users/${id}/identities`);
      assert.equal(listed.status, 200);
      const stored = await row(id);
      const emailIdentity = listed.body.identities[0]!.id;
      assert.match(emailIdentity, /^identity_[0-9a-f]{32}$/);
      assert.deepEqual(listed.body, {
        code: "OK",
        message: "Success",
        identities: [
          {
            id: emailIdentity,
            type: "email",
            is_confirmed: true,
            created_on: iso(stored.created_at),
            last_login_on: null,
            total_logins: 0,
            name: email,
            email,
            connection_id: null,
            is_primary: true,
          },
        ],
        has_more: false,
      });

      const username = `ident_${unique()}`;
      const added = await api("POST", `/api/v1/users/${id}/identities`, {
        body: { type: "username", value: username },
      });
      assert.equal(added.status, 201, JSON.stringify(added.body));
      const identityId = (added.body.identity as { id: string }).id;
      assert.deepEqual(added.body, {
        code: "OK",
        message: "Identity successfully created",
        identity: { id: identityId },
      });
      const both = await api<{ identities: { id: string; type: string; name: string }[] }>(
        "GET",
        `/api/v1/users/${id}/identities`,
      );
      assert.deepEqual(
        both.body.identities.map((i) => [i.id, i.type, i.name]),
        [
          [emailIdentity, "email", email],
          [identityId, "username", username],
        ],
      );
      const afterFirst = await api<{ identities: { id: string }[] }>(
        "GET",
        `/api/v1/users/${id}/identities?starting_after=${emailIdentity}`,
      );
      assert.deepEqual(
        afterFirst.body.identities.map((i) => i.id),
        [identityId],
      );
      assert.equal(
        (await api("GET", `/api/v1/users/${id}/identities?starting_after=identity_x`)).status,
        400,
      );

      const second = await api("POST", `/api/v1/users/${id}/identities`, {
        body: { type: "email", value: `other.${unique()}@example.com` },
      });
      assert.equal(second.status, 409);
      assert.equal(errorCode(second), "IDENTITY_EXISTS");

      // An email another user has: 409 USER_EXISTS; an email for a user without one: 201.
      const bare = await api<{ id: string }>("POST", "/api/v1/user");
      const taken = await api("POST", `/api/v1/users/${bare.body.id}/identities`, {
        body: { type: "email", value: email.toUpperCase() },
      });
      assert.equal(taken.status, 409);
      assert.equal(errorCode(taken), "USER_EXISTS");
      const fresh = `fresh.${unique()}@example.com`;
      const ok = await api("POST", `/api/v1/users/${bare.body.id}/identities`, {
        body: { type: "email", value: fresh },
      });
      assert.equal(ok.status, 201);
      assert.equal((await row(bare.body.id)).email, fresh);
      assert.equal((await row(bare.body.id)).email_verified, 0, "an added email is not verified");

      for (const body of [
        { type: "phone", value: "+61426148233", phone_country_id: "au" },
        { type: "social", value: "x", connection_id: "conn_1" },
        { type: "email", value: "not-an-email" },
        { type: "username", value: "has space" },
        { type: "fax", value: "1" },
        { type: "email" },
        { value: "a@example.com" },
      ]) {
        const response = await api("POST", `/api/v1/users/${bare.body.id}/identities`, { body });
        assert.equal(response.status, 400, JSON.stringify(body));
      }
      const phone = await api("POST", `/api/v1/users/${bare.body.id}/identities`, {
        body: { type: "phone", value: "+61426148233" },
      });
      assert.equal(errorCode(phone), "IDENTITY_TYPE_NOT_SUPPORTED");
    });

    it("lists a user's live sessions and deletes them all, ending their refresh tokens", async () => {
      const password = `sessions ${unique()} pw`;
      const { id, email } = await createUser(`sessions.${unique()}@example.com`);
      await api("PUT", `/api/v1/users/${id}/password`, { body: { password } });
      const first = await signIn(email, password);
      const second = await signIn(email, password); // another browser: a second session
      const listed = await api<{ code: string; has_more: boolean; sessions: Record<string, unknown>[] }>(
        "GET",
        `/api/v1/users/${id}/sessions`,
      );
      assert.equal(listed.status, 200);
      assert.equal(listed.body.code, "OK");
      assert.equal(listed.body.has_more, false);
      assert.equal(listed.body.sessions.length, 2);
      const session = listed.body.sessions[0]!;
      assert.match(String(session.session_id), /^session_0x[0-9a-f]{32}$/);
      const stored = await server.services.db
        .selectFrom("browser_sessions")
        .selectAll()
        .where("id", "=", String(session.session_id))
        .executeTakeFirstOrThrow();
      assert.deepEqual(session, {
        user_id: id,
        org_code: null,
        client_id: spa.clientId,
        expires_on: iso(stored.expires_at),
        session_id: stored.id,
        started_on: iso(stored.created_at),
        updated_on: iso(stored.auth_time),
        connection_id: null,
        last_ip_address: "127.0.0.1",
        last_user_agent: stored.user_agent,
        initial_ip_address: "127.0.0.1",
        initial_user_agent: stored.user_agent,
      });

      const deleted = await api("DELETE", `/api/v1/users/${id}/sessions`);
      assert.equal(deleted.status, 200);
      assert.deepEqual(deleted.body, { code: "OK", message: "User sessions successfully invalidated" });
      assert.deepEqual((await api("GET", `/api/v1/users/${id}/sessions`)).body.sessions, []);
      for (const tokens of [first, second]) {
        const refreshed = await refresh(tokens.refresh_token);
        assert.equal(refreshed.status, 400);
        assert.equal(refreshed.body.error, "invalid_grant");
        assert.equal(await userinfoStatus(tokens.access_token), 401);
      }
      // The user is not suspended: signing in again works.
      await signIn(email, password);
    });

    it("setting a password (plaintext or hash) signs the user out everywhere; the new one works", async () => {
      const old = `old ${unique()} pw`;
      const { id, email } = await createUser(`reset.${unique()}@example.com`);
      await api("PUT", `/api/v1/users/${id}/password`, { body: { password: old } });
      for (const body of [
        { password: `new ${unique()} pw` },
        { hashed_password: await hashPassword(`hashed ${unique()} pw`), hashing_method: "argon2id" },
      ]) {
        const tokens = await signIn(email, old);
        const set = await api("PUT", `/api/v1/users/${id}/password`, { body });
        assert.equal(set.status, 200, JSON.stringify(set.body));
        assert.deepEqual((await api("GET", `/api/v1/users/${id}/sessions`)).body.sessions, []);
        const refreshed = await refresh(tokens.refresh_token);
        assert.equal(refreshed.status, 400);
        assert.equal(refreshed.body.error, "invalid_grant");
        assert.equal(await userinfoStatus(tokens.access_token), 401);
        assert.equal(await signInStatus(email, old), 401, "the old password no longer signs in");
        await api("PUT", `/api/v1/users/${id}/password`, { body: { password: old } });
      }
    });

    it("refreshes claims (no cache to clear) and deletes users, whose tokens die with them", async () => {
      const password = `delete ${unique()} pw`;
      const { id, email } = await createUser(`delete.${unique()}@example.com`);
      await api("PUT", `/api/v1/users/${id}/password`, { body: { password } });
      const tokens = await signIn(email, password);

      const claims = await api("POST", `/api/v1/users/${id}/refresh_claims`);
      assert.equal(claims.status, 200);
      assert.deepEqual(claims.body, { code: "OK", message: "Claims successfully refreshed" });

      const deleted = await api("DELETE", `/api/v1/user?id=${id}&is_delete_profile=true`);
      assert.equal(deleted.status, 200);
      assert.deepEqual(deleted.body, { code: "OK", message: "User successfully deleted" });
      assert.equal(await row(id), undefined);
      assert.equal(
        await server.services.oauth.store.isAccessTokenRevoked(jtiOf(tokens.access_token)),
        true,
        "the access token is revoked",
      );
      assert.equal((await refresh(tokens.refresh_token)).status, 400);
      const again = await api("DELETE", `/api/v1/user?id=${id}`);
      assert.equal(again.status, 404);
    });

    it("answers 404 USER_NOT_FOUND for an unknown user on every operation", async () => {
      const missing = `kp_${"f".repeat(32)}`;
      const calls: [string, string, unknown?][] = [
        ["GET", `/api/v1/user?id=${missing}`],
        ["PATCH", `/api/v1/user?id=${missing}`, { given_name: "x" }],
        ["DELETE", `/api/v1/user?id=${missing}`],
        ["PUT", `/api/v1/users/${missing}/password`, { password: "long enough password" }],
        ["GET", `/api/v1/users/${missing}/identities`],
        ["POST", `/api/v1/users/${missing}/identities`, { type: "username", value: "nobody_here" }],
        ["GET", `/api/v1/users/${missing}/sessions`],
        ["DELETE", `/api/v1/users/${missing}/sessions`],
        ["POST", `/api/v1/users/${missing}/refresh_claims`],
      ];
      for (const [method, path, body] of calls) {
        const response = await api(method, path, { body });
        assert.equal(response.status, 404, `${method} ${path}`);
        assert.deepEqual(response.body, { errors: [{ code: "USER_NOT_FOUND", message: "User not found" }] });
      }
    });

    it("answers 400 (never 5xx) to malformed bodies, wrong types and oversized values", async () => {
      const { id } = await createUser(`valid.${unique()}@example.com`);
      const posts: unknown[] = [
        { profile: "Ada" },
        { profile: { given_name: { first: "Ada" } } },
        { profile: { given_name: "x".repeat(101) } },
        { profile: { picture: "javascript:alert(1)" } },
        { profile: { picture: `https://example.com/${"p".repeat(2000)}` } },
        { provided_id: "x".repeat(256) },
        { identities: "ada@example.com" },
        { identities: [{ type: "email" }] },
        { identities: [{ type: "email", details: {} }] },
        { identities: [{ type: "email", details: { email: "not-an-email" } }] },
        { identities: [{ type: "email", details: { email: "a@b" } }] },
        { identities: [{ type: "email", details: { email: `${"a".repeat(65)}@example.com` } }] },
        { identities: [{ type: "email", details: { email: `a@${"b".repeat(320)}.com` } }] },
        { identities: [{ type: "email", details: { email: "a b@example.com" } }] },
        { identities: [{ type: "email", details: { email: ["a@example.com", "b@example.com"] } }] },
        { identities: [{ type: "email", is_verified: "perhaps", details: { email: "v@example.com" } }] },
        { identities: [{ type: "pigeon", details: { email: "p@example.com" } }] },
        { identities: [{ type: "phone", details: { phone: "+61426148233", phone_country_id: "au" } }] },
        { identities: [{ type: "username", details: { username: "has space" } }] },
        { identities: [{ type: "username", details: { username: "u".repeat(65) } }] },
        {
          identities: [
            { type: "email", details: { email: `one.${unique()}@example.com` } },
            { type: "email", details: { email: `two.${unique()}@example.com` } },
          ],
        },
        {
          identities: Array.from({ length: 11 }, (_, i) => ({
            type: "username",
            details: { username: `u${i}` },
          })),
        },
        { profile: { given_name: "nul\u0000" } },
        [],
        "just a string",
      ];
      for (const body of posts) {
        const response = await api("POST", "/api/v1/user", { body });
        assert.equal(
          response.status,
          400,
          `${JSON.stringify(body).slice(0, 120)} → ${JSON.stringify(response.body)}`,
        );
        assert.ok(Array.isArray((response.body as unknown as Errors).errors));
      }
      // organization_code: an unknown organization is refused (and no user is made); a known one is joined.
      const before = (await server.services.db.selectFrom("users").select("id").execute()).length;
      const unknownOrg = await api("POST", "/api/v1/user", {
        body: { organization_code: "org_d2d85014942" },
      });
      assert.equal(unknownOrg.status, 400);
      assert.match(JSON.stringify(unknownOrg.body), /organization_code names no organization/);
      assert.equal((await server.services.db.selectFrom("users").select("id").execute()).length, before);
      const org = await server.services.organizations.create({ name: `Org ${unique()}` });
      const joined = await api<{ id: string }>("POST", "/api/v1/user", {
        body: { organization_code: org.code },
      });
      assert.equal(joined.status, 200, JSON.stringify(joined.body));
      const expanded = await api<{ organizations: string[] }>(
        "GET",
        `/api/v1/user?id=${joined.body.id}&expand=organizations`,
      );
      assert.ok(expanded.body.organizations.includes(org.code), JSON.stringify(expanded.body));

      const phone = await api("POST", "/api/v1/user", {
        body: { identities: [{ type: "phone", details: { phone: "+61426148233" } }] },
      });
      assert.equal(errorCode(phone), "IDENTITY_TYPE_NOT_SUPPORTED");
      assert.match(
        (phone.body as unknown as Errors).errors[0]!.message,
        /Phone identities are not supported/,
      );
      assert.equal(
        errorCode(
          await api("POST", "/api/v1/user", {
            body: { identities: [{ type: "email", details: { email: "nope" } }] },
          }),
        ),
        "INVALID_EMAIL",
      );

      const raw = await fetch(`${server.url}/api/v1/user`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: '{"profile": {',
      });
      assert.equal(raw.status, 400);
      const huge = await fetch(`${server.url}/api/v1/user`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ provided_id: "x".repeat(2 * 1024 * 1024) }),
      });
      assert.equal(huge.status, 413);

      const patches: unknown[] = [
        { is_suspended: "maybe" },
        { is_suspended: { yes: true } },
        { given_name: ["a", "b"] },
        { family_name: "x".repeat(101) },
        { picture: "ftp://example.com/p.png" },
      ];
      for (const body of patches) {
        const response = await api("PATCH", `/api/v1/user?id=${id}`, { body });
        assert.equal(response.status, 400, JSON.stringify(body));
      }
      for (const path of [
        "/api/v1/user",
        `/api/v1/user?id=${"k".repeat(101)}`,
        `/api/v1/user?id=${id}&expand=${"x".repeat(201)}`,
      ]) {
        const response = await api("GET", path);
        assert.equal(response.status, 400, path);
      }
      const stillThere = await row(id);
      assert.equal(stillThere.given_name, "Ada", "refused requests change nothing");
    });

    it("enforces each operation's scope with 403", async () => {
      const { id } = await createUser(`scope.${unique()}@example.com`);
      const unrelated = await managementToken(server, "read:applications");
      const operations: [string, string, string, unknown?][] = [
        ["read:users", "GET", "/api/v1/users"],
        ["create:users", "POST", "/api/v1/user", { profile: { given_name: "x" } }],
        ["read:users", "GET", `/api/v1/user?id=${id}`],
        ["update:users", "PATCH", `/api/v1/user?id=${id}`, { is_suspended: true }],
        ["delete:users", "DELETE", `/api/v1/user?id=${id}`],
        ["update:user_passwords", "PUT", `/api/v1/users/${id}/password`, { password: "long enough pw" }],
        ["read:user_identities", "GET", `/api/v1/users/${id}/identities`],
        [
          "create:user_identities",
          "POST",
          `/api/v1/users/${id}/identities`,
          { type: "username", value: "sc" },
        ],
        ["read:user_sessions", "GET", `/api/v1/users/${id}/sessions`],
        ["delete:user_sessions", "DELETE", `/api/v1/users/${id}/sessions`],
        ["update:user_refresh_claims", "POST", `/api/v1/users/${id}/refresh_claims`],
      ];
      for (const [scope, method, path, body] of operations) {
        const forbidden = await api(method, path, { body, token: unrelated });
        assert.equal(forbidden.status, 403, `${method} ${path} without ${scope}`);
        assert.equal(errorCode(forbidden), "FORBIDDEN");
        assert.match(forbidden.headers.get("www-authenticate") ?? "", new RegExp(`scope="${scope}"`));
      }
      const user = await row(id);
      assert.equal(user.is_suspended, 0, "nothing changed");
      assert.equal(user.password_hash, null);

      // The one scope an operation names is enough.
      const readOnly = await managementToken(server, "read:users");
      assert.equal((await api("GET", `/api/v1/user?id=${id}`, { token: readOnly })).status, 200);
      assert.equal((await api("POST", "/api/v1/user", { token: readOnly, body: {} })).status, 403);
      assert.equal((await fetch(`${server.url}/api/v1/users`)).status, 401, "no token");
    });

    it("honours Idempotency-Key on POST /api/v1/user: one user, the same answer replayed", async () => {
      const providedId = `idem-${unique()}`;
      const key = `create-user-${unique()}`;
      const send = () =>
        api<{ id: string }>("POST", "/api/v1/user", {
          body: { provided_id: providedId, profile: { given_name: "Once" } },
          headers: { "idempotency-key": key },
        });
      const [a, b] = await Promise.all([send(), send()]);
      const c = await send();
      assert.equal(a.status, 200, JSON.stringify(a.body));
      assert.equal(b.body.id, a.body.id);
      assert.equal(c.body.id, a.body.id);
      assert.deepEqual(c.body, a.body);
      assert.equal(c.headers.get("idempotent-replayed"), "true");
      const rows = await server.services.db
        .selectFrom("users")
        .select("id")
        .where("provided_id", "=", providedId)
        .execute();
      assert.equal(rows.length, 1, "exactly one user");

      // A failed create (409) rolls back with its key: nothing is recorded, a fixed retry runs.
      const email = `idem.${unique()}@example.com`;
      await createUser(email);
      const conflictKey = `conflict-${unique()}`;
      const conflict = await api("POST", "/api/v1/user", {
        body: { identities: [{ type: "email", details: { email } }] },
        headers: { "idempotency-key": conflictKey },
      });
      assert.equal(conflict.status, 409);
      const reused = await api("POST", "/api/v1/user", {
        body: { provided_id: "different" },
        headers: { "idempotency-key": key },
      });
      assert.equal(reused.status, 422);
    });
  });

  describe(`Management API: users at scale (${kind})`, { skip }, () => {
    const COUNT = 100_000;
    let server: TestServer;
    let token: string;
    before(async () => {
      server = await startTestServer(kind);
      token = await managementToken(server);
      const now = Math.floor(Date.now() / 1000);
      const batch = 1_000;
      await server.services.db.transaction().execute(async (trx) => {
        for (let start = 0; start < COUNT; start += batch) {
          await trx
            .insertInto("users")
            .values(
              Array.from({ length: batch }, (_, i) => ({
                id: `kp_${randomBytes(16).toString("hex")}`,
                email: `bulk${start + i}@example.com`,
                given_name: "Bulk",
                created_at: now,
                updated_at: now,
              })),
            )
            .execute();
        }
      });
    });
    after(async () => server?.close());

    // Speed is measured in bench/ (npm run bench); here: keyset paging stays correct at this size.
    it(`pages through ${COUNT.toLocaleString("en")} users by keyset`, async () => {
      const page = async (path: string) => {
        const response = await callApi<UsersPage>(server, "GET", path, { token });
        assert.equal(response.status, 200, JSON.stringify(response.body));
        return response.body;
      };
      const first = await page("/api/v1/users?page_size=500");
      assert.equal(first.users.length, 500);
      // Deep into the table: start after an id near the end of the key space.
      const deep = await page(
        `/api/v1/users?page_size=500&next_token=${Buffer.from(JSON.stringify({ id: "kp_ff" })).toString("base64url")}`,
      );
      assert.ok(deep.users.length > 0 && deep.users.every((u) => u.id > "kp_ff"));
      const byEmail = await page("/api/v1/users?email=bulk99999@example.com,bulk5@example.com");
      assert.equal(byEmail.users.length, 2);
      // Ten consecutive pages: strictly increasing ids, never one twice.
      const seen = new Set(first.users.map((u) => u.id));
      let previous = first.users.at(-1)!.id;
      let next = first.next_token;
      for (let i = 0; i < 10 && next; i++) {
        const body = await page(`/api/v1/users?page_size=500&next_token=${next}`);
        assert.equal(body.users.length, 500);
        for (const user of body.users) {
          assert.ok(user.id > previous && !seen.has(user.id));
          seen.add(user.id);
          previous = user.id;
        }
        next = body.next_token;
      }
      assert.equal(seen.size, 5_500);
    });
  });
}
