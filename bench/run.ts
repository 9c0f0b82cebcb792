/**
 * `npm run bench`: measures the ingest pipeline against baselines taken in the
 * same run. Starts its own gateway (and workers, and the baselines) as child
 * processes with their own database and Redis prefix, loads them from a
 * separate load process, prints one table and writes it as JSON to
 * bench/results/<timestamp>.json. Exits 1 when a scenario failed (errors it
 * should not have, nothing measured, data lost), so `--quick` works as a smoke test.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { compareRows, formatComparison, type FigureChange, type ResultsFile } from "./compare.js";
import { benchNames, setUp, tearDown, type Bench } from "./context.js";
import { repoRoot } from "./lib/child-process.js";
import { createMysqlSettingsLease } from "./lib/mysql-settings-lease.js";
import { mysqlSettings } from "./lib/mysql-tools.js";
import { startOwnMysql, type OwnMysql } from "./lib/own-mysql.js";
import { infoNumber } from "./lib/redis-tools.js";
import { ingestScenarios, parseOptions, scenarioOrder, usage, type BenchOptions, type ScenarioName } from "./options.js";
import { computeRatios, formatTable } from "./report.js";
import { newRow, type Row } from "./row.js";
import { runClusterShardsScenario } from "./scenarios/cluster-shards.js";
import { runDrainScenario } from "./scenarios/drain.js";
import { runDrainBesideScenarios } from "./scenarios/drain-beside.js";
import { curveEnds, runDrainCurveScenario, type CurvePoint } from "./scenarios/drain-curve.js";
import { runPairedDrainScenario } from "./scenarios/paired-drain.js";
import { ingestSpecs, runIngestScenario } from "./scenarios/ingest.js";
import { runPairedIngestScenario } from "./scenarios/paired-ingest.js";
import { runPipelineScenarios } from "./scenarios/pipeline.js";
import { lineChartSvg } from "./lib/svg-chart.js";
import { formatTargets, judgeTargets } from "./targets.js";
import { summarizeProfiles } from "./tools/profile-summary.js";

const log = (line: string) => process.stderr.write(line + "\n");

/** HEAD and the uncommitted changes under src/ and gen/ at the start of the run. */
function gitState(): { head: string; dirty: string[] } | undefined {
  try {
    const git = (...args: string[]) => execFileSync("git", args, { cwd: repoRoot, encoding: "utf8" }).trim();
    return { head: git("rev-parse", "HEAD"), dirty: git("status", "--porcelain", "--", "src", "gen").split("\n").filter(Boolean) };
  } catch {
    return undefined;
  }
}

/** The scenarios to run: the ones asked for, plus what they need, minus what --target cannot do. */
function plan(options: BenchOptions): ScenarioName[] {
  const wanted = new Set(options.scenarios);
  if (wanted.has("rest-200-half")) wanted.add("rest-200");
  if ((wanted.has("sustained") || wanted.has("overload")) && options.drainRate === undefined) wanted.add("drain-1w");
  if (options.target) {
    for (const s of wanted) {
      if (!ingestScenarios.has(s)) {
        log(`skipping ${s}: --target runs ingest scenarios only`);
        wanted.delete(s);
      }
    }
  }
  return scenarioOrder.filter((s) => wanted.has(s));
}

async function runScenario(bench: Bench, name: ScenarioName, pending: readonly ScenarioName[]): Promise<Row[]> {
  if (ingestSpecs[name]) return [await runIngestScenario(bench, name)];
  switch (name) {
    case "rest-200-paired":
    case "grpc-200-paired":
    case "rest-200-traced":
      return [await runPairedIngestScenario(bench, name)];
    case "baseline-drain":
      return [await runDrainScenario(bench, name, 1, true)];
    case "baseline-drain-2w":
      return [await runDrainScenario(bench, name, 2, true)];
    case "drain-1w":
      return [await runDrainScenario(bench, name, 1, false)];
    case "drain-2w":
      return [await runDrainScenario(bench, name, 2, false)];
    case "drain-2w-paired":
      return [await runPairedDrainScenario(bench)];
    case "drain-1w-erasure":
    case "drain-1w-retention":
      return runDrainBesideScenarios(bench);
    case "drain-curve":
      return [await runDrainCurveScenario(bench)];
    case "sustained":
      return runPipelineScenarios(bench, { sustained: true, overload: pending.includes("overload") });
    case "overload":
      return runPipelineScenarios(bench, { sustained: false, overload: true });
    case "cluster-shards":
      return runClusterShardsScenario(bench);
    default:
      throw new Error(`no runner for ${name}`);
  }
}

