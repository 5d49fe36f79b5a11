// SCIM 2.0 wire rules shared by the Users and Groups endpoints: the error message (RFC 7644 §3.12),
// list responses and paging (§3.4.2), and the one filter form identity providers send when they look
// a resource up before creating it (`userName eq "…"`, §3.4.2.2). A filter this server cannot
// evaluate is answered 400 invalidFilter, never ignored: an IdP that believed an ignored filter
// would take the first user of an unfiltered list for the one it asked for.

export const SCHEMA = {
  user: "urn:ietf:params:scim:schemas:core:2.0:User",
  enterpriseUser: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
  group: "urn:ietf:params:scim:schemas:core:2.0:Group",
  listResponse: "urn:ietf:params:scim:api:messages:2.0:ListResponse",
  patchOp: "urn:ietf:params:scim:api:messages:2.0:PatchOp",
  error: "urn:ietf:params:scim:api:messages:2.0:Error",
} as const;

export const SCIM_CONTENT_TYPE = "application/scim+json; charset=utf-8";
/** The most resources one list answers (ServiceProviderConfig's filter.maxResults). */
export const MAX_RESULTS = 200;
/** PATCH operations per request: Entra and Okta send a handful; a thousand is an attack. */
export const MAX_OPERATIONS = 100;

/** RFC 7644 §3.12 scimType values this server uses. */
export type ScimType =
  | "invalidFilter"
  | "uniqueness"
  | "invalidSyntax"
  | "invalidPath"
  | "noTarget"
  | "invalidValue"
  | "mutability"
  | "tooMany";

export class ScimError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly scimType?: ScimType,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = "ScimError";
  }

  /** `status` is a string in SCIM's error message (RFC 7644 §3.12). */
  toJSON(): Record<string, unknown> {
    return {
      schemas: [SCHEMA.error],
      status: String(this.status),
      ...(this.scimType ? { scimType: this.scimType } : {}),
      detail: this.message,
    };
  }
}

export const badValue = (detail: string) => new ScimError(400, detail, "invalidValue");

export interface ListResponse<T> {
  schemas: string[];
  totalResults: number;
  startIndex: number;
  itemsPerPage: number;
  Resources: T[];
}

export function listResponse<T>(resources: T[], total: number, startIndex: number): ListResponse<T> {
  return {
    schemas: [SCHEMA.listResponse],
    totalResults: total,
    startIndex,
    itemsPerPage: resources.length,
    Resources: resources,
  };
}

/** startIndex is 1-based, below 1 means 1; count below 0 means 0 (RFC 7644 §3.4.2.4). */
export function paging(query: Record<string, unknown>): { startIndex: number; count: number } {
  const integer = (name: string, fallback: number): number => {
    const raw = query[name];
    if (raw === undefined || raw === "") return fallback;
    if (typeof raw !== "string" || !/^-?\d{1,9}$/.test(raw)) throw badValue(`${name} must be an integer`);
    return Number(raw);
  };
  const startIndex = Math.max(1, integer("startIndex", 1));
  const count = Math.min(MAX_RESULTS, Math.max(0, integer("count", MAX_RESULTS)));
  return { startIndex, count };
}

export interface EqualityFilter {
  /** The attribute as the resource type names it (matched case-insensitively, RFC 7643 §2.1). */
  attribute: string;
  value: string;
}

// attrPath SP "eq" SP compValue, with compValue a JSON string (RFC 7644 §3.4.2.2, Figure 1).
const FILTER = /^\s*([A-Za-z][A-Za-z0-9_.:-]*)\s+([A-Za-z]{2})\s+("(?:[^"\\\p{Cc}]|\\.)*")\s*$/u;

/**
 * The filter, when it is `<attribute> eq "<text>"` with an attribute `allowed` names; 400
 * invalidFilter otherwise (another operator, and/or, a value path, an attribute not filterable).
 */
export function parseFilter(raw: unknown, allowed: readonly string[]): EqualityFilter | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== "string" || raw.length > 1000)
    throw new ScimError(400, "filter is not valid", "invalidFilter");
  const match = FILTER.exec(raw);
  if (!match)
    throw new ScimError(400, `Only the filter form: attribute eq "value" is supported`, "invalidFilter");
  const [, path, operator, literal] = match as unknown as [string, string, string, string];
  if (operator.toLowerCase() !== "eq")
    throw new ScimError(400, `The operator ${operator} is not supported; use eq`, "invalidFilter");
  // A filter may name an attribute by its full URN ("urn:…:User:userName", RFC 7644 §3.10).
  const bare = path.toLowerCase().replace(/^urn:ietf:params:scim:schemas:core:2\.0:(user|group):/, "");
  const attribute = allowed.find((a) => a.toLowerCase() === bare);
  if (!attribute)
    throw new ScimError(
      400,
      `Filtering on ${path} is not supported (only ${allowed.join(", ")})`,
      "invalidFilter",
    );
  let value: unknown;
  try {
    value = JSON.parse(literal);
  } catch {
    throw new ScimError(400, "The filter's value is not a valid string", "invalidFilter");
  }
  return { attribute, value: value as string };
}

/** A resource's meta (RFC 7643 §3.1); the version is a weak ETag of the row's revision. */
export function meta(
  resourceType: "User" | "Group",
  location: string,
  created: number,
  modified: number,
  version: number,
) {
  return {
    resourceType,
    created: new Date(created * 1000).toISOString(),
    lastModified: new Date(modified * 1000).toISOString(),
    location,
    version: `W/"${version}"`,
  };
}

/** A plain JSON object (not an array, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The value of `name` in `object`, matching the name case-insensitively (RFC 7643 §2.1). */
export function attribute(object: Record<string, unknown>, name: string): unknown {
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(object)) if (key.toLowerCase() === lower) return value;
  return undefined;
}

/** Text the IdP sends for a single-valued string: bounded, no control characters. */
export function text(value: unknown, name: string, max = 256): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") throw badValue(`${name} must be a string`);
  if (value.length > max) throw badValue(`${name} must be at most ${max} characters`);
  if (/\p{Cc}/u.test(value)) throw badValue(`${name} must not contain control characters`);
  return value;
}

/**
 * A boolean, also as Entra ID sends it: the strings "True" and "False" in PATCH values (Microsoft's
 * documented SCIM quirk; any letter case).
 */
export function boolean(value: unknown, name: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "boolean") return value;
  if (typeof value === "string" && /^(true|false)$/i.test(value)) return value.toLowerCase() === "true";
  throw badValue(`${name} must be a boolean`);
}
