import type { Violation } from "../errors.js";
import { gameIdProblem } from "../ingest/game-id.js";
import type { GameRecord } from "../store/games-repo.js";

const maxInt64 = 2n ** 63n - 1n;


/**
 * Every broken rule of a game to register. Field names are those of the
 * `UpsertGameRequest` JSON (`game.game_id`, ...); the index is -1 (no events).
 */
export function gameViolations(game: GameRecord): Violation[] {
  const violations: Violation[] = [];
  const bad = (field: string, reason: string) => violations.push({ index: -1, field: `game.${field}`, reason });
  const idProblem = gameIdProblem(game.gameId);
  if (idProblem) bad("game_id", idProblem);
  if (game.coinsPerLevel < 0n || game.coinsPerLevel > maxInt64) bad("coins_per_level", "must be 0 or more");
  if (game.dailyCoinCap < 0n || game.dailyCoinCap > maxInt64) bad("daily_coin_cap", "must be 0 (no cap) or more");
  return violations;
}
