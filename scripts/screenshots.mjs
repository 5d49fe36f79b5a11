// npm run screenshots: regenerates docs/screenshots/ — every dashboard screen and the main hosted
// pages at desktop (1280×800) and phone (390×844) size — against a temporary Latchkey on a temporary
// SQLite database with demo data. Not part of npm test. The dashboard's screens come from its route
// table (dashboard/src/main.ts), so a new screen is photographed without editing this file; a route
// with a parameter needs a sample below (tests/dashboard/screenshots-routes.test.ts checks).
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const OUT = path.join(ROOT, "docs", "screenshots");
const SIZES = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };
const ADMIN = { email: "ada@example.com", password: "demo-password-2024" };
const M2M = { id: "0123456789abcdef0123456789abcdef", secret: "DemoSecretDemoSecretDemoSecretDemoSecret12" };

/** Which seeded item stands in for the parameter of a route under each list. */
export const PARAMETER_SAMPLES = ["applications", "apis", "users", "organizations", "roles"];

/** The dashboard's routes, read from its route table: [pattern source, screen name]. */
export function dashboardRoutes() {
  const source = readFileSync(path.join(ROOT, "dashboard", "src", "main.ts"), "utf8");
  const table = source.slice(
    source.indexOf("const ROUTES"),
    source.indexOf("];", source.indexOf("const ROUTES")),
  );
  return [...table.matchAll(/pattern:\s*\/(.+?)\/,\s*screen:\s*(\w+)/g)].map((m) => ({
    pattern: m[1].replaceAll("\\/", "/"),
    screen: m[2],
  }));
}

/** The path to photograph for a route, and a file name: /admin/users/([…]+)$ → users-detail. */
export function routePath(route, samples) {
  const trimmed = route.pattern.replace(/^\^/, "").replace(/\$$/, "").replace(/\/\?$/, "");
  const parameter = /^\/admin\/(.+)\/\(\[[^\]]+\]\+\)$/.exec(trimmed);
  if (parameter) {
    const list = parameter[1];
    if (!(list in samples)) throw new Error(`No sample for ${route.pattern}: add one to PARAMETER_SAMPLES`);
    return { path: `/admin/${list}/${samples[list]}`, name: `${list.replaceAll("/", "-")}-detail` };
  }
  if (/[()[\]*+?]/.test(trimmed)) throw new Error(`Cannot photograph ${route.pattern}`);
  const name = trimmed
    .replace(/^\/admin\/?/, "")
    .replace(/^settings\//, "settings-")
    .replaceAll("/", "-");
  return { path: trimmed === "/admin" ? "/admin/" : trimmed, name: name || "home" };
}

