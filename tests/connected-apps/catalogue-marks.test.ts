// Issue 20: every built-in connected-app provider has a mark served by Latchkey (or is listed as
// shown by its initials), and every suggested scope is a scope the Management API accepts (a
// non-empty string without spaces) with a one-line explanation. A catalogue file cannot slip in a
// malformed suggestion.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import {
  BUILT_IN_PROVIDERS,
  CatalogError,
  GENERIC_PROVIDER_ID,
  loadCatalog,
} from "../../src/connected-apps/catalog.js";
import {
  CONNECTED_APP_INITIALS_ONLY,
  connectedAppLogoPath,
  LOGO_PATH_PREFIX,
} from "../../src/sign-in/provider-logos.js";

describe("connected-app catalogue: marks and suggested scopes", () => {
  it("gives every built-in provider a mark, or lists it as initials-only", () => {
    const paths = new Map<string, string>();
    for (const provider of [...BUILT_IN_PROVIDERS.map((p) => p.id), GENERIC_PROVIDER_ID]) {
      const logo = connectedAppLogoPath(provider);
      if (logo === null) {
        assert.ok(
          CONNECTED_APP_INITIALS_ONLY.has(provider),
          `${provider} has no mark and is not initials-only`,
        );
        continue;
      }
      assert.ok(
        !CONNECTED_APP_INITIALS_ONLY.has(provider),
        `${provider} has a mark yet is listed initials-only`,
      );
      assert.ok(logo.startsWith(LOGO_PATH_PREFIX) && logo.endsWith(".svg"), logo);
      paths.set(provider, logo);
    }
    // Providers of one company are still told apart.
    assert.notEqual(paths.get("google-drive"), paths.get("gmail"));
    assert.equal(connectedAppLogoPath("made-up-provider"), null);
    assert.equal(connectedAppLogoPath("__proto__"), null);
  });

  it("suggests only scopes without spaces, each explained, none twice", () => {
    let total = 0;
    for (const provider of BUILT_IN_PROVIDERS) {
      const scopes = provider.suggestedScopes ?? [];
      assert.equal(new Set(scopes.map((s) => s.scope)).size, scopes.length, `${provider.id}: duplicates`);
      for (const { scope, description } of scopes) {
        assert.equal(typeof scope, "string");
        assert.match(scope, /^[\x21-\x7e]{1,200}$/, `${provider.id}: "${scope}"`);
        assert.ok(description.trim().length > 0 && !description.includes("\n"), `${provider.id}: ${scope}`);
        total += 1;
      }
      // Notion alone has no OAuth scopes (a public integration's capabilities are its settings).
      if (provider.id !== "notion") assert.ok(scopes.length > 0, `${provider.id} suggests no scope`);
    }
    assert.ok(total > 50, `${total} suggestions`);
    const github = BUILT_IN_PROVIDERS.find((p) => p.id === "github")?.suggestedScopes?.map((s) => s.scope);
    for (const scope of ["repo", "read:user", "user:email"]) assert.ok(github?.includes(scope), scope);
  });

  it("refuses a catalogue file whose suggestion holds a space", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "latchkey-catalog-"));
    const file = path.join(dir, "catalog.json");
    writeFileSync(
      file,
      JSON.stringify([{ id: "github", suggestedScopes: [{ scope: "read user", description: "x" }] }]),
    );
    assert.throws(() => loadCatalog(file), CatalogError);
    writeFileSync(
      file,
      JSON.stringify([{ id: "github", suggestedScopes: [{ scope: "read:user", description: "x" }] }]),
    );
    assert.deepEqual(loadCatalog(file).get("github")?.suggestedScopes, [
      { scope: "read:user", description: "x" },
    ]);
  });
});
