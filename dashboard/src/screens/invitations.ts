// An organization's invitations (Kinde's /api/v1/organization/{org_code}/invites), a section of the
// organization's page: who is invited with which roles, inviting someone (the e-mail goes out when
// asked; the link is shown once, since Latchkey keeps only a hash of its code) and withdrawing an
// invitation. Accepted and withdrawn ones are listed on request.
import { api, query } from "../api.js";
import { checkbox, field, formatDate, h, notify, replace } from "../dom.js";
import { errorBox, leftScreen, section } from "../view.js";
import { formDialog, listTable, secretDialog, visuallyHidden, whenConfirmed } from "../widgets.js";
import type { Role } from "./roles.js";

interface Invite {
  id: string;
  email: string;
  full_name: string;
  created_on: string;
  is_sent: boolean;
  accepted_on: string | null;
  is_revoked: boolean;
  roles: { key: string; name: string }[];
}

interface CreatedInvite extends Invite {
  invite_link: string;
}

const PAGE_SIZE = 50;
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,253}\.[^\s@]{2,}$/;

function state(invite: Invite): HTMLElement {
  if (invite.accepted_on)
    return h("span", { class: "status-ok" }, `Accepted ${formatDate(invite.accepted_on)}`);
  if (invite.is_revoked) return h("span", { class: "muted" }, "Withdrawn");
  return h("span", null, invite.is_sent ? "Sent by e-mail" : "Link only");
}

export function invitationsSection(
  org: { code: string; name: string },
  roles: Role[],
): { element: HTMLElement; ready: Promise<void> } {
  const base = `/organization/${encodeURIComponent(org.code)}/invites`;
  const failure = h("div");
  const listing = h("div", { "aria-live": "polite" });
  const all = checkbox({ label: "Show accepted and withdrawn invitations", name: "all-invites" });

  const show = async () => {
    try {
      const everything = all.input.checked;
      const page = await api<{ invites: Invite[]; next_token: string | null }>(
        "GET",
        `${base}${query({
          page_size: PAGE_SIZE,
          include_accepted: everything ? "true" : undefined,
          include_revoked: everything ? "true" : undefined,
        })}`,
      );
      if (page.invites.length === 0)
        return replace(listing, h("p", { class: "muted" }, "No open invitations."));
      replace(
        listing,
        listTable(
          "Invitations",
          ["Email", "Name", "Roles", "Invited", "State", visuallyHidden("Actions")],
          page.invites,
          (invite) => {
            const open = !invite.accepted_on && !invite.is_revoked;
            const withdraw = h(
              "button",
              {
                type: "button",
                class: "secondary small",
                "aria-label": `Withdraw the invitation to ${invite.email}`,
              },
              "Withdraw",
            );
            whenConfirmed(
              withdraw,
              {
                title: `Withdraw the invitation to ${invite.email}?`,
                message: "The link in the invitation stops working. You can invite them again later.",
                confirmLabel: "Withdraw invitation",
                danger: true,
              },
              failure,
              async () => {
                await api("DELETE", `${base}/${encodeURIComponent(invite.id)}`);
                notify(`Invitation to ${invite.email} withdrawn`);
                await show();
              },
            );
            return [
              h("td", null, invite.email),
              h("td", null, invite.full_name || "—"),
              h("td", null, invite.roles.length ? invite.roles.map((r) => r.name).join(", ") : "—"),
              h("td", null, formatDate(invite.created_on)),
              h("td", null, state(invite)),
              h("td", null, open ? withdraw : null),
            ];
          },
          { flat: true },
        ),
        page.next_token ? h("p", { class: "muted small" }, `Showing the first ${PAGE_SIZE}.`) : null,
      );
    } catch (error) {
      if (!leftScreen(error)) replace(listing, errorBox(error));
    }
  };
  all.input.addEventListener("change", () => void show());

  const invite = h("button", { type: "button", class: "primary" }, "Invite someone");
  invite.addEventListener("click", () => inviteDialog(org, base, roles, show));

  const element = section(
    "Invitations",
    h(
      "p",
      { class: "muted" },
      "Invite people by e-mail address: they sign up (or in) with that address and join with the roles you choose, even if this organization takes no sign-ups. An invitation lasts 7 days and works once.",
    ),
    h("div", { class: "actions" }, invite),
    all.element,
    listing,
    failure,
  );
  return { element, ready: show() };
}

function inviteDialog(
  org: { code: string; name: string },
  base: string,
  roles: Role[],
  refresh: () => Promise<void>,
): void {
  const email = inviteeFields();
  const send = checkbox({
    label: "Send the invitation by e-mail",
    name: "send_email",
    checked: true,
    hint: "Otherwise, copy the link shown next and send it yourself.",
  });
  const picks = roles.map((role) => ({
    role,
    box: checkbox({ label: role.name, name: `role-${role.key}` }),
  }));
  formDialog({
    title: `Invite someone to ${org.name}`,
    submitLabel: "Invite",
    fields: [email.address],
    content: [
      email.address.element,
      email.first.element,
      email.last.element,
      picks.length
        ? h(
            "fieldset",
            null,
            h("legend", null, "Roles"),
            picks.map((p) => p.box.element),
          )
        : h("p", { class: "muted" }, "There are no roles yet; the invitee will get the default roles."),
      send.element,
    ],
    submit: async (dialog) => {
      const created = await api<{ invite: CreatedInvite }>("POST", base, {
        email: email.address.input.value.trim(),
        first_name: email.first.input.value.trim() || null,
        last_name: email.last.input.value.trim() || null,
        roles: picks.filter((p) => p.box.input.checked).map((p) => p.role.key),
        send_email: send.input.checked,
      });
      dialog.close();
      await refresh();
      linkDialog(created.invite);
    },
  });
}

/** The new invitation's link, shown this once. */
function linkDialog(invite: CreatedInvite): void {
  secretDialog({
    title: `Invitation for ${invite.email}`,
    description: invite.is_sent
      ? "The invitation is on its way by e-mail. This is its link, shown only now."
      : "Send this link to the invitee. It is shown only now: Latchkey keeps no copy it could show again.",
    secret: { label: "Invitation link", value: invite.invite_link },
    lostIfUncopied: !invite.is_sent,
  });
}

function inviteeFields() {
  const name = (label: string, key: string) =>
    field({
      label,
      name: key,
      validate: (v) => (v.trim().length > 64 ? "Use at most 64 characters" : undefined),
    });
  return {
    address: field({
      label: "Email address",
      name: "email",
      type: "email",
      required: true,
      validate: (v) => (EMAIL.test(v.trim()) ? undefined : "Enter an email address like name@example.com"),
    }),
    first: name("First name (optional)", "first_name"),
    last: name("Last name (optional)", "last_name"),
  };
}
