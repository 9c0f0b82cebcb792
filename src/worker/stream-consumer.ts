import type { RedisClient } from "../stream/redis-client.js";
import { consumerGroup, deadLetterKey, streamKey } from "../stream/stream-keys.js";

/** One entry as the worker holds it between reading and acknowledging. */
export interface HeldEntry {
  shard: number;
  /** Key of the shard stream. */
  stream: string;
  id: string;
  /** Field list as stored; null when the entry was deleted while pending. */
  fields: Buffer[] | null;
  /** Deliveries so far, this one included. */
  deliveries: number;
}

/** An entry to move to the dead letters. */
export interface DeadLetterOut {
  entry: HeldEntry;
  error: string;
}

/** Options of {@link createStreamConsumer}. */
export interface StreamConsumerOptions {
  redis: RedisClient;
  prefix: string;
  shards: number;
  consumerName: string;
  readCount: number;
  blockMs: number;
  claimIdleMs: number;
}

/** The worker's side of the shard streams: one consumer in the `workers` group. */
export interface StreamConsumer {
  /** Creates the group on every shard stream (and the stream) when missing. */
  ensureGroups(): Promise<void>;
  /**
   * New entries of `shards`, waiting up to `blockMs` for the first. On one Redis
   * a single XREADGROUP covers every shard; on a cluster the shards live in
   * different slots, so each is read on its own and only the last read blocks.
   * With `block` false it returns at once with what is there (a read-ahead
   * must not hold the connection the acknowledgements go through).
   */
  readNew(shards: readonly number[], block?: boolean): Promise<HeldEntry[]>;
  /**
   * A page of this consumer's own pending entries of `shard` after `afterId`
   * ("" for the start): what a previous process with the same consumer name left
   * unacknowledged. `lastId` is the cursor for the next page, undefined at the end.
   * Entries deleted meanwhile are left out (and leave the pending list).
   */
  readOwnPending(shard: number, afterId: string, count?: number): Promise<{ entries: HeldEntry[]; lastId: string | undefined }>;
  /** Takes over up to `count` entries of `shard` idle longer than `claimIdleMs` (a dead consumer's). */
  claimStale(shard: number, count?: number): Promise<HeldEntry[]>;
  /** Resets the idle time of held entries so no other worker claims them while we wait. */
  touch(entries: readonly HeldEntry[]): Promise<void>;
  /**
   * After the MySQL commit: copies dead letters to the dead-letter streams, then
   * acknowledges and deletes `entries` (which include the dead letters' own
   * entries), in one MULTI so a dead letter is copied exactly once.
   */
  settle(entries: readonly HeldEntry[], deadLetters: readonly DeadLetterOut[]): Promise<void>;
}

type RawEntry = [id: Buffer, fields: Buffer[] | null] | null;

/**
 * A consumer over ioredis. Every command names keys of one shard only, except the
 * one XREADGROUP over several shards on a single Redis, which lets one blocking
 * read serve them all.
 */
