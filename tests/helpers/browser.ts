// A real browser for end-to-end flows: Debian's Chromium (never a downloaded one) driven by
// playwright-core, and a tiny relying-party web server that browsers are redirected back to.
import { createServer, type Server } from "node:http";
import { type Browser, chromium, type Page } from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Headless Chromium, isolated from the network and from any profile. Close it in an `after` hook. */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * A stand-in for the application's own web server: every path answers a small HTML page naming the
 * path, and every request is recorded. Browsers land here on the callback and logout URLs.
 */
export interface AppServer {
  /** http://localhost:PORT — a different site from the issuer on 127.0.0.1, as in production. */
  origin: string;
  /** http://127.0.0.1:PORT, the same server — the issuer's site (a port is not part of a site). */
  sameSiteOrigin: string;
  /** Every URL requested so far, absolute. */
  hits: URL[];
  close(): Promise<void>;
}

export async function startAppServer(
  options: {
    /** Pages of the test's own making by path (e.g. one that posts a form to Latchkey). */
    pages?: Record<string, string>;
  } = {},
): Promise<AppServer> {
  const hits: URL[] = [];
  let origin = "";
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", origin);
    hits.push(url);
    response.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    response.end(
      options.pages?.[url.pathname] ??
        `<!doctype html><title>App</title><h1>App page ${url.pathname.replace(/[<>&"']/g, "")}</h1>`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  origin = `http://localhost:${port}`;
  return {
    origin,
    sameSiteOrigin: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Records every top-level navigation of a page (including each hop of a redirect chain). */
export function recordNavigations(page: Page): URL[] {
  const urls: URL[] = [];
  page.on("request", (request) => {
    if (request.isNavigationRequest() && request.frame() === page.mainFrame())
      urls.push(new URL(request.url()));
  });
  return urls;
}
