// Request and response schemas of Kinde's property operations: definitions (/api/v1/properties),
// categories (/api/v1/property_categories) and values on users, organizations and applications.
import { Type } from "@sinclair/typebox";
import { nullable, PageSize, SuccessResponse } from "../management/schemas.js";

const Id = Type.String({ minLength: 1, maxLength: 100 });
const Name = Type.String({ minLength: 1, maxLength: 128 });
const Description = Type.String({ maxLength: 1000 });
const Key = Type.String({ minLength: 1, maxLength: 128 });
const Context = Type.Union([Type.Literal("usr"), Type.Literal("org"), Type.Literal("app")]);
const PropertyType = Type.Union([Type.Literal("single_line_text"), Type.Literal("multi_line_text")]);
const Cursor = Type.Optional(nullable(Type.String({ maxLength: 100 })));
/** The longest value any property takes (multi-line text); single-line text is held to less. */
export const MAX_VALUE_LENGTH = 4000;
export const MAX_SINGLE_LINE_LENGTH = 1000;

// ---- requests -----------------------------------------------------------------------------------

export const PropertyIdParams = Type.Object({ property_id: Id });
export const CategoryIdParams = Type.Object({ category_id: Id });
export const UserPropertyParams = Type.Object({ user_id: Id, property_key: Key });
export const OrgPropertyParams = Type.Object({ org_code: Id, property_key: Key });
export const ApplicationIdParams = Type.Object({ application_id: Id });
export const ApplicationPropertyParams = Type.Object({ application_id: Id, property_key: Key });

export const ListQuery = Type.Object({
  page_size: PageSize,
  starting_after: Cursor,
  ending_before: Cursor,
  context: Type.Optional(nullable(Context)),
});

export const CreatePropertyBody = Type.Object({
  name: Name,
  description: Type.Optional(nullable(Description)),
  key: Key,
  type: PropertyType,
  context: Context,
  is_private: Type.Boolean(),
  category_id: Id,
});

export const UpdatePropertyBody = Type.Object({
  name: Name,
  description: Type.Optional(nullable(Description)),
  is_private: Type.Boolean(),
  category_id: Id,
});

export const CreateCategoryBody = Type.Object({ name: Name, context: Context });
export const UpdateCategoryBody = Type.Object({ name: Type.Optional(Name) });

/** Kinde's PUT …/properties/{property_key}?value= (users and organizations). */
export const ValueQuery = Type.Object({ value: Type.String({ maxLength: MAX_VALUE_LENGTH }) });

/** Kinde's application PUT takes the value in a body, as text or a boolean. */
export const ApplicationValueBody = Type.Object({
  value: Type.Union([Type.String({ maxLength: MAX_VALUE_LENGTH }), Type.Boolean()]),
});

/** PATCH …/properties: key → value; null clears a value. At most 100 keys (Kinde's bulk limit). */
export const ValuesBody = Type.Object({
  properties: Type.Record(
    Type.String({ maxLength: 128 }),
    Type.Union([Type.String({ maxLength: MAX_VALUE_LENGTH }), Type.Number(), Type.Boolean(), Type.Null()]),
    { maxProperties: 100 },
  ),
});

// ---- responses ----------------------------------------------------------------------------------

const Code = SuccessResponse.properties;

export const PropertiesResponse = Type.Object({
  ...Code,
  properties: Type.Array(
    Type.Object({
      id: Type.String(),
      key: Type.String(),
      name: Type.String(),
      is_private: Type.Boolean(),
      // Left out when there is none: Kinde's property schema has no null here.
      description: Type.Optional(Type.String()),
      is_kinde_property: Type.Boolean(),
      // Latchkey's additions: what a definition was created with, so it can be read back.
      type: PropertyType,
      context: Context,
      category_id: Type.String(),
    }),
  ),
  has_more: Type.Boolean(),
});

export const CreatePropertyResponse = Type.Object({
  ...Code,
  property: Type.Object({ id: Type.String() }),
});

export const CategoriesResponse = Type.Object({
  ...Code,
  categories: Type.Array(
    Type.Object({
      id: Type.String(),
      name: Type.String(),
      // Latchkey's addition: which owners the category's properties are for.
      context: Context,
    }),
  ),
  has_more: Type.Boolean(),
});

export const CreateCategoryResponse = Type.Object({
  ...Code,
  category: Type.Object({ id: Type.String() }),
});

export const PropertyValuesResponse = Type.Object({
  ...Code,
  properties: Type.Array(
    Type.Object({
      id: Type.String(),
      name: Type.String(),
      description: nullable(Type.String()),
      key: Type.String(),
      value: nullable(Type.String()),
    }),
  ),
  // Kinde's field, never sent: every property of the context is on the one page (its schema has
  // no null here).
  next_token: Type.Optional(Type.String()),
});
