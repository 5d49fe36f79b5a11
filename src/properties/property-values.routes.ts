// Management API: property values on users (/users/{user_id}/properties), organizations
// (/organizations/{org_code}/properties) and applications (/applications/{application_id}/properties),
// with Kinde's quirks kept: users and organizations set one value with ?value= and several with a
// PATCH body, applications one value with a JSON body (text or a boolean) and have no PATCH. A read
// lists every property of the owner's context with its value (null when unset). An empty value or
// a null clears it. A value must fit its property's type; a PATCH is all or nothing.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { findApplication, findChangeableApplication } from "../applications/find-application.js";
import { ApiError } from "../management/errors.js";
import { notFound, READ_ERRORS, WRITE_ERRORS } from "../management/responses.schemas.js";
import { SuccessResponse, success } from "../management/schemas.js";
import { findOrganization } from "../organizations/organizations.routes.js";
import { OrgCodeParams } from "../organizations/organizations.schemas.js";
import { inTransaction } from "../storage/database.js";
import type { PropertyType } from "../storage/schema.js";
import { findUser } from "../users/users.http.js";
import { UserIdParams } from "../users/users.schemas.js";
import { propertiesOf } from "./properties.routes.js";
import {
  ApplicationIdParams,
  ApplicationPropertyParams,
  ApplicationValueBody,
  MAX_SINGLE_LINE_LENGTH,
  MAX_VALUE_LENGTH,
  OrgPropertyParams,
  PropertyValuesResponse,
  UserPropertyParams,
  ValueQuery,
  ValuesBody,
} from "./properties.schemas.js";
import { type Owner, PropertiesStore, type ValueChange } from "./properties.store.js";

const USERS = { tags: ["Users"] };
const ORGANIZATIONS = { tags: ["Organizations"] };
const APPLICATIONS = { tags: ["Applications"] };

const SINGLE_LINE_FORBIDDEN = /\p{Cc}/u;
/** Line breaks and tabs are text in a multi-line value; other control characters are not. */
const MULTI_LINE_FORBIDDEN = /[^\P{Cc}\n\r\t]/u;
const CONTEXT_WORDS = { usr: "user", org: "organization", app: "application" } as const;

/** A value as stored for a property of `type`: null to clear; INVALID_PROPERTY_VALUE when it does not fit. */
export function storedValue(type: PropertyType, key: string, value: string | null): string | null {
  if (value === null || value === "") return null;
  const single = type === "single_line_text";
  const max = single ? MAX_SINGLE_LINE_LENGTH : MAX_VALUE_LENGTH;
  if (value.length > max)
    throw new ApiError("INVALID_PROPERTY_VALUE", `The value of ${key} is longer than ${max} characters`);
  if ((single ? SINGLE_LINE_FORBIDDEN : MULTI_LINE_FORBIDDEN).test(value))
    throw new ApiError(
      "INVALID_PROPERTY_VALUE",
      single
        ? `The value of ${key} is single-line text: no line breaks or control characters`
        : `The value of ${key} contains control characters`,
    );
  return value;
}

/** Kinde's get_property_values_response: every property of the context, by key. */
async function read(request: FastifyRequest, owner: Owner) {
  const values = await propertiesOf(request).values(owner);
  return {
    ...success(),
    properties: values.map(({ property, value }) => ({
      id: property.id,
      name: property.name,
      description: property.description,
      key: property.key,
      value,
    })),
  };
}

/** Sets one value by key (PROPERTY_NOT_FOUND when the owner's context has no such property). */
async function setOne(request: FastifyRequest, owner: Owner, key: string, value: string | null) {
  const store = propertiesOf(request);
  const property = await store.findByKey(owner.context, key);
  if (!property)
    throw new ApiError(
      "PROPERTY_NOT_FOUND",
      `No ${CONTEXT_WORDS[owner.context]} property has the key ${key}`,
    );
  const change = { propertyId: property.id, value: storedValue(property.type, key, value) };
  await store.setValues(owner, [change], request.services.clock.now());
  return success("Property successfully updated");
}

