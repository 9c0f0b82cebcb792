import type { RedisClient } from "./redis-client.js";
import { consumerGroup, streamKey } from "./stream-keys.js";

/** Length and pending count of one shard stream. */
export interface StreamGauge {
  shard: number;
  length: number;
  pending: number;
}

/**
 * XLEN and the XPENDING summary of every shard, for the metrics scrape. A shard
 * whose group does not exist yet reports 0 pending.
 */
export async function readStreamGauges(redis: RedisClient, prefix: string, shards: number): Promise<StreamGauge[]> {
  // One pipeline per shard: its two keys share a slot, which a cluster requires.
  return Promise.all(
    Array.from({ length: shards }, async (_, shard) => {
      const results = (await redis.pipeline().xlen(streamKey(prefix, shard)).xpending(streamKey(prefix, shard), consumerGroup).exec()) ?? [];
      const [lenErr, length] = results[0] ?? [];
      const [, summary] = results[1] ?? [];
      if (lenErr) throw lenErr;
      const pending = Array.isArray(summary) ? Number(summary[0] ?? 0) : 0;
      return { shard, length: Number(length ?? 0), pending };
    }),
  );
}
