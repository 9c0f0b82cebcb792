import type { Redis } from "ioredis";
import type { Pool } from "mysql2/promise";
import { resizeBufferPool, resizeRedoLog, scalar, type BufferPoolChange, type RedoLogChange } from "./mysql-tools.js";

/** Options of {@link createMysqlSettingsLease}. */
export interface MysqlSettingsLeaseOptions {
  redis: Redis;
  pool: Pool;
  /** Unique per bench run. */
  runId: string;
  /** `innodb_buffer_pool_size` to hold during the run; undefined = leave it. */
  bufferPoolBytes: number | undefined;
  /** `innodb_log_file_size` to hold during the run; undefined = leave it. */
  redoLogBytes: number | undefined;
  log: (line: string) => void;
  /** How often the run checks its settings and says it is alive. @default 5000 */
  heartbeatMs?: number;
}

/** The server settings one bench run holds. */
export interface MysqlSettingsLease {
  /** Records the server's own values (unless another live run did), applies the run's. */
  start(): Promise<{ bufferPool?: BufferPoolChange; redoLog?: RedoLogChange }>;
  /** Puts the server's own values back, unless another live run still holds the settings. */
  stop(): Promise<void>;
  /** Times a setting was found changed under the run and applied again. */
  readonly reapplied: number;
}

// Shared by every bench run on this Redis: runs on one machine share one MariaDB.
const runsKey = "psbench:shared:mysql-settings:runs";
const originalsKey = "psbench:shared:mysql-settings:originals";

/**
 * The MySQL settings of a bench run, held against other runs on the same
 * server. Several engineers run the bench at once on one MariaDB: a run that
 * put the server's values back when it ended used to do so in the middle of
 * another run's drain, which then measured a 128 MB buffer pool. Now live runs
 * are registered in Redis with a heartbeat; the values from before the first
 * of them are kept there; the last one to end restores them; and every run
 * re-applies its settings when it finds them changed. A run killed with -9
 * stops beating and counts as ended after a few heartbeats.
 */
export function createMysqlSettingsLease(options: MysqlSettingsLeaseOptions): MysqlSettingsLease {
  const { redis, pool, runId, bufferPoolBytes, redoLogBytes, log } = options;
  const heartbeatMs = options.heartbeatMs ?? 5000;
  const staleMs = heartbeatMs * 6;
  let timer: NodeJS.Timeout | undefined;
  let reapplied = 0;
  let checking = false;

  async function liveRuns(): Promise<number> {
    await redis.zremrangebyscore(runsKey, 0, Date.now() - staleMs);
    return redis.zcard(runsKey);
  }

  async function current(): Promise<{ bufferPool: number; redoLog: number }> {
    return {
      bufferPool: await scalar(pool, "SELECT @@GLOBAL.innodb_buffer_pool_size"),
      redoLog: await scalar(pool, "SELECT @@GLOBAL.innodb_log_file_size"),
    };
  }

  // The server rounds the buffer pool to its chunk size.
  const near = (a: number, b: number) => Math.abs(a - b) <= b * 0.05;

  async function check(): Promise<void> {
    if (checking) return;
    checking = true;
    try {
      await redis.zadd(runsKey, Date.now(), runId);
      const now = await current();
      if (bufferPoolBytes !== undefined && !near(now.bufferPool, bufferPoolBytes)) {
        await resizeBufferPool(pool, bufferPoolBytes);
        reapplied++;
        log(`bench: innodb_buffer_pool_size was ${Math.round(now.bufferPool / 2 ** 20)} MB (another run?); set again`);
      }
      if (redoLogBytes !== undefined && now.redoLog !== redoLogBytes) {
        await resizeRedoLog(pool, redoLogBytes);
        reapplied++;
        log(`bench: innodb_log_file_size was ${Math.round(now.redoLog / 2 ** 20)} MB (another run?); set again`);
      }
    } catch (err) {
      log(`bench: could not check the MySQL settings: ${String(err)}`);
    } finally {
      checking = false;
    }
  }

  return {
    get reapplied() {
      return reapplied;
    },
    async start() {
      const alone = (await liveRuns()) === 0;
      await redis.zadd(runsKey, Date.now(), runId);
      const now = await current();
      // With no live run, what the server has now is its own configuration.
      if (alone) await redis.hset(originalsKey, { bufferPool: now.bufferPool, redoLog: now.redoLog });
      else {
        await redis.hsetnx(originalsKey, "bufferPool", now.bufferPool);
        await redis.hsetnx(originalsKey, "redoLog", now.redoLog);
      }
      const changes: { bufferPool?: BufferPoolChange; redoLog?: RedoLogChange } = {};
      if (bufferPoolBytes !== undefined) changes.bufferPool = await resizeBufferPool(pool, bufferPoolBytes);
      if (redoLogBytes !== undefined) changes.redoLog = await resizeRedoLog(pool, redoLogBytes);
      timer = setInterval(() => void check(), heartbeatMs);
      timer.unref();
      return changes;
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      try {
        await redis.zrem(runsKey, runId);
        if ((await liveRuns()) > 0) {
          log("bench: MySQL settings left as they are: another bench run is still using them");
          return;
        }
        const originals = await redis.hgetall(originalsKey);
        await redis.del(originalsKey);
        const bufferPool = Number(originals.bufferPool);
        const redoLog = Number(originals.redoLog);
        // Everything recorded, not only what this run set: an earlier run that
        // set the rest may have left it to this one.
        const now = await current();
        if (bufferPool > 0 && !near(now.bufferPool, bufferPool)) {
          const back = await resizeBufferPool(pool, bufferPool, 30_000);
          log(`bench: innodb_buffer_pool_size restored to ${Math.round(back.appliedBytes / 2 ** 20)} MB`);
        }
        if (redoLog > 0 && now.redoLog !== redoLog) {
          const back = await resizeRedoLog(pool, redoLog);
          log(`bench: innodb_log_file_size restored to ${Math.round(back.appliedBytes / 2 ** 20)} MB`);
        }
      } catch (err) {
        log(`bench: could not restore the MySQL settings: ${String(err)}`);
      }
    },
  };
}
