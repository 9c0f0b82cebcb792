import type { RedisClient } from "./redis-client.js";
import { readStreamGauges, type StreamGaugeReading } from "./stream-gauges.js";

/** Options of {@link waitDrained}. */
export interface WaitDrainedOptions {
  redis: RedisClient;
  prefix: string;
  shards: number;
  /** Give up after this long. @default 600000 */
  timeoutMs?: number;
  /** Called with the backlog after every look. */
  onProgress?: (gauges: StreamGaugeReading[]) => void;
}

/**
 * Resolves once every shard stream of the layout is empty: nothing unread and
 * nothing pending. The step between "stop ingest" and "restart with another
 * STREAM_SHARDS" of the shard-count change, so no player has batches in two
 * layouts at once and none is stored out of order.
 * @throws Error on timeout, with the backlog left.
 */
export async function waitDrained(options: WaitDrainedOptions): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 600_000);
  for (;;) {
    const gauges = await readStreamGauges(options.redis, options.prefix, options.shards);
    options.onProgress?.(gauges);
    if (gauges.every((g) => g.length === 0 && g.pending === 0)) return;
    if (Date.now() > deadline) {
      const left = gauges.reduce((n, g) => n + g.length, 0);
      throw new Error(`streams not drained in time: ${left} entries left`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
