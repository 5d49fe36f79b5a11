// Files Latchkey reads or starts at run time, found relative to this module. It sits at the top of
// src/ (tsx), of dist/ (tsc), and is inlined into dist/cli.js when `npm run build` bundles the
// server (scripts/bundle.mjs): in all three layouts it is one level below the package root, so the
// same relative paths hold. A module deeper down would resolve differently once bundled.
import path from "node:path";
import { fileURLToPath } from "node:url";

/** `.ts` under tsx, `.js` once compiled or bundled. */
const extension = path.extname(fileURLToPath(import.meta.url));

export const PACKAGE_JSON = new URL("../package.json", import.meta.url);

/** dashboard/public and dashboard/dist (the dashboard's browser code). */
export const DASHBOARD_DIRECTORY = fileURLToPath(new URL("../dashboard/", import.meta.url));

/** The password-hashing worker thread's script (a file of its own, never inlined). */
export const PASSWORD_WORKER_SCRIPT = new URL(`./users/password-worker${extension}`, import.meta.url);

/** The sorted list of common passwords new passwords are checked against (resources/README.md). */
export const COMMON_PASSWORDS_FILE = new URL("../resources/common-passwords.txt", import.meta.url);

/** Whether this is the TypeScript source under tsx (tests, `npm run dev`) rather than a build. */
export const RUNNING_FROM_SOURCE = extension === ".ts";

/** The hosted pages' passkey script, which scripts/bundle.mjs writes beside cli.js (a build only). */
export const PASSKEYS_SCRIPT_FILE = new URL("./assets/passkeys.js", import.meta.url);

/** Its source, bundled in memory when running from source (src/passkeys/passkeys-asset.ts). */
export const PASSKEYS_SCRIPT_SOURCE = new URL("./passkeys/browser/passkeys.ts", import.meta.url);
