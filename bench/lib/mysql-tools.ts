import { readFileSync } from "node:fs";
import type { Pool, RowDataPacket } from "mysql2/promise";

/** Tables the drain writes; emptied between drain scenarios so each starts alike. */
const drainTables = ["events", "coin_ledger", "coin_daily_totals", "wallets", "dead_letters", "erased_players"];

/** Empties the tables the worker writes (not accounts, keys or games). */
export async function truncateDrainTables(pool: Pool): Promise<void> {
  for (const t of drainTables) await pool.query(`TRUNCATE TABLE \`${t}\``);
}

/** One number from a query's first row. */
export async function scalar(pool: Pool, sql: string, values: unknown[] = []): Promise<number> {
  const [rows] = await pool.query<RowDataPacket[]>(sql, values);
  const first = rows[0];
  return first ? Number(Object.values(first)[0] ?? 0) : 0;
}

/** The server settings that decide drain speed, for the report. */
export async function mysqlSettings(pool: Pool): Promise<Record<string, string>> {
  const [rows] = await pool.query<RowDataPacket[]>(
    `SHOW GLOBAL VARIABLES WHERE Variable_name IN ('version', 'innodb_buffer_pool_size', 'innodb_flush_log_at_trx_commit',
      'innodb_log_file_size', 'innodb_io_capacity', 'sync_binlog', 'log_bin', 'max_allowed_packet', 'innodb_flush_method')`,
  );
  return Object.fromEntries(rows.map((r) => [String(r.Variable_name), String(r.Value)]));
}

