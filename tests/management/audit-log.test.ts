// Issue 20, the audit log as a screen, on SQLite and PostgreSQL: GET /api/v1/audit_log names who
// acted and what they acted on (a person, an application; a create's target found in its
// response) and says it in words; filters by actor (id or e-mail), action and dates; pages newest
// first with a keyset; GET /api/v1/audit_log/export writes the same selection as RFC 4180 CSV with
// formula cells neutralised, up to a bound it announces; all of it needs read:audit_log exactly.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { csvField } from "../../src/management/csv.js";
import { dashboardToken } from "../helpers/dashboard.js";
import { databaseKinds } from "../helpers/databases.js";
import { callApi, managementToken, narrowMachineToken } from "../helpers/management.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

const ADMIN = { email: "ada@example.com", password: "an administrator password nobody guesses" };

interface Entry {
  id: string;
  created_on: string;
  actor_type: string;
  actor_id: string;
  actor_name: string | null;
  action: string | null;
  target_type: string | null;
  target_id: string | null;
  target_name: string | null;
  description: string;
  status_code: number;
}
interface Page {
  entries: Entry[];
  next_token: string | null;
}

/** RFC 4180 parsing, written out here so the test does not judge the writer with itself. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      record.push(field);
      field = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      record.push(field);
      records.push(record);
      record = [];
      field = "";
      i++;
    } else field += c;
  }
  assert.equal(field, "", "the file ends with CRLF");
  return records;
}

describe("CSV fields", () => {
  it("quotes as RFC 4180 says and neutralises formulas (OWASP CSV injection)", () => {
    assert.equal(csvField("plain"), "plain");
    assert.equal(csvField('say "hi", then\r\nleave'), '"say ""hi"", then\r\nleave"');
    for (const start of ["=", "+", "-", "@", "\t", "\r"])
      assert.equal(csvField(`${start}1+1`).replace(/^"/, "").charAt(0), "'", JSON.stringify(start));
    assert.equal(csvField("=SUM(A1,A2)"), `"'=SUM(A1,A2)"`);
    assert.equal(csvField(null), "");
    assert.equal(csvField(204), "204");
  });
});

for (const { kind, skip } of await databaseKinds()) {
  describe(`audit log screen API (${kind})`, { skip }, () => {
    let server: TestServer;
    let machine: string;
    let admin: string;
    let adminId: string;
    let machineName: string;

    before(async () => {
      server = await startTestServer(kind, {
        env: { BOOTSTRAP_ADMIN_EMAIL: ADMIN.email, BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password },
      });
      const db = server.storage.db;
      const row = await db
        .selectFrom("users")
        .select("id")
        .where("email", "=", ADMIN.email)
        .executeTakeFirstOrThrow();
      adminId = row.id;
      await db
        .updateTable("users")
        .set({ given_name: "Ada", family_name: "Lovelace" })
        .where("id", "=", adminId)
        .execute();
      machine = await managementToken(server);
      machineName = (
        await db
          .selectFrom("applications")
          .select("name")
          .where("id", "=", server.management.clientId)
          .executeTakeFirstOrThrow()
      ).name;
      admin = (
        await dashboardToken(
          server,
          ADMIN,
          "openid create:applications update:applications delete:applications read:audit_log",
        )
      ).access_token;
    });
    after(async () => server?.close());

    const page = (query: string, token = machine) =>
      callApi<Page>(server, "GET", `/api/v1/audit_log${query}`, { token });

    it("names people and applications and says what they did", async () => {
      const created = await callApi<{ application: { id: string } }>(server, "POST", "/api/v1/applications", {
        token: admin,
        body: { name: "Acme Web", type: "reg" },
      });
      assert.equal(created.status, 201);
      const appId = created.body.application.id;
      const user = await callApi<{ id: string }>(server, "POST", "/api/v1/user", {
        token: machine,
        body: { profile: { given_name: "Grace", family_name: "Hopper" } },
      });
      assert.equal(user.status, 200, JSON.stringify(user.body));
      const missing = await callApi(
        server,
        "DELETE",
        "/api/v1/applications/0123456789abcdef0123456789abcdef",
        {
          token: admin,
        },
      );
      assert.ok(missing.status >= 400 && missing.status < 500);

      const { status, body } = await page("?page_size=3");
      assert.equal(status, 200);
      const [refused, hopper, acme] = body.entries;
      assert.equal(acme?.description, "Ada Lovelace created application Acme Web");
      assert.deepEqual(
        [acme.actor_type, acme.actor_id, acme.actor_name, acme.action, acme.target_type, acme.target_id],
        ["user", adminId, "Ada Lovelace", "application.created", "application", appId],
      );
      assert.equal(hopper?.description, `${machineName} created user Grace Hopper`);
      assert.equal(hopper.target_id, user.body.id);
      assert.equal(hopper.actor_type, "application");
      assert.match(
        refused?.description ?? "",
        /^Ada Lovelace tried to delete application 0123456789abcdef0123456789abcdef \(refused: HTTP 4\d\d\)$/,
      );

      // Names are joined when read: a renamed application shows its name of now.
      await callApi(server, "PATCH", `/api/v1/applications/${appId}`, {
        token: admin,
        body: { name: "Acme Portal" },
      });
      const renamed = (await page("?page_size=10")).body.entries;
      assert.equal(renamed[0]?.description, "Ada Lovelace updated application Acme Portal");
      assert.ok(renamed.some((e) => e.description === "Ada Lovelace created application Acme Portal"));
    });

    it("filters by actor (id or e-mail), action and dates, and refuses filters it cannot read", async () => {
      const byId = (await page(`?actor=${adminId}&page_size=100`)).body.entries;
      assert.ok(byId.length >= 3);
      assert.ok(byId.every((e) => e.actor_id === adminId));
      const byEmail = (await page(`?actor=${encodeURIComponent("ADA@example.com")}&page_size=100`)).body
        .entries;
      assert.deepEqual(
        byEmail.map((e) => e.id),
        byId.map((e) => e.id),
      );
      assert.equal((await page(`?actor=${encodeURIComponent("nobody@example.com")}`)).body.entries.length, 0);
      const machineOnly = (await page(`?actor=${server.management.clientId}&page_size=100`)).body.entries;
      assert.ok(machineOnly.length >= 1 && machineOnly.every((e) => e.actor_type === "application"));

      const creates = (await page("?action=application.created&page_size=100")).body.entries;
      assert.ok(creates.length >= 1 && creates.every((e) => e.action === "application.created"));

      const today = new Date().toISOString().slice(0, 10);
      const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
      assert.ok((await page(`?from=${today}&to=${today}&page_size=100`)).body.entries.length >= 3);
      assert.equal((await page(`?from=${tomorrow}`)).body.entries.length, 0);
      assert.equal((await page("?to=2001-01-01")).body.entries.length, 0);
      const since = new Date(Date.now() - 3_600_000).toISOString();
      assert.ok((await page(`?from=${encodeURIComponent(since)}`)).body.entries.length >= 1);

      for (const bad of [
        "?action=application.exploded",
        "?from=yesterday",
        "?to=2024-13-45",
        `?from=${tomorrow}&to=${today}`,
        `?actor=${"a".repeat(400)}`,
        "?page_size=501",
        "?next_token=not-a-cursor",
        "?from=2024-01-01'%20OR%201=1--",
      ]) {
        const { status, body } = await callApi<{ errors: { code: string }[] }>(
          server,
          "GET",
          `/api/v1/audit_log${bad}`,
          { token: machine },
        );
        assert.equal(status, 400, bad);
        assert.ok(body.errors[0]?.code, bad);
      }
      const actions = await callApi<{ actions: { code: string; name: string }[] }>(
        server,
        "GET",
        "/api/v1/audit_log/actions",
        { token: machine },
      );
      assert.equal(actions.status, 200);
      assert.ok(
        actions.body.actions.some((a) => a.code === "application.created" && a.name === "Create application"),
      );
    });

    it("pages newest first with a keyset, across rows of the same second", async () => {
      const actor = `pager-${randomBytes(4).toString("hex")}`;
      const rows = Array.from({ length: 25 }, (_, i) => ({
        id: `0000${String(i).padStart(4, "0")}${randomBytes(6).toString("hex")}`,
        // Five rows to a second: the id breaks the tie.
        created_at: 1_700_000_000 + Math.floor(i / 5),
        actor_type: "application" as const,
        actor_id: actor,
        client_id: actor,
        method: "PATCH",
        path: "/api/v1/business",
        status_code: 200,
        ip_address: null,
        request_id: null,
        action: "business.updated",
      }));
      await server.storage.db.insertInto("audit_log").values(rows).execute();
      const seen: string[] = [];
      let token: string | null = null;
      do {
        const result: { body: Page } = await page(
          `?actor=${actor}&page_size=10${token ? `&next_token=${token}` : ""}`,
        );
        seen.push(...result.body.entries.map((e) => e.id));
        assert.ok(
          result.body.entries.every((e) => e.description === `${actor} updated the business details`),
        );
        token = result.body.next_token;
      } while (token);
      assert.deepEqual(seen, rows.map((r) => r.id).reverse(), "every row once, newest first");
    });

    it("exports the selection as CSV, formulas neutralised, up to a bound it announces", async () => {
      const hostile = '=HYPERLINK("http://evil.example","Click")';
      const created = await callApi<{ application: { id: string } }>(server, "POST", "/api/v1/applications", {
        token: admin,
        body: { name: hostile, type: "reg" },
      });
      assert.equal(created.status, 201);
      const comma = await callApi<{ application: { id: string } }>(server, "POST", "/api/v1/applications", {
        token: admin,
        body: { name: 'Acme, "West"', type: "spa" },
      });
      assert.equal(comma.status, 201);

      const response = await fetch(`${server.url}/api/v1/audit_log/export?actor=${adminId}`, {
        headers: { authorization: `Bearer ${machine}` },
      });
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type") ?? "", /^text\/csv/);
      assert.match(
        response.headers.get("content-disposition") ?? "",
        /^attachment; filename="latchkey-audit-log-/,
      );
      const records = parseCsv(await response.text());
      const [header, ...data] = records;
      assert.deepEqual(header?.slice(0, 5), ["time", "actor", "actor_type", "actor_id", "description"]);
      const listed = (await page(`?actor=${adminId}&page_size=500`)).body.entries;
      assert.equal(data.length, listed.length, "every entry the filter selects");
      assert.deepEqual(
        data.map((r) => r[4]),
        listed.map((e) => (/^[=+\-@\t\r]/.test(e.description) ? `'${e.description}` : e.description)),
      );
      const hostileRow = data.find((r) => r[7] === created.body.application.id);
      assert.equal(hostileRow?.[8], `'${hostile}`, "the formula is text in a spreadsheet");
      assert.equal(hostileRow?.[4], `Ada Lovelace created application ${hostile}`);
      const commaRow = data.find((r) => r[7] === comma.body.application.id);
      assert.equal(commaRow?.[8], 'Acme, "West"');
      assert.ok(data.every((r) => r.length === header!.length));

      const bounded = await fetch(`${server.url}/api/v1/audit_log/export?max_rows=2`, {
        headers: { authorization: `Bearer ${machine}` },
      });
      const boundedRecords = parseCsv(await bounded.text());
      assert.equal(boundedRecords.length, 1 + 2 + 1);
      assert.match(boundedRecords[3]?.[0] ?? "", /^Export stopped at 2 rows: more entries match/);
      const filtered = parseCsv(
        await (
          await fetch(`${server.url}/api/v1/audit_log/export?action=application.updated`, {
            headers: { authorization: `Bearer ${machine}` },
          })
        ).text(),
      );
      assert.ok(filtered.length >= 2 && filtered.slice(1).every((r) => r[5] === "application.updated"));

      for (const bad of ["?max_rows=0", "?max_rows=100001", "?from=soon"]) {
        const refused = await fetch(`${server.url}/api/v1/audit_log/export${bad}`, {
          headers: { authorization: `Bearer ${machine}` },
        });
        assert.equal(refused.status, 400, bad);
        const body = (await refused.json()) as { errors: { code: string }[] };
        assert.ok(body.errors[0]?.code);
      }
    });

    it("needs read:audit_log, exactly", async () => {
      const { token } = await narrowMachineToken(server, ["read:users", "read:applications"]);
      for (const path of ["/api/v1/audit_log", "/api/v1/audit_log/actions", "/api/v1/audit_log/export"]) {
        const refused = await fetch(`${server.url}${path}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        assert.equal(refused.status, 403, path);
        assert.equal(((await refused.json()) as { errors: { code: string }[] }).errors[0]?.code, "FORBIDDEN");
        assert.equal((await fetch(`${server.url}${path}`)).status, 401, path);
      }
      const reader = await narrowMachineToken(server, ["read:audit_log"]);
      assert.equal((await page("", reader.token)).status, 200);
    });
  });
}
