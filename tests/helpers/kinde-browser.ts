// Kinde's TypeScript SDK, unchanged, signing people in to Latchkey through Chromium: the suite's
// server, the application's own web server (the SDK's redirect and logout URLs), a single-page
// application registered with that callback, and the browser — set up and closed by hooks.
import assert from "node:assert/strict";
import { after, before } from "node:test";
import { createKindeServerClient, GrantType } from "@kinde-oss/kinde-typescript-sdk";
import { decodeJwt, type JWTPayload } from "jose";
import type { Browser, Page } from "playwright-core";
import { type AppServer, launchChromium, startAppServer } from "./browser.js";
import type { DatabaseKind } from "./databases.js";
import { createApplication } from "./fixtures.js";
import type { MapSessionManager } from "./kinde-session.js";
import { startTestServer, type TestServer, type TestServerOptions } from "./server.js";

/** What a suite works with; filled in by its `before` hook. */
export interface KindeAppInChromium {
  server: TestServer;
  browser: Browser;
  /** The application's web server: the SDK's callback is `${rp.origin}/callback`. */
  rp: AppServer;
  app: { clientId: string };
}

export type KindeClient = ReturnType<typeof kindeClient>;

/** The SDK as an application configures it for PKCE (the flow a browser-based sign-in uses). */
export function kindeClient(setup: KindeAppInChromium) {
  return createKindeServerClient(GrantType.PKCE, {
    authDomain: setup.server.url,
    clientId: setup.app.clientId,
    redirectURL: `${setup.rp.origin}/callback`,
    logoutRedirectURL: `${setup.rp.origin}/`,
  });
}

/**
 * Registers, in the calling `describe`, a `before` hook that starts the application's web server,
 * Latchkey on `kind` (with `options`), a SPA whose callback is that server's, and Chromium; and an
 * `after` hook that closes them. Read the fields inside hooks and tests, not at registration.
 */
export function kindeAppInChromium(kind: DatabaseKind, options: TestServerOptions = {}): KindeAppInChromium {
  const setup = {} as KindeAppInChromium;
  before(async () => {
    setup.rp = await startAppServer();
    setup.server = await startTestServer(kind, options);
    setup.app = await createApplication(setup.server, "spa", {
      callbackUrls: [`${setup.rp.origin}/callback`],
    });
    setup.browser = await launchChromium();
  });
  after(async () => {
    await setup.browser?.close();
    await setup.rp?.close();
    await setup.server?.close();
  });
  return setup;
}

/**
 * Waits for `page` to land on the application's callback, hands it to the SDK as the application
 * would, and returns the ID token the SDK then holds (OIDC Core §3.1.2.5: the code comes back there).
 */
export async function idTokenAtCallback(
  setup: KindeAppInChromium,
  sdk: KindeClient,
  session: MapSessionManager,
  page: Page,
): Promise<JWTPayload> {
  await page.waitForURL((url) => url.origin === setup.rp.origin && url.pathname === "/callback");
  const callback = new URL(page.url());
  assert.ok(callback.searchParams.get("code"), "the code reaches the application");
  await sdk.handleRedirectToApp(session, callback);
  assert.equal(await sdk.isAuthenticated(session), true);
  return decodeJwt((await session.getSessionItem("id_token")) as string);
}
