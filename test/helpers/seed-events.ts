import type { Pool } from "mysql2/promise";

/**
 * Stores `count` events of one player straight into `events` (MariaDB's
 * sequence engine makes the rows), one second apart from 2026-11-01, ids
 * `<prefix>1` .. `<prefix>count`: for tests that need a player with many
 * events faster than the pipeline could store them.
 */
export async function seedEvents(pool: Pool, userId: string, count: number, options: { gameId?: string; prefix?: string } = {}): Promise<void> {
  const gameId = options.gameId ?? "com.seed.game";
  const prefix = options.prefix ?? "s";
  for (let from = 1; from <= count; from += 100_000) {
    const to = Math.min(count, from + 99_999);
    await pool.query(
      `INSERT INTO events (user_id, game_id, event_id, type, occurred_at, utc_offset_min, customdata, batch_id, received_at, stored_at)
       SELECT ?, ?, CONCAT(?, seq), 'AppOpen', TIMESTAMP'2026-11-01 00:00:00' + INTERVAL seq SECOND, 0, '{"level":7,"tag":"seeded"}',
              '0190a000-0000-7000-8000-000000000000', TIMESTAMP'2026-11-01 00:00:00' + INTERVAL seq SECOND, UTC_TIMESTAMP(3)
       FROM seq_${from}_to_${to}`,
      [userId, gameId, prefix],
    );
  }
}
