/**
 * Multi-row statements for the binary protocol (mysql2 `execute`): rows are
 * cut into pieces whose sizes come from a short fixed list, so a connection
 * only ever prepares a handful of statements, whatever the batch sizes.
 * Each prepared statement costs server memory (bounded by
 * `max_prepared_stmt_count`) and a slot in mysql2's per-connection cache, so
 * one shape per row count would grow both without bound.
 */

/** Options of {@link createStatementShapes}. */
export interface StatementShapesOptions {
  /** Statement text before the row tuples, e.g. `INSERT INTO t (a, b) VALUES `. */
  head: string;
  /** One row's tuple, e.g. `(?,?,NOW())`. */
  row: string;
  /** Statement text after the tuples, e.g. an `ON DUPLICATE KEY` clause. */
  tail?: string;
  /**
   * Rows per statement allowed, largest first; must end with 1 so every count
   * can be made. Each times the row's placeholders stays at most 65,535 (the
   * protocol's limit on parameters).
   */
  sizes: readonly number[];
  /**
   * Most bytes of values in one statement (roughly: string lengths), so a
   * statement stays far below `max_allowed_packet` however large rows are.
   * A single row larger than this still goes alone.
   */
  maxBytes: number;
}

/**
 * A value bound to a placeholder. Only types whose binary encoding means what
 * their text literal meant: strings (dates and JSON included) go as strings and
 * MariaDB converts them as it would the quoted literal.
 */
export type BindValue = string | number | bigint | null;

/** One statement to execute: its text and its values, flat. */
export interface ShapedStatement {
  sql: string;
  values: BindValue[];
}

/** Cuts rows into statements of the allowed shapes. */
export interface StatementShapes<T> {
  /**
   * The statements that write `rows`, in order, one at a time (so a caller can
   * yield between them): greedily the largest size that
   * fits both the rows left and the byte budget.
   *
   * @param valuesOf pushes one row's values onto `out`, in the tuple's order.
   * @param sizeOf the row's approximate size in bytes.
   */
  split(rows: readonly T[], valuesOf: (row: T, out: BindValue[]) => void, sizeOf: (row: T) => number): Generator<ShapedStatement>;
}

const maxPlaceholders = 65_535;

/** Creates a {@link StatementShapes} with its statement texts built once. */
export function createStatementShapes<T>(options: StatementShapesOptions): StatementShapes<T> {
  const { head, row, tail = "", sizes, maxBytes } = options;
  const perRow = row.split("?").length - 1;
  if (sizes.length === 0 || sizes[sizes.length - 1] !== 1) throw new Error("statement sizes must end with 1");
  for (let i = 0; i < sizes.length; i++) {
    if (sizes[i]! * perRow > maxPlaceholders) throw new Error(`${sizes[i]} rows need more than ${maxPlaceholders} placeholders`);
    if (i > 0 && sizes[i]! >= sizes[i - 1]!) throw new Error("statement sizes must be decreasing");
  }
  const texts = new Map<number, string>(sizes.map((n) => [n, head + new Array(n).fill(row).join(",") + tail]));

  return {
    *split(rows, valuesOf, sizeOf) {
      // Prefix sums of sizes, so each candidate piece is checked in O(1).
      const upTo = new Float64Array(rows.length + 1);
      for (let i = 0; i < rows.length; i++) upTo[i + 1] = upTo[i]! + sizeOf(rows[i]!);
      let at = 0;
      while (at < rows.length) {
        const left = rows.length - at;
        let n = 1;
        for (const size of sizes) {
          if (size <= left && upTo[at + size]! - upTo[at]! <= maxBytes) {
            n = size;
            break;
          }
        }
        const values: BindValue[] = [];
        for (let i = at; i < at + n; i++) valuesOf(rows[i]!, values);
        yield { sql: texts.get(n)!, values };
        at += n;
      }
    },
  };
}
