// A tiny DOM toolkit: h() builds elements (text is always a text node, never parsed as HTML), and
// a few accessible building blocks used on every screen — modal dialogs, labelled fields with
// inline validation, copy buttons and a polite live region for notices.

export type Child = Node | string | number | false | null | undefined | Child[];
type AttrValue = string | number | boolean | null | undefined | ((event: Event) => void);
export type Attrs = Record<string, AttrValue>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === "function") element.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key === "class") element.className = String(value);
    else if (key === "value" && "value" in element) (element as HTMLInputElement).value = String(value);
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

let counter = 0;
export function uid(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** Announces a short notice to screen readers and shows it briefly. */
export function notify(message: string): void {
  const region = document.getElementById("notice");
  if (!region) return;
  region.textContent = message;
  region.classList.add("visible");
  window.setTimeout(() => {
    if (region.textContent === message) {
      region.classList.remove("visible");
      region.textContent = "";
    }
  }, 4000);
}

export interface DialogHandle {
  dialog: HTMLDialogElement;
  body: HTMLElement;
  close(): void;
}

/**
 * A modal <dialog>: the rest of the page is inert while it is open, Escape closes it, focus moves
 * into it and returns to whatever opened it.
 */
export function openDialog(options: {
  title: string;
  description?: string;
  wide?: boolean;
  content: Child[];
  onClose?: () => void;
  /** Asked when the person closes it (× or Escape); false keeps it open. */
  mayClose?: () => boolean;
}): DialogHandle {
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const titleId = uid("dialog-title");
  const descriptionId = options.description ? uid("dialog-description") : undefined;
  const body = h("div", { class: "dialog-body" }, options.content);
  const dialog = h(
    "dialog",
    {
      class: options.wide ? "wide" : undefined,
      "aria-labelledby": titleId,
      "aria-describedby": descriptionId,
    },
    h(
      "div",
      { class: "dialog-head" },
      h("h2", { id: titleId }, options.title),
      h(
        "button",
        {
          type: "button",
          class: "icon",
          "aria-label": "Close",
          onclick: () => {
            if (options.mayClose?.() ?? true) close();
          },
        },
        "×",
      ),
    ),
    options.description ? h("p", { id: descriptionId, class: "muted" }, options.description) : null,
    body,
  );
  const close = () => {
    if (dialog.open) dialog.close();
  };
  // Escape: the browser may close anyway on a second press without a click between (close watchers).
  dialog.addEventListener("cancel", (event) => {
    if (!(options.mayClose?.() ?? true)) event.preventDefault();
  });
  dialog.addEventListener("close", () => {
    dialog.remove();
    options.onClose?.();
    if (opener?.isConnected) opener.focus();
  });
  document.body.appendChild(dialog);
  dialog.showModal();
  const first = body.querySelector<HTMLElement>("[autofocus], input, select, textarea, button");
  first?.focus();
  return { dialog, body, close };
}

/** Asks before something that cannot be undone; resolves true when confirmed. */
export function confirmAction(options: {
  title: string;
  message: string | Child[];
  confirmLabel: string;
  danger?: boolean;
}): Promise<boolean> {
  return new Promise((resolve) => {
    let confirmed = false;
    const handle = openDialog({
      title: options.title,
      content: [
        typeof options.message === "string" ? h("p", null, options.message) : options.message,
        h(
          "div",
          { class: "actions" },
          h("button", { type: "button", class: "secondary", onclick: () => handle.close() }, "Cancel"),
          h(
            "button",
            {
              type: "button",
              class: options.danger ? "danger" : "primary",
              onclick: () => {
                confirmed = true;
                handle.close();
              },
            },
            options.confirmLabel,
          ),
        ),
      ],
      onClose: () => resolve(confirmed),
    });
    // The safe choice has focus first.
    handle.body.querySelector<HTMLButtonElement>("button.secondary")?.focus();
  });
}

export interface Field<T extends HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement> {
  element: HTMLElement;
  input: T;
  /** Runs the validator, shows its message and returns whether the value is acceptable. */
  check(): boolean;
  setError(message: string | undefined): void;
}

export interface FieldOptions {
  label: string;
  name: string;
  value?: string;
  type?: string;
  hint?: string;
  required?: boolean;
  placeholder?: string;
  autocomplete?: string;
  readonly?: boolean;
  multiline?: number;
  min?: number;
  max?: number;
  /** Returns a problem in words, or undefined when the value is fine. Runs as the user types. */
  validate?: (value: string) => string | undefined;
}

export function field(options: FieldOptions): Field<HTMLInputElement | HTMLTextAreaElement> {
  const id = uid(`field-${options.name}`);
  const hintId = options.hint ? `${id}-hint` : undefined;
  const errorId = `${id}-error`;
  const describedBy = [hintId, errorId].filter(Boolean).join(" ");
  const common = {
    id,
    name: options.name,
    required: options.required,
    placeholder: options.placeholder,
    autocomplete: options.autocomplete ?? "off",
    readonly: options.readonly,
    "aria-describedby": describedBy,
  };
  const input = options.multiline
    ? h("textarea", { ...common, rows: options.multiline, spellcheck: "false" })
    : h("input", {
        ...common,
        type: options.type ?? "text",
        min: options.min,
        max: options.max,
        spellcheck: "false",
      });
  input.value = options.value ?? "";
  const error = h("p", { id: errorId, class: "field-error" });
  const setError = (message: string | undefined) => {
    error.textContent = message ?? "";
    if (message) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  };
  const check = () => {
    const value = input.value.trim();
    let problem: string | undefined;
    if (options.required && value === "") problem = `${options.label} is required`;
    else if (options.validate) problem = options.validate(input.value);
    setError(problem);
    return problem === undefined;
  };
  // Validate as the user types once they have typed something, and always on leaving the field.
  input.addEventListener("input", () => {
    if (input.value !== "" || input.hasAttribute("aria-invalid")) check();
  });
  input.addEventListener("blur", () => {
    if (input.value !== "") check();
  });
  const element = h(
    "div",
    { class: "field" },
    // Required fields carry `required`; optional ones say "(optional)" in their label.
    h("label", { for: id }, options.label),
    options.hint ? h("p", { id: hintId, class: "hint" }, options.hint) : null,
    input,
    error,
  );
  return { element, input, check, setError };
}

export function checkbox(options: { label: string; name: string; checked?: boolean; hint?: string }): {
  element: HTMLElement;
  input: HTMLInputElement;
} {
  const id = uid(`check-${options.name}`);
  const hintId = options.hint ? `${id}-hint` : undefined;
  const input = h("input", {
    type: "checkbox",
    id,
    name: options.name,
    checked: options.checked,
    "aria-describedby": hintId,
  });
  return {
    input,
    element: h(
      "div",
      { class: "check" },
      input,
      h("label", { for: id }, options.label),
      options.hint ? h("p", { id: hintId, class: "hint" }, options.hint) : null,
    ),
  };
}

/** A labelled <select> (same layout as field()); the value is one of `choices`. */
export function selectField(options: {
  label: string;
  name: string;
  choices: { value: string; label: string }[];
  value?: string;
  hint?: string;
}): { element: HTMLElement; input: HTMLSelectElement } {
  const id = uid(`select-${options.name}`);
  const hintId = options.hint ? `${id}-hint` : undefined;
  const input = h(
    "select",
    { id, name: options.name, "aria-describedby": hintId },
    options.choices.map((choice) => h("option", { value: choice.value }, choice.label)),
  );
  if (options.value !== undefined) input.value = options.value;
  return {
    input,
    element: h(
      "div",
      { class: "field" },
      h("label", { for: id }, options.label),
      options.hint ? h("p", { id: hintId, class: "hint" }, options.hint) : null,
      input,
    ),
  };
}

/** Copies text to the clipboard, falling back to a selection when the Clipboard API is refused. */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const scratch = h("textarea", { class: "visually-hidden", "aria-hidden": "true", tabindex: "-1" });
    scratch.value = text;
    // Inside an open modal dialog, since everything outside it is inert.
    (document.querySelector("dialog[open]") ?? document.body).appendChild(scratch);
    scratch.select();
    const ok = document.execCommand("copy");
    scratch.remove();
    return ok;
  }
}

