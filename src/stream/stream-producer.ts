import type { Redis } from "ioredis";
import { UnavailableError } from "../errors.js";
import { encodeEntry, type StreamBatch } from "./stream-entry.js";
import { shardOf, streamKey } from "./stream-keys.js";

/** Where the gateway appends accepted batches. */
export interface StreamProducer {
  /**
   * Appends one batch as one stream entry and resolves with its entry id once
   * Redis acknowledged it.
   * @throws UnavailableError when Redis does not take it.
   */
  append(batch: StreamBatch): Promise<string>;
}

/** Options of {@link createStreamProducer}. */
export interface StreamProducerOptions {
  redis: Redis;
  /** STREAM_PREFIX. */
  prefix: string;
  /** Number of shard streams. */
  shards: number;
}

/**
 * A producer on a Redis stream. Entries are never trimmed here: only a worker
 * removes an entry, after its MySQL transaction committed.
 */
export function createStreamProducer(options: StreamProducerOptions): StreamProducer {
  const { redis, prefix, shards } = options;
  return {
    async append(batch) {
      const key = streamKey(prefix, shardOf(batch.userId, shards));
      try {
        const id = await redis.xadd(key, "*", ...encodeEntry(batch));
        if (id === null) throw new Error("XADD returned no id");
        return id;
      } catch (err) {
        throw new UnavailableError("the event buffer is unavailable, retry later", 1, { cause: err });
      }
    },
  };
}
