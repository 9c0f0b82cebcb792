import type { RowDataPacket } from "mysql2/promise";
import { mysqlDatetimeToRfc3339, toBigInt, type Db } from "./sql-values.js";
import { createStatementShapes, type BindValue } from "./statement-shapes.js";

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

// Prepared, like the event inserts (see events-repo.ts): a read of 8,000
// events writes some 2,400 awards. Statements run one after the other, so
// `seq` still follows the given order.
const ledgerShapes = createStatementShapes<LedgerRow>({
  head: "INSERT INTO coin_ledger (user_id, game_id, event_id, amount, batch_id, created_at) VALUES ",
  row: "(?,?,?,?,?,UTC_TIMESTAMP(3))",
  sizes: [1000, 100, 10, 1],
  maxBytes: 2 * 1024 * 1024,
});

function ledgerValues(r: LedgerRow, out: BindValue[]): void {
  out.push(r.userId, r.gameId, r.eventId, r.amount, r.batchId);
}

function ledgerBytes(r: LedgerRow): number {
  return 64 + r.userId.length + r.gameId.length + r.eventId.length;
}

/**
 * Writes awards in the given order (so `seq` follows it). The unique key on
 * (user, game, event) refuses a second award for one event with a duplicate-key
 * error: the last line of defence against paying twice.
 */
export async function insertLedgerRows(db: Db, rows: readonly LedgerRow[]): Promise<void> {
  for (const { sql, values } of ledgerShapes.split(rows, ledgerValues, ledgerBytes)) await db.execute(sql, values);
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

/** One stored award with its batch, oldest first in an export. */
export interface CoinAwardRecord {
  seq: bigint;
  eventId: string;
  gameId: string;
  amount: bigint;
  batchId: string;
  /** RFC 3339, UTC. */
  createdAt: string;
}

/** Up to `limit` of a player's awards after `afterSeq`, oldest first, through `(user_id, seq)`. */
export async function selectCoinAwardsChunk(db: Db, userId: string, afterSeq: bigint, limit: number): Promise<CoinAwardRecord[]> {
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT seq, event_id, game_id, amount, batch_id, created_at FROM coin_ledger
     WHERE user_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
    [userId, afterSeq, limit],
  );
  return rows.map((r) => ({
    seq: toBigInt(r.seq),
    eventId: r.event_id as string,
    gameId: r.game_id as string,
    amount: toBigInt(r.amount),
    batchId: r.batch_id as string,
    createdAt: mysqlDatetimeToRfc3339(r.created_at as string),
  }));
}