export function copyButton(label: string, text: () => string, onCopied?: () => void): HTMLButtonElement {
  const button = h(
    "button",
    { type: "button", class: "secondary small", "aria-label": `Copy ${label}` },
    "Copy",
  );
  button.addEventListener("click", async () => {
    const ok = await copyText(text());
    if (ok) onCopied?.();
    notify(ok ? `${label} copied to the clipboard` : `Could not copy the ${label.toLowerCase()}`);
    button.textContent = ok ? "Copied" : "Copy";
    window.setTimeout(() => {
      button.textContent = "Copy";
    }, 2000);
  });
  return button;
}

/**
 * A read-only value with a copy button, e.g. a client ID. `onCopied` hears the button's copies and
 * the browser's own (the value selected and copied).
 */
export function copyable(
  label: string,
  value: string,
  options: { mono?: boolean; onCopied?: () => void } = {},
): HTMLElement {
  const id = uid("copy");
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    h(
      "div",
      { class: "copy-row" },
      h("input", {
        id,
        type: "text",
        readonly: true,
        value,
        class: options.mono === false ? undefined : "mono",
        onfocus: (event) => (event.target as HTMLInputElement).select(),
        oncopy: () => options.onCopied?.(),
      }),
      copyButton(label, () => value, options.onCopied),
    ),
  );
}

