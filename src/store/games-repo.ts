import type { RowDataPacket } from "mysql2/promise";
import { toBigInt, type Db } from "./sql-values.js";

/** A registered game and its coin rules. */
export interface GameRecord {
  gameId: string;
  coinsEnabled: boolean;
  coinsPerLevel: bigint;
  /** Most coins per player per UTC day in this game; 0 means no cap. */
  dailyCoinCap: bigint;
}

const columns = "game_id, coins_enabled, coins_per_level, daily_coin_cap";

function toRecord(r: RowDataPacket): GameRecord {
  return {
    gameId: r.game_id as string,
    coinsEnabled: Number(r.coins_enabled) !== 0,
    coinsPerLevel: toBigInt(r.coins_per_level),
    dailyCoinCap: toBigInt(r.daily_coin_cap),
  };
}

/** Creates a game or replaces its rules. */
export async function upsertGameRow(db: Db, game: GameRecord): Promise<void> {
  await db.query(
    `INSERT INTO games (${columns}) VALUES (?,?,?,?)
     ON DUPLICATE KEY UPDATE coins_enabled = VALUES(coins_enabled),
       coins_per_level = VALUES(coins_per_level), daily_coin_cap = VALUES(daily_coin_cap)`,
    [game.gameId, game.coinsEnabled, game.coinsPerLevel, game.dailyCoinCap],
  );
}

/** One game, or undefined when it is not registered. */
export async function selectGame(db: Db, gameId: string): Promise<GameRecord | undefined> {
  const [rows] = await db.query<RowDataPacket[]>(`SELECT ${columns} FROM games WHERE game_id = ?`, [gameId]);
  return rows[0] ? toRecord(rows[0]) : undefined;
}

/** The registered games among `gameIds`. */
export async function selectGames(db: Db, gameIds: readonly string[]): Promise<GameRecord[]> {
  if (gameIds.length === 0) return [];
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT ${columns} FROM games WHERE game_id IN (${gameIds.map(() => "?").join(",")})`,
    [...gameIds],
  );
  return rows.map(toRecord);
}

/** Up to `limit` games ordered by id, after `afterGameId` when given. */
export async function selectGamesPage(db: Db, afterGameId: string | undefined, limit: number): Promise<GameRecord[]> {
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT ${columns} FROM games${afterGameId === undefined ? "" : " WHERE game_id > ?"} ORDER BY game_id LIMIT ?`,
    afterGameId === undefined ? [limit] : [afterGameId, limit],
  );
  return rows.map(toRecord);
}
