import assert from "node:assert/strict";
import fc from "fast-check";
import { customdataProblem } from "../../src/ingest/customdata-limits.js";

describe("customdataProblem", () => {
  // `{"a":<n>}` is 7 bytes plus the number: the smallest limit it fits tells
  // the length the walk counted, which must be String(n).length (the walk
  // counts integers without making their strings).
  const countedLength = (n: number) => {
    const fits = (maxBytes: number) => customdataProblem({ a: n }, { maxDepth: 4, maxBytes }) === undefined;
    let bytes = 8;
    while (!fits(bytes)) bytes++;
    return bytes - 7;
  };

  it("counts every finite number as long as its JSON text", () => {
    const edges = [0, -0, 9, 10, -10, 99, 100, 1e20, -1e20, 1e21, -1e21, 123456789012345680000, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e300, 5e-324, 0.1, -4.99];
    for (const n of edges) assert.equal(countedLength(n), String(n).length, String(n));
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.maxSafeInteger()), (n) => {
        assert.equal(countedLength(n), String(n).length, String(n));
      }),
      { numRuns: 5_000 },
    );
  });

  it("names the limit passed: depth, size, or a number out of range", () => {
    assert.equal(customdataProblem({ a: { b: { c: 1 } } }, { maxDepth: 2, maxBytes: 1000 }), "is nested deeper than 2 levels");
    assert.equal(customdataProblem({ a: "x".repeat(20) }, { maxDepth: 4, maxBytes: 20 }), "is larger than 20 bytes as JSON");
    assert.equal(customdataProblem({ a: [1, 2, 3] }, { maxDepth: 4, maxBytes: 10 }), "is larger than 10 bytes as JSON");
    assert.equal(customdataProblem({ a: Infinity }, { maxDepth: 4, maxBytes: 1000 }), "holds a number out of range");
    assert.equal(customdataProblem({ a: [1, { b: null, c: true, d: false }] }, { maxDepth: 3, maxBytes: 1000 }), undefined);
  });
});
