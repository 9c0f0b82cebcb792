import { Redis } from "ioredis";
import type { Pool } from "mysql2/promise";
import { migrate } from "../../../src/store/migrate.js";
import { createMysqlPool } from "../../../src/store/mysql-pool.js";
import { registerPlayer } from "../../helpers/start-app.js";
import { redisUrl, testMysqlUrl, testStreamPrefix } from "../../helpers/test-env.js";
import type { LoadPlayer } from "./workload.js";

/**
 * A fault scenario's own database and stream prefix (dropped and deleted by the
 * root hooks at the end of the run), with a direct pool and Redis client for the
 * audit: never through the proxies or processes the scenario breaks.
 */
export interface FaultEnv {
  name: string;
  mysqlUrl: string;
  prefix: string;
  pool: Pool;
  /** A client of the scenario's Redis (the shared one unless given). */
  redis: Redis;
  close(): Promise<void>;
}

/** Migrates the scenario's database and opens the audit clients. */
export async function createFaultEnv(name: string, options: { redisUrl?: string } = {}): Promise<FaultEnv> {
  const mysqlUrl = testMysqlUrl(name);
  await migrate(mysqlUrl);
  const pool = createMysqlPool({ url: mysqlUrl });
  // A plain ioredis client (reconnecting, queueing while down), independent of the code under test.
  const redis = new Redis(options.redisUrl ?? redisUrl, { connectionName: `fault-audit-${name}`, commandTimeout: 5000 });
  redis.on("error", () => {});
  await redis.ping();
  return {
    name,
    mysqlUrl,
    prefix: testStreamPrefix(name),
    pool,
    redis,
    async close() {
      redis.disconnect();
      await pool.end().catch(() => {});
    },
  };
}

/** A registered player with its credentials. */
export interface FaultPlayer extends LoadPlayer {
  email: string;
  password: string;
}

/** Registers `n` players through a gateway (REST /auth/register). */
export async function registerPlayers(gatewayUrl: string, n: number): Promise<FaultPlayer[]> {
  const players: FaultPlayer[] = [];
  for (let i = 0; i < n; i++) {
    const p = await registerPlayer(gatewayUrl);
    players.push({ userId: p.userId, accessToken: p.accessToken, email: p.email, password: p.password });
  }
  return players;
}

/** A small seeded PRNG (mulberry32), so a run's random kill points can be replayed with FAULT_SEED. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of this run: FAULT_SEED when set, else the clock. */
export function faultSeed(): number {
  const fromEnv = Number(process.env.FAULT_SEED);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : Date.now() % 2 ** 31;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const debugOn = process.env.FAULT_DEBUG === "1";
const debugStarted = Date.now();
/** Progress lines on stderr with FAULT_DEBUG=1, to see where a slow scenario spends its time. */
export function debug(message: string): void {
  if (debugOn) process.stderr.write(`[fault +${((Date.now() - debugStarted) / 1000).toFixed(1)}s] ${message}\n`);
}
