import type { RowDataPacket } from "mysql2/promise";
import type { Db } from "./sql-values.js";

/** The instant a listing of events is ordered and bounded by. */
export type EventTimeColumn = "received_at" | "corrected_at";

/** Where a page of events starts: after the last row of the previous page. */
export interface EventCursor {
  /** That row's `received_at`, as MySQL gave it (`YYYY-MM-DD hh:mm:ss.fff`). */
  time: string;
  seq: bigint;
}

/** What to select from one player's events. */
export interface EventQuery {
  userId: string;
  gameId?: string;
  type?: string;
  /** The column `since` and `until` bound; the order is always receive time. */
  column: EventTimeColumn;
  /** Inclusive lower bound of the column, a `DATETIME` literal in UTC. */
  since?: string;
  /** Exclusive upper bound of the column, a `DATETIME` literal in UTC. */
  until?: string;
  /** Rows strictly older than this (by received_at, then seq). */
  before?: EventCursor;
  limit: number;
}

/** One stored event as read, times as MySQL literals in UTC. */
export interface EventRecord {
  seq: bigint;
  eventId: string;
  gameId: string;
  type: string;
  customEventName: string | null;
  occurredAt: string;
  utcOffsetMin: number;
  correctedAt: string;
  receivedAt: string;
  batchId: string;
  /** customdata as JSON text, or null. */
  customdata: string | null;
}

// The key of migration 005, named in the statement so that a filter on
// game_id cannot tempt the optimizer into the unique key and a sort. A bound
// on received_at narrows the key range; one on corrected_at (a virtual column
// with no key of its own) filters the rows the range reads.
const playerKey = "events_user_received";

const columns =
  "seq, event_id, game_id, type, custom_event_name, occurred_at, utc_offset_min, corrected_at, received_at, batch_id, customdata";

/**
 * The statement and values of {@link selectEventsPage}: exported so a test can
 * EXPLAIN exactly what runs.
 */
export function eventsPageStatement(q: EventQuery): { sql: string; values: unknown[] } {
  const col = q.column;
  const where = ["user_id = ?"];
  const values: unknown[] = [q.userId];
  if (q.gameId !== undefined) where.push("game_id = ?"), values.push(q.gameId);
  if (q.type !== undefined) where.push("type = ?"), values.push(q.type);
  if (q.since !== undefined) where.push(`${col} >= ?`), values.push(q.since);
  if (q.until !== undefined) where.push(`${col} < ?`), values.push(q.until);
  if (q.before !== undefined) {
    // Spelled out rather than a row comparison, which MariaDB's range
    // optimizer does not turn into an index range.
    where.push("(received_at < ? OR (received_at = ? AND seq < ?))");
    values.push(q.before.time, q.before.time, q.before.seq);
  }
  values.push(q.limit);
  return {
    sql: `SELECT ${columns} FROM events FORCE INDEX (${playerKey}) WHERE ${where.join(" AND ")} ORDER BY received_at DESC, seq DESC LIMIT ?`,
    values,
  };
}

/** Up to `limit` of one player's events, newest first by receive time. */
export async function selectEventsPage(db: Db, q: EventQuery): Promise<EventRecord[]> {
  const { sql, values } = eventsPageStatement(q);
  const [rows] = await db.query<RowDataPacket[]>(sql, values);
  return rows.map(toRecord);
}

/**
 * Up to `limit` of one player's events after `after`, oldest first by receive
 * time: the export reads a player's events this way, a chunk at a time,
 * through the same key.
 */
export async function selectEventsChunk(db: Db, userId: string, after: EventCursor | undefined, limit: number): Promise<EventRecord[]> {
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT ${columns} FROM events FORCE INDEX (${playerKey}) WHERE user_id = ?${
      after === undefined ? "" : " AND (received_at > ? OR (received_at = ? AND seq > ?))"
    } ORDER BY received_at, seq LIMIT ?`,
    after === undefined ? [userId, limit] : [userId, after.time, after.time, after.seq, limit],
  );
  return rows.map(toRecord);
}

function toRecord(r: RowDataPacket): EventRecord {
  const customdata = r.customdata as unknown;
  return {
    seq: BigInt(r.seq as string),
    eventId: r.event_id as string,
    gameId: r.game_id as string,
    type: r.type as string,
    customEventName: (r.custom_event_name as string | null) ?? null,
    occurredAt: r.occurred_at as string,
    utcOffsetMin: Number(r.utc_offset_min),
    correctedAt: r.corrected_at as string,
    receivedAt: r.received_at as string,
    batchId: r.batch_id as string,
    // MariaDB's JSON is LONGTEXT; MySQL 8 hands mysql2 a parsed value.
    customdata: customdata === null || customdata === undefined ? null : typeof customdata === "string" ? customdata : JSON.stringify(customdata),
  };
}
