/**
 * Where one drain transaction's time goes. Runs the worker's own steps in its
 * order — XREADGROUP, `expandEntry` (decode and re-validate),
 * `uniqueEvents`, the coin rules, `applyBatch` in `withTransaction` (READ
 * COMMITTED), the settle (XACK + XDEL) — on a pre-filled stream, with a
 * connection that times every statement in two parts: client-side formatting
 * (mysql2 escapes each `?` value into the SQL text) and the server round trip.
 * The loop is serial like the worker's, so the per-read sum is its transaction
 * time and events/s its ceiling. Not part of `npm run bench`; run it alone on
 * a quiet machine:
 *
 *   node --import tsx bench/tools/drain-breakdown.ts [--events 200000] [--batch 20] [--read 100] [--users 10000] [--procs 1]
 *
 * `--read 400` matches one worker on the default 4 shards (8,000 events per
 * transaction), `--read 200 --procs 2` two workers (2 shards each).
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import type { Pool, PoolConnection } from "mysql2/promise";
import { createGames } from "../../src/games/games.js";
import { migrate } from "../../src/store/migrate.js";
import { createMysqlPool, dropDatabase, ensureDatabase } from "../../src/store/mysql-pool.js";
import { withTransaction } from "../../src/store/transaction.js";
import { applyBatch } from "../../src/worker/apply-batch.js";
import { expandEntry, uniqueEvents } from "../../src/worker/expand-entry.js";
import { createGameRulesCache } from "../../src/worker/game-rules-cache.js";
import { streamKey } from "../../src/stream/stream-keys.js";
import { deleteKeysWithPrefix } from "../lib/redis-tools.js";
import { benchGames } from "../setup/games.js";
import { prefillStream } from "../setup/prefill.js";

const args = new Map<string, string>();
for (let i = 2; i + 1 < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1]!);
const events = Number(args.get("events") ?? 200_000);
const batch = Number(args.get("batch") ?? 20);
const readCount = Number(args.get("read") ?? 100);
const users = Number(args.get("users") ?? 10_000);
const mysqlServer = (process.env.BENCH_MYSQL_URL ?? "mysql://root@127.0.0.1:3306").replace(/\/+$/, "");
const mysqlUrl = `${mysqlServer}/playsmart_breakdown_${process.pid}`;
const prefix = `psbreak:${process.pid}`;

const totals = new Map<string, number>();
const add = (step: string, ms: number) => totals.set(step, (totals.get(step) ?? 0) + ms);

/** A statement's step name: verb and table, telling the wallet lock from the balance update. */
function stepOf(sql: string): string {
  const s = sql.trim().replace(/\s+/g, " ");
  if (/^INSERT INTO wallets/i.test(s)) return /balance = balance$/i.test(s) ? "sql: lock wallets" : "sql: add to balances";
  const m = /^(\w+)(?: INTO| .*? FROM)? `?(\w+)/i.exec(s);
  return m ? `sql: ${m[1]!.toUpperCase()} ${m[2]}` : `sql: ${s.slice(0, 24)}`;
}

// Times query() in two parts, and commit(); everything else passes through.
function timed(conn: PoolConnection): PoolConnection {
  return new Proxy(conn, {
    get(target, prop, receiver) {
      if (prop === "query") {
        return async (sql: string, values?: unknown) => {
          const t0 = performance.now();
          const text = values === undefined ? sql : target.format(sql, values as unknown[]);
          const t1 = performance.now();
          try {
            return await target.query(text);
          } finally {
            add("js: format SQL (escape values)", t1 - t0);
            add(stepOf(sql), performance.now() - t1);
          }
        };
      }
      if (prop === "execute") {
        // Prepared statements (the event and ledger inserts): values travel in
        // the binary packet, so there is no formatting step to split off.
        return async (sql: string, values?: unknown) => {
          const t0 = performance.now();
          try {
            return await target.execute(sql, values as never);
          } finally {
            add(`${stepOf(sql)} (prepared)`, performance.now() - t0);
          }
        };
      }
      if (prop === "commit" || prop === "beginTransaction") {
        return async () => {
          const t0 = performance.now();
          try {
            return await target[prop]();
          } finally {
            add(prop === "commit" ? "sql: COMMIT" : "sql: BEGIN", performance.now() - t0);
          }
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

type Reply = Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;

/**
 * The serial drain loop of one consumer until the stream has no new entries;
 * prints its table and returns the events it stored.
 */
async function drainLoop(pool: Pool, redis: Redis, key: string, consumer: string): Promise<number> {
  const rules = createGameRulesCache({ pool, ttlMs: 60_000 });
  const timedPool = new Proxy(pool, {
    get: (target, prop, receiver) =>
      prop === "getConnection" ? async () => timed(await target.getConnection()) : Reflect.get(target, prop, receiver),
  }) as Pool;
  let reads = 0;
  let stored = 0;
  const started = performance.now();
  for (;;) {
    let t = performance.now();
    const reply = (await redis.xreadgroupBuffer("GROUP", "workers", consumer, "COUNT", readCount, "STREAMS", key, ">")) as Reply;
    const held = reply?.[0]?.[1] ?? [];
    add("redis: XREADGROUP", performance.now() - t);
    if (held.length === 0) break;
    t = performance.now();
    const expanded = held.map(([, fields]) => expandEntry(fields));
    add("js: expandEntry (decode + re-validate)", performance.now() - t);
    t = performance.now();
    const unique = uniqueEvents(expanded);
    add("js: uniqueEvents", performance.now() - t);
    t = performance.now();
    const gameRules = await rules.rulesFor(new Set(unique.map((e) => e.gameId)));
    add("js: coin rules (cached)", performance.now() - t);
    t = performance.now();
    const before = new Map(totals);
    const result = await withTransaction(timedPool, (conn) => applyBatch(conn, { events: unique, rules: gameRules, deadLetters: [] }), { isolation: "READ COMMITTED" });
    const measured = [...totals].reduce((sum, [k, v]) => sum + v - (before.get(k) ?? 0), 0);
    add("js: applyBatch own work (sort, dedupe keys, coins)", performance.now() - t - measured);
    stored += result.eventsStored;
    t = performance.now();
    const ids = held.map(([id]) => id);
    await redis.multi().xack(key, "workers", ...ids).xdel(key, ...ids).exec();
    add("redis: XACK + XDEL", performance.now() - t);
    reads++;
  }
  const wall = performance.now() - started;
  const sum = [...totals.values()].reduce((a, b) => a + b, 0);
  let text =
    `[${consumer}] ${stored.toLocaleString("en-US")} events in ${reads} reads of ${readCount} entries (${readCount * batch} events): ` +
    `${Math.round(stored / (wall / 1000)).toLocaleString("en-US")} events/s, ${(wall / Math.max(1, reads)).toFixed(1)} ms per read\n\n` +
    "step                                             ms/read   share  µs/event\n";
  for (const [step, ms] of [...totals].sort((a, b) => b[1] - a[1])) {
    text += `${step.padEnd(48)} ${(ms / reads).toFixed(2).padStart(7)}  ${((ms / sum) * 100).toFixed(1).padStart(5)}%  ${((ms * 1000) / Math.max(1, stored)).toFixed(2).padStart(7)}\n`;
  }
  process.stdout.write(text + "\n");
  return stored;
}

// With --procs N, N-1 children (this file, forked) drain the same stream side
// by side with the parent, each with its own consumer name and connection, so
// per-statement times at 1 and at N concurrent drains can be compared.
const childIndex = process.env.BREAKDOWN_CHILD;

async function child(): Promise<void> {
  const pool = createMysqlPool({ url: process.env.BREAKDOWN_MYSQL_URL! });
  const redis = new Redis(process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379");
  // Warm the connection, then wait for the parent's start signal.
  await pool.query("SELECT 1");
  const go = new Promise<void>((resolve) => process.once("message", () => resolve()));
  process.send!("ready");
  await go;
  const stored = await drainLoop(pool, redis, process.env.BREAKDOWN_KEY!, `breakdown-${childIndex}`);
  process.send!({ stored });
  await pool.end();
  redis.disconnect();
}

async function main(): Promise<void> {
  const procs = Number(args.get("procs") ?? 1);
  await ensureDatabase(mysqlUrl);
  await migrate(mysqlUrl);
  const pool = createMysqlPool({ url: mysqlUrl });
  const redis = new Redis(process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379");
  try {
    const games = benchGames(4);
    const gameRepo = createGames({ pool });
    for (const g of games) await gameRepo.upsert({ gameId: g.gameId, coinsEnabled: true, coinsPerLevel: BigInt(g.coinsPerLevel), dailyCoinCap: 0n });
    const fill = await prefillStream(redis, {
      keyOfShard: (s) => streamKey(prefix, s), shards: 1, events, batchSize: batch, users, gameIds: games.map((g) => g.gameId), eventIds: "uuid4",
    });
    // Plain XREADGROUP / XACK + XDEL, the commands the worker's consumer sends
    // (its module's API is being reworked; the Redis share is small either way).
    const key = streamKey(prefix, 0);
    await redis.xgroup("CREATE", key, "workers", "0");
    await pool.query("SELECT 1");

    const children = await Promise.all(
      Array.from({ length: procs - 1 }, async (_, i) => {
        const c = fork(fileURLToPath(import.meta.url), process.argv.slice(2), {
          execArgv: ["--import", "tsx"],
          env: { ...process.env, BREAKDOWN_CHILD: String(i + 2), BREAKDOWN_MYSQL_URL: mysqlUrl, BREAKDOWN_KEY: key },
        });
        await new Promise<void>((resolve, reject) => {
          c.once("message", () => resolve());
          c.once("exit", (code) => reject(new Error(`breakdown child exited with ${code}`)));
        });
        return c;
      }),
    );
    const started = performance.now();
    const childStored = children.map(
      (c) => new Promise<number>((resolve) => c.on("message", (m: { stored?: number }) => m.stored !== undefined && resolve(m.stored))),
    );
    for (const c of children) c.send("go");
    let stored = await drainLoop(pool, redis, key, "breakdown-1");
    for (const n of await Promise.all(childStored)) stored += n;
    const wall = performance.now() - started;
    if (procs > 1) process.stdout.write(`${procs} drains together: ${Math.round(stored / (wall / 1000)).toLocaleString("en-US")} events/s\n`);
    if (fill.events !== stored) process.stdout.write(`\nWARNING: stored ${stored} of ${fill.events} events\n`);
  } finally {
    await pool.end();
    await deleteKeysWithPrefix(redis, `${prefix}:`);
    redis.disconnect();
    await dropDatabase(mysqlUrl);
  }
}

await (childIndex === undefined ? main() : child());
