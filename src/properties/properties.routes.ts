// Management API: Kinde's property definitions (/api/v1/properties: list, create, update, delete)
// and categories (/api/v1/property_categories: list, create, update), with Kinde's scopes, shapes
// and statuses (creates answer 201). Paging is Kinde's second style: starting_after / ending_before
// by id, with has_more. A property's key names it in code and tokens, so it is fixed at creation;
// its category must be one of the same context. Kinde's built-in properties cannot be deleted.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ApiError } from "../management/errors.js";
import {
  conflict,
  notFound,
  POST_ERRORS,
  READ_ERRORS,
  WRITE_ERRORS,
} from "../management/responses.schemas.js";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, SuccessResponse, success } from "../management/schemas.js";
import type { PropertyContext } from "../storage/schema.js";
import { CATEGORY_ID, PROPERTY_ID } from "./ids.js";
import {
  CategoriesResponse,
  CategoryIdParams,
  CreateCategoryBody,
  CreateCategoryResponse,
  CreatePropertyBody,
  CreatePropertyResponse,
  ListQuery,
  PropertiesResponse,
  PropertyIdParams,
  UpdateCategoryBody,
  UpdatePropertyBody,
} from "./properties.schemas.js";
import {
  type CategoryRow,
  PropertiesStore,
  PropertyKeyTakenError,
  type PropertyRow,
} from "./properties.store.js";

const PROPERTIES = { tags: ["Properties"] };
const CATEGORIES = { tags: ["Property Categories"] };

/** Letters, digits and underscores, starting with a letter: usable as a claim name in any language. */
const KEY = /^[A-Za-z][A-Za-z0-9_]{0,127}$/;
const CONTROL = /\p{Cc}/u;

export const propertiesOf = (request: FastifyRequest) => new PropertiesStore(request.services.db);

/** A name or description as stored: trimmed, without control characters; names not blank. */
function text(field: string, value: string, blank = false): string {
  const trimmed = value.trim();
  if (!blank && !trimmed) throw new ApiError("INVALID_REQUEST", `${field} must not be blank`);
  if (CONTROL.test(trimmed))
    throw new ApiError("INVALID_REQUEST", `${field} must not contain control characters`);
  return trimmed;
}

function page(
  query: { page_size?: number; starting_after?: string | null; ending_before?: string | null },
  id: RegExp,
) {
  const limit = query.page_size ?? DEFAULT_PAGE_SIZE;
  if (limit > MAX_PAGE_SIZE) throw new ApiError("PAGE_SIZE_LIMIT_EXCEEDED");
  const cursor = (name: string, value: string | null | undefined) => {
    if (value === undefined || value === null || value === "") return undefined;
    if (!id.test(value)) throw new ApiError("INVALID_REQUEST", `${name} is not an id of this list`);
    return value;
  };
  return {
    limit,
    startingAfter: cursor("starting_after", query.starting_after),
    endingBefore: cursor("ending_before", query.ending_before),
  };
}

async function findProperty(request: FastifyRequest, id: string): Promise<PropertyRow> {
  const property = await propertiesOf(request).findProperty(id);
  if (!property) throw new ApiError("PROPERTY_NOT_FOUND");
  return property;
}

async function findCategory(request: FastifyRequest, id: string): Promise<CategoryRow> {
  const category = await propertiesOf(request).findCategory(id);
  if (!category) throw new ApiError("CATEGORY_NOT_FOUND");
  return category;
}

/** The body's category_id, which must name a category of the property's context. */
async function categoryFor(request: FastifyRequest, id: string, context: PropertyContext): Promise<string> {
  const category = await propertiesOf(request).findCategory(id);
  if (!category || category.context !== context)
    throw new ApiError(
      "CATEGORY_INVALID",
      `category_id names no category of the ${context} context (a property's category is of its own context)`,
    );
  return category.id;
}

