import type { Pool } from "mysql2/promise";
import type { WorkerConfig } from "../config.js";
import type { Logger } from "../logger.js";
import type { RedisClient } from "../stream/redis-client.js";
import { createBatchSettler } from "./batch-settler.js";
import { createBatchTransaction } from "./batch-transaction.js";
import { describeError } from "./describe-error.js";
import type { DrainWorkerHooks } from "./drain-hooks.js";
import type { DrainObserver } from "./drain-observer.js";
import { createDrainStats, type DrainStats } from "./drain-stats.js";
import { createEntryReader } from "./entry-reader.js";
import { createReadAhead, type StreamRead } from "./read-ahead.js";
import { createReadPreparer } from "./read-preparer.js";
import { createRedisRetry } from "./redis-retry.js";
import { createShardLeases } from "./shard-leases.js";
import { createStreamConsumer } from "./stream-consumer.js";

export type { DrainHookInfo, DrainWorkerHooks } from "./drain-hooks.js";

/** Options of {@link createDrainWorker}. */
export interface DrainWorkerOptions {
  /**
   * A Redis client of this worker's own: XREADGROUP BLOCK holds its connection.
   * Create it with `createRedisClient({ url, name, commandTimeoutMs: undefined })`.
   */
  redis: RedisClient;
  /** MySQL pool (see `createMysqlPool`). */
  pool: Pool;
  /** STREAM_PREFIX. */
  prefix: string;
  /** Number of shard streams. */
  shards: number;
  config: WorkerConfig;
  logger: Logger;
  /** Told about every commit and dead letter (metrics). */
  observer?: DrainObserver;
  hooks?: DrainWorkerHooks;
}

/** A running drain loop. */
export interface DrainWorker {
  /** Starts the loop; returns at once. Calling it twice does nothing. */
  start(): void;
  /**
   * Stops reading, finishes the batch in hand (commit and acknowledge), and
   * resolves when the loop has ended. A batch waiting for MySQL to come back is
   * left pending instead: another worker claims it.
   */
  stop(): Promise<void>;
  /** Live counters. */
  readonly stats: Readonly<DrainStats>;
  /** The shards this worker holds the lease of now. */
  heldShards(): number[];
}

/**
 * The worker: drains the shard streams into MySQL, one transaction per read, and
 * acknowledges entries only after their transaction committed.
 *
 * - New entries come from one blocking XREADGROUP over all shards.
 * - Entries idle longer than `claimIdleMs` (a dead worker's, or ones this worker
 *   failed on) are claimed with XAUTOCLAIM; on start, entries left pending under
 *   this consumer name are taken back at once.
 * - An entry that cannot be decoded or validated, or whose rows MySQL refuses,
 *   or that was delivered more than `maxAttempts` times, goes to the dead
 *   letters (stream and table); the other entries of its read are stored anyway.
 * - Deadlocks and races are retried at once; while MySQL is unreachable the
 *   worker holds its batch and retries with capped back-off, losing nothing.
 *
 * This file is the lifecycle and the loop; the parts it wires together are
 * reading (entry-reader, read-ahead, read-preparer), the transaction
 * (batch-transaction) and acknowledging (batch-settler).
 */