export function formatDate(value: string | null | undefined): string {
  if (!value) return "—";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

const DURATION_UNITS: [number, string][] = [
  [86_400, "day"],
  [3_600, "hour"],
  [60, "minute"],
];

/** A number of seconds in the largest unit that divides it, e.g. "2 hours". */
export function formatDuration(seconds: number): string {
  for (const [size, unit] of DURATION_UNITS) {
    if (seconds >= size && seconds % size === 0) {
      const n = seconds / size;
      return `${n} ${unit}${n === 1 ? "" : "s"}`;
    }
  }
  return `${seconds} seconds`;
}

export function emptyState(title: string, text: string, action?: HTMLElement): HTMLElement {
  return h("div", { class: "empty" }, h("h3", null, title), h("p", null, text), action ?? null);
}

export function loading(): HTMLElement {
  return h("p", { class: "loading", role: "status" }, "Loading…");
}

/**
 * Makes every table box under `root` that scrolls sideways (a wide table on a phone) reachable by
 * keyboard — a focusable region named by its table's caption — and leaves the others out of the tab
 * order. Watches for tables drawn later and for boxes that start or stop scrolling as the width
 * changes (WCAG 2.1.1: content that scrolls must be operable without a pointer).
 */
export function watchScrollableTables(root: Element): void {
  const update = (box: Element) => {
    const scrolls = box.scrollWidth > box.clientWidth + 1;
    if (scrolls === box.hasAttribute("tabindex")) return;
    if (scrolls) {
      const caption = box.querySelector("caption")?.textContent?.trim();
      box.setAttribute("tabindex", "0");
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", caption ? `${caption} (scrolls sideways)` : "Table (scrolls sideways)");
    } else {
      box.removeAttribute("tabindex");
      box.removeAttribute("role");
      box.removeAttribute("aria-label");
    }
  };
  const resized = new ResizeObserver((entries) => {
    for (const entry of entries) update(entry.target);
  });
  const watched = new WeakSet<Element>();
  const scan = () => {
    for (const box of root.querySelectorAll(".table-wrap")) {
      if (watched.has(box)) continue;
      watched.add(box);
      resized.observe(box);
      update(box);
    }
  };
  new MutationObserver(scan).observe(root, { childList: true, subtree: true });
  scan();
}
