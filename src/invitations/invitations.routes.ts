// Management API: an organization's invitations (Kinde's /api/v1/organization/{org_code}/invites).
// Listing pages with page_size + next_token and by default shows only open invitations (neither
// accepted nor revoked; an expired one stays listed until then, as it still names who was asked).
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ApiError } from "../management/errors.js";
import { notFound, POST_ERRORS, READ_ERRORS, WRITE_ERRORS } from "../management/responses.schemas.js";
import { isoSeconds, SuccessResponse, success } from "../management/schemas.js";
import { findOrganization } from "../organizations/organizations.routes.js";
import { pageOf } from "../organizations/paging.js";
import { emailProblem, MAX_EMAIL_LENGTH } from "../users/email.js";
import {
  CreateInviteBody,
  CreateInviteResponse,
  InviteParams,
  InviteResponse,
  InvitesParams,
  InvitesResponse,
  ListInvitesQuery,
} from "./invitations.schemas.js";
import { InvitationsService, invitationState, inviteLink } from "./invitations.service.js";
import type { InvitationRow, InvitedRole } from "./invitations.store.js";

const TAG = { tags: ["Organizations"] };
const NAME_LIMIT = 64;
const CONTROL = /\p{Cc}/u;

export function invitationsService(request: FastifyRequest): InvitationsService {
  const { services } = request;
  return new InvitationsService(services.db, services.clock, services.mail, services.oauth.issuer);
}

const fullName = (row: InvitationRow) => [row.first_name, row.last_name].filter(Boolean).join(" ");

export function inviteView(row: InvitationRow, roles: readonly InvitedRole[]) {
  return {
    id: row.id,
    email: row.email,
    first_name: row.first_name,
    last_name: row.last_name,
    full_name: fullName(row),
    created_on: isoSeconds(row.created_at),
    is_sent: row.is_sent === 1,
    accepted_on: isoSeconds(row.accepted_at),
    roles: roles.map((r) => ({ key: r.key, name: r.name })),
    is_revoked: row.revoked_at !== null,
  };
}

/** A name as Kinde takes it: trimmed, at most 64 characters, no control characters; "" is none. */
function personName(value: string | null | undefined, code: "FIRST_NAME_TOO_LONG" | "LAST_NAME_TOO_LONG") {
  const trimmed = value?.trim() ?? "";
  if (trimmed.length > NAME_LIMIT) throw new ApiError(code);
  if (CONTROL.test(trimmed))
    throw new ApiError("INVALID_REQUEST", "Names must not contain control characters");
  return trimmed === "" ? null : trimmed;
}

export function registerInvitationsRoutes(app: FastifyInstance): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    "/organization/:org_code/invites",
    {
      schema: {
        ...TAG,
        params: InvitesParams,
        querystring: ListInvitesQuery,
        response: { 200: InvitesResponse, ...READ_ERRORS, ...notFound("Organization") },
      },
      config: { scope: "read:organization_invites" },
    },
    async (request) => {
      const org = await findOrganization(request, request.params.org_code);
      const { sort, page_size, next_token, include_revoked, include_accepted } = request.query;
      const service = invitationsService(request);
      const rows = (await service.store.ofOrganization(org.code)).filter(
        (row) =>
          (include_revoked === true || row.revoked_at === null) &&
          (include_accepted === true || row.accepted_at === null),
      );
      const order = sort ?? "created_on_desc";
      const { page, nextToken } = pageOf(rows, {
        key: (row): [string, string] => [
          order.startsWith("email")
            ? row.email
            : order.startsWith("name")
              ? fullName(row)
              : String(row.created_at).padStart(15, "0"),
          row.id,
        ],
        descending: order.endsWith("_desc"),
        pageSize: page_size,
        nextToken: next_token,
      });
      const roles = await service.store.roles(page.map((row) => row.id));
      return {
        ...success(),
        invites: page.map((row) => inviteView(row, roles.get(row.id) ?? [])),
        next_token: nextToken,
      };
    },
  );

  api.post(
    "/organization/:org_code/invites",
    {
      schema: {
        ...TAG,
        params: InvitesParams,
        body: CreateInviteBody,
        response: { 201: CreateInviteResponse, ...POST_ERRORS, ...notFound("Organization or role") },
      },
      config: { scope: "create:organization_invites" },
    },
    async (request, reply) => {
      const { body } = request;
      const org = await findOrganization(request, request.params.org_code);
      const email = body.email.trim();
      if (email.length > MAX_EMAIL_LENGTH) throw new ApiError("EMAIL_TOO_LONG");
      const problem = emailProblem(email);
      if (problem) throw new ApiError("INVALID_EMAIL", `email ${problem}`);
      const created = await invitationsService(request).create({
        orgCode: org.code,
        email,
        firstName: personName(body.first_name, "FIRST_NAME_TOO_LONG"),
        lastName: personName(body.last_name, "LAST_NAME_TOO_LONG"),
        roleKeys: body.roles,
        sendEmail: body.send_email === true,
      });
      if (!created.ok) {
        if (created.error === "unknown_organization") throw new ApiError("ORGANIZATION_NOT_FOUND");
        if (created.error === "unknown_role")
          throw new ApiError("ROLE_NOT_FOUND", `No role has the key ${created.key}`);
        throw new ApiError(
          "TOO_MANY_REQUESTS",
          "This organization has too many open invitations, or made too many today",
          created.retryAfter ? { "retry-after": String(created.retryAfter) } : {},
        );
      }
      const { invitation, roles, code } = created;
      reply.code(201);
      return {
        code: "INVITATION_CREATED",
        message: "Invitation created",
        invite: {
          ...inviteView(invitation, roles),
          code,
          invite_link: inviteLink(request.services.oauth.issuer, code),
        },
      };
    },
  );

  const findInvitation = async (request: FastifyRequest, orgCode: string, inviteCode: string) => {
    const org = await findOrganization(request, orgCode);
    const service = invitationsService(request);
    const row = await service.findInOrganization(org.code, inviteCode);
    if (!row) throw new ApiError("INVITATION_NOT_FOUND");
    return { row, service };
  };

  api.get(
    "/organization/:org_code/invites/:invite_code",
    {
      schema: {
        ...TAG,
        params: InviteParams,
        response: { 200: InviteResponse, ...READ_ERRORS, ...notFound("Organization or invitation") },
      },
      config: { scope: "read:organization_invites" },
    },
    async (request) => {
      const { row, service } = await findInvitation(
        request,
        request.params.org_code,
        request.params.invite_code,
      );
      const roles = await service.store.roles([row.id]);
      return { message: "Success", ...inviteView(row, roles.get(row.id) ?? []) };
    },
  );

  api.delete(
    "/organization/:org_code/invites/:invite_code",
    {
      schema: {
        ...TAG,
        params: InviteParams,
        response: { 200: SuccessResponse, ...WRITE_ERRORS, ...notFound("Organization or invitation") },
      },
      config: { scope: "delete:organization_invites" },
    },
    async (request) => {
      const { row, service } = await findInvitation(
        request,
        request.params.org_code,
        request.params.invite_code,
      );
      const now = request.services.clock.now();
      // An accepted invitation is history (the member stays); revoking it again changes nothing.
      if (invitationState(row, now) === "accepted")
        throw new ApiError(
          "INVALID_REQUEST",
          "The invitation was accepted already; remove the member instead",
        );
      await service.store.revoke(row.id, now);
      return success("Invitation revoked");
    },
  );
}
