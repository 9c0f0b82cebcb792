import { LatencyHistogram } from "./histogram.js";
import { successLabel, type LoadJob, type LoadResult, type LoadSecond } from "./job.js";

/** Counts a run's answers into a {@link LoadResult}, whichever tool sent them. */
export interface Tally {
  /** One answer `atMs` into the measured window (outside it: counted in the totals only). */
  record(atMs: number, label: string, latencyUs: number): void;
  /** Adds outcomes the tool reports only in sum (errors, timeouts). */
  add(label: string, n: number): void;
  /** The result; `okTotal` defaults to the successes in the window. */
  result(extra: { cpuMs: number; bodyBytes: number; okTotal?: number }): LoadResult;
}

/** A tally for `job`: statuses, latency of successes and a per-second timeline of the window. */
export function createTally(job: LoadJob): Tally {
  const success = successLabel(job.protocol);
  const latency = new LatencyHistogram();
  const statuses: Record<string, number> = {};
  const timeline: LoadSecond[] = [];
  let ok = 0;
  let completed = 0;
  return {
    record(atMs, label, latencyUs) {
      if (atMs < 0 || atMs >= job.durationMs) return;
      completed++;
      statuses[label] = (statuses[label] ?? 0) + 1;
      const second = Math.floor(atMs / 1000);
      const bucket = (timeline[second] ??= { second, ok: 0, statuses: {} });
      bucket.statuses[label] = (bucket.statuses[label] ?? 0) + 1;
      if (label === success) {
        ok++;
        bucket.ok++;
        latency.record(latencyUs);
      }
    },
    add(label, n) {
      if (n > 0) statuses[label] = (statuses[label] ?? 0) + n;
    },
    result({ cpuMs, bodyBytes, okTotal = ok }) {
      for (let s = 0; s < timeline.length; s++) timeline[s] ??= { second: s, ok: 0, statuses: {} };
      const asked = job.ratePerSec ? Math.round((job.ratePerSec * job.durationMs) / 1000) : 0;
      return {
        elapsedMs: job.durationMs,
        completed,
        ok,
        okEvents: ok * job.batchSize,
        okTotal,
        okEventsTotal: okTotal * job.batchSize,
        statuses,
        latency: latency.toJSON(),
        timeline,
        cpuMs,
        late: Math.max(0, asked - completed),
        bodyBytes,
      };
    },
  };
}
