#!/usr/bin/env node
// Runs the whole test suite with Node's test runner (TypeScript through tsx). Node 20's runner does
// not expand globs, so the files are listed here. Extra arguments are passed to `node --test`
// (e.g. `npm test -- --test-name-pattern=pkce`); a path argument runs only those files.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";

function collect(dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return collect(full);
    return name.endsWith(".test.ts") ? [full] : [];
  });
}

const args = process.argv.slice(2);
const paths = args.filter((a) => !a.startsWith("-"));
const flags = args.filter((a) => a.startsWith("-"));
const files = (paths.length ? paths : ["tests"])
  .flatMap((p) => (statSync(p).isDirectory() ? collect(p) : [p]))
  .sort();

// The admin dashboard's browser code is compiled (not run through tsx): build it first so the
// browser tests always exercise the current source.
const tsc = path.join("node_modules", "typescript", "bin", "tsc");
const built = spawnSync(process.execPath, [tsc, "-p", "dashboard/tsconfig.json"], { stdio: "inherit" });
if (built.status !== 0) process.exit(built.status ?? 1);

const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=2", "--test-timeout=120000", ...flags, ...files],
  { stdio: "inherit" },
);
process.exit(result.status ?? 1);
