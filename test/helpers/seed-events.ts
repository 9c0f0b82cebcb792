import type { Pool } from "mysql2/promise";
import { seedEvents as seed } from "../../bench/lib/seed-events.js";

/**
 * Stores `count` events of one player straight into `events`, one second
 * apart from 2026-11-01, ids `<prefix>1` .. `<prefix>count`: for tests that
 * need a player with many events faster than the pipeline could store them.
 */
export async function seedEvents(pool: Pool, userId: string, count: number, options: { gameId?: string; prefix?: string } = {}): Promise<void> {
  await seed(pool, {
    count,
    userSql: "?",
    gameSql: "?",
    eventIdSql: "CONCAT(?, seq)",
    params: [userId, options.gameId ?? "com.seed.game", options.prefix ?? "s"],
  });
}
