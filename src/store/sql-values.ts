import type { Pool, PoolConnection } from "mysql2/promise";

/** Anything that runs a query: the pool, or one connection inside a transaction. */
export type Db = Pool | PoolConnection;

/**
 * The placeholder list of a multi-row statement, e.g. `(?,?),(?,?)` for two rows
 * of two columns. Only `?` placeholders are generated; values always travel as
 * parameters.
 *
 * @param rowSql one row's tuple; defaults to `columns` plain placeholders. Pass it
 *   when a column takes an SQL expression, e.g. `(?,?,UTC_TIMESTAMP(3))`.
 */
export function rowPlaceholders(rows: number, columns: number, rowSql?: string): string {
  const one = rowSql ?? `(${new Array(columns).fill("?").join(",")})`;
  return new Array(rows).fill(one).join(",");
}

/**
 * Splits `items` into chunks of at most `maxRows` items and about `maxBytes`
 * (as estimated by `sizeOf`), never leaving a chunk empty. Keeps one statement
 * well under MySQL's `max_allowed_packet` however large the events are.
 */
export function chunkRows<T>(items: readonly T[], maxRows: number, maxBytes = Infinity, sizeOf: (item: T) => number = () => 0): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && (current.length >= maxRows || bytes + size > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Reads a BIGINT column (a string with `bigNumberStrings`) as a bigint. */
export function toBigInt(value: unknown): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number") return BigInt(value);
  if (typeof value === "string" && /^-?\d+$/.test(value)) return BigInt(value);
  throw new TypeError(`not an integer column value: ${String(value)}`);
}

/**
 * Formats a `DATETIME` read with `dateStrings` (`2026-11-26 09:15:00.123`, UTC by
 * this schema's convention) as RFC 3339.
 */
export function mysqlDatetimeToRfc3339(value: string): string {
  return `${value.replace(" ", "T")}Z`;
}