export function createStreamConsumer(options: StreamConsumerOptions): StreamConsumer {
  const { redis, prefix, shards, consumerName, readCount, blockMs, claimIdleMs } = options;
  const cluster = "isCluster" in redis && redis.isCluster === true;
  const keys = Array.from({ length: shards }, (_, s) => streamKey(prefix, s));
  const shardOfKey = new Map(keys.map((k, s) => [k, s]));
  const claimCursor = new Map<number, string>();
  let rotation = 0;

  const toHeld = (shard: number, raw: RawEntry[], deliveries: ReadonlyMap<string, number> | number): HeldEntry[] => {
    const held: HeldEntry[] = [];
    for (const r of raw) {
      if (r === null) continue; // Redis 6.2 XAUTOCLAIM: an entry deleted while pending
      const id = r[0].toString("latin1");
      const count = typeof deliveries === "number" ? deliveries : (deliveries.get(id) ?? 1);
      held.push({ shard, stream: keys[shard]!, id, fields: r[1], deliveries: count });
    }
    return held;
  };

  // Delivery counts of this consumer's pending entries in [first, last] of a shard.
  const deliveryCounts = async (shard: number, first: string, last: string, count: number): Promise<Map<string, number>> => {
    const rows = (await redis.xpending(keys[shard]!, consumerGroup, first, last, count, consumerName)) as Array<
      [string, string, number, number]
    >;
    return new Map(rows.map((r) => [r[0], Number(r[3])]));
  };

  return {
    async ensureGroups() {
      for (const key of keys) {
        try {
          // From id 0, not $: entries appended before the group existed are drained too.
          await redis.xgroup("CREATE", key, consumerGroup, "0", "MKSTREAM");
        } catch (err) {
          if (!String((err as Error).message).startsWith("BUSYGROUP")) throw err;
        }
      }
    },

    async readNew(from, block = true) {
      if (from.length === 0) {
        if (block) await new Promise((r) => setTimeout(r, blockMs));
        return [];
      }
      const read = async (shardList: readonly number[], block: boolean) => {
        const streams = shardList.map((s) => keys[s]!);
        // xreadgroupBuffer, not callBuffer: its reply transformer gives the same
        // [key, entries][] shape whether the connection speaks RESP2 or RESP3.
        const xreadgroup = redis.xreadgroupBuffer as unknown as (...args: Array<string | number>) => Promise<unknown>;
        const reply = (await xreadgroup.call(
          redis,
          "GROUP", consumerGroup, consumerName,
          "COUNT", readCount,
          ...(block ? ["BLOCK", blockMs] : []),
          "STREAMS", ...streams, ...streams.map(() => ">"),
        )) as Array<[Buffer, RawEntry[]]> | null;
        const held: HeldEntry[] = [];
        for (const [key, entries] of reply ?? []) {
          const shard = shardOfKey.get(key.toString("latin1"));
          if (shard !== undefined) held.push(...toHeld(shard, entries, 1));
        }
        return held;
      };
      if (!cluster) return read(from, block);
      const held: HeldEntry[] = [];
      for (const shard of from) held.push(...(await read([shard], false)));
      if (held.length > 0 || !block) return held;
      // Nothing anywhere: wait on one shard, a different one each time.
      rotation = (rotation + 1) % from.length;
      return read([from[rotation]!], true);
    },

    async readOwnPending(shard, afterId, count = readCount) {
      const rows = (await redis.xpending(
        keys[shard]!, consumerGroup, afterId === "" ? "-" : `(${afterId}`, "+", count, consumerName,
      )) as Array<[string, string, number, number]>;
      if (rows.length === 0) return { entries: [], lastId: undefined };
      const ids = rows.map((r) => r[0]);
      // XCLAIM rather than a history read: it counts a delivery, so an entry that
      // crashes the process on every restart still reaches maxAttempts.
      const raw = (await redis.callBuffer("XCLAIM", [keys[shard]!, consumerGroup, consumerName, "0", ...ids])) as RawEntry[];
      const counts = new Map(rows.map((r) => [r[0], Number(r[3]) + 1]));
      return { entries: toHeld(shard, raw, counts), lastId: ids[ids.length - 1] };
    },

    async claimStale(shard, count = readCount) {
      const cursor = claimCursor.get(shard) ?? "0-0";
      const reply = (await redis.callBuffer("XAUTOCLAIM", [
        keys[shard]!, consumerGroup, consumerName, String(claimIdleMs), cursor, "COUNT", String(count),
      ])) as [Buffer, RawEntry[], Buffer[]?];
      // The cursor walks the pending list across calls, so a long list is
      // covered a page per call; "0-0" means the walk starts over.
      claimCursor.set(shard, reply[0].toString("latin1"));
      const entries = reply[1].filter((e): e is NonNullable<RawEntry> => e !== null);
      if (entries.length === 0) return [];
      const ids = entries.map((e) => e[0].toString("latin1"));
      const counts = await deliveryCounts(shard, ids[0]!, ids[ids.length - 1]!, ids.length);
      return toHeld(shard, entries, counts);
    },

    async touch(entries) {
      for (const [shard, ids] of groupByShard(entries)) {
        // JUSTID: resets the idle time without counting a delivery.
        await redis.call("XCLAIM", keys[shard]!, consumerGroup, consumerName, "0", ...ids, "JUSTID");
      }
    },

    async settle(entries, deadLetters) {
      if (entries.length === 0 && deadLetters.length === 0) return;
      // One MULTI per shard: its stream and dead-letter stream share a hash tag,
      // so each MULTI stays in one cluster slot and a dead letter is copied once.
      const byShard = groupByShard(entries);
      for (const d of deadLetters) if (!byShard.has(d.entry.shard)) byShard.set(d.entry.shard, []);
      for (const [shard, ids] of byShard) {
        const multi = redis.multi();
        for (const { entry, error } of deadLetters) {
          if (entry.shard !== shard) continue;
          multi.xadd(
            deadLetterKey(prefix, shard), "*",
            ...(entry.fields ?? []),
            "error", error,
            "stream", entry.stream,
            "entry", entry.id,
            "attempts", String(entry.deliveries),
          );
        }
        if (ids.length > 0) {
          multi.xack(keys[shard]!, consumerGroup, ...ids);
          multi.xdel(keys[shard]!, ...ids);
        }
        const results = await multi.exec();
        if (results === null) throw new Error("MULTI was discarded");
        for (const [err] of results) if (err) throw err;
      }
    },
  };
}

function groupByShard(entries: readonly HeldEntry[]): Map<number, string[]> {
  const byShard = new Map<number, string[]>();
  for (const e of entries) {
    const ids = byShard.get(e.shard);
    if (ids) ids.push(e.id);
    else byShard.set(e.shard, [e.id]);
  }
  return byShard;
}
