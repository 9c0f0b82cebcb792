import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { Redis } from "ioredis";
import { createPool, type Pool } from "mysql2/promise";
import { loadConfig, type Role } from "../src/config.js";
import { dropDatabase } from "../src/store/mysql-pool.js";
import { streamKey } from "../src/stream/stream-keys.js";
import { freePort, repoRoot, runningChildren, startChild, type Child, type Readiness } from "./lib/child-process.js";
import type { MysqlSettingsLease } from "./lib/mysql-settings-lease.js";
import { mysqlPid } from "./lib/mysql-tools.js";
import { ProcWatch, withDescendants } from "./lib/proc-stats.js";
import { deleteKeysWithPrefix, infoNumber } from "./lib/redis-tools.js";
import type { LoadPlayer } from "./load/job.js";
import { startLoadGenerator, type LoadGenerator } from "./load/load-generator.js";
import type { BenchOptions } from "./options.js";
import type { Row } from "./row.js";
import { benchGames, upsertGames, type BenchGame } from "./setup/games.js";
import { registerPlayers } from "./setup/players.js";
import type { Prefill } from "./setup/prefill.js";

/** Everything the scenarios share: names, clients, the running gateway, results so far. */
export interface Bench {
  options: BenchOptions;
  /** This run's tag: the bench process id. */
  tag: string;
  /** `playsmart_bench_<pid>`. */
  database: string;
  mysqlUrl: string;
  /** `psbench:<pid>`: STREAM_PREFIX of every service process, and of the bench's own keys. */
  prefix: string;
  shards: number;
  /** The service's shard streams. */
  streamKeys: string[];
  /** Logs of child processes. */
  logDir: string;
  /** Where --cpu-prof profiles go. */
  profDir: string | undefined;
  redis: Redis;
  /** A pool on the bench database (after the gateway created it); undefined with --target. */
  pool: Pool | undefined;
  adminToken: string;
  gatewayUrl: string;
  gatewayPid: number | undefined;
  /**
   * How the bench's gateway exited when it was not asked to (undefined while it
   * runs, or with --target); `restartGateway` brings it back.
   */
  gatewayExit(): string | undefined;
  /** Starts a new gateway in place of one that exited (same database, key and players). */
  restartGateway(): Promise<void>;
  load: LoadGenerator;
  players: LoadPlayer[];
  games: BenchGame[];
  redisPid: number | undefined;
  mysqlPid: number | undefined;
  /** Rows measured so far, by scenario. */
  results: Map<string, Row>;
  /** The drain pre-fill, made once and copied for each drain scenario. */
  master: Prefill | undefined;
  /** `--mysql-buffer-pool` and `--mysql-redo-log`, held for the run and given back by {@link tearDown}. */
  mysqlSettings: MysqlSettingsLease | undefined;
  /** Starts `playsmart serve --role <role>` with the bench's environment. */
  startService(name: string, role: Role, env?: Record<string, string>): Promise<Child>;
  /** Starts a bench script (a baseline) under tsx. */
  startScript(name: string, script: string, env: Record<string, string>, ready: (port: number) => Readiness): Promise<Child>;
  /** A watch over `groups` plus the load generator, Redis and MariaDB. */
  watch(groups: Record<string, number[]>): ProcWatch;
}

// Configuration the service reads; stripped from the inherited environment so
// a developer's shell settings cannot leak into the measured processes.
const serviceVariable = /^(PORT|HOST|REDIS_URL|MYSQL_URL|STREAM_|ADMIN_TOKEN|BODY_LIMIT_BYTES|CUSTOMDATA_|JWT_|TLS_|HTTP_|SHUTDOWN_GRACE_MS|GRPC_REFLECTION|LOG_LEVEL|WORKER_|GAMES_CACHE_MS|OTEL_)/;

function baseEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !serviceVariable.test(k)));
}

/** The run's own database and key prefix, from the bench process id. */
export function benchNames(options: BenchOptions): { tag: string; database: string; mysqlUrl: string; prefix: string } {
  const tag = String(process.pid);
  const database = `playsmart_bench_${tag}`;
  return { tag, database, mysqlUrl: `${options.mysqlServerUrl}/${database}`, prefix: `psbench:${tag}` };
}

/**
 * Starts what every scenario needs: the gateway (unless --target), the load
 * process, registered players and games, and the bench's Redis and MySQL clients.
 */
