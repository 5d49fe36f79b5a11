// Feature flags: typed definitions (boolean, string, integer) with a default value that tokens
// carry in feature_flags ({t, v}); create one, change its default, name or how far it may be
// overridden, delete it. Organization overrides live on the organization's page.
import { api, query } from "../api.js";
import { emptyState, field, h, notify, replace, selectField } from "../dom.js";
import { load, pageHeader, type Screen } from "../view.js";
import { formDialog, kindChoice, listTable, suggestKey, visuallyHidden, whenConfirmed } from "../widgets.js";

export type FlagType = "bool" | "str" | "int";
export type OverrideLevel = "env" | "org" | "usr";

export interface FeatureFlag {
  id: string;
  key: string;
  name: string;
  description: string | null;
  type: FlagType;
  allow_override_level: OverrideLevel;
  default_value: string;
  environment_value: string | null;
}

export const TYPES: { type: FlagType; label: string; sentence: string }[] = [
  { type: "bool", label: "Boolean", sentence: "On or off: turn a feature on for some organizations." },
  { type: "str", label: "String", sentence: "Text, e.g. a theme name or a plan." },
  { type: "int", label: "Integer", sentence: "A whole number, e.g. a limit of seats." },
];

export function typeLabel(type: FlagType): string {
  return TYPES.find((t) => t.type === type)?.label ?? type;
}

const LEVELS: { level: OverrideLevel; label: string }[] = [
  { level: "env", label: "Nowhere: the default applies to everyone" },
  { level: "org", label: "Per organization" },
  { level: "usr", label: "Per organization and per user" },
];

const LEVEL_WORDS: Record<OverrideLevel, string> = {
  env: "Not overridable",
  org: "Per organization",
  usr: "Per organization and user",
};

/** Whether organizations may have their own value (env < org < usr, as the server decides). */
export function overridableByOrganization(flag: FeatureFlag): boolean {
  return flag.allow_override_level !== "env";
}

/** The server's key rule (src/feature-flags/feature-flags.routes.ts), for feedback while typing. */
function keyProblem(value: string): string | undefined {
  return /^[A-Za-z0-9_\-.:]{1,128}$/.test(value.trim())
    ? undefined
    : "Use 1-128 letters, digits or _ - . : (no spaces)";
}

/** The server's value rule (valueProblem in feature-flags.service.ts). */
export function valueProblem(type: FlagType, value: string): string | undefined {
  if (type === "bool" && value !== "true" && value !== "false") return "Choose true or false";
  if (type === "int" && !(/^-?\d{1,15}$/.test(value.trim()) && Number.isSafeInteger(Number(value))))
    return "Enter a whole number, e.g. 10 or -3";
  if (type === "str" && value.length > 1000) return "Use at most 1000 characters";
  return undefined;
}

/** How a value reads in a table: booleans as on/off words next to their value. */
export function shownValue(type: FlagType, value: string): string {
  if (type === "bool") return value === "true" ? "true (on)" : "false (off)";
  if (type === "str" && value === "") return "(empty)";
  return value;
}

export interface ValueControl {
  element: HTMLElement;
  value(): string;
  check(): boolean;
  focus(): void;
}

/** A value input fitting the flag's type: a true/false choice, or a field checked as typed. */
export function valueControl(
  type: FlagType,
  options: { label: string; name: string; value?: string; hint?: string },
): ValueControl {
  if (type === "bool") {
    const select = selectField({
      label: options.label,
      name: options.name,
      hint: options.hint,
      value: options.value ?? "false",
      choices: [
        { value: "true", label: "true (on)" },
        { value: "false", label: "false (off)" },
      ],
    });
    return {
      element: select.element,
      value: () => select.input.value,
      check: () => true,
      focus: () => select.input.focus(),
    };
  }
  const input = field({
    label: options.label,
    name: options.name,
    hint: options.hint,
    value: options.value ?? "",
    required: type === "int",
    placeholder: type === "int" ? "e.g. 10" : undefined,
    validate: (v) => valueProblem(type, v),
  });
  if (type === "int") input.input.setAttribute("inputmode", "numeric");
  return {
    element: input.element,
    value: () => (type === "int" ? input.input.value.trim() : input.input.value),
    check: () => input.check(),
    focus: () => input.input.focus(),
  };
}

