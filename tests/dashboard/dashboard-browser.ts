// Helpers for driving the admin dashboard in Chromium: a suite's server, browser and signed-in
// administrator (signedInDashboard), sign in through the hosted page, check a screen with axe-core
// and at phone width, save a screenshot, and collect what the browser complained about.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchChromium } from "../helpers/browser.js";
import type { DatabaseKind } from "../helpers/databases.js";
import { startTestServer, type TestServer, type TestServerOptions } from "../helpers/server.js";

const REPOSITORY = fileURLToPath(new URL("../../", import.meta.url));
/** Kept by CI for review (see README); not committed. */
export const SCREENSHOTS = path.join(REPOSITORY, "artifacts", "screenshots");
const AXE_SOURCE = readFileSync(path.join(REPOSITORY, "node_modules", "axe-core", "axe.min.js"), "utf8");

export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 390, height: 844 };

export interface DashboardPage {
  context: BrowserContext;
  page: Page;
  /** CSP violations, uncaught errors and failed responses the page saw. */
  problems: string[];
}

export async function openDashboardPage(
  browser: Browser,
  viewport: { width: number; height: number } = DESKTOP,
): Promise<DashboardPage> {
  const context = await browser.newContext({ viewport, reducedMotion: "reduce" });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (message) => {
    // Failed loads are judged by status below (Chromium's /favicon.ico probe is not a problem).
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource"))
      problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("response", (response) => {
    // 401/403 are part of flows under test; anything else at 400+ (the favicon probe aside) is not.
    const status = response.status();
    if (status >= 400 && status !== 401 && status !== 403 && !response.url().endsWith("/favicon.ico"))
      problems.push(`${status} ${response.request().method()} ${response.url()}`);
  });
  return { context, page, problems };
}

/** The administrator Latchkey creates at its first start (BOOTSTRAP_ADMIN_*), as the dashboard tests sign in. */
export const ADMIN = { email: "admin@example.com", password: "admin-password-123" };

/** What a dashboard suite works with; filled in by the suite's `before` hook. */
export interface SignedInDashboard extends DashboardPage {
  server: TestServer;
  browser: Browser;
}

/**
 * Registers, in the calling `describe`, a `before` hook that starts Latchkey on `kind` with ADMIN as
 * its bootstrap administrator, launches Chromium and signs ADMIN in to /admin/ (at `viewport`), and
 * an `after` hook that closes both. `beforeSignIn` runs once the page is open, for what must see the
 * sign-in too (a request listener) or must be in place before it. With `signIn: false` the page is
 * left blank, for a suite whose tests check that sign-in itself (signInToDashboard(page, url, ADMIN)).
 * Read the fields inside hooks and tests, not at registration.
 */
export function signedInDashboard(
  kind: DatabaseKind,
  options: {
    viewport?: { width: number; height: number };
    server?: TestServerOptions;
    beforeSignIn?: (dashboard: SignedInDashboard) => void | Promise<void>;
    signIn?: boolean;
  } = {},
): SignedInDashboard {
  const dashboard = {} as SignedInDashboard;
  before(async () => {
    dashboard.server = await startTestServer(kind, {
      ...options.server,
      env: {
        BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
        BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
        ...options.server?.env,
      },
    });
    dashboard.browser = await launchChromium();
    Object.assign(dashboard, await openDashboardPage(dashboard.browser, options.viewport));
    await options.beforeSignIn?.(dashboard);
    if (options.signIn !== false) await signInToDashboard(dashboard.page, dashboard.server.url, ADMIN);
  });
  after(async () => {
    await dashboard.browser?.close();
    await dashboard.server?.close();
  });
  return dashboard;
}

/** Opens /admin/, signs in on Latchkey's hosted page and waits for the first dashboard screen. */
export async function signInToDashboard(
  page: Page,
  issuer: string,
  credentials: { email: string; password: string },
): Promise<void> {
  await page.goto(`${issuer}/admin/`);
  await page.waitForURL((url) => url.pathname === "/auth/sign-in");
  await page.locator('input[name="email"]').fill(credentials.email);
  await page.locator('input[name="password"]').fill(credentials.password);
  await Promise.all([
    page.waitForURL((url) => url.origin === issuer && url.pathname.startsWith("/admin/") && !url.search),
    page.getByRole("button", { name: "Sign in", exact: true }).click(),
  ]);
  // Back at /admin/ the app still exchanges the code and draws its first screen: a click on the
  // menu before that can be overtaken by the first screen (seen on a loaded CI machine).
  await page.getByRole("heading", { level: 1 }).first().waitFor();
}

/**
 * Stricter than assertFitsPhone: no element reaches past the viewport's right edge unless a box
 * between it and the page scrolls (or clips) on its own, as a table's does; names a few that do.
 */
export async function assertNothingPastEdge(page: Page, screen: string): Promise<void> {
  const offenders = (await page.evaluate(`(() => {
    const width = window.innerWidth;
    const scrolls = (el) => {
      for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        if (/(auto|scroll|hidden)/.test(getComputedStyle(a).overflowX)) return true;
      }
      return false;
    };
    const offenders = [];
    for (const el of document.body.querySelectorAll("*")) {
      const box = el.getBoundingClientRect();
      if (box.width === 0 || box.height === 0) continue;
      if (getComputedStyle(el).position === "fixed") continue;
      if (box.right > width + 0.5 && !scrolls(el)) {
        offenders.push(el.tagName.toLowerCase() + (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "") + " right=" + Math.round(box.right));
        if (offenders.length >= 5) break;
      }
    }
    return offenders;
  })()`)) as string[];
  assert.deepEqual(offenders, [], `${screen}: elements past the right edge`);
}

/** No sideways scrolling at phone width; names the widest elements of <main> when there is. */
export async function assertFitsPhone(page: Page, screen: string): Promise<void> {
  const width = (await page.evaluate("document.scrollingElement.scrollWidth")) as number;
  const wide = await page.evaluate(`[...document.querySelectorAll("main *")]
    .filter((e) => e.getBoundingClientRect().right > ${PHONE.width} + 1)
    .slice(-3).map((e) => e.tagName + "." + e.className + " " + (e.textContent || "").slice(0, 40))`);
  assert.ok(width <= PHONE.width, `${screen}: the page is ${width}px wide: ${JSON.stringify(wide)}`);
}

export async function heading(page: Page, name: string | RegExp): Promise<void> {
  await page.getByRole("heading", { level: 1, name }).waitFor();
}

/** axe-core on the current screen: no serious or critical violation (WCAG 2.x A/AA rules). */
export async function assertAccessible(page: Page, screen: string): Promise<void> {
  // Evaluated through the DevTools protocol, so the page's CSP (script-src 'self') stays on.
  await page.evaluate(`${AXE_SOURCE}\n;0`);
  type Violation = { id: string; impact: string | null; help: string; targets: string[] };
  const violations = (await page.evaluate(`axe.run(document, { resultTypes: ["violations"] }).then((result) =>
    result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.slice(0, 3).map((n) => JSON.stringify(n.target)),
    })))`)) as Violation[];
  const serious = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(serious, [], `${screen}: accessibility violations`);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // Screenshots show the screen itself, not a passing notice.
  await page.evaluate('document.getElementById("notice")?.classList.remove("visible")');
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
