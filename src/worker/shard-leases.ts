import type { Logger } from "../logger.js";
import type { RedisClient } from "../stream/redis-client.js";
import { leaseKey, workersKey } from "../stream/stream-keys.js";

/**
 * Which shards this worker drains. One worker per shard at a time keeps each
 * player's batches in order; the shards spread evenly over the live workers.
 */
export interface ShardLeases {
  /** The shards this worker holds now, ascending. */
  held(): number[];
  /** Heartbeat, renew, and take free shards up to this worker's share. */
  tick(): Promise<void>;
  /**
   * Whether this worker held fewer shards than its share at the last count:
   * another worker still has to shed them. The drain loop then calls
   * {@link acquire} between batches instead of waiting for the next tick.
   */
  short(): boolean;
  /** Heartbeat and take free shards up to this worker's share (no renewal). */
  acquire(): Promise<void>;
  /**
   * How many shards this worker holds beyond its share of the live workers now
   * (0 when none): a newer worker waits for them. One read of the workers set,
   * cheap enough to ask before every batch.
   */
  surplus(): Promise<number>;
  /**
   * Gives up shards beyond this worker's share so a newer worker can take them.
   * Called by the drain loop between batches, never in the middle of one.
   */
  shed(): Promise<void>;
  /** Releases every lease (on shutdown, after the last batch). */
  releaseAll(): Promise<void>;
  /**
   * Marks the start (a list of shards) or end (undefined) of a batch. A batch
   * that runs longer than `stallMs` stops the renewal of its shards' leases, so
   * a worker stuck on one (a hung connection) lets another take over.
   */
  busy(shards: readonly number[] | undefined): void;
}

/** Options of {@link createShardLeases}. */
export interface ShardLeasesOptions {
  redis: RedisClient;
  prefix: string;
  shards: number;
  /** Unique per worker process: the consumer name. */
  workerId: string;
  /** A lease not renewed for this long is free for another worker. @default 5000 */
  ttlMs?: number;
  /** A batch running longer than this stops renewing its shards. @default 30000 */
  stallMs?: number;
  log: Logger;
}

// Renew or release only a lease this worker still holds.
const renewLua = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const releaseLua = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/**
 * Leases in Redis: `SET <prefix>:lease:{shard} <worker> NX PX ttl`, renewed every
 * third of the ttl. Live workers heartbeat into a sorted set; each aims at its
 * fair share of the shards, so adding a worker spreads the load with no
 * configuration change, and a dead worker's shards are free after one ttl.
 */
export function createShardLeases(options: ShardLeasesOptions): ShardLeases {
  const { redis, prefix, shards, workerId, log } = options;
  const ttlMs = options.ttlMs ?? 5000;
  const stallMs = options.stallMs ?? 30_000;
  const held = new Set<number>();
  let busyShards: readonly number[] = [];
  let busySince = 0;
  // This worker's share at the last count (see share()).
  let target = 0;
  // Start the search at a worker-specific shard so workers starting together
  // do not all race for shard 0.
  let hash = 0;
  for (const c of workerId) hash = (Math.imul(hash, 31) + c.charCodeAt(0)) >>> 0;
  const firstShard = hash % shards;

  // This worker's fair share: floor(shards / workers), plus one for the first
  // (shards % workers) workers in id order, so the shares add up to exactly the
  // number of shards and no worker is left idle while another holds two extra.
  const shareOf = (live: string[]): number => {
    live.sort();
    const n = Math.max(1, live.length);
    const rank = Math.max(0, live.indexOf(workerId));
    return (target = Math.floor(shards / n) + (rank < shards % n ? 1 : 0));
  };
  const share = async (): Promise<number> => {
    const now = Date.now();
    await redis.zadd(workersKey(prefix), now, workerId);
    await redis.zremrangebyscore(workersKey(prefix), "-inf", now - 3 * ttlMs);
    return shareOf(await redis.zrange(workersKey(prefix), "0", "-1"));
  };

  // The lease timer's tick and the drain loop's acquire may both look for free
  // shards: one search at a time, so together they never take more than the share.
  let taking: Promise<void> | undefined;
  const takeFree = (): Promise<void> => (taking ??= takeFreeOnce().finally(() => (taking = undefined)));
  const takeFreeOnce = async (): Promise<void> => {
    for (let i = 0; i < shards && held.size < target; i++) {
      const shard = (firstShard + i) % shards;
      if (held.has(shard)) continue;
      if ((await redis.set(leaseKey(prefix, shard), workerId, "PX", ttlMs, "NX")) === "OK") {
        held.add(shard);
        log.info({ shard }, "took the lease of a shard");
      }
    }
  };

  const release = async (shard: number) => {
    held.delete(shard);
    await redis.eval(releaseLua, 1, leaseKey(prefix, shard), workerId);
  };

  return {
    held: () => [...held].sort((a, b) => a - b),

    busy(shards) {
      busyShards = shards ?? [];
      busySince = Date.now();
    },

    async tick() {
      const stalled = busyShards.length > 0 && Date.now() - busySince > stallMs;
      for (const shard of [...held]) {
        if (stalled && busyShards.includes(shard)) {
          log.warn({ shard, busyMs: Date.now() - busySince }, "batch stalled: letting the lease of its shard expire");
          held.delete(shard);
          continue;
        }
        const renewed = await redis.eval(renewLua, 1, leaseKey(prefix, shard), workerId, String(ttlMs));
        if (renewed !== 1) {
          held.delete(shard);
          log.warn({ shard }, "lost the lease of a shard");
        }
      }
      await share();
      await takeFree();
    },

    short: () => held.size < target,

    async acquire() {
      await share();
      await takeFree();
    },

    async surplus() {
      // Read only (no heartbeat, no pruning): the workers that beat within
      // the last three ttls, as share() counts them.
      const live = await redis.zrangebyscore(workersKey(prefix), Date.now() - 3 * ttlMs, "+inf");
      if (!live.includes(workerId)) live.push(workerId);
      return Math.max(0, held.size - shareOf(live));
    },

    async shed() {
      await share();
      const extra = [...held].sort((a, b) => b - a).slice(0, Math.max(0, held.size - target));
      for (const shard of extra) {
        await release(shard);
        log.info({ shard }, "released a shard for another worker");
      }
    },

    async releaseAll() {
      for (const shard of [...held]) await release(shard).catch(() => {});
      await redis.zrem(workersKey(prefix), workerId).catch(() => 0);
    },
  };
}
