/**
 * A drain worker in a child process that kills itself with SIGKILL at a hook
 * point, for crash tests: no `finally`, no graceful anything, exactly like a
 * machine losing power.
 *
 * Environment:
 *   CRASH_MYSQL_URL, CRASH_REDIS_URL, CRASH_STREAM_PREFIX, CRASH_CONSUMER
 *   CRASH_AT  "beforeCommit" (inside the transaction, rows written, not committed)
 *             or "afterCommit" (committed, not acknowledged)
 */
import { createLogger } from "../../src/logger.js";
import { createMysqlPool } from "../../src/store/mysql-pool.js";
import { createRedisClient, waitForRedis } from "../../src/stream/redis-client.js";
import { createDrainWorker } from "../../src/worker/drain-worker.js";

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};

const crashAt = env("CRASH_AT");
if (crashAt !== "beforeCommit" && crashAt !== "afterCommit") throw new Error("CRASH_AT must be beforeCommit or afterCommit");
const die = async (): Promise<void> => {
  process.kill(process.pid, "SIGKILL");
  await new Promise(() => {}); // never resumes
};

const redis = createRedisClient({ url: env("CRASH_REDIS_URL"), name: "crash-child", commandTimeoutMs: undefined });
await waitForRedis(redis, 5000);
const worker = createDrainWorker({
  redis,
  pool: createMysqlPool({ url: env("CRASH_MYSQL_URL") }),
  prefix: env("CRASH_STREAM_PREFIX"),
  shards: 1,
  config: {
    consumerName: env("CRASH_CONSUMER"),
    readCount: 1000,
    blockMs: 50,
    claimIdleMs: 60_000,
    leaseTtlMs: 500,
    maxAttempts: 5,
    gamesCacheMs: 0,
    storeShards: 1,
    eventsRetentionDays: 0,
    retentionIntervalMs: 60_000,
    retentionDutyPercent: 10,
  },
  logger: createLogger("silent"),
  hooks: crashAt === "beforeCommit" ? { beforeCommit: die } : { afterCommit: die },
});
worker.start();
