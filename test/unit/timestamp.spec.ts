import assert from "node:assert/strict";
import { parseTimestamp } from "../../src/ingest/timestamp.js";
import { toMysqlDatetime } from "../../src/ingest/utc-datetime.js";

describe("parseTimestamp", () => {
  const ok = (value: string) => {
    const r = parseTimestamp(value);
    assert.equal(typeof r, "object", `${value}: ${String(r)}`);
    return r as Exclude<typeof r, string>;
  };

  it("reads Z as offset 0", () => {
    const r = ok("2026-11-26T09:15:00Z");
    assert.equal(r.epochMs, Date.UTC(2026, 10, 26, 9, 15));
    assert.equal(r.offsetMinutes, 0);
  });

  it("keeps +05:30 and converts to UTC", () => {
    const r = ok("2026-11-26T09:15:00+05:30");
    assert.equal(r.offsetMinutes, 330);
    assert.equal(new Date(r.epochMs).toISOString(), "2026-11-26T03:45:00.000Z");
  });

  it("keeps -08:00 and converts to UTC across midnight", () => {
    const r = ok("2026-11-26T20:00:00-08:00");
    assert.equal(r.offsetMinutes, -480);
    assert.equal(new Date(r.epochMs).toISOString(), "2026-11-27T04:00:00.000Z");
  });

  it("keeps fractional seconds to the microsecond", () => {
    const r = ok("2026-11-26T09:20:31.250123+01:00");
    assert.equal(new Date(r.epochMs).toISOString(), "2026-11-26T08:20:31.250Z");
    assert.equal(r.micros, 123);
    assert.equal(toMysqlDatetime(r.epochMs, r.micros), "2026-11-26 08:20:31.250123");
  });

  it("accepts 29 February of a leap year only", () => {
    ok("2028-02-29T00:00:00Z");
    assert.match(String(parseTimestamp("2026-02-29T00:00:00Z")), /day 29 does not exist/);
    assert.match(String(parseTimestamp("2100-02-29T00:00:00Z")), /does not exist/);
    ok("2000-02-29T00:00:00Z");
  });

  for (const bad of [
    "2026-02-30T10:00:00Z",
    "2026-04-31T10:00:00Z",
    "2026-13-01T10:00:00Z",
    "2026-00-10T10:00:00Z",
    "2026-11-26T24:00:00Z",
    "2026-11-26T23:60:00Z",
    "2026-11-26T23:59:60Z",
    "2026-11-26T09:15:00",
    "2026-11-26 09:15:00Z",
    "2026-11-26T09:15Z",
    "2026-11-26T09:15:00+0530",
    "2026-11-26T09:15:00+05",
    "2026-11-26T09:15:00+24:00",
    "2026-11-26",
    "1732612500",
    "",
    "1969-12-31T23:59:59Z",
  ]) {
    it(`refuses ${JSON.stringify(bad)}`, () => {
      assert.equal(typeof parseTimestamp(bad), "string");
    });
  }
});
