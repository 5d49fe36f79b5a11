// A user's page (issue 20): the profile form (first and last name, picture, provided ID through
// Kinde's PATCH /user; an e-mail address added through POST /users/{id}/identities when the user has
// none) and the organizations they belong to with their roles in each.
import { api, query } from "../api.js";
import { field, h, notify } from "../dom.js";
import { section } from "../view.js";
import { listTable, pageForm } from "../widgets.js";

export interface ProfileUser {
  id: string;
  first_name: string | null;
  last_name: string | null;
  picture: string | null;
  provided_id: string | null;
  preferred_email: string | null;
  organizations?: string[];
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const most = (n: number) => (v: string) => (v.trim().length > n ? `Use at most ${n} characters` : undefined);

/** Edits the profile; `saved` redraws what the page shows of it (the heading, the facts). */
export function profileSection(user: ProfileUser, saved: () => void): HTMLElement {
  const first = field({
    label: "First name",
    name: "given_name",
    value: user.first_name ?? "",
    validate: most(100),
  });
  const last = field({
    label: "Last name",
    name: "family_name",
    value: user.last_name ?? "",
    validate: most(100),
  });
  const picture = field({
    label: "Picture URL (optional)",
    name: "picture",
    type: "url",
    value: user.picture ?? "",
    validate: (v) =>
      v.trim() && !/^https:\/\/\S+$/.test(v.trim()) ? "Use an https:// address" : most(2000)(v),
  });
  const provided = field({
    label: "Provided ID (optional)",
    name: "provided_id",
    value: user.provided_id ?? "",
    hint: "Your own system's ID for this person.",
    validate: most(255),
  });
  const email = user.preferred_email
    ? undefined
    : field({
        label: "Email (none yet)",
        name: "email",
        type: "email",
        hint: "Adds an email identity they can sign in with.",
        validate: (v) =>
          v.trim() && !EMAIL.test(v.trim()) ? "Enter an email address like name@example.com" : undefined,
      });
  const fields = [first, last, picture, provided, ...(email ? [email] : [])];
  return section(
    "Edit profile",
    pageForm({
      content: [
        h("div", { class: "grid-2" }, first.element, last.element),
        picture.element,
        provided.element,
        email?.element,
      ],
      fields,
      submitLabel: "Save profile",
      submit: async () => {
        const text = (f: typeof first) => f.input.value.trim();
        await api("PATCH", `/user${query({ id: user.id })}`, {
          given_name: text(first),
          family_name: text(last),
          picture: text(picture),
          provided_id: text(provided),
        });
        user.first_name = text(first) || null;
        user.last_name = text(last) || null;
        user.picture = text(picture) || null;
        user.provided_id = text(provided) || null;
        if (email && text(email)) {
          await api("POST", `/users/${user.id}/identities`, { type: "email", value: text(email) });
          user.preferred_email = text(email).toLowerCase();
        }
        notify("Profile saved");
        saved();
      },
    }),
  );
}

interface Organization {
  code: string;
  name: string;
}

/** The organizations the user belongs to (GET /user?expand=organizations) and their roles in each. */
export async function organizationsSection(user: ProfileUser): Promise<HTMLElement> {
  const codes = (user.organizations ?? []).slice(0, 50);
  if (codes.length === 0)
    return section("Organizations", h("p", { class: "muted" }, "Not a member of any organization."));
  const rows = await Promise.all(
    codes.map(async (code) => {
      const [org, { roles }] = await Promise.all([
        api<Organization>("GET", `/organization${query({ code })}`),
        api<{ roles: { key: string; name: string }[] }>(
          "GET",
          `/organizations/${encodeURIComponent(code)}/users/${encodeURIComponent(user.id)}/roles`,
        ),
      ]);
      return { org, roles };
    }),
  );
  return section(
    "Organizations",
    listTable(
      "Organizations and roles",
      ["Organization", "Roles"],
      rows,
      ({ org, roles }) => [
        h("td", null, h("a", { href: `/admin/organizations/${org.code}` }, org.name)),
        h("td", null, roles.length ? roles.map((r) => r.name || r.key).join(", ") : "—"),
      ],
      { flat: true },
    ),
    (user.organizations?.length ?? 0) > codes.length
      ? h("p", { class: "muted small" }, `The first ${codes.length} of ${user.organizations!.length}.`)
      : null,
  );
}
