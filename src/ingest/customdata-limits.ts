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
  let bytes = 0;
  const tooBig = () => `is larger than ${limits.maxBytes} bytes as JSON`;
  const stack: Array<{ v: unknown; depth: number }> = [{ v: value, depth: 1 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop()!;
    if (typeof v === "string") bytes += v.length + 2;
    else if (typeof v === "number") {
      // JSON.parse turns 1e400 into Infinity, which JSON cannot carry on.
      if (!Number.isFinite(v)) return "holds a number out of range";
      bytes += String(v).length;
    } else if (typeof v === "boolean" || v === null) bytes += String(v).length;
    else if (typeof v === "object") {
      if (depth > limits.maxDepth) return `is nested deeper than ${limits.maxDepth} levels`;
      if (Array.isArray(v)) {
        // Brackets and separators first: a huge array fails before its items are pushed.
        bytes += 2 + v.length;
        if (bytes > limits.maxBytes) return tooBig();
        for (const item of v) stack.push({ v: item, depth: depth + 1 });
      } else {
        bytes += 2;
        for (const key in v) {
          if (!Object.prototype.hasOwnProperty.call(v, key)) continue;
          bytes += key.length + 4;
          if (bytes > limits.maxBytes) return tooBig();
          stack.push({ v: (v as Record<string, unknown>)[key], depth: depth + 1 });
        }
      }
    }
    if (bytes > limits.maxBytes) return tooBig();
  }
  return undefined;
}
