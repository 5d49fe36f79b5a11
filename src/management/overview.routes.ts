// GET /api/v1/overview (a Latchkey extension; Kinde's API has no counts): what the dashboard's
// home shows — how many people have accounts, how many sign-ins since a moment (the browser's
// midnight), how many of the business's applications there are and how many people signed in to
// since then, the facts behind the getting-started checklist, and the server's version. Read-only,
// and only for a caller who could read each part separately (users, applications, the log).
//
// "The business's applications" leaves out the ones Latchkey registers for its own pages (the
// dashboard, /account, /device): they are not something an administrator created, and counting
// them would tick "create an application" on a fresh installation.
import { readFileSync } from "node:fs";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { accountClientId } from "../account/account-app.js";
import { storedDashboardClientId } from "../dashboard/dashboard-app.js";
import { PACKAGE_JSON } from "../paths.js";
import { deviceSignInClientId } from "../sign-in/device-sign-in.js";
import { ApiError } from "./errors.js";
import { READ_ERRORS } from "./responses.schemas.js";
import { isoSeconds, nullable, success } from "./schemas.js";

/** Besides the route's own read:users: a caller sees counts only of what it may read anyway. */
const ALSO_REQUIRED = ["read:applications", "read:audit_log"] as const;

/** Application types people sign in to (an m2m app has no callback and no sign-ins). */
const PEOPLE_TYPES = ["reg", "spa", "device"] as const;

const Overview = Type.Object({
  code: Type.String(),
  message: Type.String(),
  version: Type.String({ description: "Latchkey's version" }),
  users: Type.Object({ total: Type.Integer() }),
  sign_ins: Type.Object({
    since: Type.String({ format: "date-time" }),
    count: Type.Integer({ description: "Successful sign-ins since `since`, to any application" }),
  }),
  applications: Type.Object({
    total: Type.Integer({ description: "The business's applications (not Latchkey's own pages')" }),
    active: Type.Integer({ description: "Of those, how many someone signed in to since `since`" }),
  }),
  getting_started: Type.Object({
    /** The newest application people sign in to, or null before there is one. */
    application: nullable(Type.Object({ id: Type.String(), name: Type.String(), type: Type.String() })),
    /** Whether any application people sign in to has a callback URL. */
    callback_url_added: Type.Boolean(),
    /** The newest sign-in to one of the business's applications kept in the log, or null. */
    last_sign_in: nullable(
      Type.Object({
        user_id: nullable(Type.String()),
        client_id: Type.String(),
        created_on: Type.String({ format: "date-time" }),
      }),
    ),
  }),
});

let version: string | undefined;
function latchkeyVersion(): string {
  version ??= (JSON.parse(readFileSync(PACKAGE_JSON, "utf8")) as { version: string }).version;
  return version;
}

/** `since` as epoch seconds: the given moment, or the start of today (UTC) without one. */
function sinceOf(raw: string | undefined, now: number): number {
  if (raw === undefined) return now - (now % 86_400);
  const ms = Date.parse(raw);
  // Within the last 31 days: "today" anywhere on Earth is well inside that, and the log keeps 30
  // days by default, so an older moment would count a window the log no longer holds.
  if (!/^\d{4}-\d{2}-\d{2}T/.test(raw) || Number.isNaN(ms))
    throw new ApiError("INVALID_REQUEST", "since must be a date-time such as 2025-01-31T00:00:00Z");
  const seconds = Math.floor(ms / 1000);
  if (seconds > now || seconds < now - 31 * 86_400)
    throw new ApiError("INVALID_REQUEST", "since must be within the last 31 days");
  return seconds;
}

async function latchkeysOwn(request: FastifyRequest): Promise<string[]> {
  const { services } = request;
  const [dashboard, account, device] = await Promise.all([
    storedDashboardClientId(services.db),
    accountClientId(services),
    deviceSignInClientId(services),
  ]);
  return [dashboard, account, device].filter((id): id is string => id !== undefined);
}

export function registerOverviewRoute(api: FastifyInstance): void {
  api.withTypeProvider<TypeBoxTypeProvider>().get(
    "/overview",
    {
      schema: {
        tags: ["Business"],
        description:
          "Counts for a dashboard's home and the facts of its getting-started checklist (a Latchkey " +
          "extension). Needs read:users, read:applications and read:audit_log.",
        querystring: Type.Object({
          since: Type.Optional(Type.String({ maxLength: 40, description: "start of 'today' (date-time)" })),
        }),
        response: { 200: Overview, ...READ_ERRORS },
      },
      config: { scope: "read:users" },
    },
    async (request) => {
      const missing = ALSO_REQUIRED.find((scope) => !request.caller?.scopes.has(scope));
      if (missing) throw new ApiError("FORBIDDEN", `The token does not grant the scope ${missing}`);
      const { db, clock } = request.services;
      const since = sinceOf(request.query.since, clock.now());
      const own = await latchkeysOwn(request);
      const notOwn = own.length > 0 ? own : [""];

      const [users, applications, newest, callback, signIns, last] = await Promise.all([
        db
          .selectFrom("users")
          .select((eb) => eb.fn.countAll<number | string>().as("n"))
          .executeTakeFirstOrThrow(),
        db
          .selectFrom("applications")
          .select((eb) => eb.fn.countAll<number | string>().as("n"))
          .where("id", "not in", notOwn)
          .executeTakeFirstOrThrow(),
        db
          .selectFrom("applications")
          .select(["id", "name", "type"])
          .where("id", "not in", notOwn)
          .where("type", "in", PEOPLE_TYPES)
          .orderBy("created_at", "desc")
          .orderBy("id", "desc")
          .limit(1)
          .executeTakeFirst(),
        db
          .selectFrom("application_urls")
          .innerJoin("applications", "applications.id", "application_urls.application_id")
          .select("applications.id")
          .where("application_urls.kind", "=", "callback")
          .where("applications.id", "not in", notOwn)
          .where("applications.type", "in", PEOPLE_TYPES)
          .limit(1)
          .executeTakeFirst(),
        // One range of the (type, created_at, id) index, grouped: the count and the active apps.
        db
          .selectFrom("authentication_log")
          .select((eb) => ["client_id", eb.fn.countAll<number | string>().as("n")])
          .where("type", "=", "sign_in")
          .where("created_at", ">=", since)
          .groupBy("client_id")
          .execute(),
        // Newest first along the same index, skipping sign-ins to Latchkey's own pages.
        db
          .selectFrom("authentication_log")
          .select(["user_id", "client_id", "created_at"])
          .where("type", "=", "sign_in")
          .where("client_id", "is not", null)
          .where("client_id", "not in", notOwn)
          .orderBy("created_at", "desc")
          .orderBy("id", "desc")
          .limit(1)
          .executeTakeFirst(),
      ]);
      const ownSet = new Set(own);
      return {
        ...success(),
        version: latchkeyVersion(),
        users: { total: Number(users.n) },
        sign_ins: { since: isoSeconds(since), count: signIns.reduce((sum, row) => sum + Number(row.n), 0) },
        applications: {
          total: Number(applications.n),
          active: signIns.filter((row) => row.client_id !== null && !ownSet.has(row.client_id)).length,
        },
        getting_started: {
          application: newest ?? null,
          callback_url_added: callback !== undefined,
          last_sign_in:
            last?.client_id != null
              ? {
                  user_id: last.user_id,
                  client_id: last.client_id,
                  created_on: isoSeconds(Number(last.created_at)),
                }
              : null,
        },
      };
    },
  );
}
