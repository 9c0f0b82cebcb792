import { create, toJson } from "@bufbuild/protobuf";
import { GameSchema } from "../../gen/playsmart/games/v1/games_pb.js";
import type { Config } from "../config.js";
import { NotFoundError, ValidationError } from "../errors.js";
import { toMessage } from "../games/game-service.js";
import { createGames, type GameRecord, type Games } from "../games/games.js";
import { migrate } from "../store/migrate.js";
import { createMysqlPool } from "../store/mysql-pool.js";

const usage = `Usage:
  playsmart games upsert <game_id> [--coins-enabled] [--coins-per-level N] [--daily-coin-cap N]
      create the game or replace its rules; a flag left out means disabled / 0 (0 cap = no cap)
  playsmart games get <game_id>
  playsmart games list
Prints each game as JSON (Protobuf JSON: 64-bit numbers are strings).`;

/** A command line that does not parse; exit code 2. */
class UsageError extends Error {}

/**
 * `playsmart games ...`: the games admin straight against MySQL (migrated first),
 * for operators without an admin token at hand. `args` are the words after
 * `games`. Prints games as JSON lines to `out`, problems to `err`, and returns
 * the exit code: 0 done, 1 not found or failed, 2 bad command line or values.
 */
export async function runGamesCommand(
  args: string[],
  config: Config,
  out: (line: string) => void,
  err: (line: string) => void = (line) => process.stderr.write(line + "\n"),
): Promise<number> {
  let run: (games: Games) => Promise<void>;
  try {
    run = parse(args, out);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    if (e.message === "") {
      out(usage);
      return 0;
    }
    err(`playsmart games: ${e.message}\n${usage}`);
    return 2;
  }
  await migrate(config.mysqlUrl);
  const pool = createMysqlPool({ url: config.mysqlUrl, connectionLimit: 1 });
  try {
    await run(createGames({ pool }));
    return 0;
  } catch (e) {
    if (e instanceof ValidationError) {
      for (const v of e.violations) err(`playsmart games: ${v.field}: ${v.reason}`);
      return 2;
    }
    if (e instanceof NotFoundError) {
      err(`playsmart games: ${e.message}`);
      return 1;
    }
    throw e;
  } finally {
    await pool.end();
  }
}

function parse(args: string[], out: (line: string) => void): (games: Games) => Promise<void> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") throw new UsageError("");
  const print = (game: GameRecord) =>
    out(JSON.stringify(toJson(GameSchema, create(GameSchema, toMessage(game)), { useProtoFieldName: true, alwaysEmitImplicit: true })));
  switch (sub) {
    case "upsert": {
      const game = parseUpsert(rest);
      return async (games) => print(await games.upsert(game));
    }
    case "get": {
      if (rest.length !== 1 || rest[0]!.startsWith("-")) throw new UsageError("get takes exactly one <game_id>");
      const gameId = rest[0]!;
      return async (games) => print(await games.get(gameId));
    }
    case "list": {
      if (rest.length !== 0) throw new UsageError("list takes no arguments");
      return async (games) => {
        let pageToken = "";
        do {
          const page = await games.list({ pageSize: 100, pageToken });
          page.games.forEach(print);
          pageToken = page.nextPageToken;
        } while (pageToken !== "");
      };
    }
    default:
      throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}`);
  }
}

function parseUpsert(args: string[]): GameRecord {
  const game: GameRecord = { gameId: "", coinsEnabled: false, coinsPerLevel: 0n, dailyCoinCap: 0n };
  let gameId: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith("--") && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): bigint => {
      const v = inline ?? args[++i];
      if (v === undefined || !/^\d{1,19}$/.test(v)) throw new UsageError(`${name} needs a whole number of 0 or more`);
      return BigInt(v);
    };
    if (name === "--coins-enabled" && inline === undefined) game.coinsEnabled = true;
    else if (name === "--coins-per-level") game.coinsPerLevel = value();
    else if (name === "--daily-coin-cap") game.dailyCoinCap = value();
    else if (!arg.startsWith("-") && gameId === undefined) gameId = arg;
    else throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
  }
  if (gameId === undefined) throw new UsageError("upsert needs a <game_id>");
  game.gameId = gameId;
  return game;
}