export function createDrainWorker(options: DrainWorkerOptions): DrainWorker {
  const { redis, pool, prefix, shards, config, observer, hooks = {} } = options;
  const log = options.logger.child({ component: "drain-worker", consumer: config.consumerName });
  const stats = createDrainStats();
  // Aborted by stop(), and so the one "stopping" flag every part checks.
  const abort = new AbortController();
  const signal = abort.signal;
  const consumer = createStreamConsumer({
    redis,
    prefix,
    shards,
    consumerName: config.consumerName,
    readCount: config.readCount,
    blockMs: config.blockMs,
    claimIdleMs: config.claimIdleMs,
  });
  const leases = createShardLeases({
    redis,
    prefix,
    shards,
    workerId: config.consumerName,
    ttlMs: config.leaseTtlMs,
    stallMs: config.claimIdleMs,
    log,
  });
  const redisRetry = createRedisRetry({ consumer, log, signal });
  const preparer = createReadPreparer({ maxAttempts: config.maxAttempts, storeShards: config.storeShards, stats });
  const readAhead = createReadAhead({ consumer, leases, preparer });
  const transaction = createBatchTransaction({
    pool,
    gamesCacheMs: config.gamesCacheMs,
    eventsMayBeRemoved: config.eventsRetentionDays > 0,
    claimIdleMs: config.claimIdleMs,
    consumer,
    heldAhead: readAhead.held,
    hooks,
    stats,
    log,
    signal,
  });
  const settler = createBatchSettler({ transaction, consumer, redisRetry, storeShards: config.storeShards, hooks, stats, observer, log, signal });
  const reader = createEntryReader({ consumer, leases, preparer, readAhead, settler, redisRetry, readCount: config.readCount, log, signal });
  const leaseEveryMs = Math.max(Math.floor(config.leaseTtlMs / 3), 30);
  const claimEveryMs = Math.min(Math.max(Math.floor(config.claimIdleMs / 2), 50), 10_000);
  let running: Promise<void> | undefined;

  async function run(): Promise<void> {
    while (!signal.aborted) {
      try {
        await consumer.ensureGroups();
        break;
      } catch (err) {
        await redisRetry.wait("create the consumer groups", err);
      }
    }
    // Leases are renewed on a timer of their own, so a long batch keeps them.
    const leaseTimer = setInterval(() => void leases.tick().catch((err: unknown) => log.warn({ err: describeError(err) }, "lease renewal failed")), leaseEveryMs);
    try {
      await leases.tick().catch(() => {});
      if (!signal.aborted) await reader.recoverOwnPending();
      let nextClaimAt = 0;
      let nextShedAt = Date.now() + leaseEveryMs;
      // The next read, taken (and decoded) while the previous transaction ran.
      let ahead: StreamRead | undefined;
      while (!signal.aborted) {
        try {
          // Short of its share (it joined, and another worker still holds the
          // shards): take them as soon as they are free rather than at the next
          // lease tick; a join used to leave the new worker idle for up to two
          // lease periods. Safe with a read ahead: that read names its shards.
          if (leases.short()) await leases.acquire();
          if (ahead === undefined) {
            if (Date.now() >= nextShedAt) {
              // Between batches, with nothing read ahead: the only safe moment to hand a shard over.
              await leases.shed();
              nextShedAt = Date.now() + leaseEveryMs;
            }
            if (Date.now() >= nextClaimAt) {
              await reader.claimStale();
              nextClaimAt = Date.now() + claimEveryMs;
            }
          }
          const batch: StreamRead = ahead ?? { entries: await consumer.readNew(leases.held()) };
          ahead = undefined;
          readAhead.forget();
          redisRetry.reset();
          if (batch.entries.length > 0) {
            // A worker joined: shed right after this batch, not at the next
            // shed period, so it gets its share within a batch. One read of the
            // workers set per batch; a failure just leaves it to the period.
            if (leases.held().length > 1 && (await leases.surplus().catch(() => 0)) > 0) nextShedAt = 0;
            // No read-ahead when a shed or a claim is due: they run between batches.
            const readAheadNow = Date.now() < nextShedAt && Date.now() < nextClaimAt;
            ahead = await reader.process(batch.entries, batch.prepared, readAheadNow);
          }
        } catch (err) {
          ahead = undefined;
          readAhead.forget();
          await redisRetry.wait("read or claim stream entries", err);
        }
      }
      // A read taken ahead is finished like the batch in hand, unless MySQL is
      // away (then it stays pending for a claim, as the batch in hand does).
      if (ahead !== undefined && stats.mysqlAvailable) {
        await reader.process(ahead.entries, ahead.prepared, false).catch((err: unknown) =>
          log.warn({ err: describeError(err) }, "could not finish the batch read ahead; it stays pending"),
        );
      }
      readAhead.forget();
    } finally {
      clearInterval(leaseTimer);
      await leases.releaseAll().catch(() => {});
    }
  }

  return {
    stats,
    heldShards: () => leases.held(),
    start() {
      if (running) return;
      running = run().catch((err: unknown) => {
        log.error({ err: describeError(err) }, "drain loop ended unexpectedly");
      });
    },
    async stop() {
      abort.abort();
      await running;
    },
  };
}
