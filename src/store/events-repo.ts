import type { ResultSetHeader, RowDataPacket } from "mysql2/promise";
import { chunkRows, type Db } from "./sql-values.js";
import { createStatementShapes, type BindValue, type ShapedStatement } from "./statement-shapes.js";

/** One row of `events`, ready to insert. */
export interface EventRow {
  userId: string;
  gameId: string;
  eventId: string;
  type: string;
  customEventName: string | null;
  /** UTC instant as a `DATETIME(6)` literal. */
  occurredAt: string;
  utcOffsetMin: number;
  /** `customdata` as JSON text, or null. */
  customdata: string | null;
  batchId: string;
  /** When the gateway accepted the batch, as a `DATETIME(3)` literal in UTC. */
  receivedAt: string;
  /**
   * Receive time minus the batch's `sent_at` in microseconds (0 without one):
   * the column `corrected_at` is `occurred_at` plus this.
   */
  clockSkewUs: number;
}

/** The identity of an event: unique per user and game. */
export interface EventKey {
  userId: string;
  gameId: string;
  eventId: string;
}

/**
 * A string form of {@link EventKey} for sets and maps, equal exactly when MySQL's
 * keys are: event ids are compared byte for byte (`utf8mb4_nopad_bin`, and
 * validation refuses lone surrogates), user and game ids have no spaces.
 */
export function eventKeyString(key: EventKey): string {
  // NUL cannot occur in ids (validation refuses control characters).
  return `${key.userId}\u0000${key.gameId}\u0000${key.eventId}`;
}

// An event stored already is skipped by `ON DUPLICATE KEY UPDATE` (a no-op
// update, counted 0 as the pool runs without FOUND_ROWS), not by INSERT IGNORE:
// IGNORE would also skip, with a mere warning, a row MySQL refuses for another
// reason, and the event would be lost silently.
//
// Sent as prepared statements (binary protocol): MariaDB neither parses the
// statement nor unquotes megabytes of literals per batch, and mysql2 copies
// values into the packet instead of escaping them into SQL text; measured, less
// CPU on both sides per row than a prebuilt multi-row text INSERT. 1,000 rows is
// 11,000 placeholders, far below the 65,535 limit; the byte budget keeps a
// statement of large `customdata` far below max_allowed_packet (16 MiB).
const eventShapes = createStatementShapes<EventRow>({
  head:
    "INSERT INTO events (user_id, game_id, event_id, type, custom_event_name, occurred_at, utc_offset_min, customdata, batch_id, received_at, clock_skew_us, stored_at) VALUES ",
  row: "(?,?,?,?,?,?,?,?,?,?,?,UTC_TIMESTAMP(3))",
  tail: " ON DUPLICATE KEY UPDATE event_id = event_id",
  sizes: [1000, 100, 10, 1],
  maxBytes: 2 * 1024 * 1024,
});

function eventValues(r: EventRow, out: BindValue[]): void {
  out.push(r.userId, r.gameId, r.eventId, r.type, r.customEventName, r.occurredAt, r.utcOffsetMin, r.customdata, r.batchId, r.receivedAt, r.clockSkewUs);
}

// String lengths plus a little per value: only an estimate for the budget.
function eventBytes(r: EventRow): number {
  return 96 + r.userId.length + r.gameId.length + r.eventId.length + (r.customEventName?.length ?? 0) + (r.customdata?.length ?? 0);
}

/**
 * The INSERT statements of a set of events with their values, built in
 * advance: the worker sorts and chunks its next read while the current
 * transaction runs.
 */
export interface EventInserts {
  /** Rows the statements insert. */
  rows: number;
  /** Prepared statements of a few fixed shapes, with their values. */
  statements: ShapedStatement[];
}

/** Options of {@link formatEventInserts}. */
export interface FormatEventInsertsOptions {
  /**
   * Called between statements; awaiting it lets the caller yield to the event
   * loop so a transaction in flight is not held up by the formatting.
   */
  pause?: () => Promise<void>;
}

/**
 * Builds the statements that insert `rows`, in key order (so concurrent
 * transactions take the unique key's row locks in one order) and chunked below
 * `max_allowed_packet`. Values travel as parameters of prepared statements,
 * never spliced into SQL.
 */
export async function formatEventInserts(rows: readonly EventRow[], options: FormatEventInsertsOptions = {}): Promise<EventInserts> {
  const sorted = [...rows].sort(compareEventKeys);
  const statements: ShapedStatement[] = [];
  for (const statement of eventShapes.split(sorted, eventValues, eventBytes)) {
    if (options.pause && statements.length > 0) await options.pause();
    statements.push(statement);
  }
  return { rows: sorted.length, statements };
}

/** Runs statements made by {@link formatEventInserts}; returns how many rows were new. */
export async function runEventInserts(db: Db, inserts: EventInserts): Promise<number> {
  let stored = 0;
  for (const { sql, values } of inserts.statements) {
    const [result] = await db.execute<ResultSetHeader>(sql, values);
    stored += result.affectedRows;
  }
  return stored;
}

/** Inserts events, skipping the ones stored already, and returns how many were new. */
export async function insertEvents(db: Db, rows: readonly EventRow[]): Promise<number> {
  return runEventInserts(db, await formatEventInserts(rows));
}

/**
 * Which of `keys` are stored already, as {@link eventKeyString}s: in `events`,
 * or (`coin_ledger`) paid already. Both tables are unique on the key.
 */
export async function findStoredEvents(db: Db, keys: readonly EventKey[], table: "events" | "coin_ledger" = "events"): Promise<Set<string>> {
  const found = new Set<string>();
  // Grouped by (user, game) so each group is one range of the unique key.
  const groups = new Map<string, { userId: string; gameId: string; eventIds: string[] }>();
  for (const k of keys) {
    const g = `${k.userId}\u0000${k.gameId}`;
    let group = groups.get(g);
    if (!group) groups.set(g, (group = { userId: k.userId, gameId: k.gameId, eventIds: [] }));
    group.eventIds.push(k.eventId);
  }
  const pieces: Array<{ userId: string; gameId: string; eventIds: string[] }> = [];
  for (const g of groups.values()) {
    for (const ids of chunkRows(g.eventIds, 1000)) pieces.push({ userId: g.userId, gameId: g.gameId, eventIds: ids });
  }
  for (const batch of chunkRows(pieces, 200, 2000, (p) => p.eventIds.length)) {
    const where: string[] = [];
    const values: unknown[] = [];
    for (const p of batch) {
      where.push(`(user_id = ? AND game_id = ? AND event_id IN (${p.eventIds.map(() => "?").join(",")}))`);
      values.push(p.userId, p.gameId, ...p.eventIds);
    }
    const [rows] = await db.query<RowDataPacket[]>(
      `SELECT user_id, game_id, event_id FROM ${table} WHERE ${where.join(" OR ")}`,
      values,
    );
    for (const r of rows) found.add(eventKeyString({ userId: r.user_id, gameId: r.game_id, eventId: r.event_id }));
  }
  return found;
}

/** Orders events by their unique key. */
export function compareEventKeys(a: EventKey, b: EventKey): number {
  return cmp(a.userId, b.userId) || cmp(a.gameId, b.gameId) || cmp(a.eventId, b.eventId);
}

// Locks are taken in insertion order, so any total order avoids lock-order
// deadlocks as long as every transaction uses the same one.
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
