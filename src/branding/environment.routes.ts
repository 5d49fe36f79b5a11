// Management API: Kinde's GET /api/v1/environment. Latchkey serves one environment — the one
// Kinde calls the default, production one — so the answer is built from what this installation
// knows: the business (created_on), the issuer (kinde_domain), the hosted pages' branding
// (colours and theme_code set by PATCH /api/v1/business, logos by /api/v1/environment/logos).
// What Latchkey has no counterpart for (HotJar, Google Analytics and Contentsquare tags, a custom
// domain apart from the issuer, favicons of its own, border radii) is null, never made up.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { READ_ERRORS } from "../management/responses.schemas.js";
import { nullable, success } from "../management/schemas.js";
import { BRAND_COLOUR_FIELDS, colorSchemeOf, type ThemeCode } from "./brand.js";
import { BrandingStore, ENVIRONMENT_OWNER, logoPath } from "./branding.store.js";
import { colourValue } from "./colours.js";

const Colour = nullable(Type.Object({ raw: Type.String(), hex: Type.String(), hsl: Type.String() }));
const Text = nullable(Type.String());
const Radius = nullable(Type.Integer());

export const EnvironmentResponse = Type.Object({
  code: Type.String(),
  message: Type.String(),
  environment: Type.Object({
    code: Type.String(),
    name: Type.String(),
    hotjar_site_id: Text,
    google_analytics_tag: Text,
    contentsquare_tag_id: Text,
    is_default: Type.Boolean(),
    is_live: Type.Boolean(),
    kinde_domain: Type.String(),
    custom_domain: Text,
    logo: Text,
    logo_dark: Text,
    favicon_svg: Text,
    favicon_fallback: Text,
    ...Object.fromEntries(BRAND_COLOUR_FIELDS.map((field) => [field, Colour])),
    button_border_radius: Radius,
    card_border_radius: Radius,
    input_border_radius: Radius,
    theme_code: Type.Union([Type.Literal("light"), Type.Literal("dark"), Type.Literal("user_preference")]),
    color_scheme: Type.Union([Type.Literal("light"), Type.Literal("dark"), Type.Literal("light dark")]),
    created_on: Type.String(),
  }),
});

export function registerEnvironmentRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.get(
    "/environment",
    {
      schema: { tags: ["Environments"], response: { 200: EnvironmentResponse, ...READ_ERRORS } },
      config: { scope: "read:environments" },
    },
    async (request) => {
      const { services } = request;
      const store = new BrandingStore(services.db);
      const business = await services.business.get();
      const settings = await store.environmentSettings();
      const logos = await store.logos([ENVIRONMENT_OWNER]);
      const issuer = new URL(services.oauth.issuer);
      const url = (type: string) => {
        const logo = logos.find((l) => l.type === type);
        return logo ? new URL(logoPath(logo), issuer).toString() : null;
      };
      const theme: ThemeCode = settings.theme_code ?? "user_preference";
      return {
        ...success(),
        environment: {
          code: "production",
          name: "Production",
          hotjar_site_id: null,
          google_analytics_tag: null,
          contentsquare_tag_id: null,
          is_default: true,
          is_live: true,
          kinde_domain: issuer.host,
          custom_domain: null,
          logo: url("light"),
          logo_dark: url("dark"),
          favicon_svg: null,
          favicon_fallback: null,
          ...Object.fromEntries(BRAND_COLOUR_FIELDS.map((field) => [field, colourValue(settings[field])])),
          button_border_radius: null,
          card_border_radius: null,
          input_border_radius: null,
          theme_code: theme,
          color_scheme: colorSchemeOf(theme),
          created_on: new Date(business.created_at * 1000).toISOString().replace(/\.\d{3}Z$/, "Z"),
        },
      };
    },
  );
}
