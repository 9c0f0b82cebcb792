import type { Bench } from "../context.js";
import { newRow, type Row } from "../row.js";
import { runDrainScenario } from "./drain.js";

/** Workers of each measured drain, in order: one and two alternate ABBA. */
const order = [1, 2, 2, 1] as const;

/**
 * `drain-2w-paired`: two workers against one again, in alternating drains of the
 * same pre-fill (1, 2, 2, 1 workers), each as `drain-1w`/`drain-2w` run it.
 * Measured one after the other, `drain-2w` always comes last of the drains, and
 * on this VM a drain measured later ran up to 15% slower than the same drain
 * measured first (both the workers and MariaDB took more CPU per event), which
 * lands on two workers only. When no drain ran before in this run, one
 * unmeasured drain goes first, so every measured one follows another. The row
 * is the two-worker drains'; its ratio is their events/s over the one-worker
 * drains' (events over measured seconds, both drains of each), and the notes
 * give each drain and each round's ratio.
 */
export async function runPairedDrainScenario(bench: Bench): Promise<Row> {
  const row = newRow("drain-2w-paired");
  if (![...bench.results.keys()].some((name) => name.includes("drain"))) {
    const warmUp = await runDrainScenario(bench, "drain-2w-paired-warm-up", 1, false);
    row.failures.push(...warmUp.failures.map((f) => `warm-up: ${f}`));
  }
  const drains: Array<{ workers: number; row: Row }> = [];
  for (const [i, workers] of order.entries()) {
    const drain = await runDrainScenario(bench, `drain-2w-paired-${i + 1}-${workers}w`, workers, false);
    drains.push({ workers, row: drain });
    row.failures.push(...drain.failures.map((f) => `drain ${i + 1} (${workers}w): ${f}`));
  }
  const rate = (workers: number): number | undefined => {
    let events = 0;
    let seconds = 0;
    for (const d of drains) {
      const s = d.row.details.seconds;
      if (d.workers !== workers || d.row.eventsPerSec === undefined || typeof s !== "number") continue;
      events += d.row.eventsPerSec * s;
      seconds += s;
    }
    return seconds > 0 ? events / seconds : undefined;
  };
  const one = rate(1);
  const two = rate(2);
  row.eventsPerSec = two;
  const twoRows = drains.filter((d) => d.workers === 2);
  row.service = twoRows[0]?.row.service;
  row.redisCpuPct = twoRows[0]?.row.redisCpuPct;
  row.dbCpuPct = twoRows[0]?.row.dbCpuPct;
  row.otherCpuPct = twoRows[0]?.row.otherCpuPct;
  if (one !== undefined && two !== undefined) {
    row.ratio = { value: two / one, vs: "1 worker, paired" };
    const ev = drains.map((d) => `${d.workers}w ${Math.round(d.row.eventsPerSec ?? 0).toLocaleString("en-US")}`);
    const [a, b, c, d] = drains.map((x) => x.row.eventsPerSec ?? NaN);
    row.notes.push(
      `2 workers = ${(two / one).toFixed(2)}x 1 worker in alternating drains (target >= 1.6); drains ${ev.join(", ")} ev/s; rounds ${(b! / a!).toFixed(2)}x, ${(c! / d!).toFixed(2)}x; CPU columns of the first 2-worker drain`,
    );
  }
  row.details = { drains: drains.map((d) => ({ workers: d.workers, scenario: d.row.scenario, eventsPerSec: d.row.eventsPerSec, notes: d.row.notes, details: d.row.details })) };
  return row;
}
