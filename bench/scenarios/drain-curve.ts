import type { Bench } from "../context.js";
import { cpuPerEvent } from "../cpu-per-event.js";
import { truncateDrainTables } from "../lib/mysql-tools.js";
import { newRow, type Row } from "../row.js";
import { runDrainScenario } from "./drain.js";

/** One drain of the curve: the rows the table had when it started, and how fast it went. */
export interface CurvePoint {
  /** Rows in `events` when this drain started. */
  rows: number;
  eventsPerSec: number;
  /** Worker CPU per event, µs. */
  workerUs: number | undefined;
  /** MariaDB CPU per event, µs. */
  dbUs: number | undefined;
}

/**
 * `drain-curve`: how the drain's speed changes as `events` grows. From empty
 * tables, one worker drains a fresh pre-fill of `--drain-events` again and
 * again (new players and event ids each time, so every drain adds its events
 * to the table), with no InnoDB settling in between: flushing runs as it
 * would under a steady load, which is what slows a growing table. The last
 * drain is the first to start with the table at `--rows` or more. The row's ratio is the last drain's rate over
 * the first's (target: at least 0.7x past 20M rows); `details.curve` holds
 * the points, and the bench writes them as an SVG chart beside the results.
 * The tables are left grown, so a `sustained` run after it soaks on them.
 */
export async function runDrainCurveScenario(bench: Bench): Promise<Row> {
  const row = newRow("drain-curve");
  if (!bench.pool) {
    row.failures.push("needs the bench's own service (not --target)");
    return row;
  }
  const target = bench.options.curveRows;
  const step = bench.options.drainEvents;
  await truncateDrainTables(bench.pool);
  const curve: CurvePoint[] = [];
  let rows = 0;
  let lastDrain: Row | undefined;
  // The last drain starts with the table at `target` rows or past it.
  for (let i = 1; rows <= target; i++) {
    const drain = await runDrainScenario(bench, `drain-curve-${i}`, 1, false, { grow: true });
    row.failures.push(...drain.failures.map((f) => `drain ${i} (from ${millions(rows)}M rows): ${f}`));
    const us = cpuPerEvent(drain);
    lastDrain = drain;
    if (drain.eventsPerSec !== undefined) curve.push({ rows, eventsPerSec: drain.eventsPerSec, workerUs: us.svc, dbUs: us.db });
    process.stderr.write(`  drain-curve: ${millions(rows)}M rows -> ${Math.round(drain.eventsPerSec ?? 0).toLocaleString("en-US")} events/s\n`);
    rows += typeof drain.details.storedEvents === "number" ? drain.details.storedEvents : step;
    if (drain.failures.length > 0) break;
  }
  const first = curve[0];
  const last = curve.at(-1);
  const ends = curveEnds(curve);
  if (first && last && lastDrain && ends) {
    row.eventsPerSec = last.eventsPerSec;
    // The CPU columns are the last drain's: the cost per event on the grown table.
    row.service = lastDrain.service;
    row.redisCpuPct = lastDrain.redisCpuPct;
    row.dbCpuPct = lastDrain.dbCpuPct;
    row.otherCpuPct = lastDrain.otherCpuPct;
    row.ratio = { value: ends.last / ends.first, vs: ends.of };
    row.notes.push(
      `${curve.length} drains of ${step.toLocaleString("en-US")} events, table 0 -> ${millions(rows)}M rows: ${curve
        .map((p) => `${millions(p.rows)}M ${Math.round(p.eventsPerSec / 1000)}k`)
        .join(", ")} ev/s; worker/db µs/ev first ${fmt(first.workerUs)}/${fmt(first.dbUs)}, last ${fmt(last.workerUs)}/${fmt(last.dbUs)}`,
    );
  }
  row.details = { curve, finalRows: rows, stepEvents: step };
  return row;
}

/**
 * The rate at the start of a curve and at its end: the medians of the first
 * and the last three drains when there are six or more (one drain on this VM
 * can read 25% off its neighbours), else the first and the last drain.
 */
export function curveEnds(curve: readonly CurvePoint[]): { first: number; last: number; of: string } | undefined {
  if (curve.length === 0) return undefined;
  if (curve.length < 6) {
    return { first: curve[0]!.eventsPerSec, last: curve.at(-1)!.eventsPerSec, of: "the first drain (empty tables)" };
  }
  const median3 = (points: readonly CurvePoint[]) => points.map((p) => p.eventsPerSec).sort((a, b) => a - b)[1]!;
  return { first: median3(curve.slice(0, 3)), last: median3(curve.slice(-3)), of: "the first 3 drains (medians of the last and first 3)" };
}

function millions(n: number): string {
  return (n / 1e6).toFixed(n < 1e6 ? 2 : 1);
}

function fmt(us: number | undefined): string {
  return us === undefined ? "-" : us.toFixed(1);
}