function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function main() {
  const { chromium } = await import("playwright-core");
  const dir = mkdtempSync(path.join(tmpdir(), "latchkey-screenshots-"));
  const port = await freePort();
  const issuer = `http://localhost:${port}`;
  console.log(`Starting a temporary Latchkey on ${issuer} (data in ${dir})`);
  const server = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "src", "cli.ts"), "start"], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      ISSUER_URL: issuer,
      DATA_DIR: dir,
      DATABASE_URL: `sqlite://${path.join(dir, "latchkey.db")}`,
      LOG_LEVEL: "warn",
      BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
      BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
      BOOTSTRAP_M2M_CLIENT_ID: M2M.id,
      BOOTSTRAP_M2M_CLIENT_SECRET: M2M.secret,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  let browser;
  try {
    await waitUntilReady(issuer);
    const samples = await seed(issuer);
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium" });
    mkdirSync(OUT, { recursive: true });
    const shots = dashboardRoutes().map((route) => routePath(route, samples));
    for (const [size, viewport] of Object.entries(SIZES)) {
      const context = await browser.newContext({ viewport, reducedMotion: "reduce" });
      const page = await context.newPage();
      // Hosted pages first, signed out: the sign-in and sign-up forms of the demo web app.
      const authorize = `${issuer}/oauth2/auth?${new URLSearchParams({
        client_id: samples.applications,
        redirect_uri: "https://app.example.com/api/auth/kinde_callback",
        response_type: "code",
        scope: "openid profile email",
        state: "screenshot-state-0123456789",
      })}`;
      await page.goto(authorize);
      await shoot(page, `hosted-sign-in-${size}`);
      await page.goto(`${authorize}&prompt=create`);
      await shoot(page, `hosted-sign-up-${size}`);
      // The dashboard: sign in as the demo administrator, then every screen.
      await page.goto(`${issuer}/admin/`);
      await page.waitForURL((url) => url.pathname === "/auth/sign-in");
      await page.locator('input[name="email"]').fill(ADMIN.email);
      await page.locator('input[name="password"]').fill(ADMIN.password);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await page.waitForURL((url) => url.pathname.startsWith("/admin/") && !url.search);
      await page.getByRole("heading", { level: 1 }).first().waitFor();
      for (const shot of shots) {
        await page.goto(`${issuer}${shot.path}`);
        // A screen that never draws is photographed as it is, and named, rather than stopping the run.
        const drawn = await page
          .getByRole("heading", { level: 1 })
          .first()
          .waitFor({ timeout: 15_000 })
          .then(
            () => true,
            () => false,
          );
        if (!drawn) console.warn(`  warning: ${shot.path} drew no heading`);
        await page
          .locator(".loading")
          .waitFor({ state: "detached" })
          .catch(() => {});
        await shoot(page, `${shot.name}-${size}`);
      }
      await context.close();
    }
    console.log(`Done: ${2 * (shots.length + 2)} screenshots in ${path.relative(ROOT, OUT)}/`);
  } finally {
    await browser?.close();
    server.kill("SIGTERM");
    await new Promise((resolve) => server.once("exit", resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function shoot(page, name) {
  await page.evaluate('document.getElementById("notice")?.classList.remove("visible")');
  // The first screen's worth: a full-page image of a long screen would be megabytes.
  await page.screenshot({ path: path.join(OUT, `${name}.png`) });
  console.log(`  ${name}.png`);
}

async function waitUntilReady(issuer) {
  for (let i = 0; i < 300; i++) {
    const ok = await fetch(`${issuer}/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error("Latchkey did not start");
}

/** Demo data through the Management API: the ids of one item of each list, for the detail screens. */
async function seed(issuer) {
  const token = await fetch(`${issuer}/oauth2/token`, {
    method: "POST",
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: M2M.id,
      client_secret: M2M.secret,
      audience: `${issuer}/api`,
    }),
  })
    .then((r) => r.json())
    .then((b) => b.access_token);
  const call = async (method, route, body) => {
    const response = await fetch(`${issuer}/api/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  };
  console.log("Seeding demo data");
  const web = await call("POST", "/applications", { name: "Acme Web", type: "reg" });
  const webId = web.application.id;
  await call("PUT", `/applications/${webId}/auth_redirect_urls`, {
    urls: ["https://app.example.com/api/auth/kinde_callback"],
  });
  await call("PUT", `/applications/${webId}/auth_logout_urls`, { urls: ["https://app.example.com/"] });
  const portal = await call("POST", "/applications", { name: "Customer portal", type: "spa" });
  await call("PUT", `/applications/${portal.application.id}/auth_redirect_urls`, {
    urls: ["https://portal.example.com/callback"],
  });
  await call("POST", "/applications", { name: "Nightly billing job", type: "m2m" });
  const api = await call("POST", "/apis", { name: "Orders API", audience: "https://orders.example.com" });
  const org = await call("POST", "/organization", { name: "Globex Corporation" });
  const users = [];
  for (const [first, last] of [
    ["Grace", "Hopper"],
    ["Alan", "Turing"],
    ["Katherine", "Johnson"],
    ["Linus", "Torvalds"],
  ]) {
    const created = await call("POST", "/user", {
      profile: { given_name: first, family_name: last },
      identities: [{ type: "email", details: { email: `${first.toLowerCase()}@example.com` } }],
      organization_code: org.organization.code,
    });
    users.push(created.id);
  }
  const role = await call("POST", "/roles", { name: "Billing manager", key: "billing-manager" });
  await call("POST", "/connections", {
    name: "google",
    display_name: "Google",
    strategy: "oauth2:google",
    options: { client_id: "demo-google-client", client_secret: "demo-google-secret" },
  }).catch((error) => console.log(`  (no connection: ${error.message})`));
  await call("POST", "/webhooks", {
    name: "Audit sink",
    endpoint: "https://hooks.example.com/latchkey",
    event_types: ["user.created"],
  }).catch((error) => console.log(`  (no webhook: ${error.message})`));
  return {
    applications: webId,
    apis: api.api.id,
    users: users[0],
    organizations: org.organization.code,
    roles: role.role.id,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
