import { SpanKind, SpanStatusCode, type Context, type Span } from "@opentelemetry/api";
import type { RedisClient } from "./redis-client.js";
import { spanAttr, sampledTraceParent, tracer, tracingActive } from "../tracing/tracer.js";
import { BufferFullError, RateLimitedError, UnavailableError } from "../errors.js";
import { admitAndAppend, defineAppendScript, type AdmissionLimits, type ReplicaAck } from "./append-script.js";
import type { RedisMemoryGuard } from "./redis-memory-guard.js";
import { encodeEntry, type StreamBatch } from "./stream-entry.js";
import { rateBucketKey, shardOf, streamKey } from "./stream-keys.js";

/** Where the gateway appends accepted batches. */
export interface StreamProducer {
  /**
   * Appends one batch as one stream entry and resolves with its entry id once
   * Redis acknowledged it. With tracing on, the append's span is a child of
   * `trace` (the request's span) and `eventCount` labels it.
   * @throws RateLimitedError when the player is over its rate,
   *   UnavailableError when the buffer is full or Redis does not take it.
   */
  append(batch: StreamBatch, eventCount?: number, trace?: Context): Promise<string>;
}

/** Options of {@link createStreamProducer}. */
export interface StreamProducerOptions {
  redis: RedisClient;
  /** STREAM_PREFIX. */
  prefix: string;
  /** Number of shard streams. */
  shards: number;
  /** Back-pressure and per-user rate. @default no limits */
  limits?: AdmissionLimits;
  /** Refuses appends while Redis memory is near its maxmemory. */
  memoryGuard?: RedisMemoryGuard;
  /** Replicas that must hold an entry before it counts as appended. @default none */
  replicaAck?: ReplicaAck;
}

/** Seconds a client should wait when the buffer is full: the workers need time to catch up. */
const backlogRetryAfterSeconds = 2;

/**
 * A producer on a Redis stream. Entries are never trimmed here: only a worker
 * removes an entry, after its MySQL transaction committed. Admission (rate and
 * bound) and the append are one atomic script, so the bound holds exactly even
 * with many gateways.
 */
export function createStreamProducer(options: StreamProducerOptions): StreamProducer {
  const { redis, prefix, shards, memoryGuard } = options;
  const limits = options.limits ?? { maxBacklog: 0, ratePerUser: 0, burstPerUser: 0 };
  defineAppendScript(redis);
  async function append(batch: StreamBatch): Promise<string> {
    if (memoryGuard?.isOverloaded()) {
      throw new BufferFullError("the event buffer is full, retry later", backlogRetryAfterSeconds);
    }
    const shard = shardOf(batch.userId, shards);
    let result;
    try {
      result = await admitAndAppend(
        redis,
        { stream: streamKey(prefix, shard), bucket: rateBucketKey(prefix, shard, batch.userId) },
        limits,
        encodeEntry(batch),
        options.replicaAck,
      );
    } catch (err) {
      throw new UnavailableError("the event buffer is unavailable, retry later", 1, { cause: err });
    }
    if (result.kind === "appended") {
      // On the master only: a failover now could lose it, so no 202. The client
      // resends with the same event_ids and the copy that survives is stored once.
      if (!result.replicated) throw new UnavailableError("the event buffer could not replicate the batch, retry later", 1);
      return result.id;
    }
    if (result.kind === "rate_limited") {
      throw new RateLimitedError("too many batches for this player, slow down", Math.max(1, Math.ceil(result.retryAfterMs / 1000)));
    }
    throw new BufferFullError("the event buffer is full, retry later", backlogRetryAfterSeconds);
  }

  // The PRODUCER span of the append (a child of the request's span); its
  // context rides in the entry so the worker's commit can link to it.
  async function tracedAppend(batch: StreamBatch, span: Span): Promise<string> {
    try {
      const traceParent = sampledTraceParent(span);
      const id = await append(traceParent === undefined ? batch : { ...batch, traceParent });
      span.setAttribute("messaging.message.id", id);
      return id;
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).name });
      throw err;
    } finally {
      span.end();
    }
  }

  return {
    append(batch, eventCount, trace) {
      if (!tracingActive()) return append(batch);
      const shard = shardOf(batch.userId, shards);
      const key = streamKey(prefix, shard);
      const span = tracer().startSpan(`send ${key}`, {
        kind: SpanKind.PRODUCER,
        attributes: {
          "messaging.system": "redis",
          "messaging.operation.type": "send",
          "messaging.destination.name": key,
          [spanAttr.shard]: shard,
          [spanAttr.batchId]: batch.batchId,
          ...(eventCount !== undefined ? { [spanAttr.eventCount]: eventCount } : {}),
        },
      }, trace);
      return tracedAppend(batch, span);
    },
  };
}
