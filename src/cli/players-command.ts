import { create, toJson } from "@bufbuild/protobuf";
import { once } from "node:events";
import { ExportPlayerResponseSchema } from "../../gen/playsmart/admin/v1/players_pb.js";
import type { Config } from "../config.js";
import { NotFoundError, ValidationError } from "../errors.js";
import { toExportMessage } from "../players/player-admin-service.js";
import { createPlayerErasure } from "../players/player-erasure.js";
import { exportPlayer } from "../players/player-export.js";
import { migrate } from "../store/migrate.js";
import { createMysqlPool } from "../store/mysql-pool.js";
import { createRedisClient, waitForRedis } from "../stream/redis-client.js";

const usage = `Usage:
  playsmart players export <user_id>
      everything held about the player as NDJSON on stdout, one ExportPlayerResponse per
      line (Protobuf JSON): account, devices, events, coin awards, wallet
  playsmart players delete <user_id> [--chunk-rows N]
      erase the player (account, tokens, devices, events, coins, dead letters) in chunks of
      N rows (default 1000); queued and later batches of the player are dropped; run it again
      to finish an interrupted erasure`;

/** Where the command writes: stdout for the export (with back-pressure), lines for the rest. */
export interface PlayersCommandIo {
  /** Writes export output; resolves when the consumer can take more. */
  write(text: string): Promise<void>;
  err(line: string): void;
}

/** Process stdout and stderr, honouring back-pressure so an export's memory stays flat. */
export const processIo: PlayersCommandIo = {
  async write(text) {
    if (!process.stdout.write(text)) await once(process.stdout, "drain");
  },
  err(line) {
    process.stderr.write(line + "\n");
  },
};

/**
 * `playsmart players export|delete`, straight against MySQL and Redis.
 * Returns the exit code: 0 done, 1 nothing held (export), 2 bad command line.
 */
export async function runPlayersCommand(args: string[], config: Config, io: PlayersCommandIo = processIo): Promise<number> {
  const [sub, userId, ...rest] = args;
  let chunkRows = 1000;
  if (sub === undefined || sub === "--help" || sub === "help") {
    await io.write(usage + "\n");
    return 0;
  }
  const bad = (message: string) => {
    io.err(`playsmart players: ${message}\n${usage}`);
    return 2;
  };
  if (sub !== "export" && sub !== "delete") return bad(`unknown subcommand ${JSON.stringify(sub)}`);
  if (userId === undefined || userId.startsWith("-")) return bad(`${sub} needs a <user_id>`);
  if (sub === "delete" && rest.length === 2 && rest[0] === "--chunk-rows" && /^[1-9]\d{0,5}$/.test(rest[1]!)) chunkRows = Number(rest[1]);
  else if (rest.length > 0) return bad(`unexpected ${rest.join(" ")}`);

  await migrate(config.mysqlUrl);
  const pool = createMysqlPool({ url: config.mysqlUrl, connectionLimit: 1 });
  try {
    if (sub === "export") {
      for await (const record of exportPlayer(userId, { pool })) {
        const json = toJson(ExportPlayerResponseSchema, create(ExportPlayerResponseSchema, toExportMessage(record)), { useProtoFieldName: true });
        await io.write(JSON.stringify(json) + "\n");
      }
      return 0;
    }
    const redis = createRedisClient({ url: config.redisUrl, clusterNodes: config.redisClusterNodes, name: "playsmart-cli" });
    try {
      await waitForRedis(redis, 5000);
      const erasure = createPlayerErasure({
        pool,
        redis,
        prefix: config.streamPrefix,
        streamShards: config.streamShards,
        chunkRows,
        onChunk: (table, n) => io.err(`deleted ${n} rows of ${table}`),
      });
      const result = await erasure.erase(userId);
      await io.write(JSON.stringify({ user_id: userId, requested_at: result.requestedAt, rows_deleted: result.rowsDeleted }) + "\n");
      return 0;
    } finally {
      redis.disconnect();
    }
  } catch (e) {
    if (e instanceof ValidationError) {
      for (const v of e.violations) io.err(`playsmart players: ${v.field}: ${v.reason}`);
      return 2;
    }
    if (e instanceof NotFoundError) {
      io.err(`playsmart players: ${e.message}`);
      return 1;
    }
    throw e;
  } finally {
    await pool.end();
  }
}
