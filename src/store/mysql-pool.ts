import { createConnection, createPool, type Pool } from "mysql2/promise";

/** Options of {@link createMysqlPool}. */
export interface MysqlPoolOptions {
  /** `mysql://user:pass@host:port/database`. */
  url: string;
  /** Most connections open at once. @default 10 */
  connectionLimit?: number;
}

/** Splits a MySQL URL into the server part and the database name. */
export function parseMysqlUrl(url: string): { serverUrl: string; database: string } {
  const u = new URL(url);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ""));
  if (!/^[A-Za-z0-9_]{1,64}$/.test(database)) {
    throw new Error(`MYSQL_URL must name a database of letters, digits and _ (got ${JSON.stringify(database)})`);
  }
  u.pathname = "/";
  return { serverUrl: u.toString(), database };
}

/**
 * A connection pool. Dates are read and written as UTC strings, and BIGINTs come
 * back as strings, so coin amounts never pass through a lossy JS number.
 */
export function createMysqlPool(options: MysqlPoolOptions): Pool {
  return createPool({
    uri: options.url,
    connectionLimit: options.connectionLimit ?? 10,
    timezone: "Z",
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    connectTimeout: 5000,
    enableKeepAlive: true,
    // Affected rows count rows changed, not rows matched, so an insert that
    // skips a duplicate by ON DUPLICATE KEY UPDATE reports only the new rows.
    flags: ["-FOUND_ROWS"],
    // Prepared statements come in a few fixed shapes (see statement-shapes.ts);
    // a small cap keeps a future caller with ad-hoc texts from piling up
    // server-side statements (max_prepared_stmt_count is server-wide).
    maxPreparedStatements: 64,
  });
}

/** Creates the database of `url` when it does not exist yet. */
export async function ensureDatabase(url: string): Promise<void> {
  const { serverUrl, database } = parseMysqlUrl(url);
  const conn = await createConnection({ uri: serverUrl, connectTimeout: 5000 });
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await conn.end();
  }
}

/** Drops the database of `url` (tests and benchmarks clean up with it). */
export async function dropDatabase(url: string): Promise<void> {
  const { serverUrl, database } = parseMysqlUrl(url);
  const conn = await createConnection({ uri: serverUrl, connectTimeout: 5000 });
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
  } finally {
    await conn.end();
  }
}
