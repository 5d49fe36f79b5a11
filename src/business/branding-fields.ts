// PATCH /api/v1/business's branding fields (a Latchkey extension under Kinde's environment names:
// button_color, link_color, background_color, button_text_color, their _dark twins, theme_code):
// merged into the stored settings, each colour checked to be hex so nothing else can reach a
// stylesheet (src/branding/brand-css.ts).
import { BRAND_COLOUR_FIELDS, type BrandSettings, THEME_CODES, type ThemeCode } from "../branding/brand.js";
import { BrandingStore } from "../branding/branding.store.js";
import { normalHex } from "../branding/colours.js";
import { ApiError } from "../management/errors.js";
import type { Db } from "../storage/database.js";
import type { UpdateBusinessBody } from "./business.schemas.js";

/** The new business.branding JSON, or undefined when the body names no branding field. */
export async function brandingChanges(db: Db, body: UpdateBusinessBody): Promise<string | undefined> {
  const named = [...BRAND_COLOUR_FIELDS, "theme_code" as const].filter((field) => field in body);
  if (named.length === 0) return undefined;
  const settings: BrandSettings = { ...(await new BrandingStore(db).environmentSettings()) };
  for (const field of BRAND_COLOUR_FIELDS) {
    if (!(field in body)) continue;
    const value = body[field];
    if (value === null || value === undefined || value.trim() === "") {
      delete settings[field];
      continue;
    }
    const hex = normalHex(value.trim());
    if (!hex) throw new ApiError("INVALID_REQUEST", `${field} must be a hex colour such as #0055ff`);
    settings[field] = hex;
  }
  if ("theme_code" in body) {
    const theme = body.theme_code;
    if (theme === null || theme === undefined) delete settings.theme_code;
    else if (THEME_CODES.includes(theme as ThemeCode)) settings.theme_code = theme;
  }
  return JSON.stringify(settings);
}
