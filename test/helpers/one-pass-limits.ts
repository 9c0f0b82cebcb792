/**
 * Shared by the differential tests of the one-pass checks (binary and JSON):
 * the customdata limits they hold each check to, and a generator of values
 * that are mostly valid and sometimes at a rule's edge.
 */
import fc from "fast-check";
import type { CustomdataLimits } from "../../src/ingest/customdata-limits.js";

/** The defaults, and two sets small enough that generated customdata meets them. */
export const limitSets: readonly CustomdataLimits[] = [
  { maxDepth: 16, maxBytes: 16 * 1024 },
  { maxDepth: 2, maxBytes: 80 },
  { maxDepth: 1, maxBytes: 12 },
];

/** Mostly a valid value (weight 8), sometimes one at or past a rule's edge. */
export const mostly = <T,>(valid: fc.Arbitrary<T>, edgy: readonly T[]): fc.Arbitrary<T> =>
  fc.oneof({ weight: 8, arbitrary: valid }, { weight: 1, arbitrary: fc.constantFrom(...edgy) });