export async function setUp(options: BenchOptions, stamp: string): Promise<Bench> {
  const { tag, database, mysqlUrl, prefix } = benchNames(options);
  const logDir = resolve(repoRoot, options.outDir, `${stamp}-logs`);
  mkdirSync(logDir, { recursive: true });
  const profDir = options.cpuProf ? join(logDir, "profiles") : undefined;
  if (profDir) mkdirSync(profDir, { recursive: true });
  const adminToken = options.adminToken ?? randomBytes(16).toString("hex");
  // One signing key for every gateway process, so tokens verify wherever they land.
  const jwtKey = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();

  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: false });
  redis.on("error", () => {});
  const redisPid = (await infoNumber(redis, "server", "process_id")) || undefined;

  const serviceEnv = (port: number, extra: Record<string, string>): NodeJS.ProcessEnv => ({
    ...baseEnv(),
    PORT: String(port),
    HOST: "127.0.0.1",
    REDIS_URL: options.redisUrl,
    MYSQL_URL: mysqlUrl,
    STREAM_PREFIX: prefix,
    LOG_LEVEL: "warn",
    ADMIN_TOKEN: adminToken,
    JWT_PRIVATE_KEY: jwtKey,
    JWT_KEY_ID: "bench-1",
    // The run lasts longer than the default 15 minutes of a token.
    JWT_ACCESS_TTL_SECONDS: "86400",
    // The per-player limit stays on (its Redis script runs and is measured) but
    // never binds: the ingest scenarios measure capacity, not the limiter, and
    // --quick sends hundreds of batches per second per player. Registering
    // hundreds of players from 127.0.0.1 must not hit the per-IP limit either.
    INGEST_RATE_PER_USER: "1000000",
    INGEST_BURST_PER_USER: "1000000",
    REGISTER_MAX_PER_IP: "1000000",
    ...options.serviceEnv,
    ...extra,
  });
  // The service's own reading of this environment, so the bench follows its
  // defaults (e.g. STREAM_SHARDS) instead of assuming them.
  const shards = loadConfig(serviceEnv(0, {})).streamShards;
  const nodeFlags = (name: string) =>
    // A directory per process: Node writes one file per thread (tsx compiles in a
    // loader thread), named CPU.<date>.<time>.<pid>.<tid>.<seq>; tid 0 is the main thread.
    profDir ? ["--cpu-prof", `--cpu-prof-dir=${join(profDir, name)}`] : [];

  const startService = async (name: string, role: Role, extra: Record<string, string> = {}): Promise<Child> => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    return startChild({
      name,
      args: [...nodeFlags(name), "bin/playsmart.js", "serve", "--role", role],
      env: serviceEnv(port, extra),
      logDir,
      ready: { url, httpPath: "/readyz" },
    });
  };
  const startScript = async (name: string, script: string, env: Record<string, string>, ready: (port: number) => Readiness) => {
    const port = await freePort();
    return startChild({
      name,
      args: [...nodeFlags(name), "--import", "tsx", script],
      env: { ...baseEnv(), PORT: String(port), ...env },
      logDir,
      ready: ready(port),
    });
  };

  let gatewayUrl: string;
  let gatewayPid: number | undefined;
  let gateway: Child | undefined;
  let restarts = 0;
  if (options.target) {
    gatewayUrl = options.target.replace(/\/+$/, "");
    gatewayPid = options.targetPid;
  } else {
    gateway = await startService("gateway", "gateway");
    gatewayUrl = gateway.url;
    gatewayPid = gateway.pid;
  }
  const load = await startLoadGenerator();
  const players = await registerPlayers(gatewayUrl, options.players, `${tag}-${randomBytes(3).toString("hex")}`);
  const games = benchGames(options.games);
  if (!options.target || options.adminToken) await upsertGames(gatewayUrl, adminToken, games);
  const pool = options.target
    ? undefined
    : createPool({ uri: mysqlUrl, connectionLimit: 4, timezone: "Z", dateStrings: true, supportBigNumbers: true, bigNumberStrings: true });
  const dbPid = pool ? await mysqlPid(pool) : undefined;

  const bench: Bench = {
    options,
    tag,
    database,
    mysqlUrl,
    prefix,
    shards,
    streamKeys: Array.from({ length: shards }, (_, s) => streamKey(prefix, s)),
    logDir,
    profDir,
    redis,
    pool,
    adminToken,
    gatewayUrl,
    gatewayPid,
    gatewayExit: () => gateway?.unexpectedExit(),
    async restartGateway() {
      gateway = await startService(`gateway-restart-${++restarts}`, "gateway");
      bench.gatewayUrl = gateway.url;
      bench.gatewayPid = gateway.pid;
    },
    load,
    players,
    games,
    redisPid,
    mysqlPid: dbPid,
    results: new Map(),
    master: undefined,
    mysqlSettings: undefined,
    startService,
    startScript,
    watch(groups) {
      const pids = (pid: number | undefined) => (pid === undefined ? [] : [pid]);
      return new ProcWatch({ ...groups, lg: () => withDescendants(load.pid), redis: pids(redisPid), db: pids(dbPid) });
    },
  };
  return bench;
}

const cleanups = new Set<() => Promise<void>>();

/**
 * Registers clean-up a scenario must run even when the run is interrupted (e.g.
 * stopping its own Redis Cluster); returns the function that unregisters it.
 */
export function onTearDown(fn: () => Promise<void>): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/** Stops every child, then drops the bench database and deletes its Redis keys (unless --keep). */
export async function tearDown(bench: Bench | undefined, options: BenchOptions): Promise<void> {
  // Load first, then the services, then the data: nothing writes after the keys go.
  bench?.load.stop();
  await Promise.all(runningChildren().map((c) => c.stop(10_000).catch(() => null)));
  await bench?.mysqlSettings?.stop();
  for (const fn of [...cleanups]) {
    cleanups.delete(fn);
    await fn().catch((err: unknown) => process.stderr.write(`clean-up failed: ${String(err)}\n`));
  }
  await bench?.pool?.end().catch(() => {});
  const { database, mysqlUrl, prefix } = benchNames(options);
  const redis = bench?.redis ?? new Redis(options.redisUrl, { maxRetriesPerRequest: 1 });
  if (!options.keep) {
    if (!options.target) {
      await dropDatabase(mysqlUrl).catch((err: unknown) => process.stderr.write(`could not drop ${database}: ${String(err)}\n`));
    }
    await deleteKeysWithPrefix(redis, `${prefix}:`).catch(() => 0);
  }
  redis.disconnect();
}

