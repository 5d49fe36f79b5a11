// GET /assets/passkeys.js: the hosted pages' one script (src/passkeys/browser/), same origin, so
// the pages keep `script-src 'self'` and run nothing inline. A build serves the file scripts/
// bundle.mjs wrote; the TypeScript source (tests, `npm run dev`) bundles it once in memory, so a
// change to it shows without a build and a stale build is never what a test exercises.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { PASSKEYS_SCRIPT_FILE, PASSKEYS_SCRIPT_SOURCE, RUNNING_FROM_SOURCE } from "../paths.js";

export const PASSKEYS_SCRIPT_PATH = "/assets/passkeys.js";

let script: Promise<string> | undefined;

async function bundleFromSource(): Promise<string> {
  // A development dependency, present wherever the source runs; never imported by a build.
  const { build } = await import("esbuild");
  const result = await build({
    entryPoints: [fileURLToPath(PASSKEYS_SCRIPT_SOURCE)],
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error("esbuild produced no passkey script");
  return output.text;
}

function loadScript(): Promise<string> {
  script ??= (RUNNING_FROM_SOURCE ? bundleFromSource() : readFile(PASSKEYS_SCRIPT_FILE, "utf8")).catch(
    (error: unknown) => {
      // Tried again at the next request rather than failing forever.
      script = undefined;
      throw error;
    },
  );
  return script;
}

export function registerPasskeysAsset(app: FastifyInstance): void {
  app.get(PASSKEYS_SCRIPT_PATH, async (_request, reply) =>
    reply
      .type("text/javascript; charset=utf-8")
      .header("cache-control", "public, max-age=3600")
      .send(await loadScript()),
  );
}
