// Request and response schemas of Kinde's organization invitation operations
// (/api/v1/organization/{org_code}/invites…), field for field as in Kinde's specification. The
// accepting code and the link carrying it appear only in the answer that made the invitation: they
// are kept hashed (invitations.service.ts).
import { type Static, Type } from "@sinclair/typebox";
import { nullable, PageSize } from "../management/schemas.js";

const Id = Type.String({ minLength: 1, maxLength: 100 });

export const InvitesParams = Type.Object({ org_code: Id });
export const InviteParams = Type.Object({
  org_code: Id,
  invite_code: Type.String({ minLength: 1, maxLength: 200 }),
});

export const ListInvitesQuery = Type.Object({
  sort: Type.Optional(
    nullable(
      Type.Union(
        ["created_on_asc", "created_on_desc", "email_asc", "email_desc", "name_asc", "name_desc"].map((v) =>
          Type.Literal(v),
        ),
      ),
    ),
  ),
  page_size: PageSize,
  next_token: Type.Optional(nullable(Type.String({ maxLength: 1000 }))),
  include_revoked: Type.Optional(nullable(Type.Boolean())),
  include_accepted: Type.Optional(nullable(Type.Boolean())),
});
export type ListInvitesQuery = Static<typeof ListInvitesQuery>;

// Generous here, exact in the route: Kinde answers EMAIL_TOO_LONG / FIRST_NAME_TOO_LONG /
// LAST_NAME_TOO_LONG past 254 and 64 characters, not a generic validation error.
export const CreateInviteBody = Type.Object({
  email: Type.String({ maxLength: 2000 }),
  first_name: Type.Optional(nullable(Type.String({ maxLength: 2000 }))),
  last_name: Type.Optional(nullable(Type.String({ maxLength: 2000 }))),
  roles: Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 100 }),
  send_email: Type.Optional(Type.Boolean()),
});
export type CreateInviteBody = Static<typeof CreateInviteBody>;

const Role = Type.Object({ key: Type.String(), name: Type.String() });

const inviteFields = {
  id: Type.String({ description: "The invitation's id (inv_ + 32 hex)." }),
  email: Type.String(),
  first_name: nullable(Type.String()),
  last_name: nullable(Type.String()),
  full_name: Type.String(),
  created_on: Type.String({ format: "date-time" }),
  is_sent: Type.Boolean(),
  accepted_on: nullable(Type.String({ format: "date-time" })),
  roles: Type.Array(Role),
  is_revoked: Type.Boolean(),
};

export const Invite = Type.Object(inviteFields);

export const InvitesResponse = Type.Object({
  code: Type.String(),
  message: Type.String(),
  invites: Type.Array(Invite),
  next_token: nullable(Type.String()),
});

export const InviteResponse = Type.Object({ message: Type.String(), ...inviteFields });

export const CreateInviteResponse = Type.Object({
  code: Type.String(),
  message: Type.String(),
  invite: Type.Object({
    ...inviteFields,
    code: Type.String({ description: "The code that accepts the invitation; shown only here." }),
    invite_link: Type.String({ description: "Where the invitee accepts; shown only here." }),
  }),
});
