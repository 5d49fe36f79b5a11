// Issue 20: `npm run screenshots` photographs every dashboard screen. Its list comes from the
// dashboard's route table, so this fast check makes sure every route there is understood (a new
// route with a parameter needs a sample in scripts/screenshots.mjs) and every screen gets a file.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";

interface Route {
  pattern: string;
  screen: string;
}

const ROOT = path.resolve(import.meta.dirname, "../..");
const SCRIPT = path.join(ROOT, "scripts/screenshots.mjs");
// A plain ES module script without types: imported by a path the compiler does not resolve.
const { dashboardRoutes, PARAMETER_SAMPLES, routePath } = (await import(SCRIPT)) as {
  dashboardRoutes(): Route[];
  PARAMETER_SAMPLES: string[];
  routePath(route: Route, samples: Record<string, string>): { path: string; name: string };
};

describe("npm run screenshots", () => {
  it("covers every screen of the dashboard's route table, each under its own file name", () => {
    const routes = dashboardRoutes();
    const source = readFileSync(path.join(ROOT, "dashboard/src/main.ts"), "utf8");
    const table = source.slice(
      source.indexOf("const ROUTES"),
      source.indexOf("];", source.indexOf("const ROUTES")),
    );
    assert.equal(routes.length, (table.match(/pattern:/g) ?? []).length, "every route is read");
    const samples = Object.fromEntries(PARAMETER_SAMPLES.map((list) => [list, "sample"]));
    const shots = routes.map((route) => routePath(route, samples));
    assert.equal(new Set(shots.map((s) => s.name)).size, shots.length, "file names are distinct");
    for (const screen of ["listApplications", "applicationDetails", "listUsers", "userDetails", "home"])
      assert.ok(
        routes.some((r) => r.screen === screen),
        screen,
      );
    assert.deepEqual(
      shots.find((s) => s.name === "users-detail"),
      { path: "/admin/users/sample", name: "users-detail" },
    );
    assert.ok(shots.some((s) => s.path === "/admin/" && s.name === "home"));
  });

  it("refuses a route with a parameter it has no sample for, so no screen is skipped silently", () => {
    assert.throws(
      () => routePath({ pattern: "^/admin/widgets/([A-Za-z0-9_-]+)$", screen: "x" }, {}),
      /No sample/,
    );
  });
});
