import type { PoolConnection, ResultSetHeader, RowDataPacket } from "mysql2/promise";

/** The next rows of `events` in storage order: the last `seq` of the window, and its oldest receive time. */
export interface RetentionWindow {
  lastSeq: bigint;
  /** The oldest `received_at` in the window, a literal in UTC. */
  oldestReceivedAt: string;
}

/**
 * The window of up to `rows` rows after `afterSeq` in `seq` order, read from
 * the clustered key (where the oldest rows are); undefined past the end.
 */
export async function nextRetentionWindow(conn: PoolConnection, afterSeq: bigint, rows: number): Promise<RetentionWindow | undefined> {
  const [found] = await conn.query<RowDataPacket[]>(
    `SELECT MAX(seq) AS last_seq, MIN(received_at) AS oldest_received FROM
       (SELECT seq, received_at FROM events WHERE seq > ? ORDER BY seq LIMIT ?) w`,
    [afterSeq, rows],
  );
  const r = found[0];
  if (!r || r.last_seq === null) return undefined;
  return { lastSeq: BigInt(r.last_seq as string), oldestReceivedAt: r.oldest_received as string };
}

/**
 * Deletes the rows of a window received before `cutoff` (a UTC literal); the
 * number deleted. READ COMMITTED, so it locks only the rows it removes: under
 * REPEATABLE READ the range would also take next-key locks, and with the
 * window at the end of the table the drain's appends waited for it (a stall
 * of seconds seen in `drain-1w-retention --quick`).
 */
export async function deleteExpiredEvents(conn: PoolConnection, afterSeq: bigint, lastSeq: bigint, cutoff: string): Promise<number> {
  await conn.query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
  const [result] = await conn.query<ResultSetHeader>("DELETE FROM events WHERE seq > ? AND seq <= ? AND received_at < ?", [
    afterSeq,
    lastSeq,
    cutoff,
  ]);
  return result.affectedRows;
}

/** Takes the retention lock on this connection without waiting: false when another process has it. */
export async function tryRetentionLock(conn: PoolConnection): Promise<boolean> {
  const [rows] = await conn.query<RowDataPacket[]>("SELECT GET_LOCK(CONCAT(DATABASE(), '.events_retention'), 0) AS got");
  return Number(rows[0]?.got) === 1;
}

/** Releases the lock of {@link tryRetentionLock}. */
export async function releaseRetentionLock(conn: PoolConnection): Promise<void> {
  await conn.query("DO RELEASE_LOCK(CONCAT(DATABASE(), '.events_retention'))");
}
