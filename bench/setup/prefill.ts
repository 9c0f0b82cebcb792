import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { encodeEntry } from "../../src/stream/stream-entry.js";
import { shardOf } from "../../src/stream/stream-keys.js";
import { uuidV7 } from "../../src/stream/uuid-v7.js";
import { newEventId, sampleBatch, type EventIdFormat } from "../load/payloads.js";

/** Options of {@link prefillStream}. */
export interface PrefillOptions {
  /** Key of each shard's stream to fill. */
  keyOfShard: (shard: number) => string;
  shards: number;
  events: number;
  batchSize: number;
  /** Distinct players the entries belong to. */
  users: number;
  gameIds: readonly string[];
  eventIds: EventIdFormat;
}

/** What was queued, to check the drain against. */
export interface Prefill {
  entries: number;
  events: number;
  /** LevelCompleted events (each pays coins: every bench game has coins). */
  levelCompleted: number;
  /** Bytes of entry bodies. */
  bodyBytes: number;
  keys: string[];
  seconds: number;
}

/**
 * Fills streams with entries exactly as the gateway writes them (the
 * gateway's own `encodeEntry`, JSON bodies as REST clients send them), by
 * pipelined XADDs straight to Redis: a million events in seconds rather than
 * the minutes the HTTP path would take. The events are the load generator's
 * mix (30% LevelCompleted), spread over `users` players.
 */
export async function prefillStream(redis: Redis, o: PrefillOptions): Promise<Prefill> {
  const started = performance.now();
  const users = Array.from({ length: o.users }, () => randomUUID());
  const keys = Array.from({ length: o.shards }, (_, s) => o.keyOfShard(s));
  let events = 0;
  let entries = 0;
  let levelCompleted = 0;
  let bodyBytes = 0;
  const pipelineSize = 500;
  while (events < o.events) {
    const pipeline = redis.pipeline();
    for (let n = 0; n < pipelineSize && events < o.events; n++) {
      const size = Math.min(o.batchSize, o.events - events);
      const userId = users[entries % users.length]!;
      const gameId = o.gameIds[entries % o.gameIds.length]!;
      const now = Date.now();
      const batch = sampleBatch(userId, gameId, size, entries, now, () => (o.eventIds === "none" ? undefined : newEventId(o.eventIds, now)));
      for (const e of batch.events) if (e.type === "LevelCompleted") levelCompleted++;
      const body = JSON.stringify(batch);
      bodyBytes += body.length;
      const fields = encodeEntry({ batchId: uuidV7(now), userId, gameId, receivedAtMs: now, format: "json", body });
      pipeline.xadd(keys[shardOf(userId, o.shards)]!, "*", ...fields);
      events += size;
      entries++;
    }
    for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
  }
  return { entries, events, levelCompleted, bodyBytes, keys, seconds: (performance.now() - started) / 1000 };
}
