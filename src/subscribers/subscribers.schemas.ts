// Request and response shapes of Kinde's /api/v1/subscribers.
import { Type } from "@sinclair/typebox";
import { PageSize, SuccessResponse } from "../management/schemas.js";

export const ListSubscribersQuery = Type.Object({
  sort: Type.Optional(
    Type.Union([
      Type.Literal("name_asc"),
      Type.Literal("name_desc"),
      Type.Literal("email_asc"),
      Type.Literal("email_desc"),
    ]),
  ),
  page_size: PageSize,
  next_token: Type.Optional(Type.String({ maxLength: 1000 })),
});

// Kinde takes the new subscriber in the query string.
export const CreateSubscriberQuery = Type.Object({
  first_name: Type.String({ minLength: 1, maxLength: 64 }),
  last_name: Type.Optional(Type.String({ maxLength: 64 })),
  email: Type.String({ minLength: 1, maxLength: 320 }),
});

export const SubscriberParams = Type.Object({ subscriber_id: Type.String({ maxLength: 100 }) });

export const SubscribersResponse = Type.Object({
  ...SuccessResponse.properties,
  subscribers: Type.Array(
    Type.Object({
      id: Type.String(),
      email: Type.String(),
      full_name: Type.String(),
      first_name: Type.String(),
      last_name: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
  // Kinde's get_subscribers_response types next_token as a string, never null (its client's types
  // say `next_token?: string`), so the last page leaves it out, as property values do.
  next_token: Type.Optional(Type.String()),
});

export const SubscriberResponse = Type.Object({
  ...SuccessResponse.properties,
  subscribers: Type.Array(
    Type.Object({
      id: Type.String(),
      preferred_email: Type.String(),
      first_name: Type.String(),
      last_name: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
});

export const CreateSubscriberResponse = Type.Object({
  subscriber: Type.Object({ subscriber_id: Type.String() }),
});
