// Users: a paged list, newest first (keyset pagination with next_token), a prefix search by
// email, name or username, creating a user, and one user's details with their
// identities, sessions, second factors, passkeys and connected apps — suspend, set a password,
// revoke sessions, delete.
import { api, query } from "../api.js";
import { confirmAction, emptyState, field, formatDate, h, notify, replace } from "../dom.js";
import { addressedList, fetchListPage } from "../list-state.js";
import { attempt, load, navigate, pageHeader, type Screen, section } from "../view.js";
import { deleteButton, formDialog, linkCell, listTable, whenConfirmed } from "../widgets.js";
import { rememberSeenUser } from "./home.js";
import { type Factor, type Passkey, userFactorsSection, userPasskeysSection } from "./mfa.js";
import { organizationsSection, type ProfileUser, profileSection } from "./user-profile.js";

const PAGE_SIZE = 25;

interface UserRow {
  id: string;
  email: string | null;
  username: string | null;
  first_name: string | null;
  last_name: string | null;
  is_suspended: boolean;
  last_signed_in: string | null;
  created_on: string | null;
  total_sign_ins: number | null;
}

interface User extends Omit<UserRow, "email">, ProfileUser {
  preferred_email: string | null;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function displayName(user: { first_name: string | null; last_name: string | null }): string {
  return [user.first_name, user.last_name].filter(Boolean).join(" ");
}

function status(suspended: boolean): HTMLElement {
  return h("span", { class: suspended ? "status-bad" : "status-ok" }, suspended ? "Suspended" : "Active");
}

const SORTS = [
  { value: "created_on_desc", label: "Newest first" },
  { value: "created_on_asc", label: "Oldest first" },
] as const;

/**
 * Newest first by a keyset (next_token), so page 4 000 costs what page 1 does; the search is a
 * prefix of the e-mail address, username, first or last name (Latchkey's starts_with, indexed),
 * or an exact user ID. Search, order and page are in the address (list-state.ts).
 */
export const listUsers: Screen = async (view) => {
  const add = h("button", { type: "button", class: "primary", onclick: () => createDialog() }, "Add user");
  await addressedList<UserRow>(view, {
    path: "/admin/users",
    header: pageHeader("Users", { lead: "Everyone who can sign in to your applications.", actions: [add] }),
    label: "Find a user",
    hint: "The start of an email address, name or username, or a user ID (kp_…).",
    sorts: SORTS,
    noun: ["user", "users"],
    fetch: async (state) => {
      const byId = /^kp_[A-Za-z0-9]+$/.test(state.q);
      return fetchListPage<UserRow>("users", {
        page_size: PAGE_SIZE,
        sort: state.sort,
        next_token: state.after,
        ...(byId ? { user_id: state.q } : { starts_with: state.q || undefined }),
      });
    },
    empty: (state) =>
      state.q
        ? emptyState(
            "No user matches",
            "Search for the start of an email address, name or username, or clear the search.",
          )
        : emptyState(
            "No users yet",
            "People appear here when they sign up on your sign-in page, or add one yourself.",
            h(
              "button",
              { type: "button", class: "primary", onclick: () => createDialog() },
              "Add your first user",
            ),
          ),
    render: (users) =>
      listTable("Users", ["Name", "Email", "Status", "Created", "Last sign-in"], users, (u) => [
        linkCell(`/admin/users/${u.id}`, displayName(u) || u.email || u.username || u.id),
        h("td", null, u.email ?? "—"),
        h("td", null, status(u.is_suspended)),
        h("td", null, formatDate(u.created_on)),
        h("td", null, formatDate(u.last_signed_in)),
      ]),
  });
};

function createDialog(): void {
  const given = field({ label: "First name", name: "given_name", autocomplete: "off" });
  const family = field({ label: "Last name", name: "family_name", autocomplete: "off" });
  const email = field({
    label: "Email",
    name: "email",
    type: "email",
    required: true,
    validate: (v) => (EMAIL.test(v.trim()) ? undefined : "Enter an email address like name@example.com"),
  });
  const password = field({
    label: "Password (optional)",
    name: "password",
    type: "password",
    autocomplete: "new-password",
    hint: "At least 8 characters. Leave empty to let them set one when they sign up.",
    validate: (v) => (v && v.length < 8 ? "Use at least 8 characters" : undefined),
  });
  formDialog({
    title: "Add a user",
    content: [h("div", { class: "grid-2" }, given.element, family.element), email.element, password.element],
    fields: [email, password],
    submit: async (dialog) => {
      const profile: Record<string, string> = {};
      if (given.input.value.trim()) profile.given_name = given.input.value.trim();
      if (family.input.value.trim()) profile.family_name = family.input.value.trim();
      const created = await api<{ id: string }>("POST", "/user", {
        profile,
        identities: [{ type: "email", is_verified: true, details: { email: email.input.value.trim() } }],
      });
      if (password.input.value) {
        await api("PUT", `/users/${created.id}/password`, { password: password.input.value });
      }
      dialog.close();
      notify("User created");
      navigate(`/admin/users/${created.id}`);
    },
  });
}

interface Identity {
  id: string;
  type: string;
  name: string;
  is_confirmed: boolean;
  last_login_on: string | null;
}

interface Session {
  session_id: string;
  client_id: string | null;
  started_on: string;
  updated_on: string;
  expires_on: string;
  last_ip_address: string | null;
  last_user_agent: string | null;
}

interface Connection {
  session_id: string;
  key_code_ref: string;
  status: string;
  scope: string | null;
  created_on: string;
}

export const userDetails: Screen = async (view) => {
  const id = view.params[0]!;
  await load(view, async () => {
    const user = await api<User>("GET", `/user${query({ id, expand: "organizations" })}`);
    const organizations = organizationsSection(user);
    const [{ identities }, { sessions }, { connections }, { factors }, { passkeys }] = await Promise.all([
      api<{ identities: Identity[] }>("GET", `/users/${id}/identities`),
      api<{ sessions: Session[] }>("GET", `/users/${id}/sessions`),
      api<{ connections: Connection[] }>("GET", `/users/${id}/connected_apps`),
      api<{ factors: Factor[] }>("GET", `/users/${id}/mfa`),
      api<{ passkeys: Passkey[] }>("GET", `/users/${id}/passkeys`),
    ]);
    // The home's checklist ends with "see the user": this is that page.
    rememberSeenUser(user.id);
    const title = displayName(user) || user.preferred_email || user.username || user.id;
    const badge = h("span", null, status(user.is_suspended));
    return [
      pageHeader(title, {
        back: { href: "/admin/users", label: "Users" },
        lead: [user.preferred_email ?? "", " · ", badge],
      }),
      section(
        "Profile",
        h(
          "dl",
          { class: "facts" },
          h("dt", null, "User ID"),
          h("dd", { class: "mono" }, user.id),
          h("dt", null, "Email"),
          h("dd", null, user.preferred_email ?? "—"),
          h("dt", null, "Username"),
          h("dd", null, user.username ?? "—"),
          h("dt", null, "Created"),
          h("dd", null, formatDate(user.created_on)),
          h("dt", null, "Last sign-in"),
          h("dd", null, formatDate(user.last_signed_in)),
          h("dt", null, "Sign-ins"),
          h("dd", null, String(user.total_sign_ins ?? 0)),
        ),
      ),
      section(
        "Identities",
        identities.length === 0
          ? h("p", { class: "muted" }, "No identities: this user cannot sign in until one is added.")
          : table(
              "Identities",
              ["Type", "Identity", "Confirmed", "Last used"],
              identities.map((i) => [
                i.type,
                i.name,
                i.is_confirmed ? "Yes" : "No",
                formatDate(i.last_login_on),
              ]),
            ),
      ),
      profileSection(user, () => navigate(`/admin/users/${user.id}`, { replace: true })),
      await organizations,
      sessionsSection(user, sessions),
      userFactorsSection(user.id, factors),
      userPasskeysSection(user.id, passkeys),
      section(
        "Connected apps",
        connections.length === 0
          ? h("p", { class: "muted" }, "This user has not connected any app yet.")
          : table(
              "Connected apps",
              ["Connected app", "Status", "Scopes", "Connected"],
              connections.map((c) => [c.key_code_ref, c.status, c.scope ?? "—", formatDate(c.created_on)]),
            ),
      ),
      actionsSection(user, title, badge),
    ];
  });
};

function table(caption: string, columns: string[], rows: string[][]): HTMLElement {
  return listTable(caption, columns, rows, (r) => r.map((cell) => h("td", null, cell)), { flat: true });
}

function sessionsSection(user: User, sessions: Session[]): HTMLElement {
  const failure = h("div");
  const body = h("div");
  const render = (list: Session[]) => {
    if (list.length === 0) {
      replace(body, h("p", { class: "muted" }, "No active sessions."));
      return;
    }
    const revoke = h("button", { type: "button", class: "secondary" }, "Sign out everywhere");
    whenConfirmed(
      revoke,
      {
        title: "Sign this user out everywhere?",
        message:
          "Every Latchkey session of this user ends and the refresh tokens issued through them stop working. Access tokens already issued stay valid until they expire.",
        confirmLabel: "Revoke sessions",
        danger: true,
      },
      failure,
      async () => {
        await api("DELETE", `/users/${user.id}/sessions`);
        render([]);
        notify("Sessions revoked");
      },
    );
    replace(
      body,
      table(
        "Sessions",
        ["Started", "Last active", "Expires", "Address", "Browser"],
        list.map((s) => [
          formatDate(s.started_on),
          formatDate(s.updated_on),
          formatDate(s.expires_on),
          s.last_ip_address ?? "—",
          s.last_user_agent ?? "—",
        ]),
      ),
      h("div", { class: "actions" }, revoke),
    );
  };
  render(sessions);
  return section("Sessions", body, failure);
}

function actionsSection(user: User, title: string, badge: HTMLElement): HTMLElement {
  const failure = h("div");
  let suspended = user.is_suspended;
  const suspend = h("button", { type: "button", class: "secondary" });
  const label = () => {
    suspend.textContent = suspended ? "Unsuspend user" : "Suspend user";
  };
  label();
  suspend.addEventListener("click", async () => {
    if (!suspended) {
      const ok = await confirmAction({
        title: `Suspend ${title}?`,
        message:
          "They can no longer sign in, and their sessions and tokens stop working. You can unsuspend them later.",
        confirmLabel: "Suspend user",
        danger: true,
      });
      if (!ok) return;
    }
    await attempt(failure, async () => {
      await api("PATCH", `/user${query({ id: user.id })}`, { is_suspended: !suspended });
      suspended = !suspended;
      label();
      replace(badge, status(suspended));
      notify(suspended ? "User suspended" : "User unsuspended");
    });
  });
  const setPassword = h(
    "button",
    { type: "button", class: "secondary", onclick: () => passwordDialog(user, title) },
    "Set password",
  );
  const remove = deleteButton({
    label: "Delete user",
    title: `Delete ${title}?`,
    message:
      "Their account, sessions and connections are removed and they can no longer sign in. This cannot be undone.",
    failure,
    work: async () => {
      await api("DELETE", `/user${query({ id: user.id })}`);
      notify("User deleted");
      navigate("/admin/users");
    },
  });
  return section("Manage", h("div", { class: "page-actions" }, suspend, setPassword, remove), failure);
}

function passwordDialog(user: User, title: string): void {
  const password = field({
    label: "New password",
    name: "password",
    type: "password",
    required: true,
    autocomplete: "new-password",
    hint: "At least 8 characters.",
    validate: (v) =>
      v.length < 8 ? "Use at least 8 characters" : v.length > 256 ? "Use at most 256 characters" : undefined,
  });
  const repeat = field({
    label: "Repeat the password",
    name: "repeat",
    type: "password",
    required: true,
    autocomplete: "new-password",
    validate: (v) => (v === password.input.value ? undefined : "The passwords do not match"),
  });
  formDialog({
    title: `Set a password for ${title}`,
    content: [password.element, repeat.element],
    fields: [password, repeat],
    submitLabel: "Set password",
    submit: async (dialog) => {
      await api("PUT", `/users/${user.id}/password`, { password: password.input.value });
      dialog.close();
      notify("Password set");
    },
  });
}
