// Building blocks that several screens assemble the same way: list tables, forms that check their
// fields before sending, dialogs holding such a form, actions behind a confirmation, switches that
// save at once, keys suggested from names and a choice between kinds. One copy of each keeps their
// markup, which the browser tests and screen readers rely on, the same from screen to screen.
import { type Child, confirmAction, copyable, type DialogHandle, h, openDialog, uid } from "./dom.js";
import { attempt, section } from "./view.js";

/** Text for screen readers only, e.g. the heading of a column of row buttons. */
export function visuallyHidden(text: string): HTMLElement {
  return h("span", { class: "visually-hidden" }, text);
}

/** A table's caption (for screen readers: the section heading says it on screen) and header row. */
export function tableHead(caption: string, columns: (string | Node)[]): Child[] {
  return [
    h("caption", { class: "visually-hidden" }, caption),
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        columns.map((column) => h("th", { scope: "col" }, column)),
      ),
    ),
  ];
}

/** A scrollable table with a row of `cells` for each item; `flat` for tables inside a panel. */
export function listTable<T>(
  caption: string,
  columns: (string | Node)[],
  items: T[],
  cells: (item: T) => Child[],
  options: { flat?: boolean } = {},
): HTMLElement {
  return h(
    "div",
    { class: options.flat ? "table-wrap flat" : "table-wrap" },
    h(
      "table",
      null,
      tableHead(caption, columns),
      h(
        "tbody",
        null,
        items.map((item) => h("tr", null, cells(item))),
      ),
    ),
  );
}

/** The first cell of a list row: a link to the item's own page, then e.g. a badge. */
export function linkCell(href: string, label: string, ...after: Child[]): HTMLElement {
  return h("td", null, h("a", { href }, label), after);
}

/** Fills a key in from the name as it is typed, until the person types a key of their own. */
export function suggestKey(
  name: HTMLInputElement | HTMLTextAreaElement,
  key: { input: HTMLInputElement | HTMLTextAreaElement; check(): boolean },
  separator: string,
): void {
  let edited = false;
  key.input.addEventListener("input", () => {
    edited = key.input.value !== "";
  });
  name.addEventListener("input", () => {
    if (edited) return;
    key.input.value = name.value
      .trim()
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, separator)
      .replace(new RegExp(`^\\${separator}+|\\${separator}+$`, "g"), "")
      .slice(0, 128);
    if (key.input.value) key.check();
  });
}

/** A field, or another control that validates itself (such as a feature flag's value). */
export type Checkable = { check(): boolean } & ({ input: HTMLElement } | { focus(): void });

/**
 * Checks `fields` in order up to the first that is wrong and moves focus there, so a person hears
 * the problem at once; true when all are fine.
 */
export function checkFields(fields: Checkable[]): boolean {
  const bad = fields.find((f) => !f.check());
  if (bad) ("input" in bad ? bad.input : bad).focus();
  return !bad;
}

interface FormOptions {
  content: Child[];
  /** Checked when the form is sent, before `submit` runs. */
  fields: Checkable[];
  /** "Save" unless given. */
  submitLabel?: string;
}

function checkedForm(
  options: FormOptions,
  submit: () => Promise<void>,
  cancel?: () => void,
): HTMLFormElement {
  const failure = h("div");
  const form = h(
    "form",
    { novalidate: true },
    options.content,
    failure,
    h(
      "div",
      { class: "actions" },
      cancel ? h("button", { type: "button", class: "secondary", onclick: cancel }, "Cancel") : null,
      h("button", { type: "submit", class: "primary" }, options.submitLabel ?? "Save"),
    ),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!checkFields(options.fields)) return;
    await attempt(failure, submit);
  });
  return form;
}

/** A form on a page (no Cancel: leaving the page is that); its failure shows above its button. */
export function pageForm(options: FormOptions & { submit(): Promise<void> }): HTMLFormElement {
  return checkedForm(options, options.submit);
}

/** A dialog holding a form with Cancel and Save; `submit` closes it when the work is done. */
export function formDialog(
  options: FormOptions & {
    title: string;
    description?: string;
    wide?: boolean;
    submit(dialog: DialogHandle): Promise<void>;
  },
): DialogHandle {
  const form = checkedForm(
    options,
    () => options.submit(dialog),
    () => dialog.close(),
  );
  const dialog = openDialog({
    title: options.title,
    description: options.description,
    wide: options.wide,
    content: [form],
  });
  return dialog;
}

/**
 * Shows what Latchkey keeps only a hash of (an API key, a directory's token), this once. Until the
 * secret has been copied, every way out — Done, ×, Escape — stops first on a warning that closing
 * loses it for good; the warning's own button closes. `values` may add what is not secret (a base URL).
 */
