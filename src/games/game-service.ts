import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Game, GameSchema, GameService } from "../../gen/playsmart/games/v1/games_pb.js";
import { principalOf, requireAdmin } from "../auth/principal.js";
import { ValidationError } from "../errors.js";
import type { GameRecord, Games } from "./games.js";

/** Options of {@link createGameService}. */
export interface GameServiceOptions {
  games: Games;
}

/**
 * `playsmart.games.v1.GameService`: thin handlers over {@link Games}, each for the
 * admin token only. Domain errors propagate for the gateway to map to codes.
 *
 * @example
 * router.service(GameService, createGameService({ games: createGames({ pool }) }));
 */
export function createGameService(options: GameServiceOptions): ServiceImpl<typeof GameService> {
  const { games } = options;
  return {
    async upsertGame(req, ctx) {
      requireAdmin(principalOf(ctx));
      if (req.game === undefined) {
        throw new ValidationError([{ index: -1, field: "game", reason: "is required" }]);
      }
      return { game: toMessage(await games.upsert(fromMessage(req.game))) };
    },

    async getGame(req, ctx) {
      requireAdmin(principalOf(ctx));
      return { game: toMessage(await games.get(req.gameId)) };
    },

    async listGames(req, ctx) {
      requireAdmin(principalOf(ctx));
      const page = await games.list({ pageSize: req.pageSize, pageToken: req.pageToken });
      return { games: page.games.map(toMessage), nextPageToken: page.nextPageToken };
    },
  };
}

function fromMessage(game: Game): GameRecord {
  return {
    gameId: game.gameId,
    coinsEnabled: game.coinsEnabled,
    coinsPerLevel: game.coinsPerLevel,
    dailyCoinCap: game.dailyCoinCap,
  };
}

/** A stored game as a `playsmart.games.v1.Game` init shape. */
export function toMessage(game: GameRecord): MessageInitShape<typeof GameSchema> {
  return {
    gameId: game.gameId,
    coinsEnabled: game.coinsEnabled,
    coinsPerLevel: game.coinsPerLevel,
    dailyCoinCap: game.dailyCoinCap,
  };
}
