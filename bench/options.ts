// long because it is the bench's one option table: every flag with its default, its --quick value and its help text, parsed and checked in one place.
import { totalmem } from "node:os";
import type { EventIdFormat } from "./load/payloads.js";

/** Every scenario, in the order they run. */
export const scenarioOrder = [
  "rest-1",
  "rest-20",
  "baseline-ingest",
  "rest-200",
  "rest-200-paired",
  "rest-200-half",
  "grpc-1",
  "grpc-20",
  "grpc-200",
  "grpc-200-paired",
  "rest-200-traced",
  "connect-json-200",
  "baseline-drain",
  "drain-1w",
  "baseline-drain-2w",
  "drain-2w",
  "drain-2w-paired",
  "drain-1w-erasure",
  "drain-1w-retention",
  "drain-curve",
  "sustained",
  "overload",
  "cluster-shards",
] as const;

/** A scenario name. */
export type ScenarioName = (typeof scenarioOrder)[number];

/**
 * Scenarios run only when named in --scenarios (not by default, nor by --quick):
 * `cluster-shards` starts its own six-node Redis Cluster and drains the
 * pre-fill three times (minutes at the default --drain-events).
 */
export const optInScenarios: ReadonlySet<ScenarioName> = new Set(["cluster-shards"]);

/** The scenarios of a run without --scenarios. */
export const defaultScenarios: readonly ScenarioName[] = scenarioOrder.filter((s) => !optInScenarios.has(s));

/** Scenarios that only need a gateway (the ones `--target` can run). */
export const ingestScenarios: ReadonlySet<ScenarioName> = new Set([
  "rest-1", "rest-20", "baseline-ingest", "rest-200", "rest-200-paired", "rest-200-half", "grpc-1", "grpc-20", "grpc-200", "grpc-200-paired", "connect-json-200",
]);

/** Parsed command line. */
export interface BenchOptions {
  scenarios: ScenarioName[];
  quick: boolean;
  /** Measured time of each ingest scenario, ms. */
  durationMs: number;
  /** Unmeasured load before each ingest scenario, ms. */
  warmupMs: number;
  /** HTTP/1.1 connections (REST, Connect) and concurrent gRPC calls. */
  connections: number;
  /** HTTP/2 sessions the gRPC calls are spread over. */
  grpcSessions: number;
  players: number;
  games: number;
  eventIds: EventIdFormat;
  drainEvents: number;
  drainBatch: number;
  drainUsers: number;
  /** drain-curve: drains until `events` holds this many rows. */
  curveRows: number;
  /** Events erased, or removed by retention, beside the drains of drain-1w-erasure and drain-1w-retention. */
  sideEvents: number;
  /** Give up on a drain after this long, ms. */
  drainTimeoutMs: number;
  /** Shard counts of `cluster-shards` (as many workers as shards each). */
  clusterShards: number[];
  /** Events/s one worker drains, when drain-1w does not run. */
  drainRate: number | undefined;
  sustainedMs: number;
  /**
   * Saturated phase before `sustained` that measures what one worker drains on
   * the grown tables with the gateway under load; the paced phase offers 80% of
   * it. 0 = pace at 80% of drain-1w (fresh tables) instead.
   */
  sustainedCalibrateMs: number;
  /** `events` is grown to this many rows before the soak's calibration (0 = off). */
  sustainedRows: number;
  /**
   * Start a MariaDB server of the bench's own (bench/lib/own-mysql.ts) with
   * the deployment's settings file, instead of using `mysqlServerUrl`.
   */
  ownMysql: boolean;
  /**
   * `innodb_buffer_pool_size`, bytes: the own server's at start, or `SET
   * GLOBAL` on a given server for the run (restored at the end); undefined =
   * leave the given server as it is.
   */
  mysqlBufferPool: number | undefined;
  /** `innodb_log_file_size`, bytes, the same way. */
  mysqlRedoLog: number | undefined;
  /** More options of the own server's command line (`--mysql-option name=value`), to measure a setting. */
  mysqlOptions: string[];
  overloadMs: number;
  /** Batch size of the sustained and overload load. */
  pipelineBatch: number;
  /** Run the services under `node --cpu-prof` and summarise the profiles. */
  cpuProf: boolean;
  /** Extra environment of every service process (`--service-env K=V`). */
  serviceEnv: Record<string, string>;
  redisUrl: string;
  /** MySQL server URL without a database. */
  mysqlServerUrl: string;
  /** A running gateway to load instead of starting one (ingest scenarios only). */
  target: string | undefined;
  targetPid: number | undefined;
  adminToken: string | undefined;
  outDir: string;
  /** An earlier results file to compare this run's figures with (--compare). */
  compare: string | undefined;
  /** Leave the database and Redis keys in place (to inspect them). */
  keep: boolean;
}

