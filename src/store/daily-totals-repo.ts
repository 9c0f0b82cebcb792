import type { RowDataPacket } from "mysql2/promise";
import { chunkRows, rowPlaceholders, toBigInt, type Db } from "./sql-values.js";

/** Coins of one player in one game on one UTC day. */
export interface DailyTotal {
  userId: string;
  gameId: string;
  /** `YYYY-MM-DD`, UTC. */
  day: string;
  coins: bigint;
}

/**
 * The stored totals among the (user, game, day) keys asked for; a key without a
 * row has 0 coins. Callers hold the players' wallet locks, which is what makes
 * this read safe to act on.
 */
export async function selectDailyTotals(db: Db, keys: ReadonlyArray<Omit<DailyTotal, "coins">>): Promise<DailyTotal[]> {
  const totals: DailyTotal[] = [];
  for (const chunk of chunkRows(keys, 500)) {
    const values: unknown[] = [];
    for (const k of chunk) values.push(k.userId, k.gameId, k.day);
    // OR of key equalities rather than a row-constructor IN: both MySQL and
    // MariaDB turn it into primary-key ranges.
    const [rows] = await db.query<RowDataPacket[]>(
      `SELECT user_id, game_id, DATE_FORMAT(day, '%Y-%m-%d') AS day, coins FROM coin_daily_totals
       WHERE ${chunk.map(() => "(user_id = ? AND game_id = ? AND day = ?)").join(" OR ")}`,
      values,
    );
    for (const r of rows) totals.push({ userId: r.user_id, gameId: r.game_id, day: r.day, coins: toBigInt(r.coins) });
  }
  return totals;
}

/** Adds coins to daily totals, creating rows as needed, in key order. */
export async function addDailyTotals(db: Db, adds: readonly DailyTotal[]): Promise<void> {
  const sorted = [...adds]
    .filter((a) => a.coins !== 0n)
    .sort((a, b) => cmp(a.userId, b.userId) || cmp(a.gameId, b.gameId) || cmp(a.day, b.day));
  for (const chunk of chunkRows(sorted, 1000)) {
    const values: unknown[] = [];
    for (const a of chunk) values.push(a.userId, a.gameId, a.day, a.coins);
    await db.query(
      `INSERT INTO coin_daily_totals (user_id, game_id, day, coins) VALUES ${rowPlaceholders(chunk.length, 4)}
       ON DUPLICATE KEY UPDATE coins = coins + VALUES(coins)`,
      values,
    );
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
