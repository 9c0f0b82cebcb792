import type { Pool, ResultSetHeader, RowDataPacket } from "mysql2/promise";
import { mysqlDatetimeToRfc3339, type Db } from "./sql-values.js";
import { withTransaction } from "./transaction.js";

/** A player's erasure as recorded. */
export interface Tombstone {
  /** RFC 3339, UTC. */
  requestedAt: string;
  /** RFC 3339, UTC; undefined while the erasure is unfinished. */
  completedAt: string | undefined;
}

/**
 * Records that a player is erased (kept if recorded before) and returns the
 * record. The fence row is updated in the same transaction: a drain
 * transaction that read the tombstones before this one commits finishes
 * first, so every chunk the erasure deletes afterwards sees its rows.
 */
export async function recordTombstone(pool: Pool, userId: string): Promise<Tombstone> {
  return withTransaction(pool, async (conn) => {
    await conn.query("UPDATE erasure_fence SET erasures = erasures + 1 WHERE id = 0");
    // A second erasure keeps the first one's time; unlike INSERT IGNORE, any
    // other refusal still fails the call.
    await conn.query(
      "INSERT INTO erased_players (user_id, requested_at) VALUES (?, UTC_TIMESTAMP(3)) ON DUPLICATE KEY UPDATE user_id = user_id",
      [userId],
    );
    const found = await selectTombstone(conn, userId);
    if (!found) throw new Error("tombstone missing after insert");
    return found;
  });
}

/** The erasure record of a player, or undefined when it was never erased. */
export async function selectTombstone(db: Db, userId: string): Promise<Tombstone | undefined> {
  const [rows] = await db.query<RowDataPacket[]>("SELECT requested_at, completed_at FROM erased_players WHERE user_id = ?", [userId]);
  const r = rows[0];
  if (!r) return undefined;
  return {
    requestedAt: mysqlDatetimeToRfc3339(r.requested_at as string),
    completedAt: r.completed_at === null ? undefined : mysqlDatetimeToRfc3339(r.completed_at as string),
  };
}

/** Marks a player's erasure finished. */
export async function completeTombstone(pool: Pool, userId: string): Promise<void> {
  await pool.query("UPDATE erased_players SET completed_at = UTC_TIMESTAMP(3) WHERE user_id = ?", [userId]);
}

/**
 * Which of `userIds` are erased, read inside a drain transaction: first a
 * shared lock on the fence (waiting for a tombstone being recorded), then the
 * tombstones, as one statement.
 */
export async function selectErasedAmong(db: Db, userIds: ReadonlySet<string>): Promise<Set<string>> {
  const ids = [...userIds];
  if (ids.length === 0) {
    await db.query("SELECT erasures FROM erasure_fence WHERE id = 0 LOCK IN SHARE MODE");
    return new Set();
  }
  // The fence row is locked whatever the join finds; tombstones found are
  // locked too, which delays nothing (they are never updated by the drain).
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT e.user_id FROM erasure_fence f LEFT JOIN erased_players e ON e.user_id IN (?)
     WHERE f.id = 0 LOCK IN SHARE MODE`,
    [ids],
  );
  const erased = new Set<string>();
  for (const r of rows) if (r.user_id !== null) erased.add(r.user_id as string);
  return erased;
}

/** A table the erasure empties of one player, and how. */
export interface ErasureStep {
  /** Name reported in the counts. */
  table: string;
  /** DELETE of at most `?` rows of the player `?` (bound in that order: user, limit). */
  sql: string;
}

// Every table holding a player's rows (the test of the erasure lists the
// schema's tables and checks that each one is here or knowingly left out).
// Sign-in goes first, so the player can take no new token while the large
// tables are cleared. Each DELETE finds its rows by a key that leads with
// user_id, and takes at most `limit` rows: a short transaction of its own.
/** The steps of an erasure, in order. */
export const erasureSteps: readonly ErasureStep[] = [
  { table: "refresh_tokens", sql: "DELETE FROM refresh_tokens WHERE user_id = ? LIMIT ?" },
  { table: "devices", sql: "DELETE FROM devices WHERE user_id = ? LIMIT ?" },
  { table: "users", sql: "DELETE FROM users WHERE user_id = ? LIMIT ?" },
  { table: "events", sql: "DELETE FROM events WHERE user_id = ? LIMIT ?" },
  { table: "coin_ledger", sql: "DELETE FROM coin_ledger WHERE user_id = ? LIMIT ?" },
  { table: "coin_daily_totals", sql: "DELETE FROM coin_daily_totals WHERE user_id = ? LIMIT ?" },
  { table: "wallets", sql: "DELETE FROM wallets WHERE user_id = ? LIMIT ?" },
  { table: "dead_letters", sql: "DELETE FROM dead_letters WHERE user_id = ? LIMIT ?" },
];

/** Tables with player data that the erasure leaves, and why (checked by a test). */
export const tablesKeptByErasure: Readonly<Record<string, string>> = {
  erased_players: "the tombstone: the player's id only, kept so queued batches are dropped",
  erasure_fence: "one counter, no player data",
  games: "games, no player data",
  signing_keys: "keys, no player data",
  schema_migrations: "the migration log",
};

// READ COMMITTED, as the drain's transactions: a DELETE then locks only the
// rows it removes. Under the server's REPEATABLE READ it would also lock the
// gaps around them (next-key locks), and a drain transaction inserting next to
// the player's keys (another player's events, or the end of the table) would
// wait for the chunk.
async function deleteChunk(pool: Pool, sql: string, values: unknown[]): Promise<number> {
  return withTransaction(
    pool,
    async (conn) => {
      const [result] = await conn.query<ResultSetHeader>(sql, values);
      return result.affectedRows;
    },
    { isolation: "READ COMMITTED" },
  );
}

/** Runs one chunk of a step; the number of rows it deleted. */
export async function runErasureChunk(pool: Pool, step: ErasureStep, userId: string, limit: number): Promise<number> {
  return deleteChunk(pool, step.sql, [userId, limit]);
}

/**
 * Dead letters written before migration 005 have no user_id: those holding
 * the player's id in their payload go, a chunk at a time. The table is the
 * operators' small one, so scanning it is acceptable where the others are not.
 */
export async function runLegacyDeadLetterChunk(pool: Pool, userId: string, limit: number): Promise<number> {
  return deleteChunk(pool, "DELETE FROM dead_letters WHERE user_id IS NULL AND LOCATE(?, payload) > 0 LIMIT ?", [Buffer.from(userId, "utf8"), limit]);
}
