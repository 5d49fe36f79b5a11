// `latchkey users import FILE`: bulk import of users with their password hashes (issue 19), from
// JSON Lines or CSV in Kinde's import shapes. Streams the file; each row is its own transaction
// (UsersService.create), so a bad row loses nothing else; an address already taken is skipped, so
// a re-run creates nothing twice. The per-row report goes to stdout or --report; progress to stderr.

import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import type { Writable } from "node:stream";
import { parseArgs } from "node:util";
import type { Services } from "../services.js";
import { emailProblem } from "../users/email.js";
import { storedHashOf } from "../users/stored-hash.js";
import { EmailTakenError, InvalidEmailError } from "../users/users.service.js";
import { csvFields, csvRecords, type ImportRow, lines, RowError, toRow } from "./import-rows.js";

export const USERS_IMPORT_HELP = `  users import FILE [--format jsonl|csv] [--report FILE] [--progress N]
                 create users from JSON Lines (Kinde's NDJSON or create-user bodies) or CSV with
                 Kinde's columns (email, first_name, last_name, id, email_verified, hashed_password,
                 hashing_method, salt, salt_position, …, is_temporary_password); existing addresses
                 are skipped; one line per row in the report (line, email, created | skipped
                 (exists) | error: reason); exits non-zero when a row failed`;

export class ImportUsageError extends Error {}

export interface ImportCounts {
  rows: number;
  created: number;
  skipped: number;
  failed: number;
}

type Outcome = "created" | "skipped (exists)" | `error: ${string}`;

/** Parses the command line, runs the import, and says how it went. */
export async function runUsersImport(
  args: string[],
  services: Services,
  streams: { stdout: Writable; stderr: Writable },
): Promise<ImportCounts> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: { format: { type: "string" }, report: { type: "string" }, progress: { type: "string" } },
  });
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new ImportUsageError("users import takes one FILE");
  const format = values.format ?? (/\.csv$/i.test(file) ? "csv" : "jsonl");
  if (format !== "csv" && format !== "jsonl") throw new ImportUsageError("--format must be jsonl or csv");
  const every = Number(values.progress ?? 1000);
  if (!Number.isInteger(every) || every < 1)
    throw new ImportUsageError("--progress must be a whole number of rows");

  const input = createReadStream(file);
  await Promise.race([once(input, "open"), once(input, "error").then(([e]) => Promise.reject(e))]).catch(
    (error: NodeJS.ErrnoException) => {
      throw new ImportUsageError(`cannot read ${file}: ${error.code ?? error.message}`);
    },
  );
  const report = values.report ? createWriteStream(values.report) : streams.stdout;
  const counts: ImportCounts = { rows: 0, created: 0, skipped: 0, failed: 0 };
  const record = async (line: number, email: string | undefined, outcome: Outcome): Promise<void> => {
    counts.rows++;
    if (outcome === "created") counts.created++;
    else if (outcome === "skipped (exists)") counts.skipped++;
    else counts.failed++;
    // Tabs and line breaks in a reason or address would break the report's columns.
    const clean = (text: string) => text.replace(/[\t\r\n]+/g, " ");
    if (!report.write(`${line}\t${clean(email ?? "-")}\t${clean(outcome)}\n`)) await once(report, "drain");
    if (counts.rows % every === 0)
      streams.stderr.write(
        `${counts.rows} rows: ${counts.created} created, ${counts.skipped} skipped, ${counts.failed} failed\n`,
      );
  };

  try {
    if (format === "jsonl") {
      for await (const { line, text, tooLong } of lines(input)) {
        if (!tooLong && text.trim() === "") continue;
        let fields: unknown;
        try {
          fields = tooLong ? undefined : JSON.parse(text);
        } catch {
          await record(line, undefined, "error: not valid JSON");
          continue;
        }
        if (tooLong) await record(line, undefined, "error: line longer than 1 MiB");
        else if (typeof fields !== "object" || fields === null || Array.isArray(fields))
          await record(line, undefined, "error: a line must be one JSON object");
        else await importOne(services, line, () => toRow(fields as Record<string, unknown>), record);
      }
    } else {
      let header: string[] | undefined;
      for await (const { line, fields, problem } of csvRecords(lines(input))) {
        if (!header) {
          if (problem) throw new ImportUsageError(`the CSV header (line ${line}): ${problem}`);
          header = fields.map((name) => name.trim().toLowerCase());
          if (!header.includes("email")) throw new ImportUsageError("the CSV header has no email column");
          continue;
        }
        if (fields.length === 1 && fields[0]!.trim() === "" && !problem) continue;
        if (problem) await record(line, undefined, `error: ${problem}`);
        else await importOne(services, line, () => toRow(csvFields(header!, fields)), record);
      }
    }
  } finally {
    if (report !== streams.stdout) {
      report.end();
      await once(report, "finish");
    }
  }
  streams.stderr.write(
    `imported ${counts.rows} rows: ${counts.created} created, ${counts.skipped} skipped (exists), ${counts.failed} failed\n`,
  );
  return counts;
}

async function importOne(
  services: Services,
  line: number,
  read: () => ImportRow,
  record: (line: number, email: string | undefined, outcome: Outcome) => Promise<void>,
): Promise<void> {
  let row: ImportRow;
  try {
    row = read();
  } catch (error) {
    if (error instanceof RowError) return record(line, undefined, `error: ${error.message}`);
    throw error;
  }
  const { email } = row;
  if (!email) return record(line, undefined, "error: no email");
  const invalid = emailProblem(email);
  if (invalid) return record(line, email, `error: the address ${invalid}`);
  let passwordHash: string | undefined;
  if (row.hash) {
    const stored = storedHashOf(row.hashingMethod, row.hash);
    if ("problem" in stored) return record(line, email, `error: ${stored.problem}`);
    passwordHash = stored.hash;
  }
  if (await services.users.store.findByEmail(email)) return record(line, email, "skipped (exists)");
  try {
    await services.users.create({
      email,
      passwordHash,
      givenName: row.givenName?.slice(0, 100),
      familyName: row.familyName?.slice(0, 100),
      providedId: row.providedId?.slice(0, 255),
      emailVerified: row.emailVerified,
      passwordChangeRequired: row.temporaryPassword,
    });
    return record(line, email, "created");
  } catch (error) {
    // Taken between the look-up and the insert (another import, a sign-up): still not a duplicate.
    if (error instanceof EmailTakenError) return record(line, email, "skipped (exists)");
    if (error instanceof InvalidEmailError) return record(line, email, `error: ${error.message}`);
    const reason = error instanceof Error ? error.message.split("\n")[0]!.slice(0, 200) : "failed";
    return record(line, email, `error: ${reason}`);
  }
}

type WithServices = (work: (services: Services) => Promise<void>) => Promise<void>;

/** The command as admin-commands.ts runs it: a failed row makes the exit status non-zero. */
export async function usersImportCommand(args: string[], withServices: WithServices): Promise<void> {
  let counts: ImportCounts | undefined;
  await withServices(async (services) => {
    counts = await runUsersImport(args, services, { stdout: process.stdout, stderr: process.stderr });
  });
  if (counts && counts.failed > 0)
    throw new ImportUsageError(`${counts.failed} of ${counts.rows} rows failed; see the report`);
}
