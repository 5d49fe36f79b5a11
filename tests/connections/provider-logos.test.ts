// The marks on the sign-in page's connection buttons (issue 17: "logos shipped locally, no
// third-party requests from the page"), on SQLite and PostgreSQL: every image the page references
// is a same-origin URL answering image/svg+xml that loads nothing and runs nothing, cached long;
// and in Chromium the page, once loaded, has asked no other origin for anything and every mark has
// rendered.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { launchChromium } from "../helpers/browser.js";
import { databaseKinds } from "../helpers/databases.js";
import { CALLBACK, createApplication } from "../helpers/fixtures.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { authorizationUrl, UserAgent } from "../helpers/user-agent.js";

const STRATEGIES = ["oauth2:google", "oauth2:github", "oauth2:twitter", "oauth2:discord", "oauth2:patreon"];

for (const { kind, skip } of await databaseKinds()) {
  describe(`provider marks on the sign-in page (${kind})`, { skip }, () => {
    let server: TestServer;
    let app: { clientId: string };
    let browser: Browser | undefined;

    before(async () => {
      server = await startTestServer(kind);
      app = await createApplication(server, "spa");
      for (const strategy of STRATEGIES)
        await server.services.connections.create({
          name: strategy.slice(7),
          displayName: `Brand ${strategy.slice(7)}`,
          strategy,
          options: { client_id: "id", client_secret: "secret" },
          enabledApplications: [app.clientId],
        });
    });
    after(async () => {
      await browser?.close();
      await server?.close();
    });

    it("references only same-origin marks, each image/svg+xml with no script or outside reference", async () => {
      const agent = new UserAgent(server.url);
      const page = await agent.request(
        await agent.redirectFrom(authorizationUrl(server, app.clientId, CALLBACK)),
      );
      const html = await page.text();
      assert.equal(page.status, 200);
      const buttons = [...html.matchAll(/<a class="connection"[^>]*>([\s\S]*?)<\/a>/g)].map((m) => m[1]!);
      assert.equal(buttons.length, STRATEGIES.length, "one button per connection");
      const images = [...html.matchAll(/<img [^>]*src="([^"]+)"/g)].map((m) => new URL(m[1]!, server.url));
      assert.equal(images.length, STRATEGIES.length, "a mark on every button");
      assert.equal(new Set(images.map((u) => u.pathname)).size, STRATEGIES.length, "each provider its own");
      for (const button of buttons) assert.match(button, /<img [^>]*alt=""/, "decoration: the text names it");
      for (const url of images) {
        assert.equal(url.origin, new URL(server.url).origin, `${url} is same-origin`);
        const response = await agent.request(url);
        const svg = await response.text();
        assert.equal(response.status, 200, url.pathname);
        assert.equal(response.headers.get("content-type"), "image/svg+xml");
        assert.match(response.headers.get("cache-control") ?? "", /max-age=31536000/);
        assert.equal(response.headers.get("x-content-type-options"), "nosniff");
        assert.match(response.headers.get("content-security-policy") ?? "", /default-src 'none'/);
        assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
        assert.doesNotMatch(svg, /<script|href=|url\(|on[a-z]+=/i, "loads nothing, runs nothing");
      }
      // Nothing else on the page points elsewhere either (stylesheet, forms, links).
      for (const [, ref] of html.matchAll(/(?:src|href|action)="([^"]+)"/g))
        assert.equal(new URL(ref!, server.url).origin, new URL(server.url).origin, ref);
      const unknown = await agent.request("/assets/logos/v1/not-a-mark.svg");
      assert.equal(unknown.status, 404);
      assert.equal((await agent.request("/assets/logos/v1/..%2Fconnection.svg")).status, 404);
    });

    // The page is the same whatever the database: the browser's look is registered once, on SQLite.
    if (kind === "sqlite")
      it("in Chromium: no request leaves the origin, and every mark renders", async () => {
        browser = await launchChromium();
        const context = await browser.newContext();
        const tab = await context.newPage();
        const requested: string[] = [];
        tab.on("request", (request) => requested.push(request.url()));
        const start = authorizationUrl(server, app.clientId, CALLBACK);
        await tab.goto(start.href);
        await tab.waitForLoadState("networkidle");
        const origin = new URL(server.url).origin;
        assert.ok(
          requested.some((u) => u.includes("/assets/logos/v1/")),
          "the marks were fetched",
        );
        assert.deepEqual(
          requested.filter((u) => new URL(u).origin !== origin),
          [],
          "no third-party request",
        );
        // Evaluated in the page: a loaded image has a natural width (no DOM types in this project).
        const rendered = await tab.$$eval("a.connection img", (imgs) =>
          imgs.map((img) => {
            const image = img as unknown as { complete: boolean; naturalWidth: number };
            return image.complete && image.naturalWidth > 0;
          }),
        );
        assert.deepEqual(
          rendered,
          STRATEGIES.map(() => true),
        );
        if (process.env.LOGO_SCREENSHOT) await tab.screenshot({ path: process.env.LOGO_SCREENSHOT });
        await context.close();
      });
  });
}
