import type { RowDataPacket } from "mysql2/promise";
import { mysqlDatetimeToRfc3339, rowPlaceholders, type Db } from "./sql-values.js";

/** A stream entry given up on, kept for operators. */
export interface DeadLetterRow {
  streamKey: string;
  entryId: string;
  /** Deliveries the entry had when it was given up on. */
  attempts: number;
  /** Why it was given up on. */
  error: string;
  /** The entry's body (`d` field), when it had one. */
  payload: Buffer | null;
  /** The entry's player, when it names one (erasure finds its dead letters by it). */
  userId: string | null;
}

/** A stored dead letter. */
export interface DeadLetterRecord extends DeadLetterRow {
  createdAt: string;
}

/**
 * Records dead letters; an entry recorded already (a replayed dead-lettering
 * after a crash) is skipped by the unique key on (stream, entry id).
 */
export async function insertDeadLetters(db: Db, rows: readonly DeadLetterRow[]): Promise<void> {
  if (rows.length === 0) return;
  const values: unknown[] = [];
  // 16,000 characters fit TEXT's 65,535 bytes even at 4 bytes each.
  for (const r of rows) values.push(r.streamKey, r.entryId, r.attempts, r.error.slice(0, 16_000), r.payload, r.userId);
  await db.query(
    `INSERT IGNORE INTO dead_letters (stream_key, entry_id, attempts, error, payload, user_id, created_at)
     VALUES ${rowPlaceholders(rows.length, 6, "(?,?,?,?,?,?,UTC_TIMESTAMP(3))")}`,
    values,
  );
}

/** Dead letters, oldest first, for operators and tests. */
export async function selectDeadLetters(db: Db, limit = 100): Promise<DeadLetterRecord[]> {
  const [rows] = await db.query<RowDataPacket[]>(
    "SELECT stream_key, entry_id, attempts, error, payload, user_id, created_at FROM dead_letters ORDER BY id LIMIT ?",
    [limit],
  );
  return rows.map((r) => ({
    streamKey: r.stream_key as string,
    entryId: r.entry_id as string,
    attempts: Number(r.attempts),
    error: r.error as string,
    payload: (r.payload as Buffer | null) ?? null,
    userId: (r.user_id as string | null) ?? null,
    createdAt: mysqlDatetimeToRfc3339(r.created_at as string),
  }));
}
