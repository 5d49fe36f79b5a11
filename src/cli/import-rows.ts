// Reading an import file for `latchkey users import`, one record at a time (never the whole file):
// JSON Lines (Kinde's NDJSON user export/import shape, a Kinde create-user body, or flat fields)
// and CSV with Kinde's column names (docs.kinde.com, "Import users in bulk").
import type { Readable } from "node:stream";
import type { ImportedHashInput } from "../users/imported-hashes.js";

/** A line (or CSV record) longer than this is reported as an error, never held in memory whole. */
export const MAX_RECORD_BYTES = 1024 * 1024;

export interface SourceLine {
  /** 1-based line number in the file. */
  line: number;
  text: string;
  /** Set when the line was too long: its text is empty. */
  tooLong?: boolean;
}

/** Splits a stream into lines, holding at most MAX_RECORD_BYTES of one line. */
export async function* lines(input: Readable): AsyncGenerator<SourceLine> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let overflow = false;
  let line = 1;
  let first = true;
  const finish = (): SourceLine => {
    let text = overflow ? "" : Buffer.concat(pending).toString("utf8");
    if (first && text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a UTF-8 byte order mark
    if (text.endsWith("\r")) text = text.slice(0, -1);
    const result: SourceLine = { line: line++, text, ...(overflow ? { tooLong: true } : {}) };
    pending = [];
    pendingBytes = 0;
    overflow = false;
    first = false;
    return result;
  };
  for await (const chunk of input) {
    let buffer = chunk as Buffer;
    for (let at = buffer.indexOf(0x0a); at >= 0; at = buffer.indexOf(0x0a)) {
      if (!overflow && pendingBytes + at <= MAX_RECORD_BYTES) pending.push(buffer.subarray(0, at));
      else overflow = true;
      yield finish();
      buffer = buffer.subarray(at + 1);
    }
    if (overflow || pendingBytes + buffer.length > MAX_RECORD_BYTES) {
      overflow = true;
      pending = [];
      pendingBytes = 0;
    } else if (buffer.length > 0) {
      pending.push(buffer);
      pendingBytes += buffer.length;
    }
  }
  if (overflow || pendingBytes > 0) yield finish();
}

/** A CSV record (RFC 4180: quoted fields may hold commas, doubled quotes and line breaks). */
export interface CsvRecord {
  line: number;
  fields: string[];
  problem?: string;
}

/** Groups lines into CSV records; a record spanning lines is bounded like a line. */
export async function* csvRecords(source: AsyncIterable<SourceLine>): AsyncGenerator<CsvRecord> {
  let text: string | undefined;
  let start = 0;
  for await (const { line, text: part, tooLong } of source) {
    if (tooLong) {
      yield { line: text === undefined ? line : start, fields: [], problem: "record longer than 1 MiB" };
      text = undefined;
      continue;
    }
    if (text === undefined) {
      text = part;
      start = line;
    } else text += `\n${part}`;
    const fields = parseCsv(text);
    if (fields) {
      yield { line: start, fields };
      text = undefined;
    } else if (text.length > MAX_RECORD_BYTES) {
      yield { line: start, fields: [], problem: "unterminated quoted field" };
      text = undefined;
    }
  }
  if (text !== undefined) yield { line: start, fields: [], problem: "unterminated quoted field" };
}

/** The fields of one record, or undefined while a quoted field is still open. */
function parseCsv(text: string): string[] | undefined {
  const fields: string[] = [];
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
      fields.push(field);
      field = "";
    } else field += c;
  }
  if (quoted) return undefined;
  fields.push(field);
  return fields;
}

/** One user to import, whatever shape the file gave it. */
export interface ImportRow {
  email?: string;
  givenName?: string;
  familyName?: string;
  providedId?: string;
  emailVerified: boolean;
  hashingMethod?: string;
  /** hashed_password and its parameters, as Kinde's SetUserPassword names them. */
  hash?: ImportedHashInput;
  /** Kinde's is_temporary_password: the user must choose a new password at the first sign-in. */
  temporaryPassword: boolean;
}

const HASH_PARAMS = [
  "salt",
  "salt_position",
  "salt_format",
  "variant",
  "signer_key",
  "salt_separator",
] as const;
const NUMBER_PARAMS = ["iterations", "rounds", "mem_cost"] as const;

type Fields = Record<string, unknown>;

const str = (value: unknown): string | undefined =>
  typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;

function bool(value: unknown, name: string): boolean | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value === "boolean") return value;
  if (typeof value === "string" && /^(true|false)$/i.test(value.trim())) return /^true$/i.test(value.trim());
  throw new RowError(`${name} must be TRUE or FALSE`);
}

function int(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const n = typeof value === "number" ? value : typeof value === "string" ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new RowError(`${name} must be a whole number`);
  return n;
}

/** A row that cannot be imported; the message goes in the report (never a hash or a salt). */
export class RowError extends Error {}

/**
 * A row from flat fields (CSV columns, or top-level JSON), Kinde's NDJSON shape (`password:
 * {hashed_password, hashing_algorithm, salt, salt_format, salt_position}`) or a create-user body
 * (`profile`, `identities`, `provided_id`).
 */
export function toRow(fields: Fields): ImportRow {
  const profile = (
    typeof fields.profile === "object" && fields.profile !== null ? fields.profile : {}
  ) as Fields;
  const identities = Array.isArray(fields.identities) ? (fields.identities as Fields[]) : [];
  const emailIdentity = identities.find((i) => i && typeof i === "object" && i.type === "email");
  const details = (emailIdentity?.details ?? {}) as Fields;
  const password = (
    typeof fields.password === "object" && fields.password !== null ? fields.password : {}
  ) as Fields;
  const merged: Fields = { ...fields, ...password };
  const hashed = str(merged.hashed_password);
  const hashingMethod = str(merged.hashing_method) ?? str(merged.hashing_algorithm);
  let hash: ImportedHashInput | undefined;
  if (hashed) {
    hash = { hashed_password: hashed };
    for (const name of HASH_PARAMS) hash[name] = str(merged[name]);
    for (const name of NUMBER_PARAMS) hash[name] = int(merged[name], name);
  } else if (hashingMethod) throw new RowError("hashing_method without hashed_password");
  const temporaryPassword = bool(merged.is_temporary_password, "is_temporary_password") ?? false;
  if (temporaryPassword && !hash) throw new RowError("is_temporary_password without hashed_password");
  return {
    email: str(fields.email) ?? str(details.email),
    givenName: str(fields.first_name) ?? str(profile.given_name),
    familyName: str(fields.last_name) ?? str(profile.family_name),
    providedId: str(fields.id) ?? str(fields.provided_id),
    // The operator vouches for the file (as with `users create`) unless it says otherwise.
    emailVerified:
      bool(fields.email_verified, "email_verified") ??
      bool(emailIdentity?.is_verified, "is_verified") ??
      true,
    hashingMethod,
    hash,
    temporaryPassword,
  };
}

/** Fields of a CSV record by its header's column names (Kinde's: email, first_name, …). */
export function csvFields(header: string[], record: string[]): Fields {
  if (record.length !== header.length)
    throw new RowError(`${record.length} columns where the header has ${header.length}`);
  const fields: Fields = {};
  header.forEach((name, i) => {
    fields[name.trim().toLowerCase()] = record[i];
  });
  return fields;
}
