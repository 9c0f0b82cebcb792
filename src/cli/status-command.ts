import type { Config } from "../config.js";
import { createMysqlPool } from "../store/mysql-pool.js";
import { createRedisClient, waitForRedis } from "../stream/redis-client.js";
import { formatStatus, readStatus } from "./status-report.js";

const usage = `Usage:
  playsmart status [--watch] [--json]
      each shard's backlog, pending entries, lag and lease holder, the workers' heartbeats,
      dead letters and MySQL row counts, read from Redis and MySQL directly (no gateway needed);
      --watch refreshes every second until Ctrl-C, --json prints one JSON object per refresh`;

/** Options of {@link runStatusCommand} beyond the command line. */
export interface StatusCommandOptions {
  /** Stops `--watch` (tests); Ctrl-C otherwise. */
  signal?: AbortSignal;
  /** Milliseconds between refreshes of `--watch`. @default 1000 */
  intervalMs?: number;
}

/**
 * `playsmart status`: prints to `out` and returns the exit code (0 done, 2 bad
 * command line). With `--watch` the screen is cleared before each refresh when
 * the output is text.
 */
export async function runStatusCommand(
  args: string[],
  config: Config,
  out: (text: string) => void,
  err: (line: string) => void = (line) => process.stderr.write(line + "\n"),
  options: StatusCommandOptions = {},
): Promise<number> {
  const unknown = args.filter((a) => a !== "--watch" && a !== "--json");
  if (unknown.length > 0 || args.includes("--help")) {
    err(unknown.includes("--help") ? usage : `playsmart status: unknown ${unknown.join(" ")}\n${usage}`);
    return unknown.includes("--help") ? 0 : 2;
  }
  const watch = args.includes("--watch");
  const json = args.includes("--json");
  const redis = createRedisClient({ url: config.redisUrl, clusterNodes: config.redisClusterNodes, name: "playsmart-status" });
  const pool = createMysqlPool({ url: config.mysqlUrl, connectionLimit: 1 });
  try {
    await waitForRedis(redis, 5000);
    for (;;) {
      const report = await readStatus({ redis, pool, prefix: config.streamPrefix, shards: config.streamShards });
      if (json) out(JSON.stringify(report));
      else out(`${watch ? "\x1b[H\x1b[2J" : ""}${formatStatus(report)}`);
      if (!watch || options.signal?.aborted) return 0;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.intervalMs ?? 1000);
        options.signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        }, { once: true });
      });
      if (options.signal?.aborted) return 0;
    }
  } finally {
    redis.disconnect();
    await pool.end();
  }
}
