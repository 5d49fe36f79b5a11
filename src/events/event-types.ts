// The events Latchkey publishes, with Kinde's names and `data` shapes (the types of Kinde's
// `@kinde/webhooks` package are the reference). GET /api/v1/event_types lists them; a webhook
// subscribes to some of them by code.
import { createHash } from "node:crypto";

const text = { type: "string" } as const;
const flag = { type: "boolean" } as const;
const nullableText = { type: ["string", "null"] } as const;

function object(properties: Record<string, unknown>): Record<string, unknown> {
  return { type: "object", properties, required: Object.keys(properties) };
}

const userSchema = object({
  id: text,
  email: nullableText,
  first_name: nullableText,
  last_name: nullableText,
  username: nullableText,
  phone: nullableText,
  is_suspended: flag,
  is_password_reset_requested: flag,
  organizations: {
    type: "array",
    items: object({
      code: text,
      roles: { type: ["array", "null"], items: text },
      permissions: { type: ["array", "null"], items: object({ id: text, key: text }) },
    }),
  },
});
const idOnly = object({ id: text });
const organizationSchema = object({
  code: text,
  name: text,
  handle: nullableText,
  external_id: nullableText,
  is_allow_registrations: flag,
});
const roleSchema = object({
  id: text,
  key: text,
  name: text,
  description: nullableText,
  is_default_role: flag,
});
const permissionSchema = object({ id: text, key: text, name: text, description: nullableText });
const passkeySchema = object({ id: text, name: text, device_type: text, backed_up: flag });

interface EventTypeDefinition {
  code: string;
  name: string;
  /** The JSON Schema of the event's `data`. */
  schema: Record<string, unknown>;
}

const DEFINITIONS: readonly EventTypeDefinition[] = [
  {
    code: "user.created",
    name: "User created",
    // Latchkey's addition (Kinde's data has the user only): for an account created at a first
    // sign-in through a connection, the provider account it was made with.
    schema: {
      ...object({ user: userSchema }),
      properties: {
        user: userSchema,
        identity: object({ id: text, type: text, connection_id: text, name: text }),
      },
    },
  },
  { code: "user.updated", name: "User updated", schema: object({ user: userSchema }) },
  { code: "user.deleted", name: "User deleted", schema: object({ user: idOnly }) },
  { code: "user.authenticated", name: "User authenticated", schema: object({ user: idOnly }) },
  {
    code: "user.authentication_failed",
    name: "User authentication failed",
    schema: object({ user: idOnly }),
  },
  {
    code: "organization.created",
    name: "Organization created",
    schema: object({ organization: organizationSchema }),
  },
  {
    code: "organization.updated",
    name: "Organization updated",
    schema: object({ organization: organizationSchema }),
  },
  {
    code: "organization.deleted",
    name: "Organization deleted",
    schema: object({ organization: object({ code: text }) }),
  },
  { code: "role.created", name: "Role created", schema: object({ role: roleSchema }) },
  { code: "role.updated", name: "Role updated", schema: object({ role: roleSchema }) },
  { code: "role.deleted", name: "Role deleted", schema: object({ role: idOnly }) },
  {
    code: "permission.created",
    name: "Permission created",
    schema: object({ permission: permissionSchema }),
  },
  {
    code: "permission.updated",
    name: "Permission updated",
    schema: object({ permission: permissionSchema }),
  },
  { code: "permission.deleted", name: "Permission deleted", schema: object({ permission: idOnly }) },
  // Latchkey's (Kinde has no passkey events): a user's passkey was registered or removed.
  { code: "passkey.added", name: "Passkey added", schema: object({ user: idOnly, passkey: passkeySchema }) },
  {
    code: "passkey.removed",
    name: "Passkey removed",
    schema: object({ user: idOnly, passkey: passkeySchema }),
  },
];

export type EventType =
  | "user.created"
  | "user.updated"
  | "user.deleted"
  | "user.authenticated"
  | "user.authentication_failed"
  | "organization.created"
  | "organization.updated"
  | "organization.deleted"
  | "role.created"
  | "role.updated"
  | "role.deleted"
  | "permission.created"
  | "permission.updated"
  | "permission.deleted"
  | "passkey.added"
  | "passkey.removed";

/**
 * Sent to one endpoint only, on an administrator's request (the dashboard's "send a test event"):
 * no webhook subscribes to it and it has no entry in the list of event types.
 */
export const TEST_EVENT_TYPE = "webhook.test";

export interface EventTypeEntry {
  id: string;
  code: EventType;
  name: string;
  origin: "latchkey";
  schema: Record<string, unknown>;
}

/** Stable opaque ids (the same on every instance and every start). */
function eventTypeId(code: string): string {
  return `event_type_${createHash("sha256").update(code).digest("hex").slice(0, 32)}`;
}

export const EVENT_TYPES: readonly EventTypeEntry[] = DEFINITIONS.map((d) => ({
  id: eventTypeId(d.code),
  code: d.code as EventType,
  name: d.name,
  origin: "latchkey",
  schema: d.schema,
}));

const CODES = new Set<string>(EVENT_TYPES.map((t) => t.code));

/**
 * The Management API scopes that read what an event of this type carries. Subscribing to an event
 * (or reading one) hands its data to the caller, so a machine must hold these scopes too: otherwise
 * `create:webhooks` alone would read every user's profile — a narrow scope reaching past itself,
 * the class of bug the security review closed elsewhere. user.created and user.updated carry each
 * membership's roles and permissions, which read:users alone does not show.
 */
export function readScopesOf(type: string): readonly string[] {
  if (type === "user.created" || type === "user.updated")
    return ["read:users", "read:organization_user_roles", "read:organization_user_permissions"];
  const prefix = type.slice(0, type.indexOf("."));
  const scope = {
    user: "read:users",
    organization: "read:organizations",
    role: "read:roles",
    permission: "read:permissions",
    passkey: "read:users",
  }[prefix];
  return scope ? [scope] : [];
}

export function isEventType(value: string): value is EventType {
  return CODES.has(value);
}
