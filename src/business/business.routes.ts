// Management API: the business (Kinde's /api/v1/business) — the one organisation this installation
// serves. Its name is what the hosted sign-in pages show.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { ApiError } from "../management/errors.js";
import { READ_ERRORS, WRITE_ERRORS } from "../management/responses.schemas.js";
import { SuccessResponse, success } from "../management/schemas.js";
import { brandingChanges } from "./branding-fields.js";
import { industryLabel, LABEL_KEY, timezoneLabel } from "./business.labels.js";
import { BusinessResponse, UpdateBusinessBody } from "./business.schemas.js";
import type { BusinessChanges, BusinessRow } from "./business.store.js";
import { registerSigningKeysRoutes } from "./keys.routes.js";
import { registerSignInMethodsRoutes } from "./sign-in-methods.routes.js";

const TAG = { tags: ["Business"] };

const CONTROL = /\p{Cc}/u;
const EMAIL = /^[^\s@]{1,64}@[^\s@.]+(\.[^\s@.]+)+$/;

/** Kinde's ISO 8601 without milliseconds: 2021-01-01T00:00:00Z. */
function isoSeconds(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function present(row: BusinessRow) {
  return {
    code: row.id,
    name: row.name,
    phone: row.phone,
    email: row.email,
    industry: industryLabel(row.industry_key),
    timezone: timezoneLabel(row.timezone_key),
    privacy_url: row.privacy_url,
    terms_url: row.terms_url,
    has_clickwrap: row.has_clickwrap === 1,
    has_kinde_branding: row.has_kinde_branding === 1,
    created_on: isoSeconds(row.created_at),
  };
}

/** A clearable text detail: undefined leaves it, null or blank clears it, anything else is checked. */
function field(
  name: string,
  value: string | null | undefined,
  check: (text: string) => string | undefined,
): string | null | undefined {
  if (value === undefined) return undefined;
  const text = value?.trim();
  if (!text) return null;
  const problem = CONTROL.test(text) ? "must not contain control characters" : check(text);
  if (problem)
    throw new ApiError(name.endsWith("_url") ? "INVALID_URL" : "INVALID_REQUEST", `${name} ${problem}`);
  return text;
}

const anyText = () => undefined;
const emailProblem = (text: string) => (EMAIL.test(text) ? undefined : "is not a valid email address");
const keyProblem = (text: string) =>
  LABEL_KEY.test(text) ? undefined : "must be a key of lower-case words joined by underscores";
/** Policy links shown to people: absolute http(s) URLs without credentials. */
const linkProblem = (text: string) => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "must be an absolute URL";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return "must be an http or https URL";
  if (url.username || url.password) return "must not contain credentials";
  return undefined;
};

export function registerBusinessRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  registerSigningKeysRoutes(app);
  registerSignInMethodsRoutes(app);

  api.get(
    "/business",
    {
      schema: { ...TAG, response: { 200: BusinessResponse, ...READ_ERRORS } },
      config: { scope: "read:businesses" },
    },
    async (request) => ({
      ...success(),
      business: present(await request.services.business.get()),
    }),
  );

  api.patch(
    "/business",
    {
      schema: { ...TAG, body: UpdateBusinessBody, response: { 200: SuccessResponse, ...WRITE_ERRORS } },
      config: { scope: "update:businesses" },
    },
    async (request) => {
      const body = request.body;
      if (!Object.keys(UpdateBusinessBody.properties).some((k) => k in body))
        throw new ApiError("NO_FIELDS_TO_UPDATE");
      const changes: BusinessChanges = {};
      // The name cannot be cleared: null leaves it as it is, blank is refused.
      if (typeof body.business_name === "string") {
        const name = field("business_name", body.business_name, anyText);
        if (!name) throw new ApiError("INVALID_REQUEST", "business_name must not be blank");
        changes.name = name;
      }
      const set = <K extends keyof BusinessChanges>(column: K, value: BusinessChanges[K] | undefined) => {
        if (value !== undefined) changes[column] = value;
      };
      set("email", field("email", body.email, emailProblem));
      set("phone", field("phone", body.phone, anyText));
      set("industry_key", field("industry_key", body.industry_key, keyProblem));
      set("timezone_key", field("timezone_key", body.timezone_key, keyProblem));
      set("privacy_url", field("privacy_url", body.privacy_url, linkProblem));
      set("terms_url", field("terms_url", body.terms_url, linkProblem));
      // Flags: null leaves them as they are. kinde_perk_code is accepted and has no effect here.
      if (typeof body.is_click_wrap === "boolean") changes.has_clickwrap = body.is_click_wrap ? 1 : 0;
      if (typeof body.is_show_kinde_branding === "boolean")
        changes.has_kinde_branding = body.is_show_kinde_branding ? 1 : 0;
      const branding = await brandingChanges(request.services.db, body);
      if (branding !== undefined) changes.branding = branding;
      if (Object.keys(changes).length > 0) await request.services.business.update(changes);
      return success("Business successfully updated");
    },
  );
}
