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
  const budget = { bytes: 0 };
  return measure(value, 1, limits, budget);
}

// Recursion is bounded by maxDepth (at most 31): no stack of entries to allocate.
function measure(v: unknown, depth: number, limits: CustomdataLimits, budget: { bytes: number }): string | undefined {
  if (typeof v === "string") budget.bytes += v.length + 2;
  else if (typeof v === "number") {
    // JSON.parse turns 1e400 into Infinity, which JSON cannot carry on.
    if (!Number.isFinite(v)) return "holds a number out of range";
    budget.bytes += String(v).length;
  } else if (typeof v === "boolean" || v === null) budget.bytes += v === false ? 5 : 4;
  else if (typeof v === "object") {
    if (depth > limits.maxDepth) return `is nested deeper than ${limits.maxDepth} levels`;
    if (Array.isArray(v)) {
      // Brackets and separators first: a huge array fails before its items are read.
      budget.bytes += 2 + v.length;
      if (budget.bytes > limits.maxBytes) return tooBig(limits);
      for (let i = 0; i < v.length; i++) {
        const problem = measure(v[i], depth + 1, limits, budget);
        if (problem !== undefined) return problem;
      }
    } else {
      budget.bytes += 2;
      for (const key in v) {
        if (!Object.prototype.hasOwnProperty.call(v, key)) continue;
        budget.bytes += key.length + 4;
        if (budget.bytes > limits.maxBytes) return tooBig(limits);
        const problem = measure((v as Record<string, unknown>)[key], depth + 1, limits, budget);
        if (problem !== undefined) return problem;
      }
    }
  }
  return budget.bytes > limits.maxBytes ? tooBig(limits) : undefined;
}

function tooBig(limits: CustomdataLimits): string {
  return `is larger than ${limits.maxBytes} bytes as JSON`;
}
