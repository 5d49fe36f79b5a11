// Settings › Branding: how the hosted sign-in pages look — logos (light and dark), the button, link
// and background colours for light and dark, the theme (light, dark or the person's preference) and
// the privacy and terms links in their footer. A live preview redraws as values are typed, before
// anything is saved. It is drawn here, not an iframe of a hosted page: the hosted pages refuse
// framing (frame-ancestors 'none', X-Frame-Options: DENY) and a preview route would need the
// administrator's token in a URL or a cookie; the preview applies the hosted stylesheet's rule for
// readable text (WCAG AA 4.5:1, black or white otherwise) so what it shows is what people will see.
// The editor is shared with an organization's overrides (organization-branding.ts).
import { api } from "../api.js";
import { type Field, field, h, notify, replace, selectField } from "../dom.js";
import { load, pageHeader, type Screen, section } from "../view.js";
import { pageForm, whenConfirmed } from "../widgets.js";

export const COLOUR_FIELDS = [
  ["button_color", "Button"],
  ["button_text_color", "Button text"],
  ["link_color", "Links"],
  ["background_color", "Background"],
] as const;
export type ColourKey = (typeof COLOUR_FIELDS)[number][0];
type Colours = Partial<Record<string, { hex: string } | null>> & { theme_code?: string };

const HEX = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;
const DEFAULTS = {
  light: { button: "#3b5bdb", background: "#ffffff", link: "#3b5bdb" },
  dark: { button: "#91a7ff", background: "#121212", link: "#91a7ff" },
};

function channel(hex: string, i: number): number {
  const full = hex.length === 4 ? [...hex.slice(1)].map((c) => c + c).join("") : hex.slice(1);
  const c = Number.parseInt(full.slice(i * 2, i * 2 + 2), 16) / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}
const luminance = (hex: string) =>
  0.2126 * channel(hex, 0) + 0.7152 * channel(hex, 1) + 0.0722 * channel(hex, 2);
function contrast(a: string, b: string): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p) as [number, number];
  return (x + 0.05) / (y + 0.05);
}
/** The hosted stylesheet's rule (src/branding/colours.ts readableOn). */
function readable(on: string, preferred?: string): string {
  if (preferred && contrast(preferred, on) >= 4.5) return preferred;
  return contrast("#000000", on) >= contrast("#ffffff", on) ? "#000000" : "#ffffff";
}

const hexProblem = (value: string) =>
  value.trim() === "" || HEX.test(value.trim())
    ? undefined
    : "Use a hex colour such as #0055ff, or leave it blank";

export interface EditorOptions {
  /** Current values, as GET /environment or GET /organization report them. */
  current: Colours;
  businessName: string;
  /** Logo URLs shown in the preview until a new one is uploaded. */
  logo: string | null;
  logoDark: string | null;
  /** Blank fields: "" clears the setting (environment) or leaves it out (organization). */
  save(values: Record<string, string | null>): Promise<void>;
  extraFields?: Field<HTMLInputElement | HTMLTextAreaElement>[];
  themeHint: string;
}

/** Colour and theme fields with a live preview of the sign-in page in light and dark. */
export function brandingEditor(options: EditorOptions): HTMLElement {
  const fields = new Map<string, Field<HTMLInputElement | HTMLTextAreaElement>>();
  const groups = (["light", "dark"] as const).map((scheme) =>
    h(
      "fieldset",
      { class: "field" },
      h("legend", null, scheme === "light" ? "Light colours" : "Dark colours"),
      COLOUR_FIELDS.map(([key, label]) => {
        const name = scheme === "dark" ? `${key}_dark` : key;
        const input = field({
          label: `${label} (optional)`,
          name,
          value: options.current[name]?.hex ?? "",
          placeholder: "#0055ff",
          validate: hexProblem,
        });
        fields.set(name, input);
        input.input.addEventListener("input", () => draw());
        return input.element;
      }),
    ),
  );
  const theme = selectField({
    label: "Theme",
    name: "theme_code",
    value: options.current.theme_code ?? "user_preference",
    hint: options.themeHint,
    choices: [
      { value: "user_preference", label: "Follow the person's device (light or dark)" },
      { value: "light", label: "Always light" },
      { value: "dark", label: "Always dark" },
    ],
  });
  theme.input.addEventListener("change", () => draw());
  const preview = h("div", { class: "brand-previews" });
  const value = (name: string) => {
    const v = fields.get(name)?.input.value.trim() ?? "";
    return HEX.test(v) ? v : undefined;
  };
  const card = (scheme: "light" | "dark") => {
    const suffix = scheme === "dark" ? "_dark" : "";
    const defaults = DEFAULTS[scheme];
    const background = value(`background_color${suffix}`) ?? defaults.background;
    const button = value(`button_color${suffix}`) ?? defaults.button;
    const logo = scheme === "dark" ? (options.logoDark ?? options.logo) : (options.logo ?? options.logoDark);
    const element = h(
      "div",
      {
        class: "brand-preview",
        role: "img",
        "aria-label": `Preview of the sign-in page, ${scheme}`,
        "data-scheme": scheme,
      },
      logo
        ? h("img", { src: logo, alt: "", class: "brand-preview-logo" })
        : h("p", { class: "brand-preview-name" }, options.businessName),
      h("p", { class: "brand-preview-title" }, "Sign in"),
      h("span", { class: "brand-preview-input" }, "Email"),
      h("span", { class: "brand-preview-button" }, "Sign in"),
      h("span", { class: "brand-preview-link" }, "Forgot your password?"),
    );
    // CSSOM custom properties: allowed under the dashboard's CSP (no inline style attributes).
    element.style.setProperty("--preview-background", background);
    element.style.setProperty("--preview-text", readable(background));
    element.style.setProperty("--preview-button", button);
    element.style.setProperty("--preview-button-text", readable(button, value(`button_text_color${suffix}`)));
    element.style.setProperty(
      "--preview-link",
      readable(background, value(`link_color${suffix}`) ?? defaults.link),
    );
    return element;
  };
  const draw = () => {
    const mode = theme.input.value;
    replace(preview, mode === "dark" ? null : card("light"), mode === "light" ? null : card("dark"));
  };
  draw();
  const all = [...fields.values(), ...(options.extraFields ?? [])];
  const form = pageForm({
    content: [
      theme.element,
      h("div", { class: "grid-2" }, ...groups),
      ...(options.extraFields ?? []).map((f) => f.element),
      h("h3", null, "Preview"),
      preview,
    ],
    fields: all,
    submit: async () => {
      const values: Record<string, string | null> = { theme_code: theme.input.value };
      for (const [name, f] of fields) values[name] = f.input.value.trim() || null;
      for (const f of options.extraFields ?? []) values[f.input.name] = f.input.value.trim() || null;
      await options.save(values);
      notify("Branding saved");
    },
  });
  return form;
}

