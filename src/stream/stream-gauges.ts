import type { RedisClient } from "./redis-client.js";
import { consumerGroup, streamKey } from "./stream-keys.js";

/** Length and pending count of one shard stream. */
export interface StreamGauge {
  shard: number;
  length: number;
  pending: number;
}

/**
 * XLEN and the XPENDING summary of every shard in one pipeline, for the metrics
 * scrape. A shard whose group does not exist yet reports 0 pending.
 */
export async function readStreamGauges(redis: RedisClient, prefix: string, shards: number): Promise<StreamGauge[]> {
  const pipeline = redis.pipeline();
  for (let s = 0; s < shards; s++) {
    pipeline.xlen(streamKey(prefix, s));
    pipeline.xpending(streamKey(prefix, s), consumerGroup);
  }
  const results = (await pipeline.exec()) ?? [];
  const out: StreamGauge[] = [];
  for (let s = 0; s < shards; s++) {
    const [lenErr, length] = results[2 * s] ?? [];
    const [, summary] = results[2 * s + 1] ?? [];
    if (lenErr) throw lenErr;
    const pending = Array.isArray(summary) ? Number(summary[0] ?? 0) : 0;
    out.push({ shard: s, length: Number(length ?? 0), pending });
  }
  return out;
}
