import { cpuPerEvent, cpuProcesses, formatUs, type CpuProcess } from "./cpu-per-event.js";
import type { Row } from "./row.js";

/** A CPU-per-event figure this much worse than before is a regression. */
export const regressionThreshold = 0.15;

/** One figure of one row, before and after. */
export interface FigureChange {
  scenario: string;
  /** "events/s", or the process of a µs/event figure. */
  figure: "events/s" | CpuProcess;
  before: number;
  after: number;
  /** after / before - 1. */
  change: number;
  /** A CPU-per-event figure more than {@link regressionThreshold} worse. */
  regression: boolean;
}

/** The rows of a results file (`npm run bench` writes `{ rows: Row[], ... }`). */
export interface ResultsFile {
  startedAt?: string;
  command?: string;
  rows: Row[];
}

/**
 * Each figure of each scenario present in both runs: events/s and the CPU per
 * event of every process. Only CPU per event can be a regression: events/s is
 * shown, not judged, since this VM's speed alone moves it by up to 2x.
 */
export function compareRows(before: readonly Row[], after: readonly Row[]): FigureChange[] {
  const old = new Map(before.map((r) => [r.scenario, r]));
  const changes: FigureChange[] = [];
  for (const row of after) {
    const was = old.get(row.scenario);
    if (!was) continue;
    const add = (figure: FigureChange["figure"], b: number | undefined, a: number | undefined, judged: boolean) => {
      if (b === undefined || a === undefined || b === 0 || !Number.isFinite(a) || !Number.isFinite(b)) return;
      const change = a / b - 1;
      changes.push({ scenario: row.scenario, figure, before: b, after: a, change, regression: judged && change > regressionThreshold });
    };
    add("events/s", was.eventsPerSec, row.eventsPerSec, false);
    const b = cpuPerEvent(was);
    const a = cpuPerEvent(row);
    for (const p of cpuProcesses) add(p, b[p], a[p], true);
  }
  return changes;
}

/** The comparison as a table: one line per scenario, each figure as before -> after (change). */
export function formatComparison(changes: readonly FigureChange[], label: string): string {
  const byScenario = new Map<string, FigureChange[]>();
  for (const c of changes) {
    const list = byScenario.get(c.scenario) ?? [];
    list.push(c);
    byScenario.set(c.scenario, list);
  }
  const figures: Array<FigureChange["figure"]> = ["events/s", ...cpuProcesses];
  const header = ["scenario", ...figures.map((f) => (f === "events/s" ? f : `${f} µs/ev`))];
  const cell = (c: FigureChange | undefined) => {
    if (!c) return "-";
    const value = (n: number) => (c.figure === "events/s" ? Math.round(n).toLocaleString("en-US") : formatUs(n));
    const sign = c.change >= 0 ? "+" : "";
    return `${value(c.before)} -> ${value(c.after)} (${sign}${(c.change * 100).toFixed(0)}%)${c.regression ? " WORSE" : ""}`;
  };
  const lines = [...byScenario].map(([scenario, list]) => [scenario, ...figures.map((f) => cell(list.find((c) => c.figure === f)))]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  const regressions = changes.filter((c) => c.regression);
  return [
    `compared with ${label}:`,
    fmt(header),
    ...lines.map(fmt),
    regressions.length === 0
      ? `no CPU-per-event figure more than ${regressionThreshold * 100}% worse`
      : `${regressions.length} CPU-per-event figure(s) more than ${regressionThreshold * 100}% worse: ${regressions.map((r) => `${r.scenario} ${r.figure}`).join(", ")}`,
  ].join("\n");
}
