/**
 * The arithmetic UTC formatting (src/ingest/utc-datetime.ts) against what it
 * replaced, `new Date(ms).toISOString()` sliced: the same text for every instant
 * MySQL can store, calendar edges included.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { toMysqlDatetime, utcDate } from "../../src/ingest/utc-datetime.js";
import "../fuzz/arbitraries.js"; // FUZZ_SEED

function viaDate(epochMs: number, micros: number): string {
  const iso = new Date(epochMs).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}${String(micros).padStart(3, "0")}`;
}

const minMs = new Date("0001-01-01T00:00:00.000Z").getTime();
const maxMs = new Date("9999-12-31T23:59:59.999Z").getTime();

describe("utc-datetime", () => {
  it("writes every instant of years 1-9999 as toISOString does", () => {
    fc.assert(
      fc.property(fc.integer({ min: minMs, max: maxMs }), fc.integer({ min: 0, max: 999 }), (ms, micros) => {
        assert.equal(toMysqlDatetime(ms, micros), viaDate(ms, micros));
        assert.equal(utcDate(ms), new Date(ms).toISOString().slice(0, 10));
      }),
      { numRuns: 20_000 },
    );
  });

  it("gets the calendar edges right: leap days, centuries, the epoch, the range ends", () => {
    const edges = [
      "1970-01-01T00:00:00.000Z", "1969-12-31T23:59:59.999Z", "2000-02-29T12:00:00.000Z", "2100-02-28T23:59:59.999Z",
      "2100-03-01T00:00:00.000Z", "2024-02-29T00:00:00.000Z", "1900-03-01T00:00:00.000Z", "0400-02-29T00:00:00.000Z",
      "0999-12-31T23:59:59.999Z", "0001-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z", "2026-11-26T09:15:00.123Z",
    ];
    for (const edge of edges) {
      for (const delta of [-86_400_000, -1, 0, 1, 86_400_000]) {
        const ms = new Date(edge).getTime() + delta;
        assert.equal(toMysqlDatetime(ms, 456), viaDate(ms, 456), `${edge} ${delta}`);
        assert.equal(utcDate(ms), new Date(ms).toISOString().slice(0, 10), `${edge} ${delta}`);
      }
    }
    assert.equal(toMysqlDatetime(Date.UTC(2026, 10, 26, 8, 20, 31, 250), 123), "2026-11-26 08:20:31.250123");
  });

  it("falls back to Date outside years 1-9999 and for odd arguments, with the same text", () => {
    for (const [ms, micros] of [[minMs - 1, 0], [maxMs + 1, 0], [1.5, 0], [0, 1000], [0, 1.5]] as const) {
      assert.equal(toMysqlDatetime(ms, micros), viaDate(ms, micros));
    }
  });
});
