import { cpuPerEvent } from "./cpu-per-event.js";
import type { Row } from "./row.js";
import { curveEnds, type CurvePoint } from "./scenarios/drain-curve.js";
import { eventsPerSec } from "./scenarios/paired-ingest.js";

/** One target of the system, judged on the rows of one run. */
export interface TargetResult {
  target: string;
  /** The figure it is judged on, e.g. "1.21x (2.83 / 2.34 µs/ev)". */
  figure: string;
  /** Undefined when the run lacks the rows it needs. */
  met: boolean | undefined;
}

type Rows = ReadonlyMap<string, Row>;

/**
 * The targets, row by row. CPU per event is the figure of record for speed
 * (this VM's throughput drifts up to 2x between minutes; the CPU a process
 * spends on an event moves far less): the gateway against the bare server,
 * gRPC against REST, two workers against one. Latency, the soak and the
 * overload are judged as before.
 */
export function judgeTargets(rows: Rows): TargetResult[] {
  return [
    cpuRatio(rows, "gateway CPU/event, REST 200-event batches, at most 1.4x the bare server's", "rest-200", "baseline-ingest", 1.4, "rest-200-paired"),
    cpuRatio(rows, "gateway CPU/event, gRPC at most REST's", "grpc-200", "rest-200", 1.0, "grpc-200-paired"),
    twoWorkers(rows),
    flatDrain(rows),
    latency(rows),
    soak(rows),
    overload(rows),
  ];
}

/** The targets as lines of text, after the table. */
export function formatTargets(results: readonly TargetResult[]): string {
  const width = Math.max(...results.map((r) => r.target.length));
  return [
    "targets:",
    ...results.map((r) => `  ${r.met === undefined ? "n/a   " : r.met ? "met   " : "MISSED"}  ${r.target.padEnd(width)}  ${r.figure}`),
  ].join("\n");
}

const x = (n: number) => `${n.toFixed(2)}x`;
const us = (n: number) => `${n.toFixed(2)}`;

// From the alternating slices of the paired row when it ran: rows measured
// minutes apart on this VM read up to 1.9x apart in CPU per event too (the
// full run of 2026-12-04: grpc-200 2.58 against rest-200 1.38 µs/ev, 1.21x
// in grpc-200-paired's slices), so only side-by-side figures are compared.
function cpuRatio(rows: Rows, target: string, scenario: string, baseline: string, max: number, pairedName: string): TargetResult {
  const paired = pairedCpu(rows.get(pairedName));
  if (paired) {
    const ratio = paired.subject / paired.reference;
    return { target, figure: `${x(ratio)} (${pairedName}: ${scenario} ${us(paired.subject)} / ${baseline} ${us(paired.reference)} µs/ev)`, met: ratio <= max };
  }
  const a = rows.get(scenario);
  const b = rows.get(baseline);
  const ua = a ? cpuPerEvent(a).svc : undefined;
  const ub = b ? cpuPerEvent(b).svc : undefined;
  if (ua === undefined || ub === undefined || ub === 0) return { target, figure: `needs ${pairedName}, or ${scenario} and ${baseline}`, met: undefined };
  return { target, figure: `${x(ua / ub)} (${scenario} ${us(ua)} / ${baseline} ${us(ub)} µs/ev)`, met: ua / ub <= max };
}

type Slices = Array<{ okEvents: number; elapsedMs: number }>;

/** Gateway CPU µs per event of both sides of a paired row's slices. */
function pairedCpu(row: Row | undefined): { subject: number; reference: number } | undefined {
  const d = row?.details as { subject?: Slices; reference?: Slices; usage?: Record<string, { cpuPct: number }>; referenceUsage?: Record<string, { cpuPct: number }> } | undefined;
  const side = (slices: Slices | undefined, usage: { cpuPct: number } | undefined) =>
    slices && usage ? cpuPerEvent({ eventsPerSec: eventsPerSec(slices), service: { ...usage, peakRssMb: 0, hwmMb: 0 } }).svc : undefined;
  const subject = side(d?.subject, d?.usage?.svc);
  const reference = side(d?.reference, d?.referenceUsage?.svc);
  return subject === undefined || reference === undefined || reference === 0 ? undefined : { subject, reference };
}

