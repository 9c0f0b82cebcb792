import { escape, type ResultSetHeader, type RowDataPacket } from "mysql2/promise";
import { chunkRows, type Db } from "./sql-values.js";

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

const insertHead =
  "INSERT INTO events (user_id, game_id, event_id, type, custom_event_name, occurred_at, utc_offset_min, customdata, batch_id, received_at, stored_at) VALUES ";
// An event stored already is skipped by `ON DUPLICATE KEY UPDATE` (a no-op
// update, counted 0 as the pool runs without FOUND_ROWS), not by INSERT IGNORE:
// IGNORE would also skip, with a mere warning, a row MySQL refuses for another
// reason, and the event would be lost silently.
const insertTail = " ON DUPLICATE KEY UPDATE event_id = event_id";
// A few thousand rows or ~2 MiB per statement: big enough to amortise round
// trips, far below max_allowed_packet (16 MiB by default).
const maxRowsPerInsert = 2000;
const maxBytesPerInsert = 2 * 1024 * 1024;

/**
 * The INSERT statements of a set of events, as finished SQL text: building them
 * (escaping some 10 values per event) costs about as much JavaScript as the
 * rest of a transaction, so the worker builds them for its next read while the
 * current transaction runs.
 */
export interface EventInserts {
  /** Rows the statements insert. */
  rows: number;
  statements: string[];
}

/** Options of {@link formatEventInserts}. */
export interface FormatEventInsertsOptions {
  /**
   * Called every few hundred rows; awaiting it lets the caller yield to the
   * event loop so a transaction in flight is not held up by the formatting.
   */
  pause?: () => Promise<void>;
}

const rowsPerPause = 256;

/**
 * Formats the statements that insert `rows`, in key order (so concurrent
 * transactions take the unique key's row locks in one order) and chunked below
 * `max_allowed_packet`. Values are escaped by mysql2's own `escape`, exactly as
 * `query(sql, values)` would, so no value is ever spliced in raw.
 */
export async function formatEventInserts(rows: readonly EventRow[], options: FormatEventInsertsOptions = {}): Promise<EventInserts> {
  const sorted = [...rows].sort(compareEventKeys);
  const statements: string[] = [];
  let tuples: string[] = [];
  let bytes = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (options.pause && i > 0 && i % rowsPerPause === 0) await options.pause();
    const tuple = rowTuple(sorted[i]!);
    if (tuples.length > 0 && (tuples.length >= maxRowsPerInsert || bytes + tuple.length > maxBytesPerInsert)) {
      statements.push(insertHead + tuples.join(",") + insertTail);
      tuples = [];
      bytes = 0;
    }
    tuples.push(tuple);
    bytes += tuple.length;
  }
  if (tuples.length > 0) statements.push(insertHead + tuples.join(",") + insertTail);
  return { rows: sorted.length, statements };
}

function rowTuple(r: EventRow): string {
  return (
    `(${escape(r.userId)},${escape(r.gameId)},${escape(r.eventId)},${escape(r.type)},${escape(r.customEventName)},` +
    `${escape(r.occurredAt)},${escape(r.utcOffsetMin)},${escape(r.customdata)},${escape(r.batchId)},${escape(r.receivedAt)},UTC_TIMESTAMP(3))`
  );
}

/** Runs statements made by {@link formatEventInserts}; returns how many rows were new. */
export async function runEventInserts(db: Db, inserts: EventInserts): Promise<number> {
  let stored = 0;
  for (const sql of inserts.statements) {
    const [result] = await db.query<ResultSetHeader>(sql);
    stored += result.affectedRows;
  }
  return stored;
}

/** Inserts events, skipping the ones stored already, and returns how many were new. */
export async function insertEvents(db: Db, rows: readonly EventRow[]): Promise<number> {
  return runEventInserts(db, await formatEventInserts(rows));
}

/** Which of `keys` are stored already, as {@link eventKeyString}s. */
export async function findStoredEvents(db: Db, keys: readonly EventKey[]): Promise<Set<string>> {
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
      `SELECT user_id, game_id, event_id FROM events WHERE ${where.join(" OR ")}`,
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
