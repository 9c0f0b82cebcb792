import { fileURLToPath } from "node:url";
import type { Bench } from "../context.js";
import { scrape, type Scrape } from "../lib/prometheus.js";
import { startStreamSink } from "../lib/redis-tools.js";
import type { ProcWatch } from "../lib/proc-stats.js";
import { LatencyHistogram } from "../load/histogram.js";
import { successLabel, type LoadJob, type LoadProtocol, type LoadResult } from "../load/job.js";
import type { ScenarioName } from "../options.js";
import { newRow, setCpu, type Row } from "../row.js";

/** What an ingest scenario sends. */
export interface IngestSpec {
  protocol: LoadProtocol;
  batchSize: number;
  /** Load the bare baseline server instead of the gateway. */
  baseline?: boolean;
  /** Pace at this share of another scenario's measured req/s (open loop). */
  paceOf?: { scenario: ScenarioName; share: number };
}

/** The ingest scenarios by name. */
export const ingestSpecs: Partial<Record<ScenarioName, IngestSpec>> = {
  "rest-1": { protocol: "rest", batchSize: 1 },
  "rest-20": { protocol: "rest", batchSize: 20 },
  "rest-200": { protocol: "rest", batchSize: 200 },
  "baseline-ingest": { protocol: "rest", batchSize: 200, baseline: true },
  "rest-200-half": { protocol: "rest", batchSize: 200, paceOf: { scenario: "rest-200", share: 0.5 } },
  "grpc-1": { protocol: "grpc", batchSize: 1 },
  "grpc-20": { protocol: "grpc", batchSize: 20 },
  "grpc-200": { protocol: "grpc", batchSize: 200 },
  "connect-json-200": { protocol: "connect-json", batchSize: 200 },
};

const bareServer = fileURLToPath(new URL("../baselines/bare-ingest-server.ts", import.meta.url));

/**
 * Runs `job` against the process `pid` while a sink keeps `keys` empty: the
 * load's result, and the usage of the process and the machine over the
 * measured window only (not the warm-up).
 */
export async function runMeasured(
  bench: Bench,
  job: LoadJob,
  pid: number | undefined,
  keys: readonly string[],
): Promise<{ result: LoadResult; usage: ReturnType<ProcWatch["stop"]> }> {
  const sink = startStreamSink(bench.redis, () => keys);
  const gateway = pid !== undefined && pid === bench.gatewayPid;
  const before = gateway ? await scrape(`${job.url}/metrics`) : undefined;
  let watch: ProcWatch | undefined;
  let result: LoadResult;
  try {
    result = await bench.load.run(job, () => (watch = bench.watch({ svc: pid === undefined ? [] : [pid] }).start()));
  } finally {
    await sink.stop();
  }
  const usage = (watch ?? bench.watch({ svc: [] }).start()).stop();
  if (before) {
    for (const [label, n] of refusals(before, await scrape(`${job.url}/metrics`))) result.statuses[label] = (result.statuses[label] ?? 0) + n;
  }
  return { result, usage };
}

/**
 * Requests the gateway answered with anything but success over the run, by
 * `server:<status>/<code>`, from its own request counter: gRPC errors travel
 * in trailers of an HTTP 200 that h2load counts as a success.
 */
function refusals(before: Scrape, after: Scrape): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (const [series, v] of after) {
    if (v.name !== "playsmart_requests_total") continue;
    const { status = "", code = "" } = v.labels;
    if (status.startsWith("2") && (code === "" || code === "ok")) continue;
    const n = v.value - (before.get(series)?.value ?? 0);
    if (n > 0) out.push([`server:${status}${code ? `/${code}` : ""}`, n]);
  }
  return out;
}

/**
 * {@link runMeasured} turned into a row: events/s and req/s of successes,
 * latency, every other outcome as an error, CPU and peak RSS of the process.
 */
export async function measureLoad(bench: Bench, name: string, job: LoadJob, pid: number | undefined, keys: readonly string[]): Promise<Row> {
  const { result, usage } = await runMeasured(bench, job, pid, keys);
  return loadRow(name, job, result, usage);
}

