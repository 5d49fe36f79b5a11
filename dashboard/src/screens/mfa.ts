// Multi-factor authentication and passkeys (issue 22) in the dashboard: the environment's MFA and
// passkey policies (Settings › Authentication; GET/PUT /api/v1/mfa, /api/v1/passkey), a user's
// second factors with a reset and their passkeys with Remove (their page; /api/v1/users/{id}/mfa…,
// …/passkeys…) and an organization's "Require
// MFA" (its page; is_enforce_mfa on PATCH /api/v1/organization/{code}).
import { api } from "../api.js";
import { checkbox, formatDate, h, notify, replace, selectField, uid } from "../dom.js";
import { navigate, section } from "../view.js";
import { listTable, pageForm, saveOnToggle, visuallyHidden, whenConfirmed } from "../widgets.js";

type FactorType = "mfa:authenticator_app" | "mfa:email" | "mfa:sms";

interface MfaSettings {
  policy: "off" | "optional" | "required";
  enabled_factors: FactorType[];
  is_recovery_codes_enabled: boolean;
}

interface PasskeySettings {
  policy: "off" | "optional" | "mandatory";
}

export interface Factor {
  id: string;
  type: string;
  name: string;
  is_verified: boolean;
  usage_count: number;
  created_on: string;
  last_used_on?: string;
}

const FACTORS: { type: FactorType; label: string; hint: string }[] = [
  {
    type: "mfa:authenticator_app",
    label: "Authenticator app",
    hint: "A 6-digit code from an app such as 1Password, Google Authenticator or Authy, set up with a QR code.",
  },
  {
    type: "mfa:email",
    label: "Emailed code",
    hint: "A code sent to the person's email address. Not a second factor for someone who signed in with an emailed code.",
  },
  {
    type: "mfa:sms",
    label: "Text message code",
    hint: "A code sent by text message to the person's phone number.",
  },
];

const FACTOR_NAMES: Record<string, string> = {
  authenticator_app: "Authenticator app",
  email: "Emailed code",
  sms: "Text message code",
};

/** Settings › Authentication's two sections, loaded together. */
export async function mfaSettingsSections(): Promise<HTMLElement[]> {
  const [{ mfa }, passkey] = await Promise.all([
    api<{ mfa: MfaSettings }>("GET", "/mfa"),
    api<PasskeySettings>("GET", "/passkey"),
  ]);
  return [mfaSection(mfa), passkeySection(passkey)];
}

function mfaSection(current: MfaSettings): HTMLElement {
  const policy = selectField({
    label: "Policy",
    name: "mfa_policy",
    value: current.policy,
    choices: [
      { value: "off", label: "Off" },
      { value: "optional", label: "Optional: offered after sign-in" },
      { value: "required", label: "Required: everyone proves a second factor" },
    ],
    hint: "Organizations that require MFA ask their members for it whatever this says.",
  });
  const boxes = FACTORS.map((factor) => ({
    factor,
    ...checkbox({
      label: factor.label,
      name: factor.type,
      checked: current.enabled_factors.includes(factor.type),
      hint: factor.hint,
    }),
  }));
  const recovery = checkbox({
    label: "Recovery codes",
    name: "recovery_codes",
    checked: current.is_recovery_codes_enabled,
    hint: "Ten single-use codes shown once when an authenticator app is set up, for when the phone is lost.",
  });
  const errorId = uid("mfa-factors-error");
  const problem = h("p", { id: errorId, class: "field-error" });
  const factors = h(
    "fieldset",
    { "aria-describedby": errorId },
    h("legend", null, "Second factors people can use"),
    boxes.map((box) => box.element),
  );
  // The server refuses it too: a policy that asks for a factor with none enabled cannot be met.
  const atLeastOne = {
    check() {
      const ok = policy.input.value === "off" || boxes.some((box) => box.input.checked);
      problem.textContent = ok ? "" : "Turn on at least one factor, or set the policy to Off.";
      for (const box of boxes) {
        if (ok) box.input.removeAttribute("aria-invalid");
        else box.input.setAttribute("aria-invalid", "true");
      }
      return ok;
    },
    focus: () => boxes[0]!.input.focus(),
  };
  for (const control of [policy.input, ...boxes.map((box) => box.input)]) {
    control.addEventListener("change", () => {
      if (problem.textContent) atLeastOne.check();
    });
  }
  const form = pageForm({
    content: [policy.element, factors, problem, recovery.element],
    fields: [atLeastOne],
    submitLabel: "Update MFA settings",
    submit: async () => {
      await api("PUT", "/mfa", {
        policy: policy.input.value,
        enabled_factors: boxes.filter((box) => box.input.checked).map((box) => box.factor.type),
        is_recovery_codes_enabled: recovery.input.checked,
      });
      notify("MFA settings saved");
    },
  });
  return section("Multi-factor authentication", form);
}

function passkeySection(current: PasskeySettings): HTMLElement {
  const policy = selectField({
    label: "Passkey policy",
    name: "passkey_policy",
    value: current.policy,
    choices: [
      { value: "off", label: "Off" },
      { value: "optional", label: "Optional: people may add a passkey" },
      { value: "mandatory", label: "Mandatory: people add a passkey after their first password sign-in" },
    ],
    hint: "Organizations can override this through the Management API.",
  });
  const form = pageForm({
    content: [policy.element],
    fields: [],
    submitLabel: "Update passkey policy",
    submit: async () => {
      await api("PUT", "/passkey", { policy: policy.input.value });
      notify("Passkey policy saved");
    },
  });
  return section("Passkeys", form);
}

