// Connected apps (issue 20): each catalogue provider's mark, served by Latchkey itself
// (GET /assets/logos/v1/{name}.svg, src/sign-in/provider-logos.ts) so the screen loads nothing
// from another site, and the scopes the provider commonly grants, offered as tickable suggestions
// beside a free-text field for any other scope.
import { checkbox, type Field, field, h } from "../dom.js";

export interface SuggestedScope {
  scope: string;
  description: string;
}

/** A provider as GET /api/v1/connected_apps/providers describes it. */
export interface CatalogProvider {
  id: string;
  name: string;
  has_revocation: boolean;
  docs: string | null;
  /** Same-origin path of its mark; null: its initials stand in. */
  logo: string | null;
  suggested_scopes: SuggestedScope[];
}

function initials(name: string): string {
  return name
    .split(/[\s()]+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => w[0]!.toUpperCase())
    .join("");
}

/** The provider's mark; decoration, as its name is always written beside it (alt=""). */
export function providerMark(provider: { name: string; logo?: string | null }): HTMLElement {
  return provider.logo
    ? h("img", { class: "logo", src: provider.logo, alt: "", width: "36", height: "36" })
    : h("span", { class: "logo", "aria-hidden": "true" }, initials(provider.name));
}

export function splitScopes(value: string): string[] {
  return [...new Set(value.split(/[\s,]+/).filter(Boolean))];
}

function scopesProblem(value: string): string | undefined {
  const scopes = splitScopes(value);
  if (scopes.length > 100) return "List at most 100 scopes";
  const bad = scopes.find((s) => !/^[\x21-\x7e]{1,200}$/.test(s));
  return bad ? `${bad} is not a valid scope` : undefined;
}

export interface ScopePicker {
  element: HTMLElement;
  /** The free-text field: checked and focused like any other field of the form. */
  field: Field<HTMLInputElement | HTMLTextAreaElement>;
  /** The ticked suggestions, in the catalogue's order, then the typed scopes. */
  value: () => string[];
}

/** The provider's suggested scopes as checkboxes (ticked when `current` holds them) and a text field. */
export function scopePicker(provider: CatalogProvider | undefined, current: readonly string[]): ScopePicker {
  const suggestions = provider?.suggested_scopes ?? [];
  const known = new Set(suggestions.map((s) => s.scope));
  const boxes = suggestions.map((suggestion) => ({
    scope: suggestion.scope,
    ...checkbox({
      label: suggestion.scope,
      name: "suggested_scope",
      checked: current.includes(suggestion.scope),
      hint: suggestion.description,
    }),
  }));
  const text = field({
    label: boxes.length ? "Other scopes" : "Scopes",
    name: "scopes",
    multiline: boxes.length ? 2 : 3,
    value: current.filter((s) => !known.has(s)).join(" "),
    hint: boxes.length
      ? "Any scope not listed above, separated by spaces or line breaks."
      : "The permissions Latchkey asks the user for, separated by spaces or line breaks.",
    validate: scopesProblem,
  });
  const element = boxes.length
    ? h(
        "div",
        { class: "scope-suggestions" },
        h(
          "fieldset",
          null,
          h("legend", null, "Suggested scopes"),
          h(
            "p",
            { class: "hint" },
            `Common permissions of ${provider?.name}. Tick only what your app needs.`,
          ),
          boxes.map((b) => b.element),
        ),
        text.element,
      )
    : text.element;
  return {
    element,
    field: text,
    value: () => [
      ...new Set([
        ...boxes.filter((b) => b.input.checked).map((b) => b.scope),
        ...splitScopes(text.input.value),
      ]),
    ],
  };
}