/** A row from a load result and the usage of the watched processes. */
export function loadRow(name: string, job: LoadJob, result: LoadResult, usage: ReturnType<ProcWatch["stop"]>): Row {
  const row = newRow(name);
  const seconds = result.elapsedMs / 1000;
  const success = successLabel(job.protocol);
  row.eventsPerSec = result.okEvents / seconds;
  row.reqPerSec = result.ok / seconds;
  row.latency = LatencyHistogram.fromJSON(result.latency).summary();
  for (const [label, n] of Object.entries(result.statuses)) if (label !== success) row.errors[label] = n;
  setCpu(row, usage);
  row.notes.push(`${job.protocol} ${job.batchSize} ev/req, body ${(result.bodyBytes / 1024).toFixed(1)} KB, ${job.concurrency} in flight`);
  if (job.ratePerSec) row.notes.push(`paced ${Math.round(job.ratePerSec)} req/s${result.late ? `, ${result.late} sent late` : ""}`);
  row.details = { job: { ...job, players: job.players.length }, statuses: result.statuses, latency: row.latency, usage, timeline: result.timeline };
  if (result.ok === 0) row.failures.push("no request succeeded");
  return row;
}

/** The closed-loop load of `spec` against the gateway, with the run's options. */
export function ingestJob(bench: Bench, spec: IngestSpec): LoadJob {
  const o = bench.options;
  return {
    protocol: spec.protocol,
    url: bench.gatewayUrl,
    players: bench.players,
    gameIds: bench.games.map((g) => g.gameId),
    batchSize: spec.batchSize,
    eventIds: o.eventIds,
    concurrency: o.connections,
    sessions: o.grpcSessions,
    warmupMs: o.warmupMs,
    durationMs: o.durationMs,
  };
}

/** Starts `baselines/bare-ingest-server.ts` on a stream key of the run's prefix. */
export async function startBareServer(bench: Bench): Promise<{ url: string; pid: number | undefined; key: string; stop: () => Promise<void> }> {
  const key = `${bench.prefix}:bench:bare`;
  const server = await bench.startScript("baseline-ingest", bareServer, { REDIS_URL: bench.options.redisUrl, STREAM_KEY: key }, (port) => ({
    url: `http://127.0.0.1:${port}`,
    httpPath: "/readyz",
  }));
  return {
    url: server.url,
    pid: server.pid,
    key,
    stop: async () => {
      await server.stop();
    },
  };
}

/** One ingest scenario: REST, gRPC or Connect JSON against the gateway, or REST against the bare baseline. */
export async function runIngestScenario(bench: Bench, name: ScenarioName): Promise<Row> {
  const spec = ingestSpecs[name];
  if (!spec) throw new Error(`${name} is not an ingest scenario`);
  let ratePerSec: number | undefined;
  if (spec.paceOf) {
    const peak = bench.results.get(spec.paceOf.scenario)?.reqPerSec;
    if (!peak) {
      const row = newRow(name);
      row.failures.push(`needs ${spec.paceOf.scenario} measured first`);
      return row;
    }
    ratePerSec = peak * spec.paceOf.share;
  }
  const job: LoadJob = { ...ingestJob(bench, spec), ...(ratePerSec ? { ratePerSec } : {}) };
  if (!spec.baseline) {
    const row = await measureLoad(bench, name, job, bench.gatewayPid, bench.streamKeys);
    if (Object.keys(row.errors).length > 0) {
      const n = Object.values(row.errors).reduce((a, b) => a + b, 0);
      row.failures.push(`${n} requests failed (${Object.entries(row.errors).map(([k, v]) => `${k}: ${v}`).join(", ")})`);
    }
    if (spec.paceOf && row.latency) row.notes.push(`p99 ${row.latency.p99Ms} ms at ${spec.paceOf.share * 100}% of ${spec.paceOf.scenario} (target < 50 ms)`);
    return row;
  }
  const server = await startBareServer(bench);
  try {
    const row = await measureLoad(bench, name, { ...job, url: server.url }, server.pid, [server.key]);
    row.notes.push("bare node:http + JSON.parse + one XADD of the raw body");
    if (Object.keys(row.errors).length > 0) row.failures.push(`baseline had errors: ${JSON.stringify(row.errors)}`);
    return row;
  } finally {
    await server.stop();
  }
}