function summaryLine(row: Row): string {
  const ev = row.eventsPerSec === undefined ? "-" : Math.round(row.eventsPerSec).toLocaleString("en-US");
  const p99 = row.latency ? `, p99 ${row.latency.p99Ms} ms` : "";
  return `  ${row.scenario}: ${ev} events/s${p99}${row.failures.length ? ` (FAILED: ${row.failures.join("; ")})` : ""}`;
}

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    const argv = process.argv.slice(2);
    if (argv.includes("--help") || argv.includes("-h")) {
      process.stdout.write(usage);
      return 0;
    }
    options = parseOptions(argv);
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  const started = new Date();
  const stamp = started.toISOString().replace(/[:.]/g, "-").replace(/-\d{3}Z$/, "Z");
  const scenarios = plan(options);
  const rows: Row[] = [];
  let bench: Bench | undefined;
  let fatal: string | undefined;
  const environment: Record<string, unknown> = {};

  let interrupted = false;
  const onSignal = (signal: string) => {
    if (interrupted) return log(`${signal}: still cleaning up (database, Redis keys), please wait`);
    interrupted = true;
    log(`\n${signal}: stopping the children and cleaning up...`);
    void tearDown(bench, options)
      .then(() => ownMysql?.stop())
      .finally(() => process.exit(130));
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));

  const names = benchNames(options);
  log(`bench: ${scenarios.join(", ")}${options.quick ? " (quick)" : ""}; database ${names.database}, redis prefix ${names.prefix}`);
  let ownMysql: OwnMysql | undefined;
  try {
    if (options.ownMysql) {
      const logDir = resolve(repoRoot, options.outDir, `${stamp}-logs`);
      mkdirSync(logDir, { recursive: true });
      ownMysql = await startOwnMysql({ bufferPoolBytes: options.mysqlBufferPool, redoLogBytes: options.mysqlRedoLog, extraArgs: options.mysqlOptions, logDir });
      options = { ...options, mysqlServerUrl: ownMysql.url };
      environment.ownMysql = { startSeconds: ownMysql.startSeconds, config: "deploy/mariadb/playsmart.cnf", options: options.mysqlOptions };
      log(`bench: own MariaDB on ${ownMysql.url} from deploy/mariadb/playsmart.cnf${options.mysqlOptions.length ? ` ${options.mysqlOptions.join(" ")}` : ""} (started in ${ownMysql.startSeconds.toFixed(1)} s; removed at the end)`);
    }
    bench = await setUp(options, stamp);
    log(`bench: gateway ${bench.gatewayUrl}, ${bench.players.length} players, ${bench.games.length} games; logs in ${bench.logDir}`);
    // Others edit src/ while benchmarks run: record exactly which code was measured.
    environment.git = gitState();
    environment.redisVersion = (await bench.redis.info("server")).match(/redis_version:(\S+)/)?.[1];
    environment.redisMaxmemory = await infoNumber(bench.redis, "memory", "maxmemory");
    if (!ownMysql && bench.pool && (options.mysqlBufferPool !== undefined || options.mysqlRedoLog !== undefined)) {
      // Assigned before it takes effect, so an interrupted resize is still undone.
      bench.mysqlSettings = createMysqlSettingsLease({
        redis: bench.redis,
        pool: bench.pool,
        runId: names.prefix,
        bufferPoolBytes: options.mysqlBufferPool,
        redoLogBytes: options.mysqlRedoLog,
        log,
      });
      const { bufferPool, redoLog } = await bench.mysqlSettings.start();
      const mib = (b: number) => `${Math.round(b / 2 ** 20)} MB`;
      if (bufferPool) {
        environment.mysqlBufferPool = bufferPool;
        log(`bench: innodb_buffer_pool_size ${mib(bufferPool.beforeBytes)} -> ${mib(bufferPool.appliedBytes)} for the run (${bufferPool.resizeSeconds.toFixed(1)} s; restored at the end)`);
      }
      if (redoLog) {
        environment.mysqlRedoLog = redoLog;
        log(`bench: innodb_log_file_size ${mib(redoLog.beforeBytes)} -> ${mib(redoLog.appliedBytes)} for the run (${redoLog.resizeSeconds.toFixed(1)} s; restored at the end)`);
      }
    }
    if (bench.pool) environment.mysql = await mysqlSettings(bench.pool);
    const queue = [...scenarios];
    while (queue.length > 0 && !interrupted) {
      const name = queue.shift()!;
      log(`> ${name}`);
      let produced: Row[];
      try {
        produced = await runScenario(bench, name, queue);
      } catch (err) {
        const row = newRow(name);
        row.failures.push(`crashed: ${err instanceof Error ? err.message : String(err)}`);
        produced = [row];
      }
      // The drain master stream (hundreds of MB) would distort Redis memory in later scenarios.
      if (bench.master && !queue.some((s) => s.includes("drain"))) {
        for (const k of bench.master.keys) await bench.redis.unlink(k);
        bench.master = undefined;
      }
      const died = bench.gatewayExit();
      if (died !== undefined) {
        // Blame the scenario it died in, and give the next ones a gateway again.
        for (const row of produced) row.failures.push(`the gateway exited during it (${died})`);
        log(`bench: restarting the gateway`);
        await bench.restartGateway();
      }
      for (const row of produced) {
        bench.results.set(row.scenario, row);
        rows.push(row);
        log(summaryLine(row));
        const i = queue.indexOf(row.scenario as ScenarioName);
        if (i >= 0) queue.splice(i, 1); // ran together with another
      }
    }
  } catch (err) {
    fatal = err instanceof Error ? err.message : String(err);
    log(`bench: ${fatal}`);
  } finally {
    if (!interrupted) {
      await tearDown(bench, options);
      await ownMysql?.stop();
    }
  }
  if (interrupted) return 130;

  if (bench?.mysqlSettings) environment.mysqlSettingsReapplied = bench.mysqlSettings.reapplied;
  computeRatios(new Map(rows.map((r) => [r.scenario, r])));
  const table = formatTable(rows);
  process.stdout.write("\n" + table + "\n");
  const targets = judgeTargets(new Map(rows.map((r) => [r.scenario, r])));
  if (targets.some((t) => t.met !== undefined)) process.stdout.write("\n" + formatTargets(targets.filter((t) => t.met !== undefined)) + "\n");
  let comparison: FigureChange[] | undefined;
  if (options.compare !== undefined) {
    const earlier = JSON.parse(readFileSync(resolve(options.compare), "utf8")) as ResultsFile;
    comparison = compareRows(earlier.rows, rows);
    process.stdout.write("\n" + formatComparison(comparison, `${options.compare}${earlier.startedAt ? ` (${earlier.startedAt})` : ""}`) + "\n");
  }
  const profiles = bench?.profDir ? summarizeProfiles(bench.profDir) : undefined;
  if (profiles) process.stdout.write("\n" + profiles.text + "\n");

  const failed = rows.filter((r) => r.failures.length > 0);
  const outFile = join(resolve(repoRoot, options.outDir), `${stamp}.json`);
  const report = {
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(" ")}`.trim(),
    ok: fatal === undefined && failed.length === 0,
    fatal,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version },
    environment,
    options: { ...options, serviceEnv: options.serviceEnv },
    table,
    targets,
    comparison,
    rows,
    profiles: profiles?.json,
  };
  writeFileSync(outFile, JSON.stringify(report, null, 2) + "\n");
  process.stdout.write(`\nresults: ${outFile}\n`);
  const curveRow = rows.find((r) => Array.isArray(r.details.curve));
  if (curveRow) {
    const chartFile = outFile.replace(/\.json$/, "-drain-curve.svg");
    writeFileSync(chartFile, curveChart(curveRow.details.curve as CurvePoint[]));
    process.stdout.write(`chart: ${chartFile}\n`);
  }
  if (fatal !== undefined) return 1;
  if (rows.length === 0) return 1;
  return failed.length > 0 || comparison?.some((c) => c.regression) ? 1 : 0;
}

/** The drain curve as a chart: events/s against millions of rows, with the 0.7x-of-empty target. */
function curveChart(curve: readonly CurvePoint[]): string {
  const first = curveEnds(curve)?.first;
  return lineChartSvg({
    title: "drain-curve: one worker's drain rate as the events table grows",
    xLabel: "rows in events when the drain started (millions)",
    yLabel: "events/s",
    points: curve.map((p) => ({ x: p.rows / 1e6, y: p.eventsPerSec })),
    ...(first !== undefined && { reference: { y: first * 0.7, label: "0.7x the empty-table rate (target)" } }),
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
