/**
 * Sorts MySQL errors by what the worker should do about them. The entries of a
 * failed transaction are never acknowledged, so the only question is whether to
 * retry at once, wait for MySQL, or look for the one entry that cannot be stored.
 */

/**
 * - `conflict`: another transaction got in the way (deadlock, lock wait timeout,
 *   a racing worker's duplicate key); retry at once.
 * - `unavailable`: MySQL cannot be reached, or cannot be used by this deployment
 *   for now (no schema, no grant); wait and retry, as long as it takes.
 * - `data`: the statement can never succeed with these rows (a value MySQL
 *   rejects); the entry that carries them is dead-lettered.
 * - `other`: anything else; the entries stay pending and count deliveries.
 */
export type MysqlErrorKind = "conflict" | "unavailable" | "data" | "other";

const conflictErrnos = new Set([
  1062, // ER_DUP_ENTRY: a racing transaction stored the event first
  1205, // ER_LOCK_WAIT_TIMEOUT
  1213, // ER_LOCK_DEADLOCK
]);

// Errors of a whole deployment rather than of some rows (a missing schema, a
// revoked grant) wait too: dead-lettering every entry would not fix them.
const unavailableErrnos = new Set([
  1044, 1045, // ER_DBACCESS_DENIED_ERROR, ER_ACCESS_DENIED_ERROR
  1049, // ER_BAD_DB_ERROR: unknown database
  1142, 1143, // ER_TABLEACCESS_DENIED_ERROR, ER_COLUMNACCESS_DENIED_ERROR
  1146, // ER_NO_SUCH_TABLE: migrations not applied
  1040, // ER_CON_COUNT_ERROR: too many connections
  1053, // ER_SERVER_SHUTDOWN
  1203, // ER_TOO_MANY_USER_CONNECTIONS
  1290, // ER_OPTION_PREVENTS_STATEMENT: --read-only during a failover
  1836, // ER_READ_ONLY_MODE
  1927, // ER_CONNECTION_KILLED (MariaDB)
  2002, 2003, 2006, 2013, // client: cannot connect, server gone, lost connection
]);

const unavailableCodes = new Set([
  "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH",
  "ENOTFOUND", "EAI_AGAIN", "PROTOCOL_CONNECTION_LOST", "PROTOCOL_SEQUENCE_TIMEOUT",
  "PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR", "PROTOCOL_ENQUEUE_AFTER_QUIT", "POOL_CLOSED",
]);

const dataErrnos = new Set([
  1048, // ER_BAD_NULL_ERROR
  1264, // ER_WARN_DATA_OUT_OF_RANGE
  1292, // ER_TRUNCATED_WRONG_VALUE
  1300, // ER_INVALID_CHARACTER_STRING
  1366, // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
  1406, // ER_DATA_TOO_LONG
  3140, // ER_INVALID_JSON_TEXT (MySQL)
  3146, // ER_INVALID_TYPE_FOR_JSON (MySQL)
  3819, // ER_CHECK_CONSTRAINT_VIOLATED (MySQL)
  4025, // ER_CONSTRAINT_FAILED (MariaDB: JSON_VALID check, e.g. nesting deeper than 32)
]);

/** The errno, code and `fatal` flag mysql2 puts on its errors. */
interface MysqlLikeError {
  errno?: number;
  code?: string;
  fatal?: boolean;
  message?: string;
}

/** What to do about an error thrown by a worker transaction. */
export function classifyMysqlError(err: unknown): MysqlErrorKind {
  if (typeof err !== "object" || err === null) return "other";
  const e = err as MysqlLikeError;
  if (typeof e.errno === "number" && conflictErrnos.has(e.errno)) return "conflict";
  if (typeof e.errno === "number" && unavailableErrnos.has(e.errno)) return "unavailable";
  if (typeof e.code === "string" && unavailableCodes.has(e.code)) return "unavailable";
  // mysql2 marks errors that broke the connection as fatal.
  if (e.fatal === true) return "unavailable";
  if (typeof e.message === "string" && /^Pool is closed/i.test(e.message)) return "unavailable";
  if (typeof e.errno === "number" && dataErrnos.has(e.errno)) return "data";
  return "other";
}
