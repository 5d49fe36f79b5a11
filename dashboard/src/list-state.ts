// A long list's state lives in its address (issue 20): the search (`q`), the order (`sort`), the
// page's keyset token (`after`, the Management API's opaque next_token) and its number (`page`), so
// reload and Back show the same page. Every change is a navigation to a new address; the screen
// draws itself from the address alone.
import { api, query } from "./api.js";
import { emptyState, field, h, replace } from "./dom.js";
import { errorBox, leftScreen, navigate } from "./view.js";

export interface ListState {
  q: string;
  sort: string;
  after: string | undefined;
  page: number;
}

/** The state in the current address; `sorts[0]` is the default order. */
export function readListState(sorts: readonly string[]): ListState {
  const search = new URLSearchParams(location.search);
  const sort = search.get("sort") ?? "";
  const page = Number(search.get("page"));
  const after = search.get("after") || undefined;
  return {
    q: (search.get("q") ?? "").slice(0, 200),
    sort: sorts.includes(sort) ? sort : sorts[0]!,
    after,
    page: after && Number.isSafeInteger(page) && page > 1 ? page : 1,
  };
}

/** The address of a list page; the defaults are left out so the plain list is its bare path. */
export function listAddress(path: string, state: ListState, defaultSort: string): string {
  const search = new URLSearchParams();
  if (state.q) search.set("q", state.q);
  if (state.sort !== defaultSort) search.set("sort", state.sort);
  if (state.after && state.page > 1) {
    search.set("page", String(state.page));
    search.set("after", state.after);
  }
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}

// The way back from a page is the token of the page before it. Tokens only go forward (keyset),
// so each step forward records where it came from, per tab (sessionStorage): Previous works after
// a reload too, and a page reached by a shared link offers the first page instead.
const TRAIL = "latchkey.list-trail";

function trail(): Record<string, string> {
  try {
    const value: unknown = JSON.parse(sessionStorage.getItem(TRAIL) ?? "{}");
    return typeof value === "object" && value !== null ? (value as Record<string, string>) : {};
  } catch {
    return {};
  }
}

function remember(next: string, previous: string): void {
  const entries = Object.entries(trail()).slice(-200);
  sessionStorage.setItem(TRAIL, JSON.stringify(Object.fromEntries([...entries, [next, previous]])));
}

/**
 * Previous / "Page n" / Next: buttons that navigate to the neighbouring pages' addresses (a
 * disabled one at either end), as the other lists' pagers do.
 */
export function pager(
  path: string,
  state: ListState,
  defaultSort: string,
  nextToken: string | null,
): HTMLElement {
  const here = listAddress(path, state, defaultSort);
  const previousAddress = state.page > 1 ? trail()[here] : undefined;
  const previous =
    state.page <= 1
      ? undefined
      : previousAddress
        ? readFrom(previousAddress, state)
        : { ...state, after: undefined, page: 1 };
  const nextState = nextToken ? { ...state, after: nextToken, page: state.page + 1 } : undefined;
  const button = (label: string, target: ListState | undefined, before?: (address: string) => void) =>
    h(
      "button",
      {
        type: "button",
        class: "secondary",
        disabled: !target,
        onclick: () => {
          if (!target) return;
          const address = listAddress(path, target, defaultSort);
          before?.(address);
          navigate(address);
        },
      },
      label,
    );
  return h(
    "nav",
    { class: "pager", "aria-label": "Pages" },
    button(previousAddress || state.page <= 1 ? "Previous page" : "First page", previous),
    h("span", { class: "muted small" }, `Page ${state.page}`),
    button("Next page", nextState, (address) => remember(address, here)),
  );
}

function readFrom(address: string, state: ListState): ListState {
  const search = new URL(address, location.origin).searchParams;
  const page = Number(search.get("page"));
  return { ...state, after: search.get("after") ?? undefined, page: page > 1 ? page : 1 };
}

