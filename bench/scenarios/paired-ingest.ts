import type { Bench } from "../context.js";
import { startOtlpSink } from "../lib/otlp-sink.js";
import type { GroupUsage } from "../lib/proc-stats.js";
import { LatencyHistogram } from "../load/histogram.js";
import { successLabel, type LoadJob, type LoadResult } from "../load/job.js";
import type { ScenarioName } from "../options.js";
import { newRow, setCpu, type Row } from "../row.js";
import { ingestJob, ingestSpecs, runMeasured, startBareServer } from "./ingest.js";

/** Slices of each side: baseline and gateway alternate ABBA ABBA. */
const rounds = 4;

interface Side {
  results: LoadResult[];
  usages: Array<Record<string, GroupUsage>>;
}

/** Where one side's load goes. */
interface Target {
  job: LoadJob;
  pid: number | undefined;
  keys: readonly string[];
}

/** How a paired scenario is judged. */
interface PairedSpec {
  subject: ScenarioName;
  reference: ScenarioName;
  /** Least events/s ratio of subject over reference. */
  target: number;
  /**
   * The subject runs on a second gateway with tracing on (OTLP to a sink in the
   * bench, `parentbased_traceidratio` at this ratio); judged on gateway CPU per event.
   */
  tracedRatio?: number;
}

/** The paired scenarios: the scenario measured, and the one it is compared with in alternating slices. */
export const pairedSpecs = {
  "rest-200-paired": { subject: "rest-200", reference: "baseline-ingest", target: 0.7 },
  "grpc-200-paired": { subject: "grpc-200", reference: "rest-200", target: 1 },
  "rest-200-traced": { subject: "rest-200", reference: "rest-200", target: 0.95, tracedRatio: 0.01 },
} as const satisfies Partial<Record<ScenarioName, PairedSpec>>;

/** A paired scenario's name. */
export type PairedScenario = keyof typeof pairedSpecs;

/**
 * A paired scenario: `rest-200-paired` is `rest-200` against `baseline-ingest`
 * again, `grpc-200-paired` is `grpc-200` against `rest-200`, in alternating
 * slices of half the ingest duration each (reference, subject, subject,
 * reference, ...), every server up the whole time. On this shared two-vCPU VM
 * the host's speed drifts by up to 2x from one minute to the next, so two
 * scenarios measured one after the other can compare different machines; in
 * alternating slices both see the same ones. The row is the subject's, its
 * ratio the subject's events/s over the reference's across all slices, and the
 * notes give each round's ratio, which shows how much the host moved.
 */
export async function runPairedIngestScenario(bench: Bench, name: PairedScenario): Promise<Row> {
  const spec: PairedSpec = pairedSpecs[name];
  const bare = spec.reference === "baseline-ingest" ? await startBareServer(bench) : undefined;
  // Both sides on gateways started here: one started long before would be
  // warmer than a new traced one, and the comparison would measure that.
  const traced = spec.tracedRatio !== undefined ? await startTracedGateway(bench, spec.tracedRatio) : undefined;
  const untraced = traced ? await bench.startService("gateway-untraced", "gateway") : undefined;
  const targetOf = (scenario: ScenarioName): Target =>
    scenario === "baseline-ingest"
      ? { job: { ...ingestJob(bench, ingestSpecs[scenario]!), url: bare!.url }, pid: bare!.pid, keys: [bare!.key] }
      : { job: ingestJob(bench, ingestSpecs[scenario]!), pid: bench.gatewayPid, keys: bench.streamKeys };
  const subjectTarget = traced
    ? { ...targetOf(spec.subject), job: { ...targetOf(spec.subject).job, url: traced.url }, pid: traced.pid }
    : targetOf(spec.subject);
  const referenceTarget = untraced
    ? { ...targetOf(spec.reference), job: { ...targetOf(spec.reference).job, url: untraced.url }, pid: untraced.pid }
    : targetOf(spec.reference);
  const sliceMs = Math.max(250, Math.round(bench.options.durationMs / 2));
  const subject: Side = { results: [], usages: [] };
  const reference: Side = { results: [], usages: [] };
  const roundRatios: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? ([false, true] as const) : ([true, false] as const);
      for (const isSubject of order) {
        const target = isSubject ? subjectTarget : referenceTarget;
        // Both sides were warmed by their own scenarios, or by the first slices here.
        const warmupMs = round === 0 ? bench.options.warmupMs : Math.min(bench.options.warmupMs, 1000);
        const measured = await runMeasured(bench, { ...target.job, warmupMs, durationMs: sliceMs }, target.pid, target.keys);
        const side = isSubject ? subject : reference;
        side.results.push(measured.result);
        side.usages.push(measured.usage);
      }
      roundRatios.push(eventsPerSec([subject.results[round]!]) / eventsPerSec([reference.results[round]!]));
    }
  } finally {
    await bare?.stop();
    await traced?.stop();
    await untraced?.stop();
  }
  const row = pairedRow(name, subjectTarget.job, referenceTarget.job, subject, reference, roundRatios);
  if (traced) {
    const perEvent = (side: Side) => (meanUsage(side.usages).svc?.cpuPct ?? 0) * 1e4 / eventsPerSec(side.results);
    const on = perEvent(subject);
    const off = perEvent(reference);
    row.notes.push(
      `gateway CPU per event: tracing off ${off.toFixed(2)} µs, on at ${(spec.tracedRatio! * 100).toFixed(0)}% sampling ${on.toFixed(2)} µs,` +
        ` ratio ${(on / off).toFixed(3)} (target <= 1.05); ${traced.exports()} OTLP exports, ${traced.spans()} spans`,
    );
    row.details.cpuUsPerEvent = { off, on, ratio: on / off };
    // Too few requests to expect a sampled one in a --quick run: judged only when 20 were due.
    const requests = subject.results.reduce((n, r) => n + r.ok, 0);
    if (traced.spans() === 0 && requests * spec.tracedRatio! >= 20) row.failures.push(`the traced gateway exported no span of ${requests} requests`);
  }
  return row;
}

