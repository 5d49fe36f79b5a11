// SQL of the hosted pages' branding: the environment's settings (business.branding), organizations'
// (organizations.branding, written by PATCH /api/v1/organization/{org_code}) and the logos table.
// A page's brand is read through the configuration cache (src/oauth/config-cache.ts): migration
// 0034's triggers move the generation on every write to what it reads, so a page view costs no
// query of its own and never shows a stale brand.
import type { Selectable } from "kysely";
import { configCacheFor } from "../oauth/config-cache.js";
import type { Db } from "../storage/database.js";
import type { LogosTable } from "../storage/schema.js";
import { type Brand, type BrandSettings, brandOf, mergeSettings, settingsOf } from "./brand.js";

export type LogoRow = Selectable<LogosTable>;
export type LogoSummary = Pick<LogoRow, "owner" | "type" | "file_name" | "sha256" | "content_type">;
export type LogoType = "light" | "dark";
export const LOGO_TYPES: readonly LogoType[] = ["light", "dark"];

/** The environment's logos are owned by this name; an organization's by its org_code. */
export const ENVIRONMENT_OWNER = "environment";

/** Public path of a logo, versioned by its content (logo-files.routes.ts). */
export const logoPath = (logo: Pick<LogoRow, "owner" | "type" | "sha256">): string =>
  `/logos/${encodeURIComponent(logo.owner)}/${logo.type}?v=${logo.sha256.slice(0, 16)}`;

/** Dark falls back to light and light to dark: one logo serves both schemes. */
function logoPaths(logos: readonly LogoSummary[]): Pick<Brand, "logo" | "logoDark"> {
  const light = logos.find((l) => l.type === "light");
  const dark = logos.find((l) => l.type === "dark");
  const lightPath = light ?? dark;
  const darkPath = dark ?? light;
  return {
    ...(lightPath ? { logo: logoPath(lightPath) } : {}),
    ...(darkPath ? { logoDark: logoPath(darkPath) } : {}),
  };
}

export class BrandingStore {
  constructor(private readonly db: Db) {}

  async environmentSettings(): Promise<BrandSettings> {
    const row = await this.db.selectFrom("business").select("branding").executeTakeFirst();
    return settingsOf(row?.branding);
  }

  /** Replaces the environment's settings (the caller merged and checked them). */
  async setEnvironmentSettings(settings: BrandSettings): Promise<void> {
    await this.db
      .updateTable("business")
      .set({ branding: JSON.stringify(settings) })
      .execute();
  }

  /**
   * The brand of a hosted page: the environment's, or with org_code the organization's over it
   * (colours and theme field by field; its logos, when it has any, instead of the environment's).
   */
  brand(orgCode?: string): Promise<Brand> {
    const read = async (): Promise<Brand> => {
      const business = await this.db
        .selectFrom("business")
        .select(["branding", "privacy_url", "terms_url"])
        .executeTakeFirst();
      const org = orgCode
        ? await this.db
            .selectFrom("organizations")
            .select("branding")
            .where("code", "=", orgCode)
            .executeTakeFirst()
        : undefined;
      const owners = org && orgCode ? [ENVIRONMENT_OWNER, orgCode] : [ENVIRONMENT_OWNER];
      const logos = await this.logos(owners);
      const own = logos.filter((l) => l.owner === orgCode);
      const settings = mergeSettings(
        settingsOf(business?.branding),
        org ? settingsOf(org.branding) : undefined,
      );
      const brand = brandOf(settings, {
        ...logoPaths(own.length > 0 ? own : logos.filter((l) => l.owner === ENVIRONMENT_OWNER)),
        privacyUrl: business?.privacy_url ?? undefined,
        termsUrl: business?.terms_url ?? undefined,
      });
      return Object.freeze(brand);
    };
    if (this.db.isTransaction) return read();
    return configCacheFor(this.db).memo(`brand:${orgCode ?? ""}`, read);
  }

  /** The logos of these owners, without their bytes. */
  logos(owners: readonly string[]): Promise<LogoSummary[]> {
    return this.db
      .selectFrom("logos")
      .select(["owner", "type", "file_name", "sha256", "content_type"])
      .where("owner", "in", owners)
      .orderBy("owner")
      .orderBy("type")
      .execute();
  }

  file(owner: string, type: string): Promise<LogoRow | undefined> {
    return this.db
      .selectFrom("logos")
      .selectAll()
      .where("owner", "=", owner)
      .where("type", "=", type)
      .executeTakeFirst();
  }

  /** A logo's version and type without its bytes: enough to answer a revalidation (304). */
  fileVersion(owner: string, type: string): Promise<Pick<LogoRow, "sha256" | "content_type"> | undefined> {
    return this.db
      .selectFrom("logos")
      .select(["sha256", "content_type"])
      .where("owner", "=", owner)
      .where("type", "=", type)
      .executeTakeFirst();
  }

  /** Adds or replaces the logo of this owner and type (one statement: no window without one). */
  async putLogo(logo: LogoRow): Promise<void> {
    const { owner, type, ...rest } = logo;
    await this.db
      .insertInto("logos")
      .values(logo)
      .onConflict((oc) => oc.columns(["owner", "type"]).doUpdateSet(rest))
      .execute();
  }

  /** Whether there was a logo to delete. */
  async deleteLogo(owner: string, type: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom("logos")
      .where("owner", "=", owner)
      .where("type", "=", type)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
