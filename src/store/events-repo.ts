import type { ResultSetHeader, RowDataPacket } from "mysql2/promise";
import { chunkRows, rowPlaceholders, type Db } from "./sql-values.js";

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

const insertColumns =
  "(user_id, game_id, event_id, type, custom_event_name, occurred_at, utc_offset_min, customdata, batch_id, received_at, stored_at)";
const insertRowSql = "(?,?,?,?,?,?,?,?,?,?,UTC_TIMESTAMP(3))";
// A few thousand rows or ~2 MiB per statement: big enough to amortise round
// trips, far below max_allowed_packet (16 MiB by default).
const maxRowsPerInsert = 2000;
const maxBytesPerInsert = 2 * 1024 * 1024;

function rowBytes(row: EventRow): number {
  return 160 + row.userId.length + row.gameId.length + row.eventId.length + (row.customdata?.length ?? 0);
}

/**
 * Inserts events and returns how many were new. An event stored already is
 * skipped by `ON DUPLICATE KEY UPDATE` (a no-op update, counted 0 as the pool
 * runs without FOUND_ROWS), not by INSERT IGNORE: IGNORE would also skip, with
 * a mere warning, a row MySQL refuses for another reason, and the event would be
 * lost silently. Rows are written in key order so concurrent transactions take
 * row locks in one order.
 */
export async function insertEvents(db: Db, rows: readonly EventRow[]): Promise<number> {
  const sorted = [...rows].sort(compareEventKeys);
  let stored = 0;
  for (const chunk of chunkRows(sorted, maxRowsPerInsert, maxBytesPerInsert, rowBytes)) {
    const values: unknown[] = [];
    for (const r of chunk) {
      values.push(r.userId, r.gameId, r.eventId, r.type, r.customEventName, r.occurredAt, r.utcOffsetMin, r.customdata, r.batchId, r.receivedAt);
    }
    const [result] = await db.query<ResultSetHeader>(
      `INSERT INTO events ${insertColumns} VALUES ${rowPlaceholders(chunk.length, 10, insertRowSql)} ON DUPLICATE KEY UPDATE event_id = event_id`,
      values,
    );
    stored += result.affectedRows;
  }
  return stored;
}

/** Which of `keys` are stored already, as {@link eventKeyString}s. */
export async function findStoredEvents(db: Db, keys: readonly EventKey[]): Promise<Set<string>> {
  const found = new Set<string>();
  // Grouped by (user, game) so each group is one index range on the primary key.
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

/** Orders events by their primary key. */
export function compareEventKeys(a: EventKey, b: EventKey): number {
  return cmp(a.userId, b.userId) || cmp(a.gameId, b.gameId) || cmp(a.eventId, b.eventId);
}

// Locks are taken in insertion order, so any total order avoids lock-order
// deadlocks as long as every transaction uses the same one.
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