/** Upload and remove the light and dark logos at `path` (PUT or POST /…/logos/{type}). */
export function logosSection(options: {
  path: string;
  uploadMethod: "PUT" | "POST";
  current: { light: string | null; dark: string | null };
  onChange(): void;
}): HTMLElement {
  const rows = (["light", "dark"] as const).map((type) => {
    const id = `logo-file-${type}`;
    const file = h("input", {
      type: "file",
      id,
      name: `logo_${type}`,
      accept: "image/png,image/jpeg,image/gif,image/webp,image/x-icon,image/svg+xml",
    });
    const failure = h("div");
    const upload = h("button", { type: "button" }, `Upload ${type} logo`);
    upload.addEventListener("click", async () => {
      const chosen = file.files?.[0];
      if (!chosen) {
        replace(failure, h("p", { class: "field-error", role: "alert" }, "Choose a file first"));
        return;
      }
      const body = new FormData();
      body.append("logo", chosen, chosen.name);
      try {
        await api(options.uploadMethod, `${options.path}/${type}`, body);
        notify(`The ${type} logo is uploaded`);
        options.onChange();
      } catch (error) {
        replace(
          failure,
          h(
            "p",
            { class: "field-error", role: "alert" },
            error instanceof Error ? error.message : "Upload failed",
          ),
        );
      }
    });
    const current = options.current[type];
    const remove = h("button", { type: "button", class: "secondary" }, `Remove ${type} logo`);
    whenConfirmed(
      remove,
      {
        title: `Remove the ${type} logo?`,
        message: "The sign-in pages show the business name instead (or the other logo).",
        confirmLabel: "Remove",
      },
      failure,
      async () => {
        await api("DELETE", `${options.path}/${type}`);
        notify(`The ${type} logo is removed`);
        options.onChange();
      },
    );
    return h(
      "div",
      { class: "logo-row" },
      h("h3", null, type === "light" ? "Light logo" : "Dark logo"),
      current
        ? h("img", { src: current, alt: `Current ${type} logo`, class: "logo-current" })
        : h("p", { class: "muted" }, "None yet."),
      h("label", { for: id }, `Choose a ${type} logo (PNG, JPEG, GIF, WebP, ICO or SVG; at most 1 MiB)`),
      file,
      h("div", { class: "actions" }, upload, current ? remove : null),
      failure,
    );
  });
  return section("Logos", h("div", { class: "grid-2" }, ...rows));
}

interface Environment {
  logo: string | null;
  logo_dark: string | null;
  theme_code: string;
  [key: string]: unknown;
}

export const brandingSettings: Screen = async (view) => {
  await load(view, async () => {
    const [{ environment }, { business }] = await Promise.all([
      api<{ environment: Environment }>("GET", "/environment"),
      api<{ business: { name: string; privacy_url: string | null; terms_url: string | null } }>(
        "GET",
        "/business",
      ),
    ]);
    const link = (label: string, name: string, value: string | null) =>
      field({
        label,
        name,
        type: "url",
        value: value ?? "",
        validate: (v) => {
          if (!v.trim()) return undefined;
          try {
            const url = new URL(v.trim());
            return url.protocol === "https:" || url.protocol === "http:"
              ? undefined
              : "Must be an http or https URL";
          } catch {
            return "Must be an absolute URL (include https://)";
          }
        },
      });
    const redraw = () => void brandingSettings(view);
    return [
      pageHeader("Branding", {
        lead: "How the hosted sign-in and sign-up pages look to the people who use them.",
      }),
      logosSection({
        path: "/environment/logos",
        uploadMethod: "PUT",
        current: { light: environment.logo, dark: environment.logo_dark },
        onChange: redraw,
      }),
      section(
        "Colours, theme and links",
        brandingEditor({
          current: environment as Colours,
          businessName: business.name,
          logo: environment.logo,
          logoDark: environment.logo_dark,
          themeHint: "Organizations can choose their own (their page › Branding).",
          extraFields: [
            link("Privacy policy URL (optional)", "privacy_url", business.privacy_url),
            link("Terms of service URL (optional)", "terms_url", business.terms_url),
          ],
          save: (values) => api("PATCH", "/business", values).then(() => undefined),
        }),
      ),
    ];
  });
};