export const usage = `npm run bench -- [options]

  --scenarios a,b,...     subset of: ${scenarioOrder.join(", ")}
                          (default: all but ${[...optInScenarios].join(", ")}; prefixes work: rest,grpc,drain)
  --quick                 seconds-long smoke run of every scenario (exit 1 on errors or zero results)
  --duration 10s          measured time of each ingest scenario (quick: 0.6s)
  --warmup 2s             unmeasured load before each ingest scenario, and unmeasured start of
                          each drain scenario (quick: 0.2s)
  --connections 32        HTTP/1.1 connections, or concurrent gRPC calls
  --grpc-sessions 4       HTTP/2 sessions the gRPC calls share
  --players 200           players registered and rotated (quick: 16)
  --event-ids uuid4       client event ids: uuid4 | uuid7 | none (server assigns)
  --drain-events 1000000  events pre-filled for each drain scenario (quick: 12000)
  --drain-batch 20        events per pre-filled stream entry
  --drain-users 10000     players the pre-filled events belong to (quick: 300)
  --rows 20000000         drain-curve: drain fresh pre-fills of --drain-events until the events table
                          holds this many rows, and chart events/s against rows (quick: 3 pre-fills)
  --side-events 1000000   events erased (drain-1w-erasure) or removed by retention (drain-1w-retention)
                          beside a drain (quick: 20000)
  --cluster-shards 1,2,4  cluster-shards: STREAM_SHARDS of each run, with as many workers
  --drain-rate N          events/s of one worker for sustained/overload when drain-1w is not run
  --sustained 10m         sustained pipeline (soak) time (quick: 3s)
  --sustained-rows 5000000  sustained first grows the events table to this many rows (saturated
                          ingest), so capacity and soak are measured past it (quick: 0)
  --sustained-calibrate 30s  saturated drain before sustained, on the grown tables; sustained
                          offers 80% of it, and the same drain after it is reported
                          (0 = 80% of drain-1w instead, no recheck; quick: 1s)
  --own-mysql on|off      start a MariaDB of the bench's own from deploy/mariadb/playsmart.cnf
                          (default on, off with --quick, --mysql-url, $BENCH_MYSQL_URL or --target)
  --mysql-buffer-pool 12G innodb_buffer_pool_size: the own server's at start (default 12G, at most
                          half of RAM), or SET GLOBAL on a given server, restored at the end
                          (default there: leave it; a pool grown online keeps its start-size page hash)
  --mysql-redo-log 4G     innodb_log_file_size the same way (default 4G on the own server)
  --mysql-option K=V      one more mariadbd option of the own server, e.g. innodb_io_capacity=1000 (repeatable)
  --overload 60s          overload time (quick: 2s)
  --cpu-prof              run services under node --cpu-prof; profiles and their summary in the results dir
  --service-env K=V       extra variable for every service process (repeatable)
  --redis-url URL         default $BENCH_REDIS_URL or redis://127.0.0.1:6379
  --mysql-url URL         MySQL server, no database; default $BENCH_MYSQL_URL or mysql://root@127.0.0.1:3306
  --target URL            load a running gateway instead (ingest scenarios only)
  --target-pid PID        its process id, for RSS and CPU
  --admin-token T         its ADMIN_TOKEN, to register the bench games
  --out DIR               results directory (default bench/results)
  --compare FILE          an earlier results JSON: print each figure's change against it, and exit 1
                          when a CPU-per-event figure is more than 15% worse
  --keep                  keep the bench database and Redis keys
`;

