/**
 * Redis key names. Every key starts with STREAM_PREFIX so deployments and test
 * runs can share one Redis; the shard number sits in a Redis Cluster hash tag
 * (`{...}`) so a shard's stream and its bookkeeping live in one slot.
 */

/** Consumer group of the workers on every shard stream. */
export const consumerGroup = "workers";

/** Key of shard `shard`'s event stream, e.g. `playsmart:events:{0}`. */
export function streamKey(prefix: string, shard: number): string {
  return `${prefix}:events:{${shard}}`;
}

/**
 * Key of a player's ingest token bucket, in the slot of the player's shard so
 * the admission script can read it together with the stream.
 */
export function rateBucketKey(prefix: string, shard: number, userId: string): string {
  return `${prefix}:rate:{${shard}}:${userId}`;
}

/** Key of the lease that gives one worker a shard, in the shard's slot. */
export function leaseKey(prefix: string, shard: number): string {
  return `${prefix}:lease:{${shard}}`;
}

/** Sorted set of live workers (score: last heartbeat, ms). */
export function workersKey(prefix: string): string {
  return `${prefix}:workers`;
}

/** Key of the dead-letter stream of one shard. */
export function deadLetterKey(prefix: string, shard: number): string {
  return `${prefix}:dead-letters:{${shard}}`;
}

/**
 * The shard of a player (FNV-1a over the user id), so one player's batches keep
 * their order in one stream.
 */
export function shardOf(userId: string, shards: number): number {
  if (shards <= 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) {
    h ^= userId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}
