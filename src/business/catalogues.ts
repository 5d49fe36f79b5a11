// Kinde's catalogues of industries and timezones (GET /api/v1/industries, /api/v1/timezones): the
// keys PATCH /api/v1/business takes as industry_key / timezone_key. Timezones come from the IANA
// database the runtime ships (Intl), named as Kinde names them — "London (Greenwich Mean Time)
// [+01:00]", key "london_greenwich_mean_time": the city, the zone's standard-time name, and its
// offset now (so a summer answer shows summer time). Etc/* zones without a city are left out.
import { INDUSTRY_NAMES, labelKey } from "./business.labels.js";

export interface CatalogueEntry {
  key: string;
  name: string;
}

export const industries: readonly CatalogueEntry[] = INDUSTRY_NAMES.map((name) => ({
  key: labelKey(name),
  name,
}));

const zoneName = (timeZone: string, style: "long" | "longOffset", at: Date) =>
  new Intl.DateTimeFormat("en", { timeZone, timeZoneName: style })
    .formatToParts(at)
    .find((part) => part.type === "timeZoneName")?.value ?? "";

/** Minutes east of UTC from "GMT+05:30" ("GMT" alone is zero). */
function offsetMinutes(label: string): number {
  const match = /GMT([+-])(\d{2}):(\d{2})/.exec(label);
  if (!match) return 0;
  return (match[1] === "-" ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3]));
}

interface Zone {
  key: string;
  city: string;
  standardName: string;
  timeZone: string;
}

/**
 * The zones, computed at the first request that lists them and kept: the names do not change while
 * the process runs, the offsets do. Not at start-up: ICU's data for ~430 zones' formatters is tens
 * of megabytes of native memory that most processes never need (docs/performance.md, idle memory).
 */
let zones: readonly Zone[] | undefined;
const allZones = (): readonly Zone[] => (zones ??= computeZones());

function computeZones(): readonly Zone[] {
  const year = new Date().getUTCFullYear();
  const winter = new Date(Date.UTC(year, 0, 1));
  const summer = new Date(Date.UTC(year, 6, 1));
  const seen = new Set<string>();
  const out: Zone[] = [];
  for (const timeZone of Intl.supportedValuesOf("timeZone")) {
    if (!timeZone.includes("/") || timeZone.startsWith("Etc/")) continue;
    // Standard time is the smaller offset of the two halves of the year (Sydney's January is summer).
    const [standard] = [winter, summer].sort(
      (a, b) =>
        offsetMinutes(zoneName(timeZone, "longOffset", a)) -
        offsetMinutes(zoneName(timeZone, "longOffset", b)),
    );
    const standardName = zoneName(timeZone, "long", standard!);
    const city = timeZone.split("/").at(-1)!.replace(/_/g, " ");
    const key = labelKey(`${city} ${standardName}`);
    if (!key || seen.has(key)) continue;
    seen.add(key);
    out.push({ key, city, standardName, timeZone });
  }
  return out.sort((a, b) => a.city.localeCompare(b.city, "en"));
}

/**
 * Offsets change only at a transition, and transitions fall on quarter hours of UTC (a whole local
 * hour in a zone whose offset is a multiple of 15 minutes), so one list serves its quarter hour.
 * Computing it builds a formatter per zone, ~20 ms of the event loop: without the cache a caller
 * with `read:timezones` could stall every other request by asking repeatedly.
 */
const QUARTER_HOUR_MS = 15 * 60 * 1000;
let listed: { quarter: number; entries: readonly CatalogueEntry[] } | undefined;

/** Kinde's timezones with their offset at `at`. */
export function timezones(at: Date): readonly CatalogueEntry[] {
  const quarter = Math.floor(at.getTime() / QUARTER_HOUR_MS);
  if (listed?.quarter !== quarter) {
    const entries = allZones().map((zone) => {
      const offset = zoneName(zone.timeZone, "longOffset", at).replace(/^GMT$/, "GMT+00:00").slice(3);
      return { key: zone.key, name: `${zone.city} (${zone.standardName}) [${offset}]` };
    });
    listed = { quarter, entries };
  }
  return listed.entries;
}
