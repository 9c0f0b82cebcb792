/** Limits on one event's `customdata`. */
export interface CustomdataLimits {
  /** Deepest nesting of objects and arrays; the customdata object itself is level 1. */
  maxDepth: number;
  /** Largest size as JSON text, in bytes (estimated without escapes). */
  maxBytes: number;
}

/**
 * MariaDB refuses JSON nested deeper than 32 (its JSON_DEPTH counts the leaf
 * values as a level), so 31 levels of objects and arrays is the most a stored
 * event can hold, whatever is configured.
 */
export const storableCustomdataDepth = 31;

/** Defaults of CUSTOMDATA_MAX_DEPTH and CUSTOMDATA_MAX_BYTES. */
export const defaultCustomdataLimits: CustomdataLimits = { maxDepth: 16, maxBytes: 16 * 1024 };

/**
 * Why `value` breaks the limits, or undefined. Walks the value once without
 * serializing it, and stops as soon as a limit is passed (counted as each
 * member is seen), so a hostile payload costs no more than the limit.
 */
export function customdataProblem(value: object, limits: CustomdataLimits): string | undefined {
  const bytes = measure(value, 1, limits, 0);
  if (bytes === tooDeep) return `is nested deeper than ${limits.maxDepth} levels`;
  if (bytes === outOfRange) return "holds a number out of range";
  return bytes > limits.maxBytes || bytes === tooLarge ? tooBig(limits) : undefined;
}

// Verdicts of measure, below any byte count.
const tooDeep = -1;
const outOfRange = -2;
const tooLarge = -3;

/**
 * The JSON text length of a finite number, as `String(v).length` gives it,
 * without making the string for integers (most customdata numbers), which
 * makes the walk several times cheaper. From 1e21 on, String() uses exponents.
 */
function numberLength(v: number): number {
  if (!Number.isInteger(v) || v >= 1e21 || v <= -1e21) return String(v).length;
  let n = v < 0 ? 2 : 1;
  let a = v < 0 ? -v : v;
  while (a >= 10) {
    a /= 10;
    n++;
  }
  return n;
}

// Returns the bytes counted so far (`bytes` plus this value's), or a verdict.
// Recursion is bounded by maxDepth (at most 31); no object is allocated per call.
function measure(v: unknown, depth: number, limits: CustomdataLimits, bytes: number): number {
  if (typeof v === "string") bytes += v.length + 2;
  else if (typeof v === "number") {
    // JSON.parse turns 1e400 into Infinity, which JSON cannot carry on.
    if (!Number.isFinite(v)) return outOfRange;
    bytes += numberLength(v);
  } else if (typeof v === "boolean" || v === null) bytes += v === false ? 5 : 4;
  else if (typeof v === "object") {
    if (depth > limits.maxDepth) return tooDeep;
    if (Array.isArray(v)) {
      // Brackets and separators first: a huge array fails before its items are read.
      bytes += 2 + v.length;
      if (bytes > limits.maxBytes) return tooLarge;
      for (let i = 0; i < v.length; i++) {
        bytes = measure(v[i], depth + 1, limits, bytes);
        if (bytes < 0) return bytes;
      }
    } else {
      bytes += 2;
      for (const key in v) {
        if (!Object.prototype.hasOwnProperty.call(v, key)) continue;
        bytes += key.length + 4;
        if (bytes > limits.maxBytes) return tooLarge;
        bytes = measure((v as Record<string, unknown>)[key], depth + 1, limits, bytes);
        if (bytes < 0) return bytes;
      }
    }
  }
  return bytes > limits.maxBytes ? tooLarge : bytes;
}

function tooBig(limits: CustomdataLimits): string {
  return `is larger than ${limits.maxBytes} bytes as JSON`;
}
