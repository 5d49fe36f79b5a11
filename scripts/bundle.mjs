#!/usr/bin/env node
// Bundles the server into one file: `node scripts/bundle.mjs [outdir]` writes <outdir>/cli.js
// (default dist/, after `tsc` has emitted the rest there). Node's ESM loader resolves, reads and
// links every module separately — about 650 at start-up (kysely and TypeBox ship hundreds of small
// files each), half the time to ready — and one file skips all of that.
//
// Left outside the bundle, loaded from node_modules as usual: native addons (better-sqlite3, and
// argon2 in the hashing worker, which stays a file of its own: src/paths.ts), pg and the OpenAPI UI
// (imported only when used: src/storage/database.ts, src/management/openapi.ts; swagger-ui serves
// its own files from its package directory).
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const outdir = path.resolve(process.argv[2] ?? path.join(root, "dist"));

await build({
  entryPoints: [path.join(root, "src/cli.ts")],
  outfile: path.join(outdir, "cli.js"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // esbuild: only ever imported when running from source (src/passkeys/passkeys-asset.ts).
  external: ["better-sqlite3", "@node-rs/argon2", "pg", "@fastify/swagger", "@fastify/swagger-ui", "esbuild"],
  // CommonJS packages inside an ESM bundle still call require() for Node's built-ins.
  banner: {
    js: 'import { createRequire as __latchkeyRequire } from "node:module";\nconst require = __latchkeyRequire(import.meta.url);',
  },
  // Names are kept, so stack traces in logs keep our function names; the map points them at src/
  // (`node --enable-source-maps`). Whitespace and comments go: the comments esbuild would keep
  // (JSDoc) hold non-ASCII characters, and one such character makes V8 hold the whole 4 MB source
  // as a two-byte string — 8 MB of idle memory. Hence also no non-ASCII in html`` templates, whose
  // raw text esbuild cannot escape (write `&middot;`, not the character).
  minifyWhitespace: true,
  sourcemap: "linked",
  sourcesContent: false,
  legalComments: "linked",
  logLevel: "warning",
});

// The hosted pages' one script (passkeys: src/passkeys/browser/), with @simplewebauthn/browser
// inside it, served same-origin from /assets/passkeys.js (src/paths.ts PASSKEYS_SCRIPT_FILE).
await build({
  entryPoints: [path.join(root, "src/passkeys/browser/passkeys.ts")],
  outfile: path.join(outdir, "assets/passkeys.js"),
  bundle: true,
  platform: "browser",
  format: "esm",
  target: "es2022",
  minify: true,
  legalComments: "linked",
  logLevel: "warning",
});