/** "10s", "3m", "500ms", "2" (seconds) -> ms. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: ${JSON.stringify(text)} (use e.g. 500ms, 10s, 3m)`);
  const n = Number(m[1]);
  return Math.round(n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "ms" | "s" | "m" | "h"]);
}

/** "12G", "512M", "134217728", "off" -> bytes; the own server's default is 12 GiB, at most half of RAM, a given server's none. */
export function parseBufferPool(text: string | undefined, ownMysql: boolean): number | undefined {
  if (text === undefined) return ownMysql ? Math.min(12 * 2 ** 30, Math.floor(totalmem() / 2 / 2 ** 27) * 2 ** 27) : undefined;
  if (/^(off|none|no|0)$/i.test(text.trim())) return undefined;
  const m = /^(\d+(?:\.\d+)?)([kmgt]?)b?$/i.exec(text.trim());
  if (!m) throw new Error(`--mysql-buffer-pool takes a size (4G, 512M) or "off", got ${JSON.stringify(text)}`);
  const bytes = Math.round(Number(m[1]) * 1024 ** " kmgt".indexOf((m[2] || " ").toLowerCase()));
  if (bytes < 2 ** 27) throw new Error("--mysql-buffer-pool must be at least 128M");
  return bytes;
}

/** "4G", "512M", "off" -> bytes; the own server's default is 4 GiB, a given server's none. */
export function parseRedoLog(text: string | undefined, ownMysql: boolean): number | undefined {
  if (text === undefined) return ownMysql ? 4 * 2 ** 30 : undefined;
  if (/^(off|none|no|0)$/i.test(text.trim())) return undefined;
  const m = /^(\d+(?:\.\d+)?)([kmgt]?)b?$/i.exec(text.trim());
  if (!m) throw new Error(`--mysql-redo-log takes a size (2G, 512M) or "off", got ${JSON.stringify(text)}`);
  const bytes = Math.round(Number(m[1]) * 1024 ** " kmgt".indexOf((m[2] || " ").toLowerCase()));
  if (bytes < 2 ** 24) throw new Error("--mysql-redo-log must be at least 16M");
  return bytes;
}

/** `name=value` pairs -> mariadbd arguments; only the own server takes them. */
export function parseMysqlOptions(pairs: readonly string[], ownMysql: boolean): string[] {
  if (pairs.length > 0 && !ownMysql) throw new Error("--mysql-option needs the bench's own server (--own-mysql on)");
  return pairs.map((kv) => {
    const m = /^([a-z][a-z0-9_-]*)=(\S+)$/i.exec(kv.trim());
    if (!m) throw new Error(`--mysql-option takes name=value, got ${JSON.stringify(kv)}`);
    return `--${m[1]!.replace(/_/g, "-")}=${m[2]}`;
  });
}

function parseScenarios(text: string): ScenarioName[] {
  const wanted = new Set<ScenarioName>();
  for (const part of text.split(",").map((s) => s.trim()).filter(Boolean)) {
    // An exact name is that scenario; anything else is a prefix ("rest", "grpc", "drain").
    const exact = scenarioOrder.find((s) => s === part);
    const matches = exact ? [exact] : scenarioOrder.filter((s) => s.startsWith(part));
    if (matches.length === 0) throw new Error(`unknown scenario ${JSON.stringify(part)}; known: ${scenarioOrder.join(", ")}`);
    for (const m of matches) wanted.add(m);
  }
  return scenarioOrder.filter((s) => wanted.has(s));
}

function parseShardList(text: string): number[] {
  const list = text.split(",").map((s) => s.trim()).filter(Boolean);
  if (list.length === 0 || list.some((s) => !/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 64)) {
    throw new Error("--cluster-shards takes shard counts 1-64, e.g. 1,2,4");
  }
  return list.map(Number);
}

