import { consumerGroup } from "../../src/stream/stream-keys.js";
import type { Bench } from "../context.js";
import type { Child } from "../lib/child-process.js";
import { bucketDelta, bucketQuantile, buckets, scrape, total, type Scrape } from "../lib/prometheus.js";
import { infoNumber, pendingCount, streamLength } from "../lib/redis-tools.js";

// What the pipeline scenarios (pipeline.ts) watch while they run, and the
// arithmetic they judge it with.

/** One second of a pipeline scenario, seen from Redis and /proc. */
export interface PipelineSample {
  second: number;
  /** Entries in the streams (pending included). */
  backlog: number;
  pending: number;
  redisUsedMb: number;
  gatewayRssMb: number;
  workerRssMb: number;
  /** Events the worker stored in the last 10 s window, per second (every 10th sample). */
  storedPerSec?: number;
  /** 202-to-commit lag p50/p99 of the last 10 s window, seconds (worker histogram). */
  lagP50s?: number;
  lagP99s?: number;
}

export function sampler(bench: Bench, worker: Child, started: number): { samples: PipelineSample[]; stop(): Promise<void> } {
  const samples: PipelineSample[] = [];
  const watch = bench.watch({ gw: bench.gatewayPid === undefined ? [] : [bench.gatewayPid], wk: [worker.pid] });
  let busy: Promise<void> = Promise.resolve();
  const lagMetric = "playsmart_ingest_to_commit_lag_seconds";
  let window: { at: number; scrape: Scrape } | undefined;
  let ticks = 0;
  const take = async () => {
    const windowEnds = ticks++ % 10 === 0;
    const metrics = windowEnds ? await scrape(`${worker.url}/metrics`) : undefined;
    const [backlog, pending, used] = await Promise.all([
      streamLength(bench.redis, bench.streamKeys),
      pendingCount(bench.redis, bench.streamKeys, consumerGroup),
      infoNumber(bench.redis, "memory", "used_memory"),
    ]);
    samples.push({
      second: Math.round((performance.now() - started) / 100) / 10,
      backlog,
      pending,
      redisUsedMb: Math.round(used / 2 ** 20),
      gatewayRssMb: watch.rssMb("gw"),
      workerRssMb: watch.rssMb("wk"),
    });
    if (metrics && metrics.size > 0) {
      const now = performance.now();
      if (window) {
        const last = samples.at(-1)!;
        const hist = bucketDelta(buckets(metrics, lagMetric), buckets(window.scrape, lagMetric));
        last.storedPerSec = Math.round(storedDelta(metrics, window.scrape) / ((now - window.at) / 1000));
        last.lagP50s = round3(bucketQuantile(hist, 0.5));
        last.lagP99s = round3(bucketQuantile(hist, 0.99));
      }
      window = { at: now, scrape: metrics };
    }
  };
  busy = take();
  const timer = setInterval(() => (busy = busy.then(take, take)), 1000);
  return {
    samples,
    async stop() {
      clearInterval(timer);
      await busy.catch(() => {});
      await take().catch(() => {});
    },
  };
}

/** Waits until every stream of the run is empty; false after `timeoutMs`. */
export async function waitEmpty(bench: Bench, timeoutMs: number): Promise<boolean> {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    if ((await streamLength(bench.redis, bench.streamKeys)) === 0) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

export const round3 = (n: number | undefined) => (n === undefined ? undefined : Math.round(n * 1000) / 1000);

/**
 * Least-squares slope of `y` over time, per minute, from `fromShare` of the
 * run on (by default the second half, once the pipeline has settled).
 */
export function slopePerMin(samples: readonly PipelineSample[], y: (s: PipelineSample) => number, fromShare = 0.5): number {
  const half = samples.slice(Math.floor(samples.length * fromShare));
  if (half.length < 2) return 0;
  const mx = half.reduce((a, s) => a + s.second, 0) / half.length;
  const my = half.reduce((a, s) => a + y(s), 0) / half.length;
  let num = 0;
  let den = 0;
  for (const s of half) {
    num += (s.second - mx) * (y(s) - my);
    den += (s.second - mx) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60;
}

/** Values of `y` at 0, 25, 50, 75 and 100% of the samples. */
export function quarters<T>(samples: readonly PipelineSample[], y: (s: PipelineSample) => T): T[] {
  if (samples.length === 0) return [];
  return [0, 0.25, 0.5, 0.75, 1].map((q) => y(samples[Math.min(samples.length - 1, Math.round(q * (samples.length - 1)))]!));
}

/** The `q` quantile of sorted values (nearest rank). */
export const quantile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];

export function storedDelta(after: Scrape, before: Scrape): number {
  return total(after, "playsmart_drain_events_stored_total") - total(before, "playsmart_drain_events_stored_total");
}
