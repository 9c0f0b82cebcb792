import type { RowDataPacket } from "mysql2/promise";
import { mysqlDatetimeToRfc3339, rowPlaceholders, toBigInt, type Db } from "./sql-values.js";

/**
 * Creates missing wallets and takes the row lock of every wallet in `userIds`,
 * in sorted order, in one statement. A transaction that holds a player's wallet
 * lock is the only one deciding that player's coins, so two workers can never
 * both pay one event or both spend the last coins under a daily cap; the sorted
 * order keeps two such transactions from deadlocking.
 */
export async function lockWallets(db: Db, userIds: Iterable<string>): Promise<void> {
  const sorted = [...new Set(userIds)].sort();
  if (sorted.length === 0) return;
  // ON DUPLICATE KEY UPDATE takes an exclusive lock on an existing row even
  // when it changes nothing.
  await db.query(
    `INSERT INTO wallets (user_id, balance) VALUES ${rowPlaceholders(sorted.length, 1, "(?,0)")}
     ON DUPLICATE KEY UPDATE balance = balance`,
    sorted,
  );
}

/** Adds each delta to its player's balance, in one statement, in sorted user order. */
export async function addToBalances(db: Db, deltas: ReadonlyMap<string, bigint>): Promise<void> {
  const entries = [...deltas].filter(([, d]) => d !== 0n).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return;
  const values: unknown[] = [];
  for (const [userId, delta] of entries) values.push(userId, delta);
  await db.query(
    `INSERT INTO wallets (user_id, balance) VALUES ${rowPlaceholders(entries.length, 2)}
     ON DUPLICATE KEY UPDATE balance = balance + VALUES(balance)`,
    values,
  );
}

/** A player's balance; 0 when the player has no wallet yet. */
export async function selectBalance(db: Db, userId: string): Promise<bigint> {
  const [rows] = await db.query<RowDataPacket[]>("SELECT balance FROM wallets WHERE user_id = ?", [userId]);
  return rows.length === 0 ? 0n : toBigInt(rows[0]!.balance);
}

/** A wallet as exported. */
export interface WalletRecord {
  balance: bigint;
  /** RFC 3339, UTC. */
  updatedAt: string;
}

/** A player's wallet, or undefined when they never earned coins. */
export async function selectWallet(db: Db, userId: string): Promise<WalletRecord | undefined> {
  const [rows] = await db.query<RowDataPacket[]>("SELECT balance, updated_at FROM wallets WHERE user_id = ?", [userId]);
  const r = rows[0];
  return r ? { balance: toBigInt(r.balance), updatedAt: mysqlDatetimeToRfc3339(r.updated_at as string) } : undefined;
}
