import assert from "node:assert/strict";
import fc from "fast-check";
import { isCommonTimestamp, parseTimestamp, timestampProblem } from "../../src/ingest/timestamp.js";

// timestampProblem answers the common case without parseTimestamp; it must never
// disagree with it, in verdict or in reason. isCommonTimestamp, on the bytes of a
// binary request, may say "not sure" (false) but never true for a refused value,
// and is sure of every value in the common case.
function agree(value: string): void {
  const parsed = parseTimestamp(value);
  const problem = timestampProblem(value);
  assert.equal(problem, typeof parsed === "string" ? parsed : undefined, JSON.stringify(value));
  const bytes = Buffer.from(value, "utf8");
  // In a larger buffer, as in a request: the range must bound every read.
  const framed = Buffer.concat([Buffer.from("12"), bytes, Buffer.from("+00:00Z9")]);
  const common = isCommonTimestamp(bytes, 0, bytes.length);
  assert.equal(isCommonTimestamp(framed, 2, 2 + bytes.length), common, `framed ${JSON.stringify(value)}`);
  if (common) assert.equal(problem, undefined, `isCommonTimestamp accepted ${JSON.stringify(value)}`);
  else if (problem === undefined) assert.ok(!isCommonShape(value), `isCommonTimestamp unsure of the common ${JSON.stringify(value)}`);
}

// Values isCommonTimestamp must be sure of: the grammar in ASCII, years 1971-9998.
function isCommonShape(value: string): boolean {
  const year = Number(value.slice(0, 4));
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/.test(value) && year > 1970 && year < 9999;
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

  it("isCommonTimestamp accepts no byte outside the grammar at any place, the year's last digit included", () => {
    // Late years matter: a non-digit last year digit once read as 1000 less, still a year in range.
    for (const valid of ["9998-12-31T23:59:59Z", "2999-06-15T12:30:45.123456789+05:30", "3000-01-01T00:00:00-12:00", "1971-01-01T00:00:00Z"]) {
      for (let at = 0; at < valid.length; at++) {
        for (let b = 0; b < 256; b++) {
          const bytes = Buffer.from(valid, "latin1");
          bytes[at] = b;
          if (!isCommonTimestamp(bytes, 0, bytes.length)) continue;
          const text = bytes.toString("latin1");
          assert.ok(b < 0x80 && timestampProblem(text) === undefined, `accepted ${JSON.stringify(text)}`);
        }
      }
    }
  });
});
