import { create, toBinary } from "@bufbuild/protobuf";
import type { Redis } from "ioredis";
import type { Pool, RowDataPacket } from "mysql2/promise";
import { IngestEventsRequestSchema } from "../../../gen/playsmart/ingest/v1/ingest_pb.js";
import type { WorkerConfig } from "../../../src/config.js";
import { createLogger } from "../../../src/logger.js";
import { upsertGameRow, type GameRecord } from "../../../src/store/games-repo.js";
import { migrate } from "../../../src/store/migrate.js";
import { createMysqlPool } from "../../../src/store/mysql-pool.js";
import { createRedisClient, waitForRedis } from "../../../src/stream/redis-client.js";
import type { StreamBatch } from "../../../src/stream/stream-entry.js";
import { consumerGroup, streamKey } from "../../../src/stream/stream-keys.js";
import { createStreamProducer, type StreamProducer } from "../../../src/stream/stream-producer.js";
import { uuidV7 } from "../../../src/stream/uuid-v7.js";
import { createDrainWorker, type DrainWorker, type DrainWorkerHooks } from "../../../src/worker/drain-worker.js";
import { redisUrl, testMysqlUrl, testStreamPrefix } from "../../helpers/test-env.js";

/** One test file's own database, stream prefix, and clients. */
export interface DrainTestEnv {
  mysqlUrl: string;
  prefix: string;
  shards: number;
  /** A pool for assertions and setup. */
  pool: Pool;
  /** A non-blocking Redis client for setup and assertions. */
  redis: Redis;
  producer: StreamProducer;
  /** Stops every worker started from this env and closes all clients. */
  close(): Promise<void>;
}

/** A worker started in this process, with its own Redis client and pool. */
export interface TestWorker {
  worker: DrainWorker;
  pool: Pool;
  stop(): Promise<void>;
}

const started = new Set<TestWorker>();

/** Migrates a fresh database named after `suffix` and opens the clients. */
export async function createDrainTestEnv(suffix: string, shards = 1): Promise<DrainTestEnv> {
  const mysqlUrl = testMysqlUrl(suffix);
  const prefix = testStreamPrefix(suffix);
  await migrate(mysqlUrl);
  const pool = createMysqlPool({ url: mysqlUrl });
  // Tests run against one Redis, so the single-node client type applies.
  const redis = createRedisClient({ url: redisUrl, name: `test-${suffix}` }) as Redis;
  await waitForRedis(redis, 5000);
  return {
    mysqlUrl,
    prefix,
    shards,
    pool,
    redis,
    producer: createStreamProducer({ redis, prefix, shards }),
    async close() {
      await stopAllWorkers();
      redis.disconnect();
      await pool.end();
    },
  };
}

/** Worker settings for tests: fast claims, small waits. */
export function testWorkerConfig(overrides: Partial<WorkerConfig> = {}): WorkerConfig {
  return {
    consumerName: `test-worker-${uuidV7().slice(-12)}`,
    readCount: 100,
    blockMs: 50,
    claimIdleMs: 300,
    leaseTtlMs: 500,
    maxAttempts: 5,
    gamesCacheMs: 0,
    storeShards: 1,
    eventsRetentionDays: 0,
    retentionIntervalMs: 60_000,
    retentionDutyPercent: 10,
    ...overrides,
  };
}

/**
 * Starts a worker on `env`'s streams. `mysqlUrl` points its pool elsewhere (a
 * proxy) when given.
 */
export async function startTestWorker(
  env: DrainTestEnv,
  options: { config?: Partial<WorkerConfig>; hooks?: DrainWorkerHooks; mysqlUrl?: string } = {},
): Promise<TestWorker> {
  const config = testWorkerConfig(options.config);
  const redis = createRedisClient({ url: redisUrl, name: config.consumerName, commandTimeoutMs: undefined });
  await waitForRedis(redis, 5000);
  const pool = createMysqlPool({ url: options.mysqlUrl ?? env.mysqlUrl });
  const worker = createDrainWorker({
    redis,
    pool,
    prefix: env.prefix,
    shards: env.shards,
    config,
    logger: createLogger(process.env.TEST_WORKER_LOG === "1" ? "debug" : "silent"),
    hooks: options.hooks,
  });
  worker.start();
  let stopped: Promise<void> | undefined;
  const handle: TestWorker = {
    worker,
    pool,
    stop() {
      stopped ??= (async () => {
        started.delete(handle);
        await worker.stop();
        redis.disconnect();
        await pool.end().catch(() => {});
      })();
      return stopped;
    },
  };
  started.add(handle);
  return handle;
}

