// Properties: custom data kept on users, organizations or applications, grouped in categories.
// Public ones ride in tokens (user_properties, organization_properties, application_properties);
// private ones stay in Latchkey. Kinde's built-ins (kp_usr_*, kp_org_*, the marketing parameters a
// sign-up stores) are listed with the rest and can be changed but not deleted.
import { api, query } from "../api.js";
import { checkbox, emptyState, field, h, notify, replace, selectField } from "../dom.js";
import { load, pageHeader, type Screen } from "../view.js";
import { formDialog, listTable, suggestKey, visuallyHidden, whenConfirmed } from "../widgets.js";

type Context = "usr" | "org" | "app";
type PropertyType = "single_line_text" | "multi_line_text";

interface Property {
  id: string;
  key: string;
  name: string;
  description?: string;
  is_private: boolean;
  is_kinde_property: boolean;
  type: PropertyType;
  context: Context;
  category_id: string;
}

interface Category {
  id: string;
  name: string;
  context: Context;
}

const CONTEXTS: { context: Context; label: string; plural: string }[] = [
  { context: "usr", label: "Users", plural: "users" },
  { context: "org", label: "Organizations", plural: "organizations" },
  { context: "app", label: "Applications", plural: "applications" },
];

const TYPES: { type: PropertyType; label: string }[] = [
  { type: "single_line_text", label: "Single line of text" },
  { type: "multi_line_text", label: "Several lines of text" },
];

const CLAIMS: Record<Context, string> = {
  usr: "user_properties",
  org: "organization_properties",
  app: "application_properties",
};

/** The server's key rule (src/properties/properties.routes.ts), for feedback while typing. */
function keyProblem(value: string): string | undefined {
  const key = value.trim();
  if (!/^[A-Za-z][A-Za-z0-9_]{0,127}$/.test(key))
    return "Use 1-128 letters, digits or underscores, starting with a letter";
  if (key.toLowerCase().startsWith("kp_")) return "Keys starting with kp_ are kept for built-in properties";
  return undefined;
}

const nameProblem = (v: string) => (v.trim().length > 128 ? "Use at most 128 characters" : undefined);

/** Every item of a starting_after list (properties or categories). */
async function loadAll<T extends { id: string }>(
  path: string,
  field: "properties" | "categories",
): Promise<T[]> {
  const items: T[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 20; pages++) {
    const page = await api<Record<string, unknown> & { has_more: boolean }>(
      "GET",
      `${path}${query({ page_size: 500, starting_after: after })}`,
    );
    const batch = page[field] as T[];
    items.push(...batch);
    if (!page.has_more || batch.length === 0) break;
    after = batch.at(-1)!.id;
  }
  return items;
}

export const propertiesSettings: Screen = async (view) => {
  await load(view, async () => {
    const [properties, categories] = await Promise.all([
      loadAll<Property>("/properties", "properties"),
      loadAll<Category>("/property_categories", "categories"),
    ]);
    const failure = h("div");
    const body = h("div");
    const show = selectField({
      label: "Properties of",
      name: "context",
      value: "usr",
      choices: CONTEXTS.map((c) => ({ value: c.context, label: c.label })),
    });
    const shown = () => show.input.value as Context;
    const categoryName = (id: string) => categories.find((c) => c.id === id)?.name ?? "—";

    const render = () => {
      const context = shown();
      const words = CONTEXTS.find((c) => c.context === context)!;
      const list = properties
        .filter((p) => p.context === context)
        .sort(
          (a, b) =>
            categoryName(a.category_id).localeCompare(categoryName(b.category_id)) ||
            a.name.localeCompare(b.name) ||
            (a.key < b.key ? -1 : 1),
        );
      if (list.length === 0) {
        replace(
          body,
          emptyState(
            `No properties for ${words.plural} yet`,
            `Add one to keep your own data on ${words.plural}; public ones reach tokens as ${CLAIMS[context]}.`,
          ),
        );
        return;
      }
      replace(
        body,
        listTable(
          `Properties of ${words.plural}`,
          ["Property", "Category", "In tokens", visuallyHidden("Actions")],
          list,
          cells,
        ),
      );
    };

    const cells = (property: Property) => {
      const edit = h(
        "button",
        {
          type: "button",
          class: "secondary small",
          "aria-label": `Edit ${property.key}`,
          onclick: () => editDialog(property, categories, render),
        },
        "Edit",
      );
      let remove: HTMLElement | null = null;
      if (!property.is_kinde_property) {
        remove = h(
          "button",
          { type: "button", class: "secondary small", "aria-label": `Delete ${property.key}` },
          "Delete",
        );
        whenConfirmed(
          remove,
          {
            title: `Delete the property ${property.key}?`,
            message: "Every value kept in it goes with it, and new tokens no longer carry it.",
            confirmLabel: "Delete property",
            danger: true,
          },
          failure,
          async () => {
            await api("DELETE", `/properties/${encodeURIComponent(property.id)}`);
            properties.splice(properties.indexOf(property), 1);
            render();
            notify(`Property ${property.key} deleted`);
          },
        );
      }
      return [
        h(
          "td",
          null,
          h("span", { class: "strong" }, property.name),
          property.is_kinde_property ? h("span", { class: "badge" }, "Built-in") : null,
          h("br"),
          h("code", null, property.key),
          property.description ? h("p", { class: "hint cell-note" }, property.description) : null,
        ),
        h("td", null, categoryName(property.category_id)),
        h("td", null, property.is_private ? "No (private)" : "Yes (public)"),
        h("td", null, h("div", { class: "row-actions" }, edit, remove)),
      ];
    };

    show.input.addEventListener("change", render);
    render();
    const addProperty = h(
      "button",
      {
        type: "button",
        class: "primary",
        onclick: () =>
          createDialog(shown(), categories, (property) => {
            properties.push(property);
            show.input.value = property.context;
            render();
          }),
      },
      "Add property",
    );
    const addCategory = h(
      "button",
      {
        type: "button",
        class: "secondary",
        onclick: () => categoryDialog(shown(), (category) => categories.push(category)),
      },
      "Add category",
    );
    return [
      pageHeader("Properties", {
        lead: "Your own data on users, organizations and applications, set through the Management API. Public properties reach tokens; private ones stay here.",
        actions: [addCategory, addProperty],
      }),
      show.element,
      failure,
      body,
    ];
  });
};

