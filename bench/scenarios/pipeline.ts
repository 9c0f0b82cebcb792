import type { RowDataPacket } from "mysql2/promise";
import type { Bench } from "../context.js";
import type { Child } from "../lib/child-process.js";
import { estimatedRows, scalar } from "../lib/mysql-tools.js";
import { bucketDelta, bucketQuantile, buckets, scrape } from "../lib/prometheus.js";
import { streamLength } from "../lib/redis-tools.js";
import type { LoadJob, LoadResult } from "../load/job.js";
import { newRow, type Row } from "../row.js";
import { loadRow } from "./ingest.js";
import { quantile, quarters, sampler, slopePerMin, storedDelta, waitEmpty } from "./pipeline-samples.js";

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
    freshEvents: true,
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

/**
 * What one worker drains on the tables as they are now, with the gateway under
 * load: ingest offered at `offered` events/s for `ms` keeps the worker saturated
 * (a backlog throughout), and the rate is the worker's stored-events counter
 * over the window after its first 20% (the backlog builds then), also given per
 * 10 s of that window: the host's speed moves within a minute, and the spread
 * says how far one figure can be trusted. The backlog is drained before it
 * returns. Refusals at the backlog bound are expected here and not counted as
 * errors.
 */
async function calibrate(bench: Bench, worker: Child, offered: number, ms: number) {
  const job = pipelineJob(bench, offered, ms);
  let loading = true;
  const running = bench.load.run(job).finally(() => (loading = false));
  await new Promise((r) => setTimeout(r, ms * 0.2));
  const mark = async () => ({ at: performance.now(), metrics: await scrape(`${worker.url}/metrics`) });
  const marks = [await mark()];
  while (loading) {
    await Promise.race([new Promise((r) => setTimeout(r, 10_000)), running.catch(() => {})]);
    if (loading) marks.push(await mark());
  }
  const result = await running;
  marks.push(await mark());
  const backlogAtEnd = await streamLength(bench.redis, bench.streamKeys);
  const from = marks[0]!;
  const to = marks.at(-1)!;
  const rate = storedDelta(to.metrics, from.metrics) / ((to.at - from.at) / 1000);
  // Windows of at least 5 s (the last one may be cut short by the load's end).
  const windows: number[] = [];
  for (let i = 1; i < marks.length; i++) {
    const seconds = (marks[i]!.at - marks[i - 1]!.at) / 1000;
    if (seconds >= 5) windows.push(Math.round(storedDelta(marks[i]!.metrics, marks[i - 1]!.metrics) / seconds));
  }
  const drained = await waitEmpty(bench, 120_000);
  return { rate, windows, saturated: backlogAtEnd > 0, backlogAtEnd, offered, accepted: result.okEventsTotal, statuses: result.statuses, drained };
}

/** How far above the measured drain the next calibration offers. */
const calibrationHeadroom = 1.3;

/**
 * The capacity the soak paces from: a first calibration at 1.5x `drainRate`
 * (drain-1w, fresh tables) finds the drain on these tables, a second offers
 * 1.3x that (a third, 1.3x more, if the second drained all). On two cores the
 * first one's excess is not free: client and gateway check every refused batch,
 * ~half a core taken from worker and MariaDB (the full run of 2026-12-04 read
 * 15,844 events/s; the drain after the soak 21,305: the soak offered 59% of it).
 */
async function calibrateOnTables(bench: Bench, worker: Child, drainRate: number, ms: number) {
  const first = await calibrate(bench, worker, drainRate * 1.5, ms);
  if (!(first.rate > 0 && first.saturated && first.drained)) return { ...first, first: undefined };
  let last = await calibrate(bench, worker, first.rate * calibrationHeadroom, ms);
  // Unsaturated, it drained all it was offered: the first read too low; once more above that.
  if (!last.saturated && last.drained) last = await calibrate(bench, worker, Math.max(first.rate, last.rate) * calibrationHeadroom, ms);
  return last.saturated || last.rate >= first.rate ? { ...last, first } : { ...first, first: undefined };
}

/**
 * Grows `events` to `targetRows` before the soak, by ingest offered at 1.2x
 * `drainRate` (the worker saturated, the excess refused at the backlog bound and
 * not counted): the issue's capacity and soak are on tables past 5M rows, and a
 * drain's capacity falls as its tables grow, so it must be measured there.
 */
async function grow(bench: Bench, drainRate: number, targetRows: number): Promise<{ rows: number; seconds: number; drained: boolean }> {
  const started = performance.now();
  let rows = await scalar(bench.pool!, "SELECT COUNT(*) FROM events");
  while (rows < targetRows && performance.now() - started < 10 * 60_000) {
    const ms = Math.min(60_000, Math.max(5_000, ((targetRows - rows) / drainRate) * 1000));
    const result = await bench.load.run(pipelineJob(bench, drainRate * 1.2, ms));
    // Every accepted event has a fresh id, so each becomes a row.
    rows += result.okEventsTotal;
  }
  const drained = await waitEmpty(bench, 180_000);
  return { rows, seconds: (performance.now() - started) / 1000, drained };
}