/** Every flag definition, following next_token (Latchkey's own list; Kinde's API has none). */
export async function loadFlags(): Promise<FeatureFlag[]> {
  const flags: FeatureFlag[] = [];
  let next: string | undefined;
  do {
    const page = await api<{ feature_flags: FeatureFlag[]; next_token: string | null }>(
      "GET",
      `/feature_flags${query({ page_size: 100, next_token: next })}`,
    );
    flags.push(...page.feature_flags);
    next = page.next_token ?? undefined;
  } while (next && flags.length < 1000);
  return flags;
}

export const listFeatureFlags: Screen = async (view) => {
  await load(view, async () => {
    const flags = await loadFlags();
    const body = h("div");
    const failure = h("div");
    const render = () => {
      if (flags.length === 0) {
        replace(
          body,
          emptyState(
            "No feature flags yet",
            "Add a flag to switch features on or off without a release; tokens carry each flag's value for the person signing in.",
            h(
              "button",
              { type: "button", class: "primary", onclick: () => createDialog(created) },
              "Add your first feature flag",
            ),
          ),
        );
        return;
      }
      replace(
        body,
        listTable(
          "Feature flags",
          ["Flag", "Type", "Default value", "Overridable", visuallyHidden("Actions")],
          flags,
          cells,
        ),
      );
    };
    const cells = (flag: FeatureFlag) => {
      const edit = h(
        "button",
        {
          type: "button",
          class: "secondary small",
          "aria-label": `Edit ${flag.key}`,
          onclick: () => editDialog(flag, render),
        },
        "Edit",
      );
      const remove = h(
        "button",
        { type: "button", class: "secondary small", "aria-label": `Delete ${flag.key}` },
        "Delete",
      );
      whenConfirmed(
        remove,
        {
          title: `Delete the flag ${flag.key}?`,
          message:
            "Its organization and user overrides go with it, and new tokens no longer carry it. Code reading it gets its own fallback value.",
          confirmLabel: "Delete flag",
          danger: true,
        },
        failure,
        async () => {
          await api("DELETE", `/feature_flags/${encodeURIComponent(flag.key)}`);
          flags.splice(flags.indexOf(flag), 1);
          render();
          notify(`Feature flag ${flag.key} deleted`);
        },
      );
      return [
        h(
          "td",
          null,
          h("span", { class: "strong" }, flag.name),
          h("br"),
          h("code", null, flag.key),
          flag.description ? h("p", { class: "hint cell-note" }, flag.description) : null,
        ),
        h("td", null, typeLabel(flag.type)),
        h(
          "td",
          { class: "mono" },
          shownValue(flag.type, flag.default_value),
          flag.environment_value !== null
            ? h(
                "p",
                { class: "hint cell-note" },
                `Environment: ${shownValue(flag.type, flag.environment_value)}`,
              )
            : null,
        ),
        h("td", null, LEVEL_WORDS[flag.allow_override_level]),
        h("td", null, h("div", { class: "row-actions" }, edit, remove)),
      ];
    };
    const created = (flag: FeatureFlag) => {
      flags.push(flag);
      flags.sort((a, b) => a.name.localeCompare(b.name) || (a.key < b.key ? -1 : 1));
      render();
    };
    render();
    return [
      pageHeader("Feature flags", {
        lead: "Typed values your apps read from the access token (getFlag, getBooleanFlag…). Organizations can have their own value on their page.",
        actions: [
          h(
            "button",
            { type: "button", class: "primary", onclick: () => createDialog(created) },
            "Add feature flag",
          ),
        ],
      }),
      failure,
      body,
    ];
  });
};

