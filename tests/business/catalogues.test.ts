// Kinde's timezone catalogue (src/business/catalogues.ts): each zone's offset at the time asked,
// computed once per quarter hour — a transition always falls on one.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { timezones } from "../../src/business/catalogues.js";

const london = (at: Date) => timezones(at).find((zone) => zone.key === "london_greenwich_mean_time")?.name;

describe("the timezone catalogue", () => {
  it("shows each zone's offset at the time asked, across a daylight-saving transition", () => {
    // Europe/London springs forward at 01:00 UTC on the last Sunday of March (2027-03-28).
    assert.equal(london(new Date("2027-03-28T00:59:59Z")), "London (Greenwich Mean Time) [+00:00]");
    assert.equal(london(new Date("2027-03-28T01:00:00Z")), "London (Greenwich Mean Time) [+01:00]");
    assert.equal(london(new Date("2027-01-15T12:00:00Z")), "London (Greenwich Mean Time) [+00:00]");
    // Chatham Islands: +12:45 in standard time, so quarter hours matter.
    const chatham = timezones(new Date("2027-07-01T00:00:00Z")).find((zone) =>
      zone.name.startsWith("Chatham"),
    );
    assert.match(chatham?.name ?? "", /\[\+12:45\]$/);
  });

  it("builds the list once per quarter hour", () => {
    const first = timezones(new Date("2027-05-04T10:15:00Z"));
    assert.equal(timezones(new Date("2027-05-04T10:29:59.999Z")), first);
    assert.notEqual(timezones(new Date("2027-05-04T10:30:00Z")), first);
  });
});
