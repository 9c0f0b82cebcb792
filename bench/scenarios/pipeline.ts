import type { RowDataPacket } from "mysql2/promise";
import { consumerGroup } from "../../src/stream/stream-keys.js";
import type { Bench } from "../context.js";
import type { Child } from "../lib/child-process.js";
import { estimatedRows } from "../lib/mysql-tools.js";
import { bucketDelta, bucketQuantile, buckets, scrape, total, type Scrape } from "../lib/prometheus.js";
import { infoNumber, pendingCount, streamLength } from "../lib/redis-tools.js";
import type { LoadJob, LoadResult } from "../load/job.js";
import { newRow, type Row } from "../row.js";
import { loadRow } from "./ingest.js";

/** One second of a pipeline scenario, seen from Redis and /proc. */
interface PipelineSample {
  second: number;
  /** Entries in the streams (pending included). */
  backlog: number;
  pending: number;
  redisUsedMb: number;
  gatewayRssMb: number;
  workerRssMb: number;
}

function sampler(bench: Bench, worker: Child, started: number): { samples: PipelineSample[]; stop(): Promise<void> } {
  const samples: PipelineSample[] = [];
  const watch = bench.watch({ gw: bench.gatewayPid === undefined ? [] : [bench.gatewayPid], wk: [worker.pid] });
  let busy: Promise<void> = Promise.resolve();
  const take = async () => {
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

/**
 * Least-squares slope of the backlog over time, entries per minute, from
 * `fromShare` of the run on (sustained: the second half, once the pipeline has
 * settled; overload: all of it).
 */
function backlogSlopePerMin(samples: readonly PipelineSample[], fromShare: number): number {
  const half = samples.slice(Math.floor(samples.length * fromShare));
  if (half.length < 2) return 0;
  const n = half.length;
  const mx = half.reduce((a, s) => a + s.second, 0) / n;
  const my = half.reduce((a, s) => a + s.backlog, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of half) {
    num += (s.second - mx) * (s.backlog - my);
    den += (s.second - mx) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60;
}

async function waitEmpty(bench: Bench, timeoutMs: number): Promise<boolean> {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    if ((await streamLength(bench.redis, bench.streamKeys)) === 0) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

const quantile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];

/**
 * 202-to-stored lag of a sample of rows: `stored_at` (the INSERT's
 * UTC_TIMESTAMP(3), a few ms before its COMMIT) minus `received_at` (the
 * gateway's clock when it accepted the batch); one machine, one clock. The
 * sample is every event of up to 10 players since `sinceMs`: a primary-key
 * range per player, cheap on a table of millions of rows.
 */
async function lagSample(bench: Bench, sinceMs: number): Promise<{ rows: number; p50Ms?: number; p99Ms?: number; maxMs?: number }> {
  const users = bench.players.slice(0, 10).map((p) => p.userId);
  const since = new Date(sinceMs).toISOString().replace("T", " ").slice(0, 23);
  const [rows] = await bench.pool!.query<RowDataPacket[]>(
    "SELECT TIMESTAMPDIFF(MICROSECOND, received_at, stored_at) AS lag FROM events WHERE user_id IN (?) AND received_at >= ?",
    [users, since],
  );
  const lags = rows.map((r) => Number(r.lag) / 1000).sort((a, b) => a - b);
  if (lags.length === 0) return { rows: 0 };
  return { rows: lags.length, p50Ms: quantile(lags, 0.5)!, p99Ms: quantile(lags, 0.99)!, maxMs: lags.at(-1)! };
}

function pipelineJob(bench: Bench, eventsPerSec: number, durationMs: number): LoadJob {
  const batch = bench.options.pipelineBatch;
  return {
    protocol: "rest",
    url: bench.gatewayUrl,
    players: bench.players,
    gameIds: bench.games.map((g) => g.gameId),
    batchSize: batch,
    eventIds: bench.options.eventIds,
    // Enough lanes that the pace holds even when answers slow down.
    concurrency: Math.max(bench.options.connections, 64),
    warmupMs: 0,
    durationMs,
    ratePerSec: eventsPerSec / batch,
  };
}

const sec = (ms: number | undefined) => (ms === undefined ? "-" : (ms / 1000).toFixed(2));
const mb = (n: number) => `${n} MB`;

/**
 * The pipeline scenarios, on the running gateway plus one worker process:
 * `sustained` offers 80% of the measured one-worker drain rate and reports the
 * 202-to-commit lag and whether the backlog grows; `overload` offers twice the
 * drain rate and reports what the gateway answers and what Redis memory does.
 */
export async function runPipelineScenarios(bench: Bench, which: { sustained: boolean; overload: boolean }): Promise<Row[]> {
  const drainRate = bench.results.get("drain-1w")?.eventsPerSec ?? bench.options.drainRate;
  const names = [...(which.sustained ? ["sustained"] : []), ...(which.overload ? ["overload"] : [])];
  if (!drainRate || !bench.pool) {
    return names.map((n) => {
      const row = newRow(n);
      row.failures.push(!bench.pool ? "needs the bench's own service (not --target)" : "needs drain-1w or --drain-rate");
      return row;
    });
  }
  const rows: Row[] = [];
  // Each scenario starts on an empty stream with a fresh worker, so overload
  // never inherits a backlog sustained left (and Redis memory starts alike).
  const withWorker = async (name: string, fn: (worker: Child) => Promise<Row>) => {
    for (const k of bench.streamKeys) await bench.redis.del(k);
    const worker = await bench.startService(`${name}-worker`, "worker", { WORKER_CONSUMER_NAME: `bench-${name}-worker` });
    try {
      rows.push(await fn(worker));
    } finally {
      await worker.stop();
      for (const k of bench.streamKeys) await bench.redis.del(k);
    }
  };
  if (which.sustained) await withWorker("sustained", (w) => sustained(bench, w, drainRate));
  if (which.overload) await withWorker("overload", (w) => overload(bench, w, drainRate));
  return rows;
}

async function run(bench: Bench, worker: Child, job: LoadJob) {
  const started = performance.now();
  const watch = bench.watch({ svc: [bench.gatewayPid ?? 0, worker.pid], gw: [bench.gatewayPid ?? 0], wk: [worker.pid] }).start();
  const timeline = sampler(bench, worker, started);
  const before = await scrape(`${worker.url}/metrics`);
  const startedAtMs = Date.now();
  let result: LoadResult;
  try {
    result = await bench.load.run(job);
  } finally {
    await timeline.stop();
  }
  const usage = watch.stop();
  return { result, usage, samples: timeline.samples, before, startedAtMs };
}

function storedDelta(after: Scrape, before: Scrape): number {
  return total(after, "playsmart_drain_events_stored_total") - total(before, "playsmart_drain_events_stored_total");
}

async function sustained(bench: Bench, worker: Child, drainRate: number): Promise<Row> {
  const offered = drainRate * 0.8;
  const rowsBefore = await estimatedRows(bench.pool!, bench.database, "events");
  const job = pipelineJob(bench, offered, bench.options.sustainedMs);
  const { result, usage, samples, before, startedAtMs } = await run(bench, worker, job);
  const drained = await waitEmpty(bench, Math.max(15_000, bench.options.sustainedMs / 2));
  const after = await scrape(`${worker.url}/metrics`);
  const row = loadRow("sustained", job, result, usage);
  row.notes.length = 0;
  const lagHist = bucketDelta(buckets(after, "playsmart_ingest_to_commit_lag_seconds"), buckets(before, "playsmart_ingest_to_commit_lag_seconds"));
  const metricP50 = bucketQuantile(lagHist, 0.5);
  const metricP99 = bucketQuantile(lagHist, 0.99);
  const sample = await lagSample(bench, startedAtMs);
  const rowsAfter = await estimatedRows(bench.pool!, bench.database, "events");
  const slope = backlogSlopePerMin(samples, 0.5);
  const maxBacklog = Math.max(0, ...samples.map((s) => s.backlog));
  const stored = storedDelta(after, before);
  row.notes.push(
    `offered ${Math.round(offered).toLocaleString("en-US")} ev/s (80% of drain), lag p50/p99 ${sec(sample.p50Ms)}/${sec(sample.p99Ms)} s (rows; metric ${metricP50?.toFixed(2) ?? "-"}/${metricP99?.toFixed(2) ?? "-"} s)`,
    `backlog max ${maxBacklog}, end ${samples.at(-1)?.backlog ?? "-"} entries, trend ${Math.round(slope)}/min`,
    `gw/wk CPU ${Math.round(usage.gw?.cpuPct ?? 0)}/${Math.round(usage.wk?.cpuPct ?? 0)}%, events rows ~${(rowsBefore / 1e6).toFixed(2)}M -> ~${(rowsAfter / 1e6).toFixed(2)}M`,
  );
  if (!drained) row.failures.push("backlog not drained after the load stopped");
  else if (stored !== result.okEventsTotal) row.failures.push(`accepted ${result.okEventsTotal} events, stored ${stored}`);
  if (Object.keys(row.errors).length > 0) row.failures.push(`requests failed: ${JSON.stringify(row.errors)}`);
  row.details = {
    ...row.details,
    offeredEventsPerSec: offered,
    acceptedEvents: result.okEventsTotal,
    storedEvents: stored,
    lagSampleMs: sample,
    lagMetricSeconds: { p50: metricP50, p99: metricP99 },
    backlogSlopePerMin: slope,
    eventsRows: { before: rowsBefore, after: rowsAfter },
    samples,
  };
  return row;
}

async function overload(bench: Bench, worker: Child, drainRate: number): Promise<Row> {
  const offered = drainRate * 2;
  const job = pipelineJob(bench, offered, bench.options.overloadMs);
  const { result, usage, samples } = await run(bench, worker, job);
  const row = loadRow("overload", job, result, usage);
  row.notes.length = 0;
  // 429 and 503 with Retry-After are the contract's answers to overload; anything else is an error.
  const refused = (row.errors["429"] ?? 0) + (row.errors["503"] ?? 0);
  const unexpected = Object.entries(row.errors).filter(([k]) => k !== "429" && k !== "503");
  const used = samples.map((s) => s.redisUsedMb);
  const accepted = result.okEvents / (result.elapsedMs / 1000);
  row.notes.push(
    `offered ${Math.round(offered).toLocaleString("en-US")} ev/s (2x drain), accepted ${Math.round(accepted).toLocaleString("en-US")} ev/s, refused ${refused} req`,
    `redis used_memory ${mb(used[0] ?? 0)} -> peak ${mb(Math.max(0, ...used))}, backlog ${samples[0]?.backlog ?? 0} -> ${samples.at(-1)?.backlog ?? 0} entries (+${Math.round(backlogSlopePerMin(samples, 0))}/min)`,
  );
  if (unexpected.length > 0) row.failures.push(`unexpected answers: ${unexpected.map(([k, v]) => `${k}: ${v}`).join(", ")}`);
  row.details = { ...row.details, offeredEventsPerSec: offered, acceptedEventsPerSec: accepted, samples };
  return row;
}
