import type { Pool, PoolConnection } from "mysql2/promise";

/** Options of {@link withTransaction}. */
export interface TransactionOptions {
  /**
   * Isolation level of this transaction only.
   * @default the server's (REPEATABLE READ)
   */
  isolation?: "READ COMMITTED" | "REPEATABLE READ";
}

/**
 * Runs `fn` in one transaction on one pooled connection: commits when it
 * resolves, rolls back when it throws (and rethrows). A connection whose
 * rollback fails is broken, so it is destroyed rather than handed back.
 */
export async function withTransaction<T>(
  pool: Pool,
  fn: (conn: PoolConnection) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const conn = await pool.getConnection();
  let reusable = true;
  try {
    if (options.isolation) await conn.query(`SET TRANSACTION ISOLATION LEVEL ${options.isolation}`);
    await conn.beginTransaction();
    const result = await fn(conn);
    await conn.commit();
    return result;
  } catch (err) {
    try {
      await conn.rollback();
    } catch {
      reusable = false;
    }
    throw err;
  } finally {
    if (reusable) conn.release();
    else conn.destroy();
  }
}
