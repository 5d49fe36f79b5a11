// The organization page's Sessions block (issue 19): Kinde's UpdateOrganizationSessions, read back
// through Latchkey's GET. What each setting does, and that the strictest lifetime wins over the
// application's, is src/sign-in/session-lifetime.ts on the server.
import { api } from "../api.js";
import { checkbox, field, formatDuration, h, notify, selectField } from "../dom.js";
import { section } from "../view.js";
import { pageForm } from "../widgets.js";

interface OrganizationSessions {
  is_use_org_sso_session_policy: boolean;
  sso_session_persistence_mode: "persistent" | "non_persistent" | null;
  is_use_org_authenticated_session_lifetime: boolean;
  authenticated_session_lifetime: number | null;
}

/** The environment's absolute session lifetime (14 days): no owner may go past it. */
export const MAX_SESSION_LIFETIME = 1_209_600;

/** Blank allowed when `optional`; otherwise whole seconds from a minute to 14 days. */
export function sessionLifetimeProblem(value: string, optional: boolean): string | undefined {
  const text = value.trim();
  if (text === "") return optional ? undefined : "Enter a number of seconds";
  if (!/^\d+$/.test(text)) return "Enter a whole number of seconds";
  const n = Number(text);
  if (n < 60 || n > MAX_SESSION_LIFETIME) return "Between 60 seconds and 14 days (1209600)";
  return undefined;
}

export async function organizationSessionsSection(orgCode: string): Promise<HTMLElement> {
  const path = `/organizations/${encodeURIComponent(orgCode)}/sessions`;
  const current = await api<OrganizationSessions>("GET", path);
  const useLifetime = checkbox({
    label: "Limit how long a sign-in lasts here",
    name: "is_use_org_authenticated_session_lifetime",
    checked: current.is_use_org_authenticated_session_lifetime,
    hint: "Members signing in to this organization sign in again once their session is older than this. The stricter of this and an application's lifetime applies.",
  });
  const lifetime = field({
    label: "Session lifetime (seconds)",
    name: "authenticated_session_lifetime",
    type: "number",
    min: 60,
    max: MAX_SESSION_LIFETIME,
    value:
      current.authenticated_session_lifetime === null ? "" : String(current.authenticated_session_lifetime),
    hint:
      current.authenticated_session_lifetime === null
        ? "At most 14 days (1209600)."
        : `At most 14 days (now ${formatDuration(current.authenticated_session_lifetime)}).`,
    validate: (value) => sessionLifetimeProblem(value, !useLifetime.input.checked),
  });
  const usePolicy = checkbox({
    label: "Use this organization's session cookie policy",
    name: "is_use_org_sso_session_policy",
    checked: current.is_use_org_sso_session_policy,
  });
  const mode = selectField({
    label: "Session cookie",
    name: "sso_session_persistence_mode",
    value: current.sso_session_persistence_mode ?? "persistent",
    choices: [
      { value: "persistent", label: "Persistent: kept for 14 days" },
      { value: "non_persistent", label: "Browser session: ends when the browser closes" },
    ],
  });
  const form = pageForm({
    content: [useLifetime.element, lifetime.element, usePolicy.element, mode.element],
    fields: [lifetime],
    submitLabel: "Save session settings",
    submit: async () => {
      const seconds = lifetime.input.value.trim();
      await api("PATCH", path, {
        is_use_org_authenticated_session_lifetime: useLifetime.input.checked,
        ...(seconds === "" ? {} : { authenticated_session_lifetime: Number(seconds) }),
        is_use_org_sso_session_policy: usePolicy.input.checked,
        sso_session_persistence_mode: mode.input.value,
      });
      notify("Session settings saved");
    },
  });
  return section(
    "Sessions",
    h(
      "p",
      { class: "muted" },
      "Overrides of the environment's session settings for sign-ins into this organization.",
    ),
    form,
  );
}
