// An organization's branding on its page: its own logos and colours and theme, which the hosted
// pages wear for a sign-in into the organization (org_code) over the environment's (Settings ›
// Branding). Kinde's operations: POST/DELETE /organizations/{org_code}/logos/{type} and
// PATCH /organization/{org_code} (colours and theme_code). A colour left blank is not sent, so the
// environment's shows through; Kinde's PATCH has no way to clear one once set.
import { api } from "../api.js";
import { h, replace } from "../dom.js";
import { section } from "../view.js";
import { brandingEditor, logosSection } from "./branding.js";

interface LogoList {
  logos: { type: string; path: string }[];
}

export function organizationBrandingSection(code: string, name: string): HTMLElement {
  const body = h("div", null, h("p", { class: "loading", role: "status" }, "Loading…"));
  const draw = async () => {
    const [org, { logos }] = await Promise.all([
      api<Record<string, { hex: string } | null> & { theme_code?: string }>(
        "GET",
        `/organization?code=${encodeURIComponent(code)}`,
      ),
      api<LogoList>("GET", `/organizations/${encodeURIComponent(code)}/logos`),
    ]);
    const light = logos.find((l) => l.type === "light")?.path ?? null;
    const dark = logos.find((l) => l.type === "dark")?.path ?? null;
    replace(
      body,
      logosSection({
        path: `/organizations/${encodeURIComponent(code)}/logos`,
        uploadMethod: "POST",
        current: { light, dark },
        onChange: () => void draw(),
      }),
      brandingEditor({
        current: org,
        businessName: name,
        logo: light,
        logoDark: dark,
        themeHint:
          "For sign-ins into this organization (org_code); blank colours follow Settings › Branding.",
        save: async (values) => {
          const changes = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== null));
          await api("PATCH", `/organization/${encodeURIComponent(code)}`, changes);
        },
      }),
    );
  };
  void draw().catch((error: unknown) =>
    replace(
      body,
      h("p", { class: "field-error", role: "alert" }, error instanceof Error ? error.message : "Failed"),
    ),
  );
  return section("Branding", body);
}
