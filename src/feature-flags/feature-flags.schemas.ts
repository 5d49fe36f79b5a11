// Request and response schemas of Kinde's feature flag operations: definitions
// (/api/v1/feature_flags), and overrides for the environment, an organization and a user.
import { Type } from "@sinclair/typebox";
import { nullable, PageSize, SuccessResponse } from "../management/schemas.js";

const Id = Type.String({ minLength: 1, maxLength: 100 });
const Key = Type.String({ minLength: 1, maxLength: 128 });
const Value = Type.String({ maxLength: 1000 });
const FlagType = Type.Union([Type.Literal("str"), Type.Literal("int"), Type.Literal("bool")]);
const Level = Type.Union([Type.Literal("env"), Type.Literal("org"), Type.Literal("usr")]);

export const FlagKeyParams = Type.Object({ feature_flag_key: Key });
export const OrgFlagParams = Type.Object({ org_code: Id, feature_flag_key: Key });
export const UserFlagParams = Type.Object({ user_id: Id, feature_flag_key: Key });
export const ValueQuery = Type.Object({ value: Value });

export const CreateFeatureFlagBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 128 }),
  description: Type.Optional(nullable(Type.String({ maxLength: 1000 }))),
  key: Key,
  type: FlagType,
  allow_override_level: Type.Optional(Level),
  default_value: Value,
});

/** Kinde's replace takes the whole definition as query parameters. */
export const ReplaceFeatureFlagQuery = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 128 }),
  description: Type.Optional(Type.String({ maxLength: 1000 })),
  type: FlagType,
  allow_override_level: Level,
  default_value: Value,
});

export const EnvironmentValueBody = Type.Object({ value: Value });

// ---- responses -----------------------------------------------------------------------------------

const Code = SuccessResponse.properties;
const FlagValues = Type.Record(Type.String(), Type.Object({ type: FlagType, value: Type.String() }));

export const EnvironmentFlagsResponse = Type.Object({
  ...Code,
  feature_flags: FlagValues,
  next_token: Type.Optional(Type.String()),
});
export const OrganizationFlagsResponse = Type.Object({ ...Code, feature_flags: FlagValues });

// ---- Latchkey extension: the definitions themselves (Kinde's API can only write them) -------------

export const ListFeatureFlagsQuery = Type.Object({
  page_size: PageSize,
  next_token: Type.Optional(nullable(Type.String({ maxLength: 1000 }))),
});

export const FeatureFlagsResponse = Type.Object({
  ...Code,
  feature_flags: Type.Array(
    Type.Object({
      id: Type.String(),
      key: Type.String(),
      name: Type.String(),
      description: nullable(Type.String()),
      type: FlagType,
      allow_override_level: Level,
      default_value: Type.String(),
      /** The environment override, or null when the default applies. */
      environment_value: nullable(Type.String()),
    }),
  ),
  next_token: nullable(Type.String()),
});
