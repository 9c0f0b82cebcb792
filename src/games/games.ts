import type { Pool } from "mysql2/promise";
import { NotFoundError, ValidationError } from "../errors.js";
import { selectGame, selectGamesPage, upsertGameRow, type GameRecord } from "../store/games-repo.js";
import { decodePageToken, encodePageToken } from "../store/page-token.js";
import { gameIdProblem } from "../ingest/game-id.js";
import { gameViolations } from "./validate-game.js";

export type { GameRecord };

/** One page of games. */
export interface GamePage {
  games: GameRecord[];
  /** Token of the next page; "" on the last page. */
  nextPageToken: string;
}

/** Options of {@link createGames}. */
export interface GamesOptions {
  pool: Pool;
}

/** The games registry: the domain behind GameService and `playsmart games`. */
export interface Games {
  /**
   * Creates a game or replaces its coin rules, and returns it as stored.
   * @throws ValidationError for a bad id or a negative amount.
   */
  upsert(game: GameRecord): Promise<GameRecord>;
  /**
   * One game.
   * @throws ValidationError for a malformed id, NotFoundError when it is not registered.
   */
  get(gameId: string): Promise<GameRecord>;
  /**
   * Games ordered by id, a page at a time. `pageSize` 0 means 50; larger than 100
   * is read as 100.
   * @throws ValidationError for a negative page size or a token this server did not issue.
   */
  list(request: { pageSize: number; pageToken: string }): Promise<GamePage>;
}

/** Largest page of {@link Games.list}. */
export const maxGamesPageSize = 100;
/** Page size of {@link Games.list} when none is asked for. */
export const defaultGamesPageSize = 50;

/** The games registry over MySQL. Workers see a change within GAMES_CACHE_MS. */
export function createGames(options: GamesOptions): Games {
  const { pool } = options;
  return {
    async upsert(game) {
      const violations = gameViolations(game);
      if (violations.length > 0) throw new ValidationError(violations);
      await upsertGameRow(pool, game);
      const stored = await selectGame(pool, game.gameId);
      if (!stored) throw new Error(`game ${game.gameId} vanished right after it was written`);
      return stored;
    },

    async get(gameId) {
      const problem = gameIdProblem(gameId);
      if (problem) throw new ValidationError([{ index: -1, field: "game_id", reason: problem }]);
      const game = await selectGame(pool, gameId);
      if (!game) throw new NotFoundError(`game ${gameId} is not registered`);
      return game;
    },

    async list({ pageSize, pageToken }) {
      if (!Number.isInteger(pageSize) || pageSize < 0) {
        throw new ValidationError([{ index: -1, field: "page_size", reason: "must be 0 (default) to 100" }]);
      }
      const size = pageSize === 0 ? defaultGamesPageSize : Math.min(pageSize, maxGamesPageSize);
      let after: string | undefined;
      if (pageToken !== "") {
        after = decodePageToken(pageToken, (c) => gameIdProblem(c) === undefined);
        if (after === undefined) {
          throw new ValidationError([{ index: -1, field: "page_token", reason: "is not a token from a previous page" }]);
        }
      }
      const rows = await selectGamesPage(pool, after, size + 1);
      const games = rows.slice(0, size);
      const last = games[games.length - 1];
      return { games, nextPageToken: rows.length > size && last ? encodePageToken(last.gameId) : "" };
    },
  };
}
