import assert from "node:assert/strict";
import fc from "fast-check";
import { parseTimestamp, timestampProblem } from "../../src/ingest/timestamp.js";

// timestampProblem answers the common case without parseTimestamp; it must never
// disagree with it, in verdict or in reason.
function agree(value: string): void {
  const parsed = parseTimestamp(value);
  assert.equal(timestampProblem(value), typeof parsed === "string" ? parsed : undefined, JSON.stringify(value));
}

const pad = (n: number, w: number) => String(n).padStart(w, "0");

describe("timestampProblem", () => {
  it("agrees with parseTimestamp on well-shaped values with any field in or out of range", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 99 }),
        fc.integer({ min: 0, max: 99 }),
        fc.integer({ min: 0, max: 99 }),
        fc.integer({ min: 0, max: 99 }),
        fc.integer({ min: 0, max: 99 }),
        fc.option(fc.stringMatching(/^[0-9]{1,10}$/), { nil: undefined }),
        fc.oneof(fc.constant("Z"), fc.tuple(fc.constantFrom("+", "-"), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 })).map(([s, h, m]) => `${s}${pad(h, 2)}:${pad(m, 2)}`)),
        (y, mo, d, h, mi, s, fraction, offset) => {
          agree(`${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${fraction === undefined ? "" : `.${fraction}`}${offset}`);
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it("agrees with parseTimestamp at the edges of the storable range", () => {
    for (const v of [
      "1970-01-01T00:00:00Z",
      "1970-01-01T00:00:00+00:01",
      "1970-01-01T00:00:00-00:01",
      "1971-01-01T00:00:00+23:59",
      "9998-12-31T23:59:59-23:59",
      "9999-12-31T23:59:59.999Z",
      "9999-12-31T23:59:59.999999999Z",
      "9999-12-31T23:59:59-00:01",
      "1969-12-31T23:59:59Z",
      "2028-02-29T00:00:00Z",
      "2100-02-29T00:00:00Z",
    ]) {
      agree(v);
    }
  });

  it("agrees with parseTimestamp on mutated and arbitrary strings", () => {
    const valid = "2026-11-26T09:15:00.123+05:30";
    fc.assert(
      fc.property(fc.nat(valid.length - 1), fc.string({ minLength: 0, maxLength: 2 }), (at, insert) => {
        agree(valid.slice(0, at) + insert + valid.slice(at + 1));
      }),
      { numRuns: 20_000 },
    );
    fc.assert(fc.property(fc.string({ maxLength: 40 }), agree), { numRuns: 5_000 });
  });
});
