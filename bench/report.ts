import { cpuPerEvent, formatUs } from "./cpu-per-event.js";
import type { Row } from "./row.js";

/** Which scenario each one is compared with, on events/s (numbers from the same run only). */
const ratioRules: Array<[scenario: string, baseline: string]> = [
  ["rest-200", "baseline-ingest"],
  ["rest-200-half", "rest-200"],
  ["grpc-1", "rest-1"],
  ["grpc-20", "rest-20"],
  ["grpc-200", "rest-200"],
  ["connect-json-200", "rest-200"],
  ["drain-1w", "baseline-drain"],
  ["baseline-drain-2w", "baseline-drain"],
  ["drain-2w", "baseline-drain-2w"],
  ["sustained", "drain-1w"],
  ["overload", "drain-1w"],
];

/** Fills each row's ratio from the rows measured in this run; adds the two-worker scaling note. */
export function computeRatios(results: ReadonlyMap<string, Row>): void {
  for (const [scenario, baseline] of ratioRules) {
    const row = results.get(scenario);
    const base = results.get(baseline);
    if (row?.eventsPerSec !== undefined && base?.eventsPerSec) {
      row.ratio = { value: row.eventsPerSec / base.eventsPerSec, vs: baseline };
    }
  }
  const one = results.get("drain-1w")?.eventsPerSec;
  const two = results.get("drain-2w");
  if (one && two?.eventsPerSec) two.notes.unshift(`2 workers = ${(two.eventsPerSec / one).toFixed(2)}x drain-1w (target >= 1.6)`);
}

const int = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? "-" : Math.round(n).toLocaleString("en-US"));
const ms = (n: number | undefined) => (n === undefined ? "-" : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n).toString());
const pct = (n: number | undefined) => (n === undefined ? "-" : `${Math.round(n)}%`);

function errorsCell(errors: Record<string, number>): string {
  const parts = Object.entries(errors).map(([k, v]) => `${k}:${v}`);
  if (parts.length === 0) return "0";
  const text = parts.join(" ");
  return text.length > 28 ? text.slice(0, 27) + "…" : text;
}

/** The results as one plain-text table (notes last, unpadded). */
export function formatTable(rows: readonly Row[]): string {
  const header = ["scenario", "events/s", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "errors", "RSS MB", "svc CPU", "svc µs/ev", "lg µs/ev", "redis µs/ev", "db µs/ev", "other CPU", "ratio", "notes"];
  const lines = rows.map((r) => {
    const us = cpuPerEvent(r);
    return [
    r.scenario + (r.failures.length > 0 ? " !" : ""),
    int(r.eventsPerSec),
    int(r.reqPerSec),
    ms(r.latency?.p50Ms),
    ms(r.latency?.p99Ms),
    ms(r.latency?.p999Ms),
    errorsCell(r.errors),
    r.service ? String(r.service.peakRssMb) : "-",
    pct(r.service?.cpuPct),
    formatUs(us.svc),
    formatUs(us.lg),
    formatUs(us.redis),
    formatUs(us.db),
    pct(r.otherCpuPct),
    r.ratio ? `${r.ratio.value.toFixed(2)}x ${r.ratio.vs}` : "-",
    r.notes.join("; "),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const numeric = new Set([1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13]);
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const out = [fmt(header), widths.slice(0, -1).map((w) => "-".repeat(w)).join("  ") + "  -----", ...lines.map(fmt)];
  const failed = rows.filter((r) => r.failures.length > 0);
  if (failed.length > 0) {
    out.push("", "failures (!):");
    for (const r of failed) for (const f of r.failures) out.push(`  ${r.scenario}: ${f}`);
  }
  return out.join("\n");
}
