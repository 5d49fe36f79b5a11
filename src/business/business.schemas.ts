// Request and response schemas of the business operations (Kinde's /api/v1/business). PATCH names its fields
// differently from GET: business_name → name, industry_key → industry, timezone_key → timezone,
// is_click_wrap → has_clickwrap, is_show_kinde_branding → has_kinde_branding.
import { type Static, Type } from "@sinclair/typebox";
import type { BrandColourField } from "../branding/brand.js";
import { nullable, SuccessResponse } from "../management/schemas.js";

const Text = (maxLength: number) => Type.Optional(nullable(Type.String({ maxLength })));
const Flag = Type.Optional(nullable(Type.Boolean()));
const BRANDING_FIELDS = {
  button_color: Text(32),
  button_text_color: Text(32),
  link_color: Text(32),
  background_color: Text(32),
  button_color_dark: Text(32),
  button_text_color_dark: Text(32),
  link_color_dark: Text(32),
  background_color_dark: Text(32),
  theme_code: Type.Optional(
    nullable(Type.Union([Type.Literal("light"), Type.Literal("dark"), Type.Literal("user_preference")])),
  ),
} satisfies Record<BrandColourField | "theme_code", unknown>;

/** Every field is optional and nullable (Kinde's spec); null or "" clears an optional detail. */
export const UpdateBusinessBody = Type.Object({
  business_name: Text(100),
  email: Text(254),
  phone: Text(50),
  industry_key: Text(100),
  timezone_key: Text(100),
  privacy_url: Text(2000),
  terms_url: Text(2000),
  is_click_wrap: Flag,
  is_show_kinde_branding: Flag,
  kinde_perk_code: Text(100),
  // Latchkey extension: the hosted pages' branding under the names Kinde's GET /api/v1/environment
  // reports them by (Kinde sets them in its dashboard only). Hex colours; null or "" clears one.
  ...BRANDING_FIELDS,
});

// ---- responses (documentation and serialisation: a field missing here is dropped from the reply) --

const Detail = nullable(Type.String());

/** industry and timezone are display labels ("Healthcare & Medical"), not the PATCH keys. */
export const BusinessResponse = Type.Object({
  ...SuccessResponse.properties,
  business: Type.Object({
    code: Type.String(),
    name: Type.String(),
    phone: Detail,
    email: Detail,
    industry: Detail,
    timezone: Detail,
    privacy_url: Detail,
    terms_url: Detail,
    has_clickwrap: Type.Boolean(),
    has_kinde_branding: Type.Boolean(),
    created_on: Type.String(),
  }),
});

export type UpdateBusinessBody = Static<typeof UpdateBusinessBody>;

// ---- sign-in methods (a Latchkey extension: Kinde sets these in its dashboard only) ------------

const SignInMethods = Type.Object({
  password: Type.Boolean({ description: "The sign-in page takes an email address and a password." }),
  email_code: Type.Boolean({
    description:
      "The sign-in page offers a 6-digit code by email instead of a password (Kinde's email + code); accounts without a password sign in this way.",
  }),
});

/** PUT replaces the setting: both fields, nothing else; at least one must be true. */
export const SignInMethodsBody = SignInMethods;

export const SignInMethodsResponse = Type.Object({
  ...SuccessResponse.properties,
  sign_in_methods: SignInMethods,
});

export type SignInMethodsBody = Static<typeof SignInMethodsBody>;
