// GET /account_api/v1/portal_link (js-utils generatePortalUrl, the TypeScript SDK's portal()): a
// link into the person's self-service pages, Latchkey's /account. Kinde's link carries where to go
// back to (`return_url`) and which part of the portal to open (`subnav`); both ride along on the
// link, the return address only when it belongs to the application that asked (the origin of one
// of its registered callback or logout URLs) — the link must never send a person from Latchkey's
// pages to a site the application did not register.
//
// The organization subnavs (organization_details, organization_members) open the token's
// organization's page, /account/organizations/{org_code} (src/account/organization.routes.ts), at
// its section; what the person may do there is decided on that page by their roles' system
// permissions. Without an organization in the token they open the portal's start, as the others.
import type { ClientRecord } from "../oauth/ports.js";
import { type AccountApiError, accountApiError } from "./responses.js";

/** The organization page's section each organization subnav opens. */
const ORGANIZATION_SECTIONS: Readonly<Record<string, string>> = {
  organization_details: "details",
  organization_members: "members",
};

/** js-utils' PortalPage values (COMPAT.md §1.8); billing pages open the portal's start here. */
export const PORTAL_PAGES: readonly string[] = [
  "profile",
  "organization_details",
  "organization_members",
  "organization_plan_details",
  "organization_payment_details",
  "organization_plan_selection",
  "payment_details",
  "plan_selection",
  "plan_details",
];

export function portalLink(
  issuer: string,
  client: ClientRecord | undefined,
  query: { subnav?: unknown; return_url?: unknown },
  /** The token's organization, while the person is a member of it. */
  orgCode: string | null = null,
): { url: string } | { error: AccountApiError } {
  const url = new URL(`${issuer}/account`);
  const subnav = typeof query.subnav === "string" && query.subnav !== "" ? query.subnav : undefined;
  if (subnav !== undefined) {
    if (!PORTAL_PAGES.includes(subnav))
      return {
        error: accountApiError(400, "INVALID_REQUEST", `subnav must be one of ${PORTAL_PAGES.join(", ")}`),
      };
    const section = ORGANIZATION_SECTIONS[subnav];
    if (section !== undefined && orgCode !== null) {
      url.pathname = `/account/organizations/${encodeURIComponent(orgCode)}`;
      url.hash = section;
    }
    url.searchParams.set("subnav", subnav);
  }
  const returnUrl =
    typeof query.return_url === "string" && query.return_url !== "" ? query.return_url : undefined;
  if (returnUrl !== undefined) {
    if (!returnAllowed(returnUrl, client))
      return {
        error: accountApiError(
          400,
          "INVALID_REQUEST",
          "return_url must be on the origin of one of the application's callback or logout URLs",
        ),
      };
    url.searchParams.set("return_url", returnUrl);
  }
  return { url: url.href };
}

function returnAllowed(value: string, client: ClientRecord | undefined): boolean {
  if (!client || value.length > 2048 || !URL.canParse(value)) return false;
  const target = new URL(value);
  if ((target.protocol !== "https:" && target.protocol !== "http:") || target.username || target.password)
    return false;
  return [...client.callbackUrls, ...client.logoutUrls].some(
    (registered) => URL.canParse(registered) && new URL(registered).origin === target.origin,
  );
}