/** Parses the command line (after `--`); throws with a one-line reason on a bad flag. */
export function parseOptions(argv: string[]): BenchOptions {
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) throw new Error(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    const boolean = ["quick", "cpu-prof", "keep", "help"].includes(name);
    const value = eq > 0 ? arg.slice(eq + 1) : boolean ? "true" : argv[++i];
    if (value === undefined) throw new Error(`--${name} needs a value`);
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  const known = new Set(["scenarios", "quick", "duration", "warmup", "connections", "grpc-sessions", "players", "games", "event-ids",
    "drain-events", "drain-batch", "drain-users", "side-events", "rows", "drain-timeout", "drain-rate", "cluster-shards", "sustained", "sustained-rows", "sustained-calibrate", "own-mysql", "mysql-option", "mysql-buffer-pool", "mysql-redo-log", "overload", "pipeline-batch", "cpu-prof",
    "service-env", "redis-url", "mysql-url", "target", "target-pid", "admin-token", "out", "compare", "keep", "help"]);
  for (const name of flags.keys()) if (!known.has(name)) throw new Error(`unknown option --${name}`);
  const one = (name: string) => flags.get(name)?.at(-1);
  const int = (name: string, fallback: number) => {
    const v = one(name);
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`--${name} must be a positive whole number`);
    return Number(v);
  };
  const quick = one("quick") === "true";
  const eventIds = (one("event-ids") ?? "uuid4") as EventIdFormat;
  if (!["uuid4", "uuid7", "none"].includes(eventIds)) throw new Error("--event-ids must be uuid4, uuid7 or none");
  const serviceEnv: Record<string, string> = {};
  for (const kv of flags.get("service-env") ?? []) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw new Error(`--service-env takes KEY=VALUE, got ${JSON.stringify(kv)}`);
    serviceEnv[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const drainRate = one("drain-rate");
  const ownMysqlFlag = one("own-mysql");
  if (ownMysqlFlag !== undefined && !["on", "off"].includes(ownMysqlFlag)) throw new Error("--own-mysql takes on or off");
  const givenMysql = one("mysql-url") ?? process.env.BENCH_MYSQL_URL;
  const ownMysql = ownMysqlFlag === undefined ? !quick && givenMysql === undefined && one("target") === undefined : ownMysqlFlag === "on";
  const targetPid = one("target-pid");
  return {
    scenarios: parseScenarios(one("scenarios") ?? defaultScenarios.join(",")),
    quick,
    durationMs: parseDuration(one("duration") ?? (quick ? "600ms" : "10s")),
    warmupMs: parseDuration(one("warmup") ?? (quick ? "200ms" : "2s")),
    connections: int("connections", 32),
    grpcSessions: int("grpc-sessions", 4),
    players: int("players", quick ? 16 : 200),
    games: int("games", 4),
    eventIds,
    drainEvents: int("drain-events", quick ? 12_000 : 1_000_000),
    drainBatch: int("drain-batch", 20),
    drainUsers: int("drain-users", quick ? 300 : 10_000),
    sideEvents: int("side-events", quick ? 20_000 : 1_000_000),
    curveRows: int("rows", quick ? 36_000 : 20_000_000),
    drainTimeoutMs: parseDuration(one("drain-timeout") ?? "20m"),
    clusterShards: parseShardList(one("cluster-shards") ?? "1,2,4"),
    drainRate: drainRate === undefined ? undefined : int("drain-rate", 1),
    sustainedMs: parseDuration(one("sustained") ?? (quick ? "3s" : "10m")),
    sustainedRows: int("sustained-rows", quick ? 0 : 5_000_000),
    sustainedCalibrateMs: one("sustained-calibrate") === "0" ? 0 : parseDuration(one("sustained-calibrate") ?? (quick ? "1s" : "30s")),
    ownMysql,
    mysqlBufferPool: parseBufferPool(one("mysql-buffer-pool"), ownMysql),
    mysqlRedoLog: parseRedoLog(one("mysql-redo-log"), ownMysql),
    mysqlOptions: parseMysqlOptions(flags.get("mysql-option") ?? [], ownMysql),
    overloadMs: parseDuration(one("overload") ?? (quick ? "2s" : "60s")),
    pipelineBatch: int("pipeline-batch", 20),
    cpuProf: one("cpu-prof") === "true",
    serviceEnv,
    redisUrl: one("redis-url") ?? process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379",
    mysqlServerUrl: (givenMysql ?? "mysql://root@127.0.0.1:3306").replace(/\/+$/, ""),
    target: one("target"),
    targetPid: targetPid === undefined ? undefined : int("target-pid", 1),
    adminToken: one("admin-token"),
    outDir: one("out") ?? "bench/results",
    compare: one("compare"),
    keep: one("keep") === "true",
  };
}
