import type { Row } from "./row.js";

/** The processes whose CPU a row reports per event. */
export const cpuProcesses = ["svc", "lg", "redis", "db"] as const;

/** One of {@link cpuProcesses}: the process(es) under test, the load generator, Redis, MariaDB. */
export type CpuProcess = (typeof cpuProcesses)[number];

/** What each process is called in the table and the targets. */
export const cpuProcessNames: Record<CpuProcess, string> = { svc: "svc", lg: "lg", redis: "redis", db: "db" };

/**
 * CPU microseconds per event of each process of a row, from the CPU shares
 * read from /proc over its measured window (100% = one core for one second)
 * and its events/s: the figure of record on this VM, whose speed drifts too
 * much between minutes for events/s to compare. Undefined where the row has
 * no such process (no load generator in a drain) or no events.
 */
export function cpuPerEvent(row: Pick<Row, "eventsPerSec" | "service" | "loadCpuPct" | "redisCpuPct" | "dbCpuPct">): Record<CpuProcess, number | undefined> {
  const per = (pct: number | undefined) => (pct === undefined || !row.eventsPerSec ? undefined : (pct * 1e4) / row.eventsPerSec);
  return { svc: per(row.service?.cpuPct), lg: per(row.loadCpuPct), redis: per(row.redisCpuPct), db: per(row.dbCpuPct) };
}

/** A µs/event figure for the table: two decimals, "-" when there is none. */
export function formatUs(us: number | undefined): string {
  return us === undefined || !Number.isFinite(us) ? "-" : us.toFixed(2);
}
