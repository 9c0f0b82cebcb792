import { ConfigError, loadConfig, type Role } from "./config.js";
import { serve, StartupError } from "./main.js";
import { migrate } from "./store/migrate.js";

const usage = `playsmart: the PlaySmart ingest gateway

Usage:
  playsmart serve [--role all|gateway|worker]   run a role (default all: gateway and worker)
  playsmart migrate                              create the database and apply migrations, then exit
  playsmart games upsert <game_id> [--coins-enabled] [--coins-per-level N] [--daily-coin-cap N]
  playsmart games get <game_id>
  playsmart games list
  playsmart events list --user <user_id> [--game G] [--type T] [--since T] [--until T] [--by received|corrected] [--json]
  playsmart players export <user_id>             everything held about a player, as NDJSON
  playsmart players delete <user_id>             erase a player (GDPR article 17)
  playsmart streams wait-drained                 wait until every shard stream is empty (shard-count change)
  playsmart status [--watch] [--json]            backlog, lag, leases, dead letters, row counts (Redis and MySQL)
  playsmart --help                               this text

Configuration comes from the environment; see README.md ("Configuration") for
every variable and its default. The main ones:
  PORT (8080)  REDIS_URL (redis://127.0.0.1:6379)
  MYSQL_URL (mysql://root@127.0.0.1:3306/playsmart)  STREAM_PREFIX (playsmart)
  ADMIN_TOKEN (unset)  LOG_LEVEL (info)
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(usage);
    return command === undefined ? 2 : 0;
  }
  const config = loadConfig();
  switch (command) {
    case "serve": {
      const role = parseRole(rest);
      await serve(config, role);
      return -1; // keeps running until a signal
    }
    case "migrate": {
      const { applied } = await migrate(config.mysqlUrl);
      process.stdout.write(applied.length ? `applied ${applied.join(", ")}\n` : "schema is up to date\n");
      return 0;
    }
    case "streams": {
      if (rest[0] !== "wait-drained" || rest.length !== 1) {
        process.stderr.write("usage: playsmart streams wait-drained\n");
        return 2;
      }
      const { createRedisClient, waitForRedis } = await import("./stream/redis-client.js");
      const { waitDrained } = await import("./stream/wait-drained.js");
      const redis = createRedisClient({ url: config.redisUrl, clusterNodes: config.redisClusterNodes, name: "playsmart-cli" });
      try {
        await waitForRedis(redis, 5000);
        await waitDrained({
          redis,
          prefix: config.streamPrefix,
          shards: config.streamShards,
          onProgress: (g) => process.stdout.write(`backlog ${g.map((s) => `${s.shard}:${s.length}`).join(" ")}\n`),
        });
        process.stdout.write("drained\n");
        return 0;
      } finally {
        redis.disconnect();
      }
    }
    case "status": {
      const { runStatusCommand } = await import("./cli/status-command.js");
      const controller = new AbortController();
      process.once("SIGINT", () => controller.abort());
      return runStatusCommand(rest, config, (text) => process.stdout.write(text + "\n"), undefined, { signal: controller.signal });
    }
    case "games": {
      const { runGamesCommand } = await import("./cli/games-command.js");
      return runGamesCommand(rest, config, (line) => process.stdout.write(line + "\n"));
    }
    case "events": {
      const { runEventsCommand } = await import("./cli/events-command.js");
      return runEventsCommand(rest, config, (line) => process.stdout.write(line + "\n"));
    }
    case "players": {
      const { runPlayersCommand } = await import("./cli/players-command.js");
      return runPlayersCommand(rest, config);
    }
    default:
      process.stderr.write(`unknown command ${JSON.stringify(command)}; see playsmart --help\n`);
      return 2;
  }
}

function parseRole(args: string[]): Role {
  if (args.length === 0) return "all";
  const i = args.indexOf("--role");
  const value = i >= 0 ? args[i + 1] : undefined;
  if (i < 0 || args.length !== 2 || (value !== "all" && value !== "gateway" && value !== "worker")) {
    throw new ConfigError("serve takes only --role all|gateway|worker");
  }
  return value;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof ConfigError || err instanceof StartupError) {
      process.stderr.write(`playsmart: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`playsmart: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
