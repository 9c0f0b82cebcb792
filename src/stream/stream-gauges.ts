import type { RedisClient } from "./redis-client.js";
import { consumerGroup, leaseKey, streamKey } from "./stream-keys.js";

/** Shard stream sizes and lease, read from Redis at scrape time. */
export interface StreamGaugeReading {
  shard: number;
  length: number;
  pending: number;
  /** Whether a worker holds the shard's lease (nobody drains a shard without one). */
  leased: boolean;
}

/**
 * XLEN, the XPENDING summary and whether a worker holds the lease, of every
 * shard, for the metrics scrape. A shard whose group does not exist yet
 * reports 0 pending.
 */
export async function readStreamGauges(redis: RedisClient, prefix: string, shards: number): Promise<StreamGaugeReading[]> {
  // One pipeline per shard: its three keys share a slot, which a cluster requires.
  return Promise.all(
    Array.from({ length: shards }, async (_, shard) => {
      const key = streamKey(prefix, shard);
      const results = (await redis.pipeline().xlen(key).xpending(key, consumerGroup).exists(leaseKey(prefix, shard)).exec()) ?? [];
      const [lenErr, length] = results[0] ?? [];
      const [, summary] = results[1] ?? [];
      const [leaseErr, leased] = results[2] ?? [];
      if (lenErr) throw lenErr;
      if (leaseErr) throw leaseErr;
      const pending = Array.isArray(summary) ? Number(summary[0] ?? 0) : 0;
      return { shard, length: Number(length ?? 0), pending, leased: Number(leased) === 1 };
    }),
  );
}
