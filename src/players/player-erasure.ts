import type { Pool } from "mysql2/promise";
import { ValidationError } from "../errors.js";
import {
  completeTombstone,
  erasureSteps,
  recordTombstone,
  runErasureChunk,
  runLegacyDeadLetterChunk,
} from "../store/erasure-repo.js";
import type { RedisClient } from "../stream/redis-client.js";
import { deadLetterKey, rateBucketKey, shardOf } from "../stream/stream-keys.js";

/** What one erasure call removed. */
export interface ErasureResult {
  /** Rows (and, under `redis:dead-letters`, Redis entries) removed by this call, per table. */
  rowsDeleted: Record<string, number>;
  /** When the player's erasure was first requested, RFC 3339 in UTC. */
  requestedAt: string;
}

/** Options of {@link createPlayerErasure}. */
export interface PlayerErasureOptions {
  pool: Pool;
  redis: RedisClient;
  /** STREAM_PREFIX. */
  prefix: string;
  /** STREAM_SHARDS: every shard's dead-letter stream is searched. */
  streamShards: number;
  /** Rows per DELETE, each its own short transaction. @default 1000 */
  chunkRows?: number;
  /** Called after each chunk, e.g. to print progress. */
  onChunk?: (table: string, deletedSoFar: number) => void;
}

/** Erases players: the domain behind PlayerAdminService.DeletePlayer and `playsmart players delete`. */
export interface PlayerErasure {
  /**
   * Erases everything held about one player, idempotently: run again after an
   * interruption, it deletes what is left.
   * @throws ValidationError for a missing or over-long user id.
   */
  erase(userId: string): Promise<ErasureResult>;
}

/**
 * An erasure: a tombstone first (from then on the drain drops the player's
 * batches, see erasure-repo.ts), then every table in chunks that never hold
 * locks for long, so the drain keeps running beside it; then the player's
 * entries in the Redis dead-letter streams and their rate bucket; then the
 * tombstone is marked complete.
 */
export function createPlayerErasure(options: PlayerErasureOptions): PlayerErasure {
  const { pool, redis, prefix, streamShards, onChunk } = options;
  const chunk = options.chunkRows ?? 1000;
  return {
    async erase(userId) {
      if (userId === "" || userId.length > 64) {
        throw new ValidationError([{ index: -1, field: "user_id", reason: userId === "" ? "is required" : "must be at most 64 characters" }]);
      }
      const tombstone = await recordTombstone(pool, userId);
      const rowsDeleted: Record<string, number> = {};
      for (const step of erasureSteps) {
        rowsDeleted[step.table] = await untilEmpty((limit) => runErasureChunk(pool, step, userId, limit), step.table);
      }
      rowsDeleted["dead_letters"] = (rowsDeleted["dead_letters"] ?? 0) +
        (await untilEmpty((limit) => runLegacyDeadLetterChunk(pool, userId, limit), "dead_letters"));
      rowsDeleted["redis:dead-letters"] = await eraseDeadLetterEntries(userId);
      await redis.del(rateBucketKey(prefix, shardOf(userId, streamShards), userId));
      await completeTombstone(pool, userId);
      return { rowsDeleted, requestedAt: tombstone.requestedAt };
    },
  };

  async function untilEmpty(run: (limit: number) => Promise<number>, table: string): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await run(chunk);
      total += n;
      if (n > 0) onChunk?.(table, total);
      if (n < chunk) return total;
    }
  }

  // The dead-letter streams are operators' short lists: each is read through
  // in pages and the player's entries (field `u`) deleted.
  async function eraseDeadLetterEntries(userId: string): Promise<number> {
    let deleted = 0;
    for (let shard = 0; shard < streamShards; shard++) {
      const key = deadLetterKey(prefix, shard);
      let start = "-";
      for (;;) {
        const page = await redis.xrange(key, start, "+", "COUNT", 500);
        const mine: string[] = [];
        for (const [id, fields] of page) {
          for (let i = 0; i + 1 < fields.length; i += 2) {
            if (fields[i] === "u" && fields[i + 1] === userId) mine.push(id);
          }
        }
        if (mine.length > 0) deleted += await redis.xdel(key, ...mine);
        const last = page[page.length - 1];
        if (!last || page.length < 500) break;
        start = `(${last[0]}`;
      }
    }
    return deleted;
  }
}
