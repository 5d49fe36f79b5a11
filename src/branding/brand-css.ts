// A brand's colours as a stylesheet of CSS custom properties, over the hosted pages' own
// (STYLESHEET in sign-in/pages.ts reads --button, --button-text, --link, --background, --text,
// --accent, --error). The pages' Content-Security-Policy allows only 'self' styles, no inline
// ones, so the colours come from a stylesheet URL that carries them: /assets/brand.css?… is a pure
// function of its query (validated hex colours and a theme, nothing else reaches the CSS), so any
// instance answers it without a database read and browsers may keep it for good.
import type { FastifyInstance } from "fastify";
import {
  BRAND_COLOUR_FIELDS,
  type Brand,
  type BrandSettings,
  type Palette,
  paletteOf,
  THEME_CODES,
  type ThemeCode,
} from "./brand.js";
import { normalHex, readableOn } from "./colours.js";

export const BRAND_STYLESHEET_PATH = "/assets/brand.css";

/** The stylesheet's defaults each scheme's colours are judged against (Chromium's Canvas). */
const DEFAULTS = {
  light: { background: "#ffffff", accent: "#3b5bdb", error: "#c92a2a" },
  dark: { background: "#121212", accent: "#91a7ff", error: "#ff8787" },
} as const;

function paletteRules(palette: Palette, scheme: "light" | "dark"): string {
  const defaults = DEFAULTS[scheme];
  const background = palette.background ?? defaults.background;
  const vars: string[] = [];
  if (palette.background)
    vars.push(
      `--background: ${palette.background}`,
      `--text: ${readableOn(palette.background)}`,
      `--error: ${readableOn(background, defaults.error)}`,
    );
  const button = palette.button ?? (palette.buttonText ? defaults.accent : undefined);
  if (button) vars.push(`--button: ${button}`, `--button-text: ${readableOn(button, palette.buttonText)}`);
  // Links and the accent (focus ring, business name) are text on the background: readable or black/white.
  if (palette.link || palette.background)
    vars.push(`--link: ${readableOn(background, palette.link ?? defaults.accent)}`);
  if (palette.button || palette.background)
    vars.push(`--accent: ${readableOn(background, palette.button ?? defaults.accent)}`);
  return vars.length === 0 ? "" : `:root[data-theme] { ${vars.join("; ")}; }`;
}

export function brandStylesheet(theme: ThemeCode, light: Palette, dark: Palette): string {
  if (theme === "light") return paletteRules(light, "light");
  if (theme === "dark") return paletteRules(dark, "dark");
  const darkRules = paletteRules(dark, "dark");
  return `${paletteRules(light, "light")}\n${darkRules ? `@media (prefers-color-scheme: dark) { ${darkRules} }` : ""}`;
}

/** The settings a brand was built from, back under Kinde's names (for the stylesheet's URL). */
function settingsOfBrand(brand: Pick<Brand, "light" | "dark">): BrandSettings {
  const settings: BrandSettings = {};
  for (const [scheme, suffix] of [
    ["light", ""],
    ["dark", "_dark"],
  ] as const) {
    const palette = brand[scheme];
    if (palette.button) settings[`button_color${suffix}`] = palette.button;
    if (palette.buttonText) settings[`button_text_color${suffix}`] = palette.buttonText;
    if (palette.link) settings[`link_color${suffix}`] = palette.link;
    if (palette.background) settings[`background_color${suffix}`] = palette.background;
  }
  return settings;
}

/** The stylesheet URL of a brand, or undefined when it sets no colour (the defaults apply). */
export function brandStylesheetHref(brand: Brand): string | undefined {
  const settings = settingsOfBrand(brand);
  const query = new URLSearchParams();
  for (const field of BRAND_COLOUR_FIELDS) {
    const value = settings[field];
    if (value) query.set(field, value.slice(1));
  }
  if ([...query.keys()].length === 0) return undefined;
  query.set("theme_code", brand.theme);
  return `${BRAND_STYLESHEET_PATH}?${query.toString()}`;
}

export function registerBrandStylesheet(app: FastifyInstance): void {
  app.get<{ Querystring: Record<string, string | string[]> }>(
    BRAND_STYLESHEET_PATH,
    async (request, reply) => {
      const query = request.query;
      const settings: BrandSettings = {};
      for (const field of BRAND_COLOUR_FIELDS) {
        const value = query[field];
        if (value === undefined) continue;
        const hex = typeof value === "string" ? normalHex(`#${value}`) : undefined;
        if (!hex)
          return reply.code(400).type("text/plain; charset=utf-8").send(`${field} must be a hex colour`);
        settings[field] = hex;
      }
      const theme = query.theme_code ?? "user_preference";
      if (typeof theme !== "string" || !THEME_CODES.includes(theme as ThemeCode))
        return reply.code(400).type("text/plain; charset=utf-8").send("theme_code is not a theme");
      const css = brandStylesheet(
        theme as ThemeCode,
        paletteOf(settings, "light"),
        paletteOf(settings, "dark"),
      );
      return reply
        .type("text/css; charset=utf-8")
        .header("cache-control", "public, max-age=31536000, immutable")
        .send(css);
    },
  );
}