/** A search box and an order choice that navigate to the list's first page for what they hold. */
export function listToolbar(options: {
  path: string;
  state: ListState;
  label: string;
  hint: string;
  sorts: readonly { value: string; label: string }[];
}): HTMLFormElement {
  const { path, state, sorts } = options;
  const search = field({
    label: options.label,
    name: "q",
    type: "search",
    hint: options.hint,
    autocomplete: "off",
  });
  const input = search.input;
  input.value = state.q;
  input.setAttribute("maxlength", "200");
  const select = h(
    "select",
    { id: "list-sort", name: "sort" },
    sorts.map((s) => h("option", { value: s.value, selected: s.value === state.sort }, s.label)),
  );
  const form = h(
    "form",
    { class: "toolbar", role: "search" },
    search.element,
    h("div", { class: "field sort-field" }, h("label", { for: "list-sort" }, "Order"), select),
    h("button", { type: "submit", class: "secondary" }, "Search"),
  );
  const go = () =>
    navigate(
      listAddress(
        path,
        { q: input.value.trim(), sort: select.value, after: undefined, page: 1 },
        sorts[0]!.value,
      ),
    );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go();
  });
  select.addEventListener("change", go);
  return form;
}

const number = new Intl.NumberFormat("en");

/** "3 users", "about 100,000 users" (PostgreSQL's estimate), "more than 1,000 users" (a capped count). */
export function countLine(
  total: number | undefined,
  accuracy: string | undefined,
  noun: [string, string],
): string {
  if (total === undefined) return "";
  const word = total === 1 && accuracy === "exact" ? noun[0] : noun[1];
  if (accuracy === "estimate") return `about ${number.format(total)} ${word}`;
  if (accuracy === "at_least") return `more than ${number.format(total)} ${word}`;
  return `${number.format(total)} ${word}`;
}

export interface ListPage<T> {
  items: T[];
  next: string | null;
  total?: number;
  accuracy?: string;
}

/**
 * One page of a Management API list: Kinde's `next_token` (absent on the last page) and Latchkey's
 * count (`include_count`, src/management/listing.ts), in the shape addressedList draws.
 */
export async function fetchListPage<T>(
  resource: "users" | "organizations" | "applications",
  params: Record<string, string | number | undefined>,
): Promise<ListPage<T>> {
  const page = await api<
    Record<typeof resource, T[]> & {
      next_token?: string;
      total_count?: number;
      total_count_accuracy?: string;
    }
  >("GET", `/${resource}${query({ ...params, include_count: "true" })}`);
  return {
    items: page[resource],
    next: page.next_token ?? null,
    total: page.total_count,
    accuracy: page.total_count_accuracy,
  };
}

/**
 * A list screen drawn from its address: the header, the search and order toolbar, the count, one
 * page and the pager. `fetch` asks the Management API for the page the state names.
 */
export async function addressedList<T>(
  view: { main: HTMLElement },
  options: {
    path: string;
    header: HTMLElement;
    label: string;
    hint: string;
    sorts: readonly { value: string; label: string }[];
    noun: [string, string];
    fetch: (state: ListState) => Promise<ListPage<T>>;
    empty: (state: ListState) => HTMLElement;
    render: (items: T[]) => HTMLElement;
  },
): Promise<void> {
  const { path, sorts } = options;
  const state = readListState(sorts.map((s) => s.value));
  const count = h("p", { class: "muted small list-count" });
  const results = h(
    "div",
    { "aria-live": "polite" },
    h("p", { class: "loading", role: "status" }, "Loading…"),
  );
  view.main.replaceChildren(
    options.header,
    listToolbar({ path, state, label: options.label, hint: options.hint, sorts }),
    count,
    results,
  );
  try {
    const page = await options.fetch(state);
    count.textContent = countLine(page.total, page.accuracy, options.noun);
    if (page.items.length === 0) {
      replace(
        results,
        state.after && !state.q
          ? emptyState(`No more ${options.noun[1]}`, "This page is past the end of the list.")
          : options.empty(state),
      );
      return;
    }
    replace(results, options.render(page.items), pager(path, state, sorts[0]!.value, page.next));
  } catch (error) {
    if (!leftScreen(error)) replace(results, errorBox(error));
  }
}
