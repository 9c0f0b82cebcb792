import type { RowDataPacket } from "mysql2/promise";
import { mysqlDatetimeToRfc3339, rowPlaceholders, toBigInt, type Db } from "./sql-values.js";

/** One award to write. */
export interface LedgerRow {
  userId: string;
  gameId: string;
  eventId: string;
  amount: bigint;
  batchId: string;
}

/** One stored award. */
export interface LedgerRecord {
  /** Position in the ledger; later awards have larger numbers. */
  seq: bigint;
  gameId: string;
  eventId: string;
  amount: bigint;
  /** RFC 3339, UTC. */
  createdAt: string;
}

/**
 * Writes awards in the given order (so `seq` follows it). The unique key on
 * (user, game, event) refuses a second award for one event with a duplicate-key
 * error: the last line of defence against paying twice.
 */
export async function insertLedgerRows(db: Db, rows: readonly LedgerRow[]): Promise<void> {
  if (rows.length === 0) return;
  const values: unknown[] = [];
  for (const r of rows) values.push(r.userId, r.gameId, r.eventId, r.amount, r.batchId);
  await db.query(
    `INSERT INTO coin_ledger (user_id, game_id, event_id, amount, batch_id, created_at)
     VALUES ${rowPlaceholders(rows.length, 5, "(?,?,?,?,?,UTC_TIMESTAMP(3))")}`,
    values,
  );
}

/**
 * Up to `limit` awards of a player, newest first, with `seq` below `beforeSeq`
 * when given.
 */
export async function selectLedgerPage(
  db: Db,
  userId: string,
  beforeSeq: bigint | undefined,
  limit: number,
): Promise<LedgerRecord[]> {
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT seq, game_id, event_id, amount, created_at FROM coin_ledger
     WHERE user_id = ?${beforeSeq === undefined ? "" : " AND seq < ?"}
     ORDER BY seq DESC LIMIT ?`,
    beforeSeq === undefined ? [userId, limit] : [userId, beforeSeq, limit],
  );
  return rows.map((r) => ({
    seq: toBigInt(r.seq),
    gameId: r.game_id as string,
    eventId: r.event_id as string,
    amount: toBigInt(r.amount),
    createdAt: mysqlDatetimeToRfc3339(r.created_at as string),
  }));
}