/** A user's second factors, each with a reset, and a reset of all; either signs the user out. */
export function userFactorsSection(userId: string, factors: Factor[]): HTMLElement {
  const failure = h("div");
  const body = h("div");
  const path = `/users/${encodeURIComponent(userId)}/mfa`;
  const question = (what: string) => ({
    title: `Reset ${what}?`,
    message:
      "It is removed (an authenticator app takes its recovery codes with it) and the user is signed out everywhere. Where MFA is required, they set up a factor again at their next sign-in.",
    confirmLabel: "Reset",
    danger: true,
  });
  // The reset ended the user's sessions too: the page is drawn again so its Sessions say so.
  const reload = () => {
    notify("MFA reset; the user was signed out everywhere");
    navigate(location.pathname, { replace: true });
  };
  if (factors.length === 0) {
    replace(body, h("p", { class: "muted" }, "No second factors set up."));
  } else {
    const resetAll = h("button", { type: "button", class: "secondary" }, "Reset all factors");
    whenConfirmed(resetAll, question("all of this user's factors"), failure, async () => {
      await api("DELETE", path);
      reload();
    });
    replace(
      body,
      listTable(
        "Second factors",
        ["Factor", "Sent to or named", "Set up", "Uses", "Last used", visuallyHidden("Actions")],
        factors,
        (factor) => {
          const label = FACTOR_NAMES[factor.type] ?? factor.type;
          const reset = h(
            "button",
            { type: "button", class: "secondary", "aria-label": `Reset ${label}` },
            "Reset",
          );
          whenConfirmed(reset, question(label), failure, async () => {
            await api("DELETE", `${path}/${encodeURIComponent(factor.id)}`);
            reload();
          });
          return [
            h("td", null, label, factor.is_verified ? null : h("span", { class: "badge" }, "Not confirmed")),
            h("td", null, factor.name),
            h("td", null, formatDate(factor.created_on)),
            h("td", null, String(factor.usage_count)),
            h("td", null, formatDate(factor.last_used_on)),
            h("td", null, reset),
          ];
        },
        { flat: true },
      ),
      h("div", { class: "actions" }, resetAll),
    );
  }
  return section("Multi-factor authentication", body, failure);
}

export interface Passkey {
  id: string;
  name: string;
  created_on: string;
  last_used_on: string | null;
  device_type: string;
  is_backed_up: boolean;
}

/**
 * A user's passkeys (Latchkey's GET /api/v1/users/{id}/passkeys), each removable behind a
 * confirmation; removing one signs the user out everywhere, as a factor reset does.
 */
export function userPasskeysSection(userId: string, passkeys: Passkey[]): HTMLElement {
  const failure = h("div");
  if (passkeys.length === 0) return section("Passkeys", h("p", { class: "muted" }, "No passkeys."), failure);
  const path = `/users/${encodeURIComponent(userId)}/passkeys`;
  return section(
    "Passkeys",
    listTable(
      "Passkeys",
      ["Name", "Kind", "Added", "Last used", visuallyHidden("Actions")],
      passkeys,
      (passkey) => {
        const remove = h(
          "button",
          { type: "button", class: "secondary", "aria-label": `Remove the passkey ${passkey.name}` },
          "Remove",
        );
        whenConfirmed(
          remove,
          {
            title: `Remove the passkey ${passkey.name}?`,
            message:
              "The user can no longer sign in with it, and is signed out everywhere. They can add a passkey again from their account page.",
            confirmLabel: "Remove passkey",
            danger: true,
          },
          failure,
          async () => {
            await api("DELETE", `${path}/${encodeURIComponent(passkey.id)}`);
            notify("Passkey removed; the user was signed out everywhere");
            // The page is drawn again so its Sessions say so.
            navigate(location.pathname, { replace: true });
          },
        );
        return [
          h("td", null, passkey.name),
          // A synced passkey lives on in the user's other devices' password manager too.
          h(
            "td",
            null,
            passkey.device_type === "multiDevice"
              ? passkey.is_backed_up
                ? "Synced"
                : "Syncable, not yet synced"
              : "This device only",
          ),
          h("td", null, formatDate(passkey.created_on)),
          h("td", null, passkey.last_used_on ? formatDate(passkey.last_used_on) : "Never"),
          h("td", null, remove),
        ];
      },
      { flat: true },
    ),
    failure,
  );
}

/** An organization's "Require MFA", saved as it is ticked. */
export async function organizationMfaSection(orgCode: string): Promise<HTMLElement> {
  const path = `/organizations/${encodeURIComponent(orgCode)}/mfa`;
  const { mfa } = await api<{ mfa: { is_enforce_mfa: boolean } }>("GET", path);
  const failure = h("div");
  const required = checkbox({
    label: "Require MFA",
    name: "is_enforce_mfa",
    checked: mfa.is_enforce_mfa,
    hint: "Members signing in to this organization prove a second factor (setting one up first if they have none), whatever the environment's policy.",
  });
  saveOnToggle(required.input, failure, async (wanted) => {
    await api("PATCH", `/organization/${encodeURIComponent(orgCode)}`, { is_enforce_mfa: wanted });
    notify(wanted ? "MFA required for this organization" : "MFA no longer required for this organization");
  });
  return section("Multi-factor authentication", required.element, failure);
}