export function registerPropertiesRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    "/properties",
    {
      schema: {
        ...PROPERTIES,
        querystring: ListQuery,
        response: { 200: PropertiesResponse, ...READ_ERRORS },
      },
      config: { scope: "read:properties" },
    },
    async (request) => {
      const { rows, hasMore } = await propertiesOf(request).properties({
        ...page(request.query, PROPERTY_ID),
        context: request.query.context ?? undefined,
      });
      return {
        ...success(),
        properties: rows.map((p) => ({
          id: p.id,
          key: p.key,
          name: p.name,
          is_private: p.is_private === 1,
          description: p.description ?? undefined,
          is_kinde_property: p.is_kinde_property === 1,
          type: p.type,
          context: p.context,
          category_id: p.category_id,
        })),
        has_more: hasMore,
      };
    },
  );

  api.post(
    "/properties",
    {
      schema: {
        ...PROPERTIES,
        body: CreatePropertyBody,
        response: { 201: CreatePropertyResponse, ...POST_ERRORS, ...conflict("A property with this key") },
      },
      config: { scope: "create:properties" },
    },
    async (request, reply) => {
      const body = request.body;
      if (!KEY.test(body.key))
        throw new ApiError(
          "INVALID_KEY",
          "A property key is 1-128 letters, digits or underscores, starting with a letter",
        );
      // Kinde's own keys start kp_: a property of that name would pass for one of its built-ins.
      if (body.key.toLowerCase().startsWith("kp_"))
        throw new ApiError("INVALID_KEY", "Keys starting with kp_ are reserved for built-in properties");
      const categoryId = await categoryFor(request, body.category_id, body.context);
      let id: string;
      try {
        id = await propertiesOf(request).createProperty(
          {
            context: body.context,
            key: body.key,
            name: text("name", body.name),
            description: body.description ? text("description", body.description, true) || null : null,
            type: body.type,
            isPrivate: body.is_private,
            categoryId,
          },
          request.services.clock.now(),
        );
      } catch (error) {
        if (error instanceof PropertyKeyTakenError) throw new ApiError("PROPERTY_EXISTS");
        throw error;
      }
      return reply.code(201).send({ ...success("Property successfully created"), property: { id } });
    },
  );

  api.put(
    "/properties/:property_id",
    {
      schema: {
        ...PROPERTIES,
        params: PropertyIdParams,
        body: UpdatePropertyBody,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...notFound("Property") },
      },
      config: { scope: "update:properties" },
    },
    async (request) => {
      const property = await findProperty(request, request.params.property_id);
      const body = request.body;
      const categoryId = await categoryFor(request, body.category_id, property.context);
      await propertiesOf(request).updateProperty(
        property.id,
        {
          name: text("name", body.name),
          // Absent keeps the description; null or blank removes it.
          description:
            body.description === undefined
              ? undefined
              : body.description === null
                ? null
                : text("description", body.description, true) || null,
          isPrivate: body.is_private,
          categoryId,
        },
        request.services.clock.now(),
      );
      return success("Property successfully updated");
    },
  );

  api.delete(
    "/properties/:property_id",
    {
      schema: {
        ...PROPERTIES,
        params: PropertyIdParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...notFound("Property") },
      },
      config: { scope: "delete:properties" },
    },
    async (request) => {
      const property = await findProperty(request, request.params.property_id);
      if (property.is_kinde_property === 1) throw new ApiError("PROPERTY_PROTECTED");
      await propertiesOf(request).deleteProperty(property.id);
      return success("Property successfully deleted");
    },
  );

  // ---- categories -------------------------------------------------------------------------------

  api.get(
    "/property_categories",
    {
      schema: {
        ...CATEGORIES,
        querystring: ListQuery,
        response: { 200: CategoriesResponse, ...READ_ERRORS },
      },
      config: { scope: "read:property_categories" },
    },
    async (request) => {
      const { rows, hasMore } = await propertiesOf(request).categories({
        ...page(request.query, CATEGORY_ID),
        context: request.query.context ?? undefined,
      });
      return {
        ...success(),
        categories: rows.map((c) => ({ id: c.id, name: c.name, context: c.context })),
        has_more: hasMore,
      };
    },
  );

  api.post(
    "/property_categories",
    {
      schema: {
        ...CATEGORIES,
        body: CreateCategoryBody,
        response: { 201: CreateCategoryResponse, ...POST_ERRORS },
      },
      config: { scope: "create:property_categories" },
    },
    async (request, reply) => {
      const id = await propertiesOf(request).createCategory(
        text("name", request.body.name),
        request.body.context,
        request.services.clock.now(),
      );
      return reply.code(201).send({ ...success("Category successfully created"), category: { id } });
    },
  );

  api.put(
    "/property_categories/:category_id",
    {
      schema: {
        ...CATEGORIES,
        params: CategoryIdParams,
        body: UpdateCategoryBody,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...notFound("Category") },
      },
      config: { scope: "update:property_categories" },
    },
    async (request) => {
      const category = await findCategory(request, request.params.category_id);
      if (request.body.name === undefined) throw new ApiError("NO_FIELDS_TO_UPDATE");
      await propertiesOf(request).renameCategory(
        category.id,
        text("name", request.body.name),
        request.services.clock.now(),
      );
      return success("Category successfully updated");
    },
  );
}
