import type { Pool } from "mysql2/promise";

/** Options of {@link seedEvents}: SQL expressions of `seq`, the row number (1..count). */
export interface SeedEventsOptions {
  /** Rows to insert. */
  count: number;
  /** The player of each row, e.g. `?` (with `params`) or `CONCAT('p', seq DIV 100)`. */
  userSql: string;
  /** Values of the `?` in the expressions, in the statement's order: user, game, event id. */
  params?: unknown[];
  /** @default 'com.seed.game' */
  gameSql?: string;
  /** @default 'AppOpen' */
  typeSql?: string;
  /** `occurred_at` and `received_at`. @default one second apart from 2026-11-01 */
  timeSql?: string;
  /** `event_id`. @default CONCAT('s', seq) */
  eventIdSql?: string;
  /** @default '{"level":7,"tag":"seeded"}' */
  customdataSql?: string;
}

/**
 * Stores `count` events straight into `events`, made by MariaDB's sequence
 * engine in statements of 200,000 rows: a table of millions of rows in seconds,
 * for tests and bench scenarios that need one faster than the pipeline could
 * store it. Every value is a SQL expression the caller writes, or a parameter.
 */
export async function seedEvents(pool: Pool, options: SeedEventsOptions): Promise<void> {
  const game = options.gameSql ?? "'com.seed.game'";
  const type = options.typeSql ?? "'AppOpen'";
  const time = options.timeSql ?? "TIMESTAMP'2026-11-01 00:00:00' + INTERVAL seq SECOND";
  const eventId = options.eventIdSql ?? "CONCAT('s', seq)";
  const customdata = options.customdataSql ?? `'{"level":7,"tag":"seeded"}'`;
  for (let from = 1; from <= options.count; from += 200_000) {
    const to = Math.min(options.count, from + 199_999);
    await pool.query(
      `INSERT INTO events (user_id, game_id, event_id, type, occurred_at, utc_offset_min, customdata, batch_id, received_at, stored_at)
       SELECT ${options.userSql}, ${game}, ${eventId}, ${type}, ${time}, 0, ${customdata},
              '0190a000-0000-7000-8000-000000000000', ${time}, UTC_TIMESTAMP(3)
       FROM seq_${from}_to_${to}`,
      options.params ?? [],
    );
  }
}