/** Stops every worker still running (an afterEach hook, so a failed test cannot leak one). */
export async function stopAllWorkers(): Promise<void> {
  await Promise.all([...started].map((w) => w.stop()));
}

/** Polls `check` until it returns true, or fails after `timeoutMs` naming `what`. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 10_000, everyMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** One number from a `SELECT COUNT(*)`/`SUM()` style query. */
export async function scalar(pool: Pool, sql: string, params: unknown[] = []): Promise<number> {
  const [rows] = await pool.query<RowDataPacket[]>(sql, params);
  return Number(Object.values(rows[0]!)[0] ?? 0);
}

/** A player's balance as a bigint; 0n without a wallet. */
export async function balanceOf(pool: Pool, userId: string): Promise<bigint> {
  const [rows] = await pool.query<RowDataPacket[]>("SELECT balance FROM wallets WHERE user_id = ?", [userId]);
  return rows.length === 0 ? 0n : BigInt(rows[0]!.balance as string);
}

/** Registers a game directly in MySQL. */
export async function registerGame(pool: Pool, game: Partial<GameRecord> & { gameId: string }): Promise<void> {
  await upsertGameRow(pool, { coinsEnabled: true, coinsPerLevel: 10n, dailyCoinCap: 0n, ...game });
}

/** An event of the JSON contract. */
export interface TestEvent {
  type: string;
  timestamp: string;
  customdata?: Record<string, unknown>;
  customEventName?: string;
  event_id?: string;
}

/** A stream batch as the gateway would append it, with a JSON body by default. */
export function makeBatch(input: {
  userId: string;
  gameId: string;
  events: TestEvent[];
  batchId?: string;
  receivedAtMs?: number;
  format?: "json" | "pb";
}): StreamBatch {
  const format = input.format ?? "json";
  const body =
    format === "json"
      ? JSON.stringify({ user_id: input.userId, game_id: input.gameId, events: input.events })
      : Buffer.from(
          toBinary(
            IngestEventsRequestSchema,
            create(IngestEventsRequestSchema, {
              userId: input.userId,
              gameId: input.gameId,
              events: input.events.map((e) => ({
                type: e.type,
                timestamp: e.timestamp,
                customdata: e.customdata as never,
                customEventName: e.customEventName ?? "",
                eventId: e.event_id ?? "",
              })),
            }),
          ),
        );
  return {
    batchId: input.batchId ?? uuidV7(),
    userId: input.userId,
    gameId: input.gameId,
    receivedAtMs: input.receivedAtMs ?? Date.now(),
    format,
    body,
  };
}

/** `n` events alternating LevelCompleted and AppOpen, LevelCompleted first. */
export function mixedEvents(n: number, idPrefix?: string): TestEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    type: i % 2 === 0 ? "LevelCompleted" : "AppOpen",
    timestamp: "2026-11-26T09:20:31.250+01:00",
    ...(i % 2 === 0 ? { customdata: { level: i, score: i * 100 } } : {}),
    ...(idPrefix === undefined ? {} : { event_id: `${idPrefix}-${i}` }),
  }));
}

/** Entries in a shard stream plus entries pending in its group (0 when drained). */
export async function streamBacklog(env: DrainTestEnv): Promise<{ length: number; pending: number }> {
  let length = 0;
  let pending = 0;
  for (let s = 0; s < env.shards; s++) {
    const key = streamKey(env.prefix, s);
    length += await env.redis.xlen(key);
    const summary = (await env.redis.xpending(key, consumerGroup).catch(() => [0])) as [number, ...unknown[]];
    pending += Number(summary[0]);
  }
  return { length, pending };
}