/** The server's process id from its pid file, when this machine runs it and the file is readable. */
export async function mysqlPid(pool: Pool): Promise<number | undefined> {
  try {
    const [rows] = await pool.query<RowDataPacket[]>("SELECT @@pid_file AS f");
    const pid = Number(readFileSync(String(rows[0]?.f), "utf8").trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** InnoDB's estimate of a table's rows (cheap, unlike COUNT(*) on millions of rows). */
export async function estimatedRows(pool: Pool, database: string, table: string): Promise<number> {
  return scalar(pool, "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", [database, table]);
}

/** What {@link resizeRedoLog} found and did. */
export interface RedoLogChange {
  beforeBytes: number;
  requestedBytes: number;
  appliedBytes: number;
  resizeSeconds: number;
}

/**
 * `SET GLOBAL innodb_log_file_size` (dynamic in MariaDB 10.9+; the statement
 * returns once the new log is in place). Needs SUPER. A redo log much smaller
 * than the pages dirtied between checkpoints makes InnoDB flush pages early and
 * often; see bench/README.md "MySQL buffer pool and redo log".
 */
export async function resizeRedoLog(pool: Pool, bytes: number): Promise<RedoLogChange> {
  const beforeBytes = await scalar(pool, "SELECT @@GLOBAL.innodb_log_file_size");
  const started = performance.now();
  if (beforeBytes !== bytes) await pool.query("SET GLOBAL innodb_log_file_size = ?", [bytes]);
  const appliedBytes = await scalar(pool, "SELECT @@GLOBAL.innodb_log_file_size");
  return { beforeBytes, requestedBytes: bytes, appliedBytes, resizeSeconds: (performance.now() - started) / 1000 };
}

/** What {@link resizeBufferPool} found and did. */
export interface BufferPoolChange {
  beforeBytes: number;
  requestedBytes: number;
  /** The size the server reports once the resize finished (it rounds to its chunk size). */
  appliedBytes: number;
  resizeSeconds: number;
  status: string;
}

async function bufferPoolStatus(pool: Pool): Promise<string> {
  const [rows] = await pool.query<RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_resize_status'");
  return String(rows[0]?.Value ?? "");
}

/**
 * `SET GLOBAL innodb_buffer_pool_size` (MariaDB 10.2+ resizes online) and waits
 * up to `timeoutMs` for the resize to finish. Needs SUPER (or BINLOG ADMIN).
 */
export async function resizeBufferPool(pool: Pool, bytes: number, timeoutMs = 60_000): Promise<BufferPoolChange> {
  const beforeBytes = await scalar(pool, "SELECT @@GLOBAL.innodb_buffer_pool_size");
  const started = performance.now();
  if (beforeBytes !== bytes) await pool.query("SET GLOBAL innodb_buffer_pool_size = ?", [bytes]);
  let status = await bufferPoolStatus(pool);
  let appliedBytes = await scalar(pool, "SELECT @@GLOBAL.innodb_buffer_pool_size");
  while (performance.now() - started < timeoutMs && beforeBytes !== bytes) {
    // In progress: "Resizing buffer pool from ... to ...", "Withdrawing blocks...", and so on.
    if (appliedBytes !== beforeBytes && (status === "" || /complet/i.test(status))) break;
    await new Promise((r) => setTimeout(r, 200));
    status = await bufferPoolStatus(pool);
    appliedBytes = await scalar(pool, "SELECT @@GLOBAL.innodb_buffer_pool_size");
  }
  return { beforeBytes, requestedBytes: bytes, appliedBytes, resizeSeconds: (performance.now() - started) / 1000, status };
}

/** What {@link settleInnodb} found and how long it took. */
export interface InnodbSettle {
  seconds: number;
  dirtyPagesBefore: number;
  checkpointAgeBefore: number;
  dirtyPagesAfter: number;
  checkpointAgeAfter: number;
}

/**
 * Writes out InnoDB's dirty pages and lets its checkpoint catch up, so the next
 * drain does not inherit the one before: left alone, the page cleaner flushes
 * the previous drain's pages (and, as the checkpoint age grows, ever harder)
 * while the next one runs, and the drain measured last pays for all of them.
 * Raises the flushing settings for the wait (`innodb_max_dirty_pages_pct` 0,
 * `innodb_io_capacity` high) and puts them back; needs SUPER.
 */
export async function settleInnodb(pool: Pool, timeoutMs = 120_000): Promise<InnodbSettle> {
  const started = performance.now();
  const status = async () => {
    const [rows] = await pool.query<RowDataPacket[]>(
      "SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_buffer_pool_pages_dirty', 'Innodb_checkpoint_age')",
    );
    const v = Object.fromEntries(rows.map((r) => [String(r.Variable_name), Number(r.Value)]));
    return { dirty: v.Innodb_buffer_pool_pages_dirty ?? 0, age: v.Innodb_checkpoint_age ?? 0 };
  };
  const before = await status();
  const [[saved]] = await pool.query<RowDataPacket[]>(
    "SELECT @@GLOBAL.innodb_max_dirty_pages_pct AS pct, @@GLOBAL.innodb_max_dirty_pages_pct_lwm AS lwm, @@GLOBAL.innodb_io_capacity AS io, @@GLOBAL.innodb_io_capacity_max AS ioMax",
  );
  let after = before;
  try {
    await pool.query("SET GLOBAL innodb_io_capacity_max = GREATEST(@@GLOBAL.innodb_io_capacity_max, 20000)");
    await pool.query("SET GLOBAL innodb_io_capacity = 20000");
    await pool.query("SET GLOBAL innodb_max_dirty_pages_pct_lwm = 0");
    await pool.query("SET GLOBAL innodb_max_dirty_pages_pct = 0");
    while (performance.now() - started < timeoutMs) {
      after = await status();
      // A few pages stay dirty on an idle server (the system tablespace, undo).
      if (after.dirty < 200 && after.age < 16 * 1024 * 1024) break;
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    // Numbers, not strings: SET GLOBAL refuses a quoted value for these.
    await pool.query("SET GLOBAL innodb_max_dirty_pages_pct = ?", [Number(saved!.pct)]);
    await pool.query("SET GLOBAL innodb_max_dirty_pages_pct_lwm = ?", [Number(saved!.lwm)]);
    await pool.query("SET GLOBAL innodb_io_capacity = ?", [Number(saved!.io)]);
    await pool.query("SET GLOBAL innodb_io_capacity_max = ?", [Number(saved!.ioMax)]);
  }
  return {
    seconds: (performance.now() - started) / 1000,
    dirtyPagesBefore: before.dirty,
    checkpointAgeBefore: before.age,
    dirtyPagesAfter: after.dirty,
    checkpointAgeAfter: after.age,
  };
}
