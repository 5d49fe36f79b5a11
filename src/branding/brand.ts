// A hosted page's brand: colours and theme (Kinde's names: button_color, link_color,
// background_color, button_text_color and their _dark twins, theme_code), logos, and the business's
// policy links. The environment's settings (business.branding) are the base; a sign-in into an
// organization (org_code) takes the organization's own colours, theme and logos over them, field by
// field, as Kinde's per-organization branding does.
import { normalHex } from "./colours.js";

export type ThemeCode = "light" | "dark" | "user_preference";
export const THEME_CODES: readonly ThemeCode[] = ["light", "dark", "user_preference"];

/** The colour settings under Kinde's names, as stored (JSON) and as the API takes them. */
export const BRAND_COLOUR_FIELDS = [
  "button_color",
  "button_text_color",
  "link_color",
  "background_color",
  "button_color_dark",
  "button_text_color_dark",
  "link_color_dark",
  "background_color_dark",
] as const;
export type BrandColourField = (typeof BRAND_COLOUR_FIELDS)[number];

export type BrandSettings = Partial<Record<BrandColourField, string>> & { theme_code?: ThemeCode };

/** One colour scheme's colours, each a normalised hex colour or absent (the stylesheet's own). */
export interface Palette {
  button?: string;
  buttonText?: string;
  link?: string;
  background?: string;
}

export interface Brand {
  theme: ThemeCode;
  light: Palette;
  dark: Palette;
  /** Public paths of the logos (logo-files.routes.ts), versioned by content hash. */
  logo?: string;
  logoDark?: string;
  privacyUrl?: string;
  termsUrl?: string;
}

export const NO_BRAND: Brand = Object.freeze({ theme: "user_preference", light: {}, dark: {} });

/** Stored JSON (business.branding, organizations.branding) read defensively: only hex colours pass. */
export function settingsOf(json: string | null | undefined): BrandSettings {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json ?? "{}");
  } catch {
    return {};
  }
  if (typeof parsed !== "object" || parsed === null) return {};
  const record = parsed as Record<string, unknown>;
  const settings: BrandSettings = {};
  for (const field of BRAND_COLOUR_FIELDS) {
    const hex = normalHex(typeof record[field] === "string" ? (record[field] as string) : undefined);
    if (hex) settings[field] = hex;
  }
  if (THEME_CODES.includes(record.theme_code as ThemeCode))
    settings.theme_code = record.theme_code as ThemeCode;
  return settings;
}

/** Organization settings over the environment's, field by field. */
export function mergeSettings(base: BrandSettings, override: BrandSettings | undefined): BrandSettings {
  return { ...base, ...Object.fromEntries(Object.entries(override ?? {}).filter(([, v]) => v)) };
}

export function paletteOf(settings: BrandSettings, scheme: "light" | "dark"): Palette {
  const suffix = scheme === "dark" ? "_dark" : "";
  const get = (field: string) => settings[`${field}${suffix}` as BrandColourField];
  return {
    button: get("button_color"),
    buttonText: get("button_text_color"),
    link: get("link_color"),
    background: get("background_color"),
  };
}

export function brandOf(
  settings: BrandSettings,
  extra: Pick<Brand, "logo" | "logoDark" | "privacyUrl" | "termsUrl">,
): Brand {
  return {
    theme: settings.theme_code ?? "user_preference",
    light: paletteOf(settings, "light"),
    dark: paletteOf(settings, "dark"),
    ...Object.fromEntries(Object.entries(extra).filter(([, v]) => v)),
  };
}

/** Kinde's color_scheme for a theme_code (the color-scheme meta tag's value). */
export const colorSchemeOf = (theme: ThemeCode): "light" | "dark" | "light dark" =>
  theme === "user_preference" ? "light dark" : theme;