function levelSelect(value: OverrideLevel): ReturnType<typeof selectField> {
  return selectField({
    label: "Who may have their own value",
    name: "allow_override_level",
    value,
    hint: "Organizations and users get a different value only where this allows.",
    choices: LEVELS.map((l) => ({ value: l.level, label: l.label })),
  });
}

function createDialog(onCreated: (flag: FeatureFlag) => void): void {
  const name = field({
    label: "Name",
    name: "name",
    required: true,
    placeholder: "e.g. New billing page",
    validate: (v) => (v.trim().length > 128 ? "Use at most 128 characters" : undefined),
  });
  const key = field({
    label: "Key",
    name: "key",
    required: true,
    placeholder: "new_billing",
    hint: 'What your code asks for, e.g. getBooleanFlag("new_billing"). It cannot be changed later.',
    validate: keyProblem,
  });
  suggestKey(name.input, key, "_");
  const description = field({ label: "Description (optional)", name: "description" });
  const types = kindChoice({ legend: "Type", id: "type", kinds: TYPES, compact: true });
  const chosenType = () => types.value() as FlagType;
  const valueSlot = h("div");
  let value: ValueControl;
  const showValue = () => {
    value = valueControl(chosenType(), { label: "Default value", name: "default_value" });
    replace(valueSlot, value.element);
  };
  showValue();
  types.element.addEventListener("change", showValue);
  const level = levelSelect("org");
  formDialog({
    title: "Add a feature flag",
    content: [name.element, key.element, description.element, types.element, valueSlot, level.element],
    // The value's control is replaced when the type changes: check whichever is shown.
    fields: [name, key, { check: () => value.check(), focus: () => value.focus() }],
    submit: async (dialog) => {
      const flag: FeatureFlag = {
        id: "",
        key: key.input.value.trim(),
        name: name.input.value.trim(),
        description: description.input.value.trim() || null,
        type: chosenType(),
        allow_override_level: level.input.value as OverrideLevel,
        default_value: value.value(),
        environment_value: null,
      };
      await api("POST", "/feature_flags", {
        key: flag.key,
        name: flag.name,
        ...(flag.description ? { description: flag.description } : {}),
        type: flag.type,
        allow_override_level: flag.allow_override_level,
        default_value: flag.default_value,
      });
      dialog.close();
      onCreated(flag);
      notify(`Feature flag ${flag.key} created`);
    },
  });
}

function editDialog(flag: FeatureFlag, onSaved: () => void): void {
  const name = field({
    label: "Name",
    name: "name",
    required: true,
    value: flag.name,
    validate: (v) => (v.trim().length > 128 ? "Use at most 128 characters" : undefined),
  });
  const description = field({
    label: "Description (optional)",
    name: "description",
    value: flag.description ?? "",
  });
  const value = valueControl(flag.type, {
    label: "Default value",
    name: "default_value",
    value: flag.default_value,
    hint: `${typeLabel(flag.type)}. Everyone without an override gets it on their next token.`,
  });
  const level = levelSelect(flag.allow_override_level);
  formDialog({
    title: `Edit ${flag.key}`,
    description: `A ${typeLabel(flag.type).toLowerCase()} flag; its key and type cannot change.`,
    content: [name.element, description.element, value.element, level.element],
    fields: [name, value],
    submit: async (dialog) => {
      const changed = {
        name: name.input.value.trim(),
        description: description.input.value.trim() || null,
        allow_override_level: level.input.value as OverrideLevel,
        default_value: value.value(),
      };
      // Kinde's replace takes the whole definition as query parameters.
      await api(
        "PUT",
        `/feature_flags/${encodeURIComponent(flag.key)}${query({
          name: changed.name,
          description: changed.description ?? "",
          type: flag.type,
          allow_override_level: changed.allow_override_level,
          default_value: changed.default_value,
        })}`,
      );
      Object.assign(flag, changed);
      dialog.close();
      onSaved();
      notify(`Feature flag ${flag.key} saved`);
    },
  });
}
