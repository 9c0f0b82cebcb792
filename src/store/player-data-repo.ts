import type { RowDataPacket } from "mysql2/promise";
import { mysqlDatetimeToRfc3339, toBigInt, type Db } from "./sql-values.js";

/** A player's account as exported: never the password hash itself. */
export interface AccountRecord {
  userId: string;
  /** null for a guest. */
  email: string | null;
  hasPassword: boolean;
  /** RFC 3339, UTC. */
  createdAt: string;
}

/** A linked device, known by its hash. */
export interface DeviceRecord {
  /** Lower-case hex of the SHA-256 of the device id. */
  deviceHash: string;
  /** RFC 3339, UTC. */
  createdAt: string;
}

/** One coin award as exported. */
export interface CoinAwardRecord {
  seq: bigint;
  eventId: string;
  gameId: string;
  amount: bigint;
  batchId: string;
  /** RFC 3339, UTC. */
  createdAt: string;
}

/** A wallet as exported. */
export interface WalletRecord {
  balance: bigint;
  /** RFC 3339, UTC. */
  updatedAt: string;
}

/** The account of a player, or undefined. */
export async function selectAccount(db: Db, userId: string): Promise<AccountRecord | undefined> {
  const [rows] = await db.query<RowDataPacket[]>(
    "SELECT user_id, email, password_hash IS NOT NULL AS has_password, created_at FROM users WHERE user_id = ?",
    [userId],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    userId: r.user_id as string,
    email: (r.email as string | null) ?? null,
    hasPassword: Number(r.has_password) === 1,
    createdAt: mysqlDatetimeToRfc3339(r.created_at as string),
  };
}

/** A player's devices, oldest first (a player has a handful). */
export async function selectDevices(db: Db, userId: string): Promise<DeviceRecord[]> {
  const [rows] = await db.query<RowDataPacket[]>(
    "SELECT LOWER(HEX(device_hash)) AS device_hash, created_at FROM devices WHERE user_id = ? ORDER BY created_at, device_hash",
    [userId],
  );
  return rows.map((r) => ({ deviceHash: r.device_hash as string, createdAt: mysqlDatetimeToRfc3339(r.created_at as string) }));
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

/** A player's wallet, or undefined when they never earned coins. */
export async function selectWallet(db: Db, userId: string): Promise<WalletRecord | undefined> {
  const [rows] = await db.query<RowDataPacket[]>("SELECT balance, updated_at FROM wallets WHERE user_id = ?", [userId]);
  const r = rows[0];
  return r ? { balance: toBigInt(r.balance), updatedAt: mysqlDatetimeToRfc3339(r.updated_at as string) } : undefined;
}

/** Whether a player has any event stored. */
export async function hasEvents(db: Db, userId: string): Promise<boolean> {
  const [rows] = await db.query<RowDataPacket[]>("SELECT 1 FROM events WHERE user_id = ? LIMIT 1", [userId]);
  return rows.length > 0;
}
