import { createHash } from "node:crypto";

/**
 * The MySQL shard of a player when the store is sharded by `user_id` (see
 * docs/vitess-sharding.md): Vitess's `binary_md5` vindex maps a user id to the
 * keyspace id md5(user_id), and `shards` even key ranges split that space
 * (-40, 40-80, 80-c0, c0- for 4). The first two bytes decide the range for any
 * power of two up to 256 shards.
 */
export function storeShardOf(userId: string, shards: number): number {
  if (shards <= 1) return 0;
  const digest = createHash("md5").update(userId, "utf8").digest();
  return Math.floor((digest.readUInt16BE(0) * shards) / 65536);
}

/** Vitess's name of the key range of shard `index` of `shards`, e.g. "40-80". */
export function keyRangeName(index: number, shards: number): string {
  const bound = (i: number) => (i === 0 || i === shards ? "" : Math.floor((i * 256) / shards).toString(16).padStart(2, "0"));
  return `${bound(index)}-${bound(index + 1)}`;
}
