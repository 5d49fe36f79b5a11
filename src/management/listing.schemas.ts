// The schemas of listing.ts's extensions, shared by the users, organizations and applications lists.
import { Type } from "@sinclair/typebox";
import { nullable } from "./schemas.js";

export const IncludeCount = Type.Optional(
  nullable(
    Type.Boolean({
      description:
        "Latchkey extension: add total_count and total_count_accuracy — exact; an estimate (PostgreSQL, " +
        "an unfiltered list past 10 000 rows, from the planner's statistics); or at_least (a filtered " +
        "list counts at most 1 000 matches).",
    }),
  ),
);

/** A prefix of the name (Latchkey extension), for the organizations and applications lists. */
export const NameStartsWith = Type.Optional(
  nullable(
    Type.String({
      maxLength: 200,
      description:
        "Latchkey extension: only those whose name starts with this text, in any letter case (an indexed " +
        "prefix match).",
    }),
  ),
);

/** Latchkey extension: present when the request asked for include_count. */
export const COUNT_FIELDS = {
  total_count: Type.Optional(Type.Integer({ description: "Latchkey extension (include_count=true)." })),
  total_count_accuracy: Type.Optional(
    Type.Union([Type.Literal("exact"), Type.Literal("estimate"), Type.Literal("at_least")], {
      description: "Latchkey extension: how total_count was had (see include_count).",
    }),
  ),
};
