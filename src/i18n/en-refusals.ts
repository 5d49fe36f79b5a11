// Why a known person may not be signed in to this application (organizationRefusal, part of
// en.ts): the OAuth layer keeps its English reason (RFC 6749 §4.1.2.1 error_description); a page
// shows it in the sign-in's language through pageSignInRefusal.

export const enRefusals = {
  "refusal.not_member": "This account is not a member of the organization you are signing in to.",
  "refusal.no_access_role":
    "Your account does not have a role that may use this application. Ask an administrator of your organization for access.",
} as const;
