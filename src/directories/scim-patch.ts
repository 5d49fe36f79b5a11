// SCIM PATCH (RFC 7644 §3.5.2) applied to a resource's JSON: add, replace and remove, with paths
// `attr`, `attr.sub`, `attr[sub eq "x"]`, `attr[sub eq "x"].sub` and schema-URN prefixes
// (`urn:…:enterprise:2.0:User:employeeNumber`). The caller validates the whole resource afterwards
// exactly as for a PUT, so a PATCH can never store what a PUT would refuse.
//
// Quirks of the IdPs that call this, accepted on purpose:
// - Entra ID sends op names capitalised ("Replace") and operations without a path whose value
//   keys are paths themselves ({"name.givenName": "Ada"}, {"active": "False"}).
// - Entra ID removes group members with {"op":"Remove","path":"members","value":[{"value":id}]}.
// - A replace of `emails[type eq "work"].value` on a user without a work address adds one (Entra
//   sends it for a new address); RFC 7644 §3.5.2.3 would answer noTarget.
import { attribute, isObject, MAX_OPERATIONS, SCHEMA, ScimError } from "./scim-protocol.js";

export type PatchOperation = { op: "add" | "replace" | "remove"; path?: string; value?: unknown };

type Json = Record<string, unknown>;

interface Path {
  /** An extension schema's URN the attribute lives under, e.g. the enterprise user's. */
  container?: string;
  attr: string;
  filter?: { attr: string; value: string };
  sub?: string;
}

const CORE_URN = /^urn:ietf:params:scim:schemas:core:2\.0:(?:user|group):/i;
const EXTENSION_URN = /^(urn:ietf:params:scim:schemas:extension:[A-Za-z0-9:._-]+:2\.0:[A-Za-z]+):(.+)$/i;
const NAME = "[A-Za-z$][A-Za-z0-9_$-]*";
const PATH = new RegExp(
  `^(${NAME})(?:\\[\\s*(${NAME})\\s+eq\\s+("(?:[^"\\\\]|\\\\.)*")\\s*\\])?(?:\\.(${NAME}))?$`,
  "i",
);

const invalidSyntax = (detail: string) => new ScimError(400, detail, "invalidSyntax");
const invalidPath = (detail: string) => new ScimError(400, detail, "invalidPath");

/** The operations of a PatchOp message, or 400 invalidSyntax. */
export function parsePatch(body: unknown): PatchOperation[] {
  if (!isObject(body)) throw invalidSyntax("The body must be a PatchOp message");
  const schemas = attribute(body, "schemas");
  if (!Array.isArray(schemas) || !schemas.includes(SCHEMA.patchOp))
    throw invalidSyntax(`schemas must contain ${SCHEMA.patchOp}`);
  const operations = attribute(body, "Operations");
  if (!Array.isArray(operations) || operations.length === 0)
    throw invalidSyntax("Operations must be a non-empty array");
  if (operations.length > MAX_OPERATIONS)
    throw new ScimError(400, `At most ${MAX_OPERATIONS} operations per request`, "tooMany");
  return operations.map((raw, index) => {
    if (!isObject(raw)) throw invalidSyntax(`Operations[${index}] must be an object`);
    const op = attribute(raw, "op");
    const kind = typeof op === "string" ? op.toLowerCase() : "";
    if (kind !== "add" && kind !== "replace" && kind !== "remove")
      throw invalidSyntax(`Operations[${index}].op must be add, replace or remove`);
    const path = attribute(raw, "path");
    if (path !== undefined && (typeof path !== "string" || path.length === 0 || path.length > 300))
      throw invalidPath(`Operations[${index}].path is not valid`);
    const value = attribute(raw, "value");
    if (kind !== "remove" && value === undefined) throw invalidSyntax(`Operations[${index}] needs a value`);
    if (kind === "remove" && path === undefined)
      throw new ScimError(400, `Operations[${index}]: remove needs a path`, "noTarget");
    if (path === undefined && !isObject(value))
      throw invalidSyntax(`Operations[${index}]: without a path the value must be an object`);
    return { op: kind, path: path as string | undefined, value };
  });
}

function parsePath(raw: string): Path {
  let rest = raw.trim().replace(CORE_URN, "");
  let container: string | undefined;
  const extension = EXTENSION_URN.exec(rest);
  if (extension) {
    container = extension[1];
    rest = extension[2]!;
  }
  const match = PATH.exec(rest);
  if (!match) throw invalidPath(`The path ${raw} is not supported`);
  const [, attr, filterAttr, literal, sub] = match;
  let filter: Path["filter"];
  if (filterAttr && literal) {
    const value = JSON.parse(literal) as unknown;
    if (typeof value !== "string") throw invalidPath(`The path ${raw} is not supported`);
    filter = { attr: filterAttr, value };
  }
  return { container, attr: attr!, filter, sub };
}