/** Sets several values by key in one transaction, after every one of them was checked. */
async function setMany(
  request: FastifyRequest,
  owner: Owner,
  body: Record<string, string | number | boolean | null>,
) {
  const entries = Object.entries(body);
  if (entries.length === 0) throw new ApiError("NO_FIELDS_TO_UPDATE");
  const properties = await propertiesOf(request).byKeys(
    owner.context,
    entries.map(([key]) => key),
  );
  const changes: ValueChange[] = entries.map(([key, raw]) => {
    const property = properties.get(key);
    if (!property)
      throw new ApiError(
        "INVALID_REQUEST",
        `No ${CONTEXT_WORDS[owner.context]} property has the key ${key}: create it first`,
      );
    const text = raw === null ? null : String(raw);
    return { propertyId: property.id, value: storedValue(property.type, key, text) };
  });
  const now = request.services.clock.now();
  await inTransaction(request.services.db, (trx) => new PropertiesStore(trx).setValues(owner, changes, now));
  return success("Properties successfully updated");
}

export function registerPropertyValuesRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  // ---- users ------------------------------------------------------------------------------------

  api.get(
    "/users/:user_id/properties",
    {
      schema: {
        ...USERS,
        params: UserIdParams,
        response: { 200: PropertyValuesResponse, ...READ_ERRORS, ...notFound("User") },
      },
      config: { scope: "read:user_properties" },
    },
    async (request) => {
      const user = await findUser(request, request.params.user_id);
      return read(request, { context: "usr", id: user.id });
    },
  );

  api.patch(
    "/users/:user_id/properties",
    {
      schema: {
        ...USERS,
        params: UserIdParams,
        body: ValuesBody,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...notFound("User") },
      },
      config: { scope: "update:user_properties" },
    },
    async (request) => {
      const user = await findUser(request, request.params.user_id);
      return setMany(request, { context: "usr", id: user.id }, request.body.properties);
    },
  );

  api.put(
    "/users/:user_id/properties/:property_key",
    {
      schema: {
        ...USERS,
        params: UserPropertyParams,
        querystring: ValueQuery,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...notFound("User or property") },
      },
      config: { scope: "update:user_properties" },
    },
    async (request) => {
      const user = await findUser(request, request.params.user_id);
      const owner: Owner = { context: "usr", id: user.id };
      return setOne(request, owner, request.params.property_key, request.query.value);
    },
  );

  // ---- organizations ----------------------------------------------------------------------------

  api.get(
    "/organizations/:org_code/properties",
    {
      schema: {
        ...ORGANIZATIONS,
        params: OrgCodeParams,
        response: { 200: PropertyValuesResponse, ...READ_ERRORS, ...notFound("Organization") },
      },
      config: { scope: "read:organization_properties" },
    },
    async (request) => {
      const org = await findOrganization(request, request.params.org_code);
      return read(request, { context: "org", id: org.code });
    },
  );

  api.patch(
    "/organizations/:org_code/properties",
    {
      schema: {
        ...ORGANIZATIONS,
        params: OrgCodeParams,
        body: ValuesBody,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...notFound("Organization") },
      },
      config: { scope: "update:organization_properties" },
    },
    async (request) => {
      const org = await findOrganization(request, request.params.org_code);
      return setMany(request, { context: "org", id: org.code }, request.body.properties);
    },
  );

  api.put(
    "/organizations/:org_code/properties/:property_key",
    {
      schema: {
        ...ORGANIZATIONS,
        params: OrgPropertyParams,
        querystring: ValueQuery,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...notFound("Organization or property") },
      },
      config: { scope: "update:organization_properties" },
    },
    async (request) => {
      const org = await findOrganization(request, request.params.org_code);
      return setOne(
        request,
        { context: "org", id: org.code },
        request.params.property_key,
        request.query.value,
      );
    },
  );

  // ---- applications -----------------------------------------------------------------------------

  api.get(
    "/applications/:application_id/properties",
    {
      schema: {
        ...APPLICATIONS,
        params: ApplicationIdParams,
        response: { 200: PropertyValuesResponse, ...READ_ERRORS },
      },
      config: { scope: "read:application_properties" },
    },
    async (request) => {
      const application = await findApplication(request, request.params.application_id);
      return read(request, { context: "app", id: application.id });
    },
  );

  api.put(
    "/applications/:application_id/properties/:property_key",
    {
      schema: {
        ...APPLICATIONS,
        params: ApplicationPropertyParams,
        body: ApplicationValueBody,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...notFound("Property") },
      },
      config: { scope: "update:application_properties" },
    },
    async (request) => {
      const application = await findChangeableApplication(request, request.params.application_id);
      const { value } = request.body;
      const text = typeof value === "boolean" ? String(value) : value;
      return setOne(request, { context: "app", id: application.id }, request.params.property_key, text);
    },
  );
}
