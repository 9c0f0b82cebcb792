import { spawn } from "node:child_process";
import type { Bench } from "../context.js";
import { scalar } from "../lib/mysql-tools.js";
import { seedEvents } from "../lib/seed-events.js";
import type { Row } from "../row.js";
import { runDrainScenario, type DrainSideJob } from "./drain.js";

/** The player an erasure removes, and the prefix of every side player (left out of the drain's checks). */
const victim = "side-victim";

/**
 * `drain-1w-erasure` and `drain-1w-retention`: one worker drains the pre-fill
 * while a player with `--side-events` events is erased (`playsmart players
 * delete` in its own process), or while retention removes as many events
 * received 100 days ago (EVENTS_RETENTION_DAYS=30). The plain drain runs
 * before and after both (plain, erasure, retention, plain), so each is
 * compared with the mean of the plain drains around it: a drain measured later
 * in a run reads slower on this VM (see drain-2w-paired). Target for
 * retention: at least 0.9x.
 */
export async function runDrainBesideScenarios(bench: Bench): Promise<Row[]> {
  const plainBefore = await runDrainScenario(bench, "drain-1w-beside-plain-1", 1, false);
  const erasure = await runDrainScenario(bench, "drain-1w-erasure", 1, false, { side: erasureJob(bench) });
  const retention = await runDrainScenario(bench, "drain-1w-retention", 1, false, { side: retentionJob(bench) });
  const plainAfter = await runDrainScenario(bench, "drain-1w-beside-plain-2", 1, false);
  const plain = [plainBefore.eventsPerSec, plainAfter.eventsPerSec].filter((v): v is number => v !== undefined);
  const mean = plain.length > 0 ? plain.reduce((a, b) => a + b, 0) / plain.length : undefined;
  for (const row of [erasure, retention]) {
    for (const p of [plainBefore, plainAfter]) row.failures.push(...p.failures.map((f) => `${p.scenario}: ${f}`));
    if (mean !== undefined && row.eventsPerSec !== undefined) {
      row.ratio = { value: row.eventsPerSec / mean, vs: "plain drains around it" };
      row.notes.push(`plain drains before/after ${plain.map((v) => Math.round(v).toLocaleString("en-US")).join("/")} ev/s`);
    }
  }
  if (retention.ratio) retention.notes.push(`target >= 0.90x: ${retention.ratio.value >= 0.9 ? "met" : "missed"}`);
  return [erasure, retention];
}

// The side players' events: a game of their own, ids of their own.
const sideEvent = { gameSql: "'com.bench.side'", eventIdSql: "CONCAT('side', seq)", customdataSql: `'{"level":7}'` };

function erasureJob(bench: Bench): DrainSideJob {
  const events = bench.options.sideEvents;
  return {
    async prepare(pool) {
      process.stderr.write(`  storing ${events.toLocaleString("en-US")} events of the player to erase...\n`);
      await seedEvents(pool, { count: events, userSql: "?", params: [victim], ...sideEvent, timeSql: "UTC_TIMESTAMP(3) - INTERVAL 1 DAY" });
    },
    async start() {
      const started = performance.now();
      const child = spawn(process.execPath, ["bin/playsmart.js", "players", "delete", victim], {
        env: { ...process.env, MYSQL_URL: bench.mysqlUrl, REDIS_URL: bench.options.redisUrl, STREAM_PREFIX: bench.prefix, LOG_LEVEL: "silent" },
        stdio: ["ignore", "pipe", "ignore"],
      });
      let out = "";
      child.stdout.on("data", (c: Buffer) => (out += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
      return async () => {
        const code = await exited;
        const seconds = (performance.now() - started) / 1000;
        const left = await scalar(bench.pool!, "SELECT COUNT(*) FROM events WHERE user_id = ?", [victim]);
        const notes = [`erased ${events.toLocaleString("en-US")} events in ${seconds.toFixed(1)} s (${Math.round(events / seconds).toLocaleString("en-US")} rows/s) beside the drain; exit ${code}, ${left} left`];
        return { notes, details: { erasedEvents: events, erasureSeconds: seconds, exitCode: code, left, output: out.trim() } };
      };
    },
  };
}

function retentionJob(bench: Bench): DrainSideJob {
  const events = bench.options.sideEvents;
  return {
    async prepare(pool) {
      process.stderr.write(`  storing ${events.toLocaleString("en-US")} events received 100 days ago...\n`);
      await seedEvents(pool, { count: events, userSql: "CONCAT('side-old-', seq DIV 100)", ...sideEvent, timeSql: "UTC_TIMESTAMP(3) - INTERVAL 100 DAY" });
    },
    workerEnv: { EVENTS_RETENTION_DAYS: "30", EVENTS_RETENTION_INTERVAL_MS: "1000" },
    async start() {
      return async () => {
        const left = await scalar(bench.pool!, "SELECT COUNT(*) FROM events WHERE user_id LIKE 'side-old-%'");
        return { notes: [`retention removed ${(events - left).toLocaleString("en-US")} of ${events.toLocaleString("en-US")} old events during the drain`], details: { oldEvents: events, left } };
      };
    },
  };
}