async function sustained(bench: Bench, worker: Child, drainRate: number): Promise<Row> {
  const rowsBefore = await estimatedRows(bench.pool!, bench.database, "events");
  const grown = bench.options.sustainedRows > 0 ? await grow(bench, drainRate, bench.options.sustainedRows) : undefined;
  let capacity = drainRate;
  let capacityFrom = "drain-1w";
  let calibration: Awaited<ReturnType<typeof calibrateOnTables>> | undefined;
  if (bench.options.sustainedCalibrateMs > 0) {
    calibration = await calibrateOnTables(bench, worker, drainRate, bench.options.sustainedCalibrateMs);
    if (calibration.rate > 0) {
      capacity = calibration.rate;
      capacityFrom = `saturated drain on ~${(await estimatedRows(bench.pool!, bench.database, "events") / 1e6).toFixed(1)}M rows${calibration.saturated ? "" : ", not saturated: a lower bound"}`;
    }
  }
  const offered = capacity * 0.8;
  const rowsPaced = await estimatedRows(bench.pool!, bench.database, "events");
  // The issue's soak is on tables past 5M rows: run as long as the offered rate
  // needs to get there (every accepted event becomes a row), within 3x --sustained.
  const toTarget = bench.options.sustainedRows > rowsPaced ? ((bench.options.sustainedRows - rowsPaced) / offered) * 1000 : 0;
  const sustainedMs = Math.min(3 * bench.options.sustainedMs, Math.max(bench.options.sustainedMs, Math.ceil(toTarget / 1000) * 1000));
  const job = pipelineJob(bench, offered, sustainedMs);
  const { result, usage, samples, before, startedAtMs } = await run(bench, worker, job);
  const drained = await waitEmpty(bench, Math.max(15_000, sustainedMs / 2));
  const after = await scrape(`${worker.url}/metrics`);
  const row = loadRow("sustained", job, result, usage);
  row.notes.length = 0;
  const lagHist = bucketDelta(buckets(after, "playsmart_ingest_to_commit_lag_seconds"), buckets(before, "playsmart_ingest_to_commit_lag_seconds"));
  const metricP50 = bucketQuantile(lagHist, 0.5);
  const metricP99 = bucketQuantile(lagHist, 0.99);
  const sample = await lagSample(bench, startedAtMs);
  const rowsAfter = await estimatedRows(bench.pool!, bench.database, "events");
  const slope = slopePerMin(samples, (x) => x.backlog, 0.5);
  const maxBacklog = Math.max(0, ...samples.map((s) => s.backlog));
  const stored = storedDelta(after, before);

  // The soak's memory verdict: RSS over the second half, once warm, would grow
  // less than 16 MB or 5% over the run's length (whichever is larger); falling is fine.
  const memory = (name: "gatewayRssMb" | "workerRssMb") => {
    const perMin = slopePerMin(samples, (s) => s[name]);
    const values = samples.map((s) => s[name]).filter((v) => v > 0);
    const end = values.at(-1) ?? 0;
    const drift = (perMin * sustainedMs) / 60_000;
    return { at: quarters(samples, (s) => s[name]), max: Math.max(0, ...values), perMin: Math.round(perMin * 10) / 10, flat: drift < Math.max(16, end * 0.05) };
  };
  const gwMem = memory("gatewayRssMb");
  const wkMem = memory("workerRssMb");
  const windows = samples.filter((s) => s.lagP99s !== undefined);
  const lagP99Windows = windows.map((s) => s.lagP99s!);
  // Runs shorter than two windows (--quick) are judged on the whole run's p99.
  const lateP99 = lagP99Windows.length >= 2 ? Math.max(...lagP99Windows.slice(Math.floor(lagP99Windows.length / 2))) : metricP99;
  const lagBounded = lateP99 !== undefined && lateP99 < 2 && slope <= maxBacklogGrowth(offered, bench);
  // The capacity once more, after the soak, on the tables it left: reported,
  // not judged, so a reader can tell what share of the drain the paced load
  // was by its end (on this host the drain's speed moves between minutes).
  const recheck = calibration && drained ? await calibrate(bench, worker, capacity * calibrationHeadroom, bench.options.sustainedCalibrateMs) : undefined;
  const rowsRecheck = recheck ? await estimatedRows(bench.pool!, bench.database, "events") : undefined;
  const num = (n: number) => Math.round(n).toLocaleString("en-US");
  const fmtLag = (v: number | undefined) => (v === undefined ? "-" : v.toFixed(2));
  const spread = (c: { windows: number[] } | undefined) =>
    c && c.windows.length > 0 ? `, 10 s windows ${num(Math.min(...c.windows))}-${num(Math.max(...c.windows))}` : "";
  row.notes.push(
    `offered ${num(offered)} ev/s = 80% of ${num(capacity)} (${capacityFrom}${spread(calibration)}${calibration?.first ? `, offered ${num(calibration.offered)}; the first calibration, at 1.5x drain-1w ${num(drainRate)}, read ${num(calibration.first.rate)}` : `; drain-1w ${num(drainRate)}`})`,
    ...(recheck && rowsRecheck !== undefined
      ? [`capacity after the soak ${num(recheck.rate)} ev/s on ~${(rowsRecheck / 1e6).toFixed(1)}M rows${recheck.saturated ? "" : ", not saturated: a lower bound"}${spread(recheck)}: the offered rate was ${Math.round((offered / recheck.rate) * 100)}% of it`]
      : []),
    `lag p50/p99 ${sec(sample.p50Ms)}/${sec(sample.p99Ms)} s (rows; metric ${metricP50?.toFixed(2) ?? "-"}/${metricP99?.toFixed(2) ?? "-"} s), 10 s-window p99 at 0/25/50/75/100% ${quarters(windows, (s) => fmtLag(s.lagP99s)).join("/")} s`,
    `backlog at 0/25/50/75/100% ${quarters(samples, (s) => s.backlog).join("/")} entries, max ${maxBacklog}, trend ${Math.round(slope)}/min (2nd half)`,
    `RSS gw ${gwMem.at.join("/")} MB (${gwMem.perMin >= 0 ? "+" : ""}${gwMem.perMin} MB/min: ${gwMem.flat ? "flat" : "GROWING"}), wk ${wkMem.at.join("/")} MB (${wkMem.perMin >= 0 ? "+" : ""}${wkMem.perMin} MB/min: ${wkMem.flat ? "flat" : "GROWING"})`,
    `soak ${Object.keys(row.errors).length === 0 && gwMem.flat && wkMem.flat && lagBounded ? "held" : "NOT held"}: errors ${Object.keys(row.errors).length === 0 ? 0 : JSON.stringify(row.errors)}, lag ${lagBounded ? "bounded" : "not bounded"}`,
    `${grown ? `grown to ${(grown.rows / 1e6).toFixed(2)}M rows in ${Math.round(grown.seconds)} s, then ` : ""}paced ${Math.round(sustainedMs / 1000)} s, gw/wk CPU ${Math.round(usage.gw?.cpuPct ?? 0)}/${Math.round(usage.wk?.cpuPct ?? 0)}%, events rows ~${(rowsBefore / 1e6).toFixed(2)}M -> ~${(rowsPaced / 1e6).toFixed(2)}M (paced from) -> ~${(rowsAfter / 1e6).toFixed(2)}M`,
  );
  if (grown && !grown.drained) row.failures.push("the growing phase's backlog did not drain");
  if (calibration && !calibration.drained) row.failures.push("the calibration's backlog did not drain");
  if (recheck && !recheck.drained) row.failures.push("the capacity recheck's backlog did not drain");
  if (!drained) row.failures.push("backlog not drained after the load stopped");
  else if (stored !== result.okEventsTotal) row.failures.push(`accepted ${result.okEventsTotal} events, stored ${stored}`);
  if (Object.keys(row.errors).length > 0) row.failures.push(`requests failed: ${JSON.stringify(row.errors)}`);
  row.details = {
    ...row.details,
    offeredEventsPerSec: offered,
    capacityEventsPerSec: capacity,
    capacityFrom,
    drain1wEventsPerSec: drainRate,
    calibration,
    calibrationAfter: recheck,
    acceptedEvents: result.okEventsTotal,
    storedEvents: stored,
    lagSampleMs: sample,
    lagMetricSeconds: { p50: metricP50, p99: metricP99 },
    backlogSlopePerMin: slope,
    soak: { errors: row.errors, gatewayRss: gwMem, workerRss: wkMem, lagBounded },
    eventsRows: { before: rowsBefore, pacedFrom: rowsPaced, after: rowsAfter },
    samples,
  };
  return row;
}

/**
 * Backlog growth (entries/min over the second half) still counted as none:
 * the noise of a paced load, 1% of the offered entries.
 */
function maxBacklogGrowth(offered: number, bench: Bench): number {
  return Math.max(50, (offered / bench.options.pipelineBatch) * 60 * 0.01);
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
    `redis used_memory ${mb(used[0] ?? 0)} -> peak ${mb(Math.max(0, ...used))}, backlog ${samples[0]?.backlog ?? 0} -> ${samples.at(-1)?.backlog ?? 0} entries (+${Math.round(slopePerMin(samples, (x) => x.backlog, 0))}/min)`,
  );
  if (unexpected.length > 0) row.failures.push(`unexpected answers: ${unexpected.map(([k, v]) => `${k}: ${v}`).join(", ")}`);
  row.details = { ...row.details, offeredEventsPerSec: offered, acceptedEventsPerSec: accepted, samples };
  return row;
}