/** The key `name` has in `object` (any letter case), or `name` when it has none yet. */
function keyOf(object: Json, name: string): string {
  const lower = name.toLowerCase();
  return Object.keys(object).find((k) => k.toLowerCase() === lower) ?? name;
}

function set(object: Json, name: string, value: unknown): void {
  object[keyOf(object, name)] = value;
}

function remove(object: Json, name: string): void {
  delete object[keyOf(object, name)];
}

/** An element of a multi-valued attribute matches `[attr eq "value"]`; `value` is caseExact. */
function matches(element: unknown, filter: NonNullable<Path["filter"]>): boolean {
  if (!isObject(element)) return false;
  const found = attribute(element, filter.attr);
  if (typeof found !== "string") return false;
  return filter.attr.toLowerCase() === "value"
    ? found === filter.value
    : found.toLowerCase() === filter.value.toLowerCase();
}

/** The value of a sub-attribute of a multi-valued element's `value`, for de-duplication. */
const memberValue = (element: unknown) => (isObject(element) ? attribute(element, "value") : undefined);

function applyAt(document: Json, op: PatchOperation["op"], path: Path, value: unknown): void {
  let target = document;
  if (path.container) {
    const key = keyOf(document, path.container);
    if (!isObject(document[key])) {
      if (op === "remove") return;
      document[key] = {};
    }
    target = document[key] as Json;
  }
  const current = attribute(target, path.attr);
  if (path.filter) {
    const filter = path.filter;
    const list = Array.isArray(current) ? [...current] : [];
    const hits = list.filter((e) => matches(e, filter));
    if (op === "remove") {
      if (path.sub) for (const hit of hits) remove(hit as Json, path.sub);
      set(target, path.attr, path.sub ? list : list.filter((e) => !matches(e, filter)));
      return;
    }
    if (hits.length === 0) {
      const element: Json = { [filter.attr]: filter.value };
      if (path.sub) element[path.sub] = value;
      else if (isObject(value)) Object.assign(element, value);
      else throw new ScimError(400, "The value must be an object", "invalidValue");
      list.push(element);
    } else {
      for (const hit of hits) {
        if (path.sub) set(hit as Json, path.sub, value);
        else if (isObject(value)) Object.assign(hit as Json, value);
        else throw new ScimError(400, "The value must be an object", "invalidValue");
      }
    }
    set(target, path.attr, list);
    return;
  }
  if (path.sub) {
    const inner = isObject(current) ? { ...current } : {};
    if (op === "remove") remove(inner, path.sub);
    else set(inner, path.sub, value);
    set(target, path.attr, inner);
    return;
  }
  if (op === "remove") {
    // Entra ID: remove the listed members (values) rather than the whole attribute.
    if (Array.isArray(value) && Array.isArray(current)) {
      const gone = new Set(value.map(memberValue));
      set(
        target,
        path.attr,
        current.filter((e) => !gone.has(memberValue(e))),
      );
    } else remove(target, path.attr);
    return;
  }
  if (op === "add" && Array.isArray(current) && Array.isArray(value)) {
    const present = new Set<unknown>(current.map(memberValue).filter((v) => v !== undefined));
    set(target, path.attr, [
      ...current,
      ...value.filter((e) => !present.has(memberValue(e)) || memberValue(e) === undefined),
    ]);
  } else if (op === "add" && isObject(current) && isObject(value)) {
    set(target, path.attr, { ...current, ...value });
  } else {
    set(target, path.attr, value);
  }
}

/** The resource after the operations, in order (a copy; `resource` is left as it was). */
export function applyPatch(resource: Json, operations: readonly PatchOperation[]): Json {
  const document = structuredClone(resource);
  for (const operation of operations) {
    if (operation.path !== undefined) {
      applyAt(document, operation.op, parsePath(operation.path), operation.value);
      continue;
    }
    // No path: each attribute of the value is set (RFC 7644 §3.5.2.1/.3); Entra ID puts paths there.
    for (const [key, value] of Object.entries(operation.value as Json)) {
      if (EXTENSION_URN.test(`${key}:x`) && isObject(value) && !EXTENSION_URN.test(key)) {
        for (const [inner, innerValue] of Object.entries(value))
          applyAt(document, operation.op, parsePath(`${key}:${inner}`), innerValue);
      } else {
        applyAt(document, operation.op, parsePath(key), value);
      }
    }
  }
  return document;
}
