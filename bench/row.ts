import type { GroupUsage } from "./lib/proc-stats.js";
import type { LatencySummary } from "./load/histogram.js";

/** One line of the results table (and its JSON record). */
export interface Row {
  scenario: string;
  eventsPerSec?: number | undefined;
  reqPerSec?: number | undefined;
  /** Request latency (ingest), as the client saw it. */
  latency?: LatencySummary | undefined;
  /** Outcomes that are not the scenario's success, by status or error. */
  errors: Record<string, number>;
  /** The process(es) under test: the gateway, the workers, or a baseline. */
  service?: GroupUsage | undefined;
  loadCpuPct?: number | undefined;
  redisCpuPct?: number | undefined;
  dbCpuPct?: number | undefined;
  /**
   * CPU of every other process on the machine over the window (other users'
   * tests, builds): a high value marks a disturbed measurement.
   */
  otherCpuPct?: number | undefined;
  ratio?: { value: number; vs: string } | undefined;
  notes: string[];
  /** Why this scenario counts as failed (makes the run exit non-zero). */
  failures: string[];
  /** Timelines and raw numbers, JSON only. */
  details: Record<string, unknown>;
}

/** Fills the CPU columns of `row` from a watch's usage (groups svc, lg, redis, db, machine). */
export function setCpu(row: Row, usage: Record<string, GroupUsage>): void {
  row.service = usage.svc;
  row.loadCpuPct = usage.lg?.cpuPct;
  row.redisCpuPct = usage.redis?.cpuPct;
  row.dbCpuPct = usage.db?.cpuPct;
  const ours = ["svc", "lg", "redis", "db"].reduce((sum, g) => sum + (usage[g]?.cpuPct ?? 0), 0);
  if (usage.machine) row.otherCpuPct = Math.max(0, Math.round((usage.machine.cpuPct - ours) * 10) / 10);
}

/** An empty row for `scenario`. */
export function newRow(scenario: string): Row {
  return { scenario, errors: {}, notes: [], failures: [], details: {} };
}