function categorySelect(categories: Category[], context: Context, value?: string) {
  const mine = categories.filter((c) => c.context === context);
  return selectField({
    label: "Category",
    name: "category_id",
    value: value ?? mine[0]?.id,
    choices: mine.map((c) => ({ value: c.id, label: c.name })),
  });
}

function createDialog(
  context: Context,
  categories: Category[],
  onCreated: (property: Property) => void,
): void {
  const name = field({
    label: "Name",
    name: "name",
    required: true,
    placeholder: "e.g. Plan tier",
    validate: nameProblem,
  });
  const key = field({
    label: "Key",
    name: "key",
    required: true,
    placeholder: "plan_tier",
    hint: "What code and tokens name it by. It cannot be changed later.",
    validate: keyProblem,
  });
  suggestKey(name.input, key, "_");
  const description = field({ label: "Description (optional)", name: "description" });
  const owner = selectField({
    label: "Kept on",
    name: "context",
    value: context,
    choices: CONTEXTS.map((c) => ({ value: c.context, label: c.label })),
  });
  const type = selectField({
    label: "Type",
    name: "type",
    choices: TYPES.map((t) => ({ value: t.type, label: t.label })),
  });
  const categorySlot = h("div");
  let category = categorySelect(categories, context);
  const showCategories = () => {
    category = categorySelect(categories, owner.input.value as Context);
    replace(categorySlot, category.element);
  };
  showCategories();
  owner.input.addEventListener("change", showCategories);
  const isPrivate = checkbox({
    label: "Private",
    name: "is_private",
    checked: true,
    hint: "Private properties never enter tokens. Clear it to have tokens carry the value.",
  });
  formDialog({
    title: "Add a property",
    content: [
      name.element,
      key.element,
      description.element,
      owner.element,
      type.element,
      categorySlot,
      isPrivate.element,
    ],
    fields: [
      name,
      key,
      {
        focus: () => category.input.focus(),
        check: () => {
          // Every context has categories of its own from the start; one created since may be needed.
          if (category.input.value) return true;
          notify("Add a category for this kind of owner first");
          return false;
        },
      },
    ],
    submit: async (dialog) => {
      const body = {
        name: name.input.value.trim(),
        key: key.input.value.trim(),
        ...(description.input.value.trim() ? { description: description.input.value.trim() } : {}),
        type: type.input.value as PropertyType,
        context: owner.input.value as Context,
        is_private: isPrivate.input.checked,
        category_id: category.input.value,
      };
      const created = await api<{ property: { id: string } }>("POST", "/properties", body);
      dialog.close();
      onCreated({
        ...body,
        id: created.property.id,
        is_kinde_property: false,
      });
      notify(`Property ${body.key} created`);
    },
  });
}

function editDialog(property: Property, categories: Category[], onSaved: () => void): void {
  const name = field({
    label: "Name",
    name: "name",
    required: true,
    value: property.name,
    validate: nameProblem,
  });
  const description = field({
    label: "Description (optional)",
    name: "description",
    value: property.description ?? "",
  });
  const category = categorySelect(categories, property.context, property.category_id);
  const isPrivate = checkbox({
    label: "Private",
    name: "is_private",
    checked: property.is_private,
    hint: `Private properties never enter tokens; public ones are in ${CLAIMS[property.context]} from the next token on.`,
  });
  formDialog({
    title: `Edit ${property.key}`,
    description: "Its key and who it is kept on cannot change.",
    content: [name.element, description.element, category.element, isPrivate.element],
    fields: [name],
    submit: async (dialog) => {
      const changed = {
        name: name.input.value.trim(),
        description: description.input.value.trim() || undefined,
        is_private: isPrivate.input.checked,
        category_id: category.input.value,
      };
      await api("PUT", `/properties/${encodeURIComponent(property.id)}`, {
        name: changed.name,
        description: changed.description ?? null,
        is_private: changed.is_private,
        category_id: changed.category_id,
      });
      Object.assign(property, changed);
      dialog.close();
      onSaved();
      notify(`Property ${property.key} saved`);
    },
  });
}

function categoryDialog(context: Context, onCreated: (category: Category) => void): void {
  const name = field({
    label: "Name",
    name: "name",
    required: true,
    placeholder: "e.g. Billing",
    validate: nameProblem,
  });
  const owner = selectField({
    label: "For properties kept on",
    name: "context",
    value: context,
    choices: CONTEXTS.map((c) => ({ value: c.context, label: c.label })),
  });
  formDialog({
    title: "Add a category",
    content: [name.element, owner.element],
    fields: [name],
    submit: async (dialog) => {
      const category = { name: name.input.value.trim(), context: owner.input.value as Context };
      const created = await api<{ category: { id: string } }>("POST", "/property_categories", category);
      dialog.close();
      onCreated({ ...category, id: created.category.id });
      notify(`Category ${category.name} created`);
    },
  });
}