export function secretDialog(options: {
  title: string;
  description: string;
  secret: { label: string; value: string };
  values?: { label: string; value: string }[];
  /** False when the secret also went elsewhere (an invitation sent by e-mail): no warning. */
  lostIfUncopied?: boolean;
}): DialogHandle {
  let copied = options.lostIfUncopied === false;
  const { label } = options.secret;
  const warning = h(
    "div",
    { class: "alert warning", role: "alert", hidden: true },
    h("p", null, `${label} not copied yet. Once this dialog closes, it cannot be shown again.`),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "secondary", onclick: () => (warning.hidden = true) }, "Back"),
      h(
        "button",
        { type: "button", class: "danger", onclick: () => dialog.close() },
        "Close without copying",
      ),
    ),
  );
  /** True when it may close now; otherwise shows the warning (once open, Done does not ask again). */
  const mayClose = (): boolean => {
    if (copied) return true;
    warning.hidden = false;
    warning.querySelector<HTMLButtonElement>("button.secondary")?.focus();
    return false;
  };
  const dialog = openDialog({
    title: options.title,
    description: options.description,
    mayClose,
    content: [
      (options.values ?? []).map((v) => copyable(v.label, v.value)),
      copyable(label, options.secret.value, {
        onCopied: () => {
          copied = true;
          warning.hidden = true;
        },
      }),
      warning,
      h(
        "div",
        { class: "actions" },
        h(
          "button",
          {
            type: "button",
            class: "primary",
            onclick: () => {
              if (mayClose()) dialog.close();
            },
          },
          "Done",
        ),
      ),
    ],
  });
  return dialog;
}

/**
 * Makes `button` ask first (see confirmAction) and only then run `work`, whose failure shows in
 * `failure`.
 */
export function whenConfirmed(
  button: HTMLElement,
  question: Parameters<typeof confirmAction>[0],
  failure: HTMLElement,
  work: () => Promise<void>,
): void {
  button.addEventListener("click", async () => {
    if (!(await confirmAction(question))) return;
    await attempt(failure, work);
  });
}

/**
 * The red button that deletes what a page shows, behind a confirmation that repeats its label.
 */
export function deleteButton(options: {
  label: string;
  title: string;
  message: string;
  failure: HTMLElement;
  work: () => Promise<void>;
}): HTMLButtonElement {
  const button = h("button", { type: "button", class: "danger" }, options.label);
  whenConfirmed(
    button,
    { title: options.title, message: options.message, confirmLabel: options.label, danger: true },
    options.failure,
    options.work,
  );
  return button;
}

/** The last section of a details page: what deleting keeps, and the delete button. */
export function deleteSection(options: {
  heading: string;
  note: string;
  label: string;
  title: string;
  message: string;
  work: () => Promise<void>;
}): HTMLElement {
  const failure = h("div");
  return section(
    options.heading,
    h("p", { class: "muted" }, options.note),
    deleteButton({ ...options, failure }),
    failure,
  );
}

/**
 * A checkbox that saves as soon as it changes; when saving fails it springs back, so it never
 * shows a state the server does not have.
 */
export function saveOnToggle(
  box: HTMLInputElement,
  failure: HTMLElement,
  save: (wanted: boolean) => Promise<void>,
): void {
  box.addEventListener("change", async () => {
    const wanted = box.checked;
    const ok = await attempt(failure, () => save(wanted));
    if (!ok) box.checked = !wanted;
  });
}

/**
 * Radio cards (named `type`) choosing a kind of thing — an application's, a flag's type — each with
 * a sentence saying when to pick it; the first is chosen at the start.
 */
export function kindChoice(options: {
  legend: string;
  /** Prefix of the element IDs. */
  id: string;
  kinds: { type: string; label: string; sentence: string }[];
  compact?: boolean;
}): { element: HTMLFieldSetElement; value(): string } {
  const element = h(
    "fieldset",
    { class: options.compact ? "kinds compact" : "kinds" },
    h("legend", { id: uid(options.id) }, options.legend),
    options.kinds.map((kind, index) => {
      const id = uid(`${options.id}-${kind.type}`);
      return h(
        "div",
        { class: "kind" },
        h("input", {
          type: "radio",
          name: "type",
          id,
          value: kind.type,
          checked: index === 0,
          "aria-describedby": `${id}-text`,
        }),
        h("label", { for: id }, kind.label),
        h("p", { id: `${id}-text`, class: "hint" }, kind.sentence),
      );
    }),
  );
  return {
    element,
    value: () =>
      element.querySelector<HTMLInputElement>('input[name="type"]:checked')?.value ?? options.kinds[0]!.type,
  };
}
