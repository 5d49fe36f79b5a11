// The marks on the sign-in page's "Continue with …" buttons (issue 17: "logos shipped locally"),
// served by Latchkey itself so the page asks nothing of any other site (no tracking pixel, no
// dependency on a CDN, nothing a CSP of img-src 'self' would block). A provider whose glyph Simple
// Icons publishes (provider-marks.ts, CC0 1.0) gets it in white on the brand's colour; the others
// get a monogram drawn here — a letter or two on a coloured disc. The text beside it always names
// the provider, so the mark is decoration (alt="").
//
// The dashboard's connected-apps catalogue (issue 20) shows the same files: connectedAppLogoPath
// maps a catalogue provider id (connected-apps/catalog.ts) to its mark.
//
//   GET /assets/logos/v1/{name}.svg   image/svg+xml, cached for a year (the version in the path
//                                     changes whenever a mark does)
import type { FastifyInstance } from "fastify";
import { BRAND_MARKS, type BrandMark } from "./provider-marks.js";

export const LOGO_PATH_PREFIX = "/assets/logos/v1/";

interface Mark {
  label: string;
  color: string;
}

/**
 * A monogram for each Kinde social strategy (the part after "oauth2:") and connected-app provider
 * without a brand mark in BRAND_MARKS (github, gitlab, discord, patreon are drawn from there).
 * Colours pass 4.5:1 with white.
 */
const MARKS: Readonly<Record<string, Mark>> = {
  google: { label: "G", color: "#1f5fbf" },
  microsoft: { label: "M", color: "#2f6b2f" },
  azure_ad: { label: "E", color: "#0b5a9c" },
  apple: { label: "A", color: "#000000" },
  slack: { label: "S", color: "#5b2160" },
  linkedin: { label: "Li", color: "#0a5a96" },
  twitter: { label: "X", color: "#14171a" },
  facebook: { label: "Fb", color: "#1659c7" },
  twitch: { label: "Tw", color: "#6a2fc2" },
  bitbucket: { label: "Bb", color: "#0052cc" },
  xero: { label: "Xe", color: "#0a6a8f" },
  // Simple Icons no longer publishes Salesforce's mark (removed at the brand's request).
  salesforce: { label: "Sf", color: "#0b5cab" },
};

/**
 * The mark of each connected-app catalogue provider (connected-apps/catalog.ts, plus the generic
 * "oauth2" entry the catalogue endpoint adds). A provider absent here — one added through
 * CONNECTED_APPS_CATALOG_FILE, or a built-in listed in CONNECTED_APP_INITIALS_ONLY — shows its
 * initials in the dashboard instead.
 */
const CONNECTED_APP_MARKS: Readonly<Record<string, string>> = {
  "google-drive": "google_drive",
  "google-calendar": "google_calendar",
  gmail: "gmail",
  github: "github",
  gitlab: "gitlab",
  "microsoft-365": "microsoft",
  slack: "slack",
  discord: "discord",
  patreon: "patreon",
  dropbox: "dropbox",
  notion: "notion",
  atlassian: "atlassian",
  salesforce: "salesforce",
  hubspot: "hubspot",
  zoom: "zoom",
  linear: "linear",
  box: "box",
  figma: "figma",
  oauth2: "connection",
};

/** Built-in connected-app providers deliberately shown by their initials (none today). */
export const CONNECTED_APP_INITIALS_ONLY: ReadonlySet<string> = new Set<string>();

/** Any OpenID provider or OAuth 2.0 connection without a mark of its own: a key. */
const GENERIC = "connection";

const svg = (body: string) =>
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="24" height="24">${body}</svg>\n`;

function monogram({ label, color }: Mark): string {
  const size = label.length > 1 ? 10 : 13;
  return svg(
    `<circle cx="12" cy="12" r="12" fill="${color}"/>` +
      `<text x="12" y="12" dy=".35em" text-anchor="middle" font-family="system-ui,-apple-system,'Segoe UI',Roboto,sans-serif" font-size="${size}" font-weight="700" fill="#ffffff">${label}</text>`,
  );
}

function glyph({ color, path }: BrandMark): string {
  // Scaled into the disc so every mark has the same footprint as the monograms.
  return svg(
    `<circle cx="12" cy="12" r="12" fill="${color}"/>` +
      `<path transform="translate(5 5) scale(.5833)" fill="#ffffff" d="${path}"/>`,
  );
}

const KEY = svg(
  '<circle cx="12" cy="12" r="12" fill="#495057"/>' +
    '<circle cx="9" cy="12" r="3.5" fill="none" stroke="#ffffff" stroke-width="2"/>' +
    '<path d="M12.5 12h6.5v3M16.5 12v2.5" fill="none" stroke="#ffffff" stroke-width="2" stroke-linecap="round"/>',
);

/** Every mark, by file name; drawn once. */
const FILES: ReadonlyMap<string, string> = new Map([
  ...Object.entries(MARKS).map(([name, mark]) => [name, monogram(mark)] as const),
  ...Object.entries(BRAND_MARKS).map(([name, mark]) => [name, glyph(mark)] as const),
  [GENERIC, KEY],
]);

/** The same-origin URL of a strategy's mark. */
export function logoPath(strategy: string): string {
  const name = strategy.startsWith("oauth2:") ? strategy.slice("oauth2:".length) : "";
  return `${LOGO_PATH_PREFIX}${name !== GENERIC && FILES.has(name) ? name : GENERIC}.svg`;
}

/** The same-origin URL of a connected-app provider's mark, or null when it has none. */
export function connectedAppLogoPath(providerId: string): string | null {
  const name = Object.hasOwn(CONNECTED_APP_MARKS, providerId) ? CONNECTED_APP_MARKS[providerId] : undefined;
  return name !== undefined && FILES.has(name) ? `${LOGO_PATH_PREFIX}${name}.svg` : null;
}

export function registerProviderLogoRoutes(app: FastifyInstance): void {
  app.get<{ Params: { file: string } }>(
    `${LOGO_PATH_PREFIX}:file`,
    { config: { surface: "page" } },
    async (request, reply) => {
      const match = /^([a-z_]{1,32})\.svg$/.exec(request.params.file);
      const body = match ? FILES.get(match[1]!) : undefined;
      if (!body) return reply.code(404).type("text/plain; charset=utf-8").send("Not found");
      return (
        reply
          .type("image/svg+xml")
          // Opened on its own, an SVG is a document: it may run nothing and load nothing.
          .header("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
          .header("cache-control", "public, max-age=31536000, immutable")
          .send(body)
      );
    },
  );
}