// Worker plus MariaDB CPU per event: from the alternating drains of
// drain-2w-paired when it ran (both sides measured the same way), else
// drain-2w against drain-1w.
function twoWorkers(rows: Rows): TargetResult {
  const target = "worker + MariaDB CPU/event, two workers at most 1.1x one";
  const perEvent = (rowsOf: Array<{ eventsPerSec?: number; svc?: number; db?: number }>) => {
    let events = 0;
    let cpu = 0;
    for (const r of rowsOf) {
      if (!r.eventsPerSec || r.svc === undefined || r.db === undefined) continue;
      events += r.eventsPerSec;
      cpu += (r.svc + r.db) * 1e4;
    }
    return events > 0 ? cpu / events : undefined;
  };
  const paired = rows.get("drain-2w-paired")?.details.drains as
    | Array<{ workers: number; eventsPerSec?: number; details?: { usage?: Record<string, { cpuPct: number }> } }>
    | undefined;
  let one: number | undefined;
  let two: number | undefined;
  let from = "drain-2w-paired";
  if (paired && paired.length > 0) {
    const of = (w: number) =>
      perEvent(paired.filter((d) => d.workers === w).map((d) => ({ eventsPerSec: d.eventsPerSec, svc: d.details?.usage?.svc?.cpuPct, db: d.details?.usage?.db?.cpuPct })));
    one = of(1);
    two = of(2);
  } else {
    from = "drain-2w / drain-1w";
    const of = (name: string) => {
      const r = rows.get(name);
      return r ? perEvent([{ eventsPerSec: r.eventsPerSec, svc: r.service?.cpuPct, db: r.dbCpuPct }]) : undefined;
    };
    one = of("drain-1w");
    two = of("drain-2w");
  }
  if (one === undefined || two === undefined) return { target, figure: "needs drain-2w-paired, or drain-1w and drain-2w", met: undefined };
  return { target, figure: `${x(two / one)} (${from}: ${us(two)} / ${us(one)} µs/ev)`, met: two / one <= 1.1 };
}

/** Rows past which the drain must still run at 0.7x its empty-table rate. */
const flatDrainRows = 20_000_000;

function flatDrain(rows: Rows): TargetResult {
  const target = "one worker's drain past 20M rows at least 0.7x its empty-table rate";
  const curve = rows.get("drain-curve")?.details.curve as CurvePoint[] | undefined;
  const ends = curve && curve.length >= 2 ? curveEnds(curve) : undefined;
  const last = curve?.at(-1);
  if (!ends || !last) return { target, figure: "needs drain-curve", met: undefined };
  const ratio = ends.last / ends.first;
  const figure = `${x(ratio)} (drain-curve: ${Math.round(ends.last).toLocaleString("en-US")} ev/s up to ${(last.rows / 1e6).toFixed(1)}M rows against ${Math.round(ends.first).toLocaleString("en-US")} from empty tables; ${ends.of})`;
  if (last.rows < flatDrainRows) return { target, figure: `${figure}; only ${(last.rows / 1e6).toFixed(2)}M rows, --rows 20000000 judges it`, met: undefined };
  return { target, figure, met: ratio >= 0.7 };
}

function latency(rows: Rows): TargetResult {
  const target = "latency at half load: p99 under 50 ms";
  const p99 = rows.get("rest-200-half")?.latency?.p99Ms;
  if (p99 === undefined) return { target, figure: "needs rest-200-half", met: undefined };
  return { target, figure: `p99 ${p99} ms (rest-200-half)`, met: p99 < 50 };
}

/** The least share of the drain measured after the soak that counts as a soak at 80% of it. */
const minSoakShare = 0.7;

function soak(rows: Rows): TargetResult {
  const target = "soak at 80% of one worker: lag bounded (p99 < 2 s), no growth";
  const row = rows.get("sustained");
  const held = (row?.details.soak as { lagBounded?: boolean } | undefined)?.lagBounded;
  if (!row || held === undefined) return { target, figure: "needs sustained", met: undefined };
  const p99 = (row.details.lagMetricSeconds as { p99?: number } | undefined)?.p99;
  // The drain measured again after the soak tells what share of it the soak
  // offered; a soak held far below 80% of it did not test 80%.
  const offered = row.details.offeredEventsPerSec as number | undefined;
  const after = (row.details.calibrationAfter as { rate?: number } | undefined)?.rate;
  const share = offered !== undefined && after ? offered / after : undefined;
  const figure = `lag p99 ${p99?.toFixed(2) ?? "-"} s (sustained${share === undefined ? "" : `, offered ${Math.round(share * 100)}% of the drain measured after it`})${row.failures.length ? `; ${row.failures.length} failures` : ""}`;
  const ok = held && row.failures.length === 0;
  if (ok && share !== undefined && share < minSoakShare) return { target, figure: `${figure}: below ${minSoakShare * 100}%, not a test of 80%`, met: undefined };
  return { target, figure, met: ok };
}

function overload(rows: Rows): TargetResult {
  const target = "overload at 200%: backlog bound held, nothing lost";
  const row = rows.get("overload");
  if (!row) return { target, figure: "needs overload", met: undefined };
  return { target, figure: row.failures.length === 0 ? "held (overload)" : row.failures.join("; "), met: row.failures.length === 0 };
}
