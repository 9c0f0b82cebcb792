import type { Logger } from "../logger.js";
import type { BatchSettler } from "./batch-settler.js";
import type { ReadAhead, StreamRead } from "./read-ahead.js";
import type { Prepared, ReadPreparer } from "./read-preparer.js";
import type { RedisRetry } from "./redis-retry.js";
import type { ShardLeases } from "./shard-leases.js";
import type { HeldEntry, StreamConsumer } from "./stream-consumer.js";

/** Options of {@link createEntryReader}. */
export interface EntryReaderOptions {
  consumer: StreamConsumer;
  /** Only held shards are claimed from, and a batch marks its shards busy. */
  leases: ShardLeases;
  preparer: ReadPreparer;
  readAhead: ReadAhead;
  settler: BatchSettler;
  redisRetry: RedisRetry;
  /** Most entries claimed per shard per round (WORKER_READ_COUNT). */
  readCount: number;
  log: Logger;
  /** Aborted when the worker stops: no more claims then. */
  signal: AbortSignal;
}

/** Takes entries from the shard streams (new, left pending, or stale) through their batches. */
export interface EntryReader {
  /**
   * Stores one read (prepared already, when read ahead). With `readAhead`, the
   * next read (non-blocking) is taken and decoded while this one's transaction
   * runs, and returned: transactions still run one at a time in read order
   * (per-shard order holds), and each read is acknowledged only after its own
   * commit.
   */
  process(entries: HeldEntry[], prepared?: Prepared, readAhead?: boolean): Promise<StreamRead | undefined>;
  /** Takes back, one at a time, the entries of held shards left pending under this consumer name. */
  recoverOwnPending(): Promise<void>;
  /** Claims a bounded number of entries per held shard that another consumer left idle too long. */
  claimStale(): Promise<void>;
}

/** A reader over one worker's stream consumer. */
export function createEntryReader(options: EntryReaderOptions): EntryReader {
  const { consumer, leases, preparer, readAhead, settler, redisRetry, readCount, log, signal } = options;

  async function process(entries: HeldEntry[], prepared?: Prepared, ahead = false): Promise<StreamRead | undefined> {
    const batch = prepared ?? preparer.prepare(entries);
    leases.busy([...new Set(entries.map((e) => e.shard))]);
    let next: Promise<StreamRead | undefined> | undefined;
    try {
      if (ahead && batch.goods.length > 0) next = readAhead.read();
      await settler.settle(batch);
    } finally {
      leases.busy(undefined);
    }
    return next === undefined ? undefined : await next;
  }

  return {
    process,

    // One at a time: a claim counts a delivery, and a worker that crashes on one
    // entry must not use up the attempts of a whole page of healthy ones
    // (WORKER_MAX_ATTEMPTS).
    async recoverOwnPending() {
      // Only held shards: another worker owns the rest and claims them in order.
      for (const shard of leases.held()) {
        if (signal.aborted) break;
        let after = "";
        while (!signal.aborted) {
          try {
            const page = await consumer.readOwnPending(shard, after, 1);
            if (page.lastId === undefined) break;
            after = page.lastId;
            if (page.entries.length > 0) {
              log.info({ shard, entry: page.entries[0]!.id }, "recovering an entry this consumer left pending");
              await process(page.entries);
            }
          } catch (err) {
            await redisRetry.wait("read this consumer's pending entries", err);
          }
        }
      }
    },

    async claimStale() {
      for (const shard of leases.held()) {
        if (signal.aborted) break;
        // A bounded number per round, so new entries are not starved.
        for (let n = 0; n < readCount && !signal.aborted; n++) {
          const entries = await consumer.claimStale(shard, 1);
          if (entries.length === 0) break;
          log.info({ shard, entry: entries[0]!.id }, "claimed an entry idle too long");
          await process(entries);
        }
      }
    },
  };
}
