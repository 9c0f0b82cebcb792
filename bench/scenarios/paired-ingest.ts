import type { Bench } from "../context.js";
import { startStreamSink } from "../lib/redis-tools.js";
import type { GroupUsage } from "../lib/proc-stats.js";
import { LatencyHistogram } from "../load/histogram.js";
import { successLabel, type LoadJob, type LoadResult } from "../load/job.js";
import { newRow, setCpu, type Row } from "../row.js";
import { ingestJob, ingestSpecs, startBareServer } from "./ingest.js";

/** Slices of each side: baseline and gateway alternate ABBA ABBA. */
const rounds = 4;

interface Side {
  results: LoadResult[];
  usages: Array<Record<string, GroupUsage>>;
}

/**
 * `rest-200-paired`: `rest-200` and `baseline-ingest` again, in alternating
 * slices of half the ingest duration each (baseline, gateway, gateway,
 * baseline, ...), both servers up the whole time. On this shared two-vCPU VM
 * the host's speed drifts by up to 2x from one minute to the next, so two
 * scenarios measured one after the other can compare different machines; in
 * alternating slices both see the same ones. The row is the gateway's, its
 * ratio the gateway's events/s over the baseline's across all slices, and the
 * notes give each round's ratio, which shows how much the host moved.
 */
export async function runPairedIngestScenario(bench: Bench): Promise<Row> {
  const name = "rest-200-paired";
  const job = ingestJob(bench, ingestSpecs["rest-200"]!);
  const server = await startBareServer(bench);
  const sliceMs = Math.max(250, Math.round(bench.options.durationMs / 2));
  const gateway: Side = { results: [], usages: [] };
  const baseline: Side = { results: [], usages: [] };
  const roundRatios: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (["baseline", "gateway"] as const) : (["gateway", "baseline"] as const);
      for (const side of order) {
        const isGateway = side === "gateway";
        // Both sides were warmed by rest-200 and baseline-ingest, or by the first slices here.
        const warmupMs = round === 0 ? bench.options.warmupMs : Math.min(bench.options.warmupMs, 1000);
        const slice: LoadJob = { ...job, url: isGateway ? bench.gatewayUrl : server.url, warmupMs, durationMs: sliceMs };
        const measured = await measureSlice(bench, slice, isGateway ? bench.gatewayPid : server.pid, isGateway ? bench.streamKeys : [server.key]);
        const target = isGateway ? gateway : baseline;
        target.results.push(measured.result);
        target.usages.push(measured.usage);
      }
      roundRatios.push(eventsPerSec([gateway.results[round]!]) / eventsPerSec([baseline.results[round]!]));
    }
  } finally {
    await server.stop();
  }
  return pairedRow(name, job, gateway, baseline, roundRatios);
}

async function measureSlice(bench: Bench, job: LoadJob, pid: number | undefined, keys: readonly string[]) {
  const sink = startStreamSink(bench.redis, () => keys);
  let watch: ReturnType<Bench["watch"]> | undefined;
  let result: LoadResult;
  try {
    result = await bench.load.run(job, () => (watch = bench.watch({ svc: pid === undefined ? [] : [pid] }).start()));
  } finally {
    await sink.stop();
  }
  return { result, usage: (watch ?? bench.watch({ svc: [] }).start()).stop() };
}

function eventsPerSec(results: readonly LoadResult[]): number {
  const events = results.reduce((sum, r) => sum + r.okEvents, 0);
  const seconds = results.reduce((sum, r) => sum + r.elapsedMs, 0) / 1000;
  return seconds > 0 ? events / seconds : 0;
}

// Slices are of equal length, so the mean of their CPU shares is the share over all of them.
function meanUsage(usages: ReadonlyArray<Record<string, GroupUsage>>): Record<string, GroupUsage> {
  const out: Record<string, GroupUsage> = {};
  for (const group of Object.keys(usages[0] ?? {})) {
    const all = usages.map((u) => u[group]).filter((u): u is GroupUsage => u !== undefined);
    out[group] = {
      cpuPct: all.reduce((sum, u) => sum + u.cpuPct, 0) / all.length,
      peakRssMb: Math.max(...all.map((u) => u.peakRssMb)),
      hwmMb: Math.max(...all.map((u) => u.hwmMb)),
    };
  }
  return out;
}

function pairedRow(name: string, job: LoadJob, gateway: Side, baseline: Side, roundRatios: readonly number[]): Row {
  const row = newRow(name);
  const seconds = gateway.results.reduce((sum, r) => sum + r.elapsedMs, 0) / 1000;
  const latency = new LatencyHistogram();
  const success = successLabel(job.protocol);
  for (const r of gateway.results) {
    latency.merge(LatencyHistogram.fromJSON(r.latency));
    for (const [label, n] of Object.entries(r.statuses)) if (label !== success) row.errors[label] = (row.errors[label] ?? 0) + n;
  }
  row.eventsPerSec = eventsPerSec(gateway.results);
  row.reqPerSec = gateway.results.reduce((sum, r) => sum + r.ok, 0) / seconds;
  row.latency = latency.summary();
  const usage = meanUsage(gateway.usages);
  setCpu(row, usage);
  const base = eventsPerSec(baseline.results);
  if (base > 0) row.ratio = { value: row.eventsPerSec / base, vs: "baseline slices" };
  row.notes.push(
    `${rounds} rounds of ${(job.durationMs / 2000).toFixed(1)} s slices, baseline ${Math.round(base).toLocaleString("en-US")} events/s;` +
      ` per round ${roundRatios.map((r) => r.toFixed(2)).join(" ")} (target >= 0.7)`,
  );
  row.details = {
    gateway: gateway.results.map((r) => ({ okEvents: r.okEvents, elapsedMs: r.elapsedMs })),
    baseline: baseline.results.map((r) => ({ okEvents: r.okEvents, elapsedMs: r.elapsedMs })),
    baselineUsage: meanUsage(baseline.usages),
    usage,
    roundRatios,
  };
  if (Object.keys(row.errors).length > 0) row.failures.push(`requests failed: ${JSON.stringify(row.errors)}`);
  const baselineErrors = baseline.results.reduce((n, r) => n + Object.entries(r.statuses).filter(([label]) => label !== success).reduce((m, [, c]) => m + c, 0), 0);
  if (baselineErrors > 0) row.failures.push(`the baseline had ${baselineErrors} failed requests`);
  if (baseline.results.some((r) => r.ok === 0) || gateway.results.some((r) => r.ok === 0)) row.failures.push("a slice had no success");
  return row;
}