/**
 * A second gateway on the same database and streams with tracing on: OTLP/HTTP
 * to a sink in this process, sampling a share of the requests (the bench sends
 * no traceparent, so every request is a root the ratio decides).
 */
async function startTracedGateway(bench: Bench, ratio: number) {
  const sink = await startOtlpSink();
  const child = await bench.startService("gateway-traced", "gateway", {
    OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
    OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
    OTEL_TRACES_SAMPLER_ARG: String(ratio),
  });
  return {
    url: child.url,
    pid: child.pid,
    exports: sink.exports,
    spans: sink.spans,
    async stop() {
      // Stopped before the sink, so its last export is counted.
      await child.stop();
      await sink.stop();
    },
  };
}

/** Events per second over slices (a paired row keeps its sides' slices in `details`). */
export function eventsPerSec(results: ReadonlyArray<Pick<LoadResult, "okEvents" | "elapsedMs">>): number {
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

function pairedRow(name: PairedScenario, job: LoadJob, referenceJob: LoadJob, subject: Side, reference: Side, roundRatios: readonly number[]): Row {
  const spec = pairedSpecs[name];
  const row = newRow(name);
  const seconds = subject.results.reduce((sum, r) => sum + r.elapsedMs, 0) / 1000;
  const latency = new LatencyHistogram();
  const success = successLabel(job.protocol);
  for (const r of subject.results) {
    latency.merge(LatencyHistogram.fromJSON(r.latency));
    for (const [label, n] of Object.entries(r.statuses)) if (label !== success) row.errors[label] = (row.errors[label] ?? 0) + n;
  }
  row.eventsPerSec = eventsPerSec(subject.results);
  row.reqPerSec = subject.results.reduce((sum, r) => sum + r.ok, 0) / seconds;
  row.latency = latency.summary();
  const usage = meanUsage(subject.usages);
  setCpu(row, usage);
  const base = eventsPerSec(reference.results);
  if (base > 0) row.ratio = { value: row.eventsPerSec / base, vs: `${spec.reference} slices` };
  row.notes.push(
    `${spec.subject} against ${spec.reference} in ${rounds} rounds of ${(job.durationMs / 2000).toFixed(1)} s slices, ${spec.reference} ${Math.round(base).toLocaleString("en-US")} events/s;` +
      ` per round ${roundRatios.map((r) => r.toFixed(2)).join(" ")} (target >= ${spec.target})`,
  );
  row.details = {
    subject: subject.results.map((r) => ({ okEvents: r.okEvents, elapsedMs: r.elapsedMs })),
    reference: reference.results.map((r) => ({ okEvents: r.okEvents, elapsedMs: r.elapsedMs })),
    referenceUsage: meanUsage(reference.usages),
    usage,
    roundRatios,
  };
  if (Object.keys(row.errors).length > 0) row.failures.push(`requests failed: ${JSON.stringify(row.errors)}`);
  const referenceSuccess = successLabel(referenceJob.protocol);
  const referenceErrors = reference.results.reduce((n, r) => n + Object.entries(r.statuses).filter(([label]) => label !== referenceSuccess).reduce((m, [, c]) => m + c, 0), 0);
  if (referenceErrors > 0) row.failures.push(`${spec.reference} had ${referenceErrors} failed requests`);
  if (reference.results.some((r) => r.ok === 0) || subject.results.some((r) => r.ok === 0)) row.failures.push("a slice had no success");
  return row;
}
