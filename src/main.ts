import { startApp } from "./app.js";
import type { Config, Role } from "./config.js";
import { createLogger } from "./logger.js";
import { createRedisClient, waitForRedis } from "./stream/redis-client.js";
import { ensureDatabase } from "./store/mysql-pool.js";

/**
 * `playsmart serve`: checks that the role's dependencies answer (one clear line
 * naming what to start when not), installs tracing when an OTLP endpoint is
 * set, starts the role, and stops gracefully on SIGTERM or SIGINT.
 */
export async function serve(config: Config, role: Role): Promise<void> {
  const log = createLogger(config.logLevel);
  await checkDependencies(config);
  // Before the app, so its first request is traced like the rest. Imported only
  // when on: with tracing off the SDK and exporter are not even loaded.
  const tracing = config.tracing.enabled
    ? (await import("./tracing/start-tracing.js")).startTracing({ config: config.tracing, role })
    : undefined;
  if (tracing) log.info({ sampler: config.tracing.sampler, ratio: config.tracing.samplerRatio }, "tracing on (OTLP)");
  const app = await startApp({ config, role, log });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    const timer = setTimeout(() => {
      log.error({ graceMs: config.shutdownGraceMs }, "shutdown grace period over, exiting");
      process.exit(1);
    }, config.shutdownGraceMs + 2000);
    timer.unref();
    app.close().then(
      async () => {
        // The spans of the last requests and commits are exported before exit.
        await tracing?.shutdown().catch((err: unknown) => log.warn({ err }, "could not export the last spans"));
        log.info("stopped");
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, "error while shutting down");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

async function checkDependencies(config: Config): Promise<void> {
  const redis = createRedisClient({ url: config.redisUrl, clusterNodes: config.redisClusterNodes, name: "playsmart-startup-check" });
  try {
    await waitForRedis(redis, 5000);
  } catch {
    throw new StartupError(`Redis does not answer at ${safeUrl(config.redisUrl)}: start it (redis-server) or set REDIS_URL`);
  } finally {
    redis.disconnect();
  }
  try {
    await ensureDatabase(config.mysqlUrl);
  } catch (err) {
    const reason = (err as { code?: string }).code ?? "no answer";
    throw new StartupError(`MySQL does not answer at ${safeUrl(config.mysqlUrl)} (${reason}): start MariaDB/MySQL or set MYSQL_URL`);
  }
}

/** A dependency is missing at start; the message is the one line to print. */
export class StartupError extends Error {
  override name = "StartupError";
}

/** A URL with its password masked, for messages. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}
