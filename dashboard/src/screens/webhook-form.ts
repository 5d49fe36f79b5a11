// The add and edit form of Settings › Webhooks (webhooks.ts): name, endpoint URL (add only: the
// API cannot change it), the event types grouped by what they are about, and a description; the
// server's refusals (INVALID_URL, INVALID_EVENT_TYPE) shown at their field.
import { ApiFailure } from "../api.js";
import { field, h, uid } from "../dom.js";
import type { Checkable } from "../widgets.js";

export interface Webhook {
  id: string;
  name: string;
  endpoint: string;
  description: string | null;
  event_types: string[];
  created_on: string;
  is_enabled: boolean;
  disabled_on: string | null;
  disabled_reason: string | null;
  /** Set while deliveries are failing: when the worker tries again. */
  next_attempt_on: string | null;
}

export interface EventType {
  id: string;
  code: string;
  name: string;
}

/** Headings of the event groups, by the part of the code before the dot. */
const GROUP_WORDS: Record<string, string> = {
  user: "User events",
  organization: "Organization events",
  role: "Role events",
  permission: "Permission events",
};

interface EventPicker {
  element: HTMLElement;
  check(): boolean;
  chosen(): string[];
  focus(): void;
  setError(message: string | undefined): void;
}

/** Checkboxes of the event types, grouped by what they are about; at least one must be ticked. */
function eventPicker(types: EventType[], chosen: readonly string[]): EventPicker {
  const errorId = uid("events-error");
  const error = h("p", { id: errorId, class: "field-error" });
  const boxes: HTMLInputElement[] = [];
  const groups = new Map<string, EventType[]>();
  for (const type of types) {
    const prefix = type.code.split(".")[0] ?? type.code;
    groups.set(prefix, [...(groups.get(prefix) ?? []), type]);
  }
  const setError = (message: string | undefined) => {
    error.textContent = message ?? "";
    for (const box of boxes) {
      if (message) box.setAttribute("aria-invalid", "true");
      else box.removeAttribute("aria-invalid");
    }
  };
  const element = h(
    "fieldset",
    { class: "event-types", "aria-describedby": errorId },
    h("legend", null, "Events"),
    h("p", { class: "hint" }, "The endpoint receives only the events ticked here."),
    [...groups].map(([prefix, list]) =>
      h(
        "fieldset",
        { class: "event-group" },
        h(
          "legend",
          null,
          GROUP_WORDS[prefix] ?? `${prefix.charAt(0).toUpperCase()}${prefix.slice(1)} events`,
        ),
        h(
          "div",
          { class: "event-checks" },
          list.map((type) => {
            const id = uid("event");
            const box = h("input", {
              type: "checkbox",
              id,
              name: "event_types",
              value: type.code,
              checked: chosen.includes(type.code),
              "aria-describedby": `${id}-code`,
            });
            box.addEventListener("change", () => {
              if (error.textContent && boxes.some((b) => b.checked)) setError(undefined);
            });
            boxes.push(box);
            return h(
              "div",
              { class: "check" },
              box,
              h("label", { for: id }, type.name),
              h("p", { id: `${id}-code`, class: "hint mono" }, type.code),
            );
          }),
        ),
      ),
    ),
    error,
  );
  const picked = () => boxes.filter((b) => b.checked).map((b) => b.value);
  return {
    element,
    chosen: picked,
    setError,
    check: () => {
      const ok = picked().length > 0;
      setError(ok ? undefined : "Choose at least one event");
      return ok;
    },
    focus: () => boxes[0]?.focus(),
  };
}

/** A URL the server may take: absolute http(s). The server checks the rest (https, addresses). */
function endpointProblem(value: string): string | undefined {
  if (value.trim().length > 2000) return "Use at most 2000 characters";
  try {
    const url = new URL(value.trim());
    if (url.protocol !== "https:" && url.protocol !== "http:") return "Must be an https URL";
    return undefined;
  } catch {
    return "Must be an absolute URL, e.g. https://app.example.com/webhooks";
  }
}

/** The fields of the add form (`webhook` undefined) or the edit form (no URL: it cannot change). */
export function endpointForm(types: EventType[], webhook: Webhook | undefined) {
  const name = field({
    label: "Name",
    name: "name",
    required: true,
    value: webhook?.name,
    placeholder: "e.g. Billing service",
    validate: (v) => (v.trim().length > 100 ? "Use at most 100 characters" : undefined),
  });
  const url = field({
    label: "Endpoint URL",
    name: "endpoint",
    type: "url",
    required: true,
    placeholder: "https://app.example.com/api/webhooks",
    hint: "Your app's receiver. It answers 2xx to acknowledge an event; anything else is retried.",
    validate: endpointProblem,
  });
  const events = eventPicker(types, webhook?.event_types ?? []);
  const description = field({
    label: "Description (optional)",
    name: "description",
    value: webhook?.description ?? "",
    validate: (v) => (v.trim().length > 1000 ? "Use at most 1000 characters" : undefined),
  });
  return {
    name,
    url,
    events,
    description,
    content: [name.element, webhook ? null : url.element, events.element, description.element],
    fields: [name, ...(webhook ? [] : [url]), events, description] as Checkable[],
    /**
     * Shows a refusal about one field next to that field and moves focus there; false for any
     * other error (the form shows it above its buttons).
     */
    showProblem(error: unknown): boolean {
      if (!(error instanceof ApiFailure)) return false;
      if (error.code === "INVALID_URL" && !webhook) {
        url.setError(error.message);
        url.input.focus();
        return true;
      }
      if (error.code === "INVALID_EVENT_TYPE") {
        events.setError(error.message);
        events.focus();
        return true;
      }
      return false;
    },
  };
}
