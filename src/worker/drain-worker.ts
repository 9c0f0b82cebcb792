import type { RedisClient } from "../stream/redis-client.js";
import type { Pool } from "mysql2/promise";
import type { WorkerConfig } from "../config.js";
import type { Logger } from "../logger.js";
import { withTransaction } from "../store/transaction.js";
import { PoisonEntryError } from "../stream/stream-entry.js";
import { applyBatch, type ApplyResult } from "./apply-batch.js";
import { createBackOff, sleep } from "./back-off.js";
import type { DrainObserver } from "./drain-observer.js";
import { createDrainStats, type DrainStats } from "./drain-stats.js";
import { toDeadLetterRow } from "./dead-letter-row.js";
import { expandEntry, uniqueEvents, type ExpandedEntry, type ExpandedEvent } from "./expand-entry.js";
import { formatEventInserts, type EventInserts } from "../store/events-repo.js";
import { createGameRulesCache } from "./game-rules-cache.js";
import { classifyMysqlError, type MysqlErrorKind } from "../store/mysql-errors.js";
import { storeShardOf } from "../store/store-shard.js";
import { createShardLeases } from "./shard-leases.js";
import { createStreamConsumer, type DeadLetterOut, type HeldEntry } from "./stream-consumer.js";

/** What a hook learns about the transaction it runs in or after. */
export interface DrainHookInfo {
  /** Stream entry ids the transaction covers. */
  entryIds: string[];
  /** Players whose rows the transaction writes. */
  userIds: string[];
  eventsStored: number;
}

/**
 * Test seams at the two moments a crash matters. A hook that throws aborts the
 * batch as a crash would at that point: before commit the transaction rolls
 * back, after commit nothing is acknowledged; either way the entries stay
 * pending for a later claim.
 */
export interface DrainWorkerHooks {
  /** Inside the transaction, after every write, before COMMIT. */
  beforeCommit?: (info: DrainHookInfo) => Promise<void>;
  /** After COMMIT, before the entries are acknowledged. */
  afterCommit?: (info: DrainHookInfo) => Promise<void>;
}

/** Options of {@link createDrainWorker}. */
export interface DrainWorkerOptions {
  /**
   * A Redis client of this worker's own: XREADGROUP BLOCK holds its connection.
   * Create it with `createRedisClient({ url, name, commandTimeoutMs: undefined })`.
   */
  redis: RedisClient;
  /** MySQL pool (see `createMysqlPool`). */
  pool: Pool;
  /** STREAM_PREFIX. */
  prefix: string;
  /** Number of shard streams. */
  shards: number;
  config: WorkerConfig;
  logger: Logger;
  /** Told about every commit and dead letter (metrics). */
  observer?: DrainObserver;
  hooks?: DrainWorkerHooks;
}

/** A running drain loop. */
export interface DrainWorker {
  /** Starts the loop; returns at once. Calling it twice does nothing. */
  start(): void;
  /**
   * Stops reading, finishes the batch in hand (commit and acknowledge), and
   * resolves when the loop has ended. A batch waiting for MySQL to come back is
   * left pending instead: another worker claims it.
   */
  stop(): Promise<void>;
  /** Live counters. */
  readonly stats: Readonly<DrainStats>;
  /** The shards this worker holds the lease of now. */
  heldShards(): number[];
}

type Good = { held: HeldEntry; expanded: ExpandedEntry };

/** The events of all the goods of a read and their INSERT statements, built ahead. */
type Write = { events: ExpandedEvent[]; inserts: EventInserts };

/** One read sorted and decoded (and, when read ahead, its write built). */
type Prepared = { goods: Good[]; dead: DeadLetterOut[]; gone: HeldEntry[]; write?: Write };

/** A read and, when decoding went through, its sorted form. */
type ReadAhead = { entries: HeldEntry[]; prepared?: Prepared };

type Outcome =
  | { kind: "committed"; result: ApplyResult; seconds: number }
  | { kind: "abandoned" }
  | { kind: "failed"; error: unknown; errorKind: MysqlErrorKind };

const maxConflictRetries = 20;

class HookAbortError extends Error {
  override name = "HookAbortError";
}

/**
 * The worker: drains the shard streams into MySQL, one transaction per read, and
 * acknowledges entries only after their transaction committed.
 *
 * - New entries come from one blocking XREADGROUP over all shards.
 * - Entries idle longer than `claimIdleMs` (a dead worker's, or ones this worker
 *   failed on) are claimed with XAUTOCLAIM; on start, entries left pending under
 *   this consumer name are taken back at once.
 * - An entry that cannot be decoded or validated, or whose rows MySQL refuses,
 *   or that was delivered more than `maxAttempts` times, goes to the dead
 *   letters (stream and table); the other entries of its read are stored anyway.
 * - Deadlocks and races are retried at once; while MySQL is unreachable the
 *   worker holds its batch and retries with capped back-off, losing nothing.
 */
export function createDrainWorker(options: DrainWorkerOptions): DrainWorker {
  const { redis, pool, prefix, shards, config, observer, hooks = {} } = options;
  const log = options.logger.child({ component: "drain-worker", consumer: config.consumerName });
  const stats = createDrainStats();
  const consumer = createStreamConsumer({
    redis,
    prefix,
    shards,
    consumerName: config.consumerName,
    readCount: config.readCount,
    blockMs: config.blockMs,
    claimIdleMs: config.claimIdleMs,
  });
  const leases = createShardLeases({
    redis,
    prefix,
    shards,
    workerId: config.consumerName,
    ttlMs: config.leaseTtlMs,
    stallMs: config.claimIdleMs,
    log,
  });
  const leaseEveryMs = Math.max(Math.floor(config.leaseTtlMs / 3), 30);
  const rulesCache = createGameRulesCache({ pool, ttlMs: config.gamesCacheMs });
  const mysqlBackOff = createBackOff({ initialMs: 100, maxMs: 5000 });
  const redisBackOff = createBackOff({ initialMs: 100, maxMs: 5000 });
  const claimEveryMs = Math.min(Math.max(Math.floor(config.claimIdleMs / 2), 50), 10_000);
  // Held entries are re-claimed by this consumer well before they look idle.
  const touchEveryMs = Math.max(Math.floor(config.claimIdleMs / 3), 50);
  const abort = new AbortController();
  let stopping = false;
  let running: Promise<void> | undefined;
  // Entries read ahead and not yet processed: kept from looking idle too.
  let readAheadHeld: HeldEntry[] = [];

  async function run(): Promise<void> {
    while (!stopping) {
      try {
        await consumer.ensureGroups();
        break;
      } catch (err) {
        await onRedisError("create the consumer groups", err);
      }
    }
    // Leases are renewed on a timer of their own, so a long batch keeps them.
    const leaseTimer = setInterval(() => void leases.tick().catch((err: unknown) => log.warn({ err: describe(err) }, "lease renewal failed")), leaseEveryMs);
    try {
      await leases.tick().catch(() => {});
      if (!stopping) await recoverOwnPending();
      let nextClaimAt = 0;
      let nextShedAt = Date.now() + leaseEveryMs;
      // The next read, taken (and decoded) while the previous transaction ran.
      let ahead: ReadAhead | undefined;
      while (!stopping) {
        try {
          // Short of its share (it joined, and another worker still holds the
          // shards): take them as soon as they are free rather than at the next
          // lease tick; a join used to leave the new worker idle for up to two
          // lease periods. Safe with a read ahead: that read names its shards.
          if (leases.short()) await leases.acquire();
          if (ahead === undefined) {
            if (Date.now() >= nextShedAt) {
              // Between batches, with nothing read ahead: the only safe moment to hand a shard over.
              await leases.shed();
              nextShedAt = Date.now() + leaseEveryMs;
            }
            if (Date.now() >= nextClaimAt) {
              await claimStale();
              nextClaimAt = Date.now() + claimEveryMs;
            }
          }
          const batch: ReadAhead = ahead ?? { entries: await consumer.readNew(leases.held()) };
          ahead = undefined;
          readAheadHeld = [];
          redisBackOff.reset();
          if (batch.entries.length > 0) {
            // A worker joined: shed right after this batch, not at the next
            // shed period, so it gets its share within a batch. One read of the
            // workers set per batch; a failure just leaves it to the period.
            if (leases.held().length > 1 && (await leases.surplus().catch(() => 0)) > 0) nextShedAt = 0;
            // No read-ahead when a shed or a claim is due: they run between batches.
            const readAhead = Date.now() < nextShedAt && Date.now() < nextClaimAt;
            ahead = await processEntries(batch.entries, batch.prepared, readAhead);
          }
        } catch (err) {
          ahead = undefined;
          readAheadHeld = [];
          await onRedisError("read or claim stream entries", err);
        }
      }
      // A read taken ahead is finished like the batch in hand, unless MySQL is
      // away (then it stays pending for a claim, as the batch in hand does).
      if (ahead !== undefined && stats.mysqlAvailable) {
        await processEntries(ahead.entries, ahead.prepared, false).catch((err: unknown) =>
          log.warn({ err: describe(err) }, "could not finish the batch read ahead; it stays pending"),
        );
      }
      readAheadHeld = [];
    } finally {
      clearInterval(leaseTimer);
      await leases.releaseAll().catch(() => {});
    }
  }

  async function onRedisError(what: string, err: unknown): Promise<void> {
    if (stopping) return;
    const message = err instanceof Error ? err.message : String(err);
    // The group vanished (the stream was deleted): make it again.
    if (message.startsWith("NOGROUP")) {
      try {
        await consumer.ensureGroups();
        return;
      } catch {
        // fall through to the back-off
      }
    }
    const delay = redisBackOff.next();
    log.warn({ err: message, retryInMs: delay }, `could not ${what}; retrying`);
    await sleep(delay, abort.signal);
  }

  // Entries delivered before are taken back one at a time: a claim counts a
  // delivery, and a worker that crashes on one entry must not use up the
  // attempts of a whole page of healthy ones (WORKER_MAX_ATTEMPTS).
  async function recoverOwnPending(): Promise<void> {
    // Only held shards: another worker owns the rest and claims them in order.
    for (const shard of leases.held()) {
      if (stopping) break;
      let after = "";
      while (!stopping) {
        try {
          const page = await consumer.readOwnPending(shard, after, 1);
          if (page.lastId === undefined) break;
          after = page.lastId;
          if (page.entries.length > 0) {
            log.info({ shard, entry: page.entries[0]!.id }, "recovering an entry this consumer left pending");
            await processEntries(page.entries);
          }
        } catch (err) {
          await onRedisError("read this consumer's pending entries", err);
        }
      }
    }
  }

  async function claimStale(): Promise<void> {
    for (const shard of leases.held()) {
      if (stopping) break;
      // A bounded number per round, so new entries are not starved.
      for (let n = 0; n < config.readCount && !stopping; n++) {
        const entries = await consumer.claimStale(shard, 1);
        if (entries.length === 0) break;
        log.info({ shard, entry: entries[0]!.id }, "claimed an entry idle too long");
        await processEntries(entries);
      }
    }
  }

  /**
   * Stores one read. With `readAhead`, the next read (non-blocking) is taken and
   * decoded while this one's transaction runs, and returned: transactions still
   * run one at a time in read order (per-shard order holds), and each read is
   * acknowledged only after its own commit.
   */
  async function processEntries(entries: HeldEntry[], prepared?: Prepared, readAhead = false): Promise<ReadAhead | undefined> {
    const batch = prepared ?? prepare(entries);
    leases.busy([...new Set(entries.map((e) => e.shard))]);
    let next: Promise<ReadAhead | undefined> | undefined;
    try {
      if (readAhead && batch.goods.length > 0) next = readNext();
      await processPrepared(batch);
    } finally {
      leases.busy(undefined);
    }
    return next === undefined ? undefined : await next;
  }

  // Never rejects: a failed read-ahead is just no read-ahead (the next blocking
  // read reports Redis errors), and a decoding failure is raised again when the
  // entries are processed in the normal way.
  async function readNext(): Promise<ReadAhead | undefined> {
    try {
      const entries = await consumer.readNew(leases.held(), false);
      if (entries.length === 0) return undefined;
      readAheadHeld = entries;
      try {
        return { entries, prepared: await prepareInterleaved(entries) };
      } catch {
        return { entries };
      }
    } catch {
      return undefined;
    }
  }

  /** Sorts a read into entries to store, dead letters and entries gone; decodes the first. */
  function prepare(entries: HeldEntry[]): Prepared {
    const out: Prepared = { goods: [], dead: [], gone: [] };
    for (const held of entries) sortInto(out, held);
    stats.entriesRead += entries.length;
    return out;
  }

  // The same, yielding to the event loop every few entries, so MySQL's answers
  // are handled (and the next statement sent) while the read ahead is decoded;
  // and with the INSERT statements of its events built, which would otherwise
  // be JavaScript inside the next transaction. Only unsharded: a sharded store
  // splits the read into per-shard transactions with events of their own.
  async function prepareInterleaved(entries: HeldEntry[]): Promise<Prepared> {
    const out: Prepared = { goods: [], dead: [], gone: [] };
    for (let i = 0; i < entries.length; i++) {
      if (i > 0 && i % 8 === 0) await yieldToLoop();
      sortInto(out, entries[i]!);
    }
    stats.entriesRead += entries.length;
    if (config.storeShards <= 1 && out.goods.length > 0) {
      const events = uniqueEvents(out.goods.map((g) => g.expanded));
      out.write = { events, inserts: await formatEventInserts(events, { pause: yieldToLoop }) };
    }
    return out;
  }

  function sortInto(out: Prepared, held: HeldEntry): void {
    if (held.fields === null) {
      out.gone.push(held);
    } else if (held.deliveries > config.maxAttempts) {
      out.dead.push({ entry: held, error: `delivered ${held.deliveries} times without being stored (max ${config.maxAttempts})` });
    } else {
      try {
        out.goods.push({ held, expanded: expandEntry(held.fields) });
      } catch (err) {
        if (!(err instanceof PoisonEntryError)) throw err;
        out.dead.push({ entry: held, error: `poison entry: ${err.message}` });
      }
    }
  }

  async function processPrepared({ goods, dead, gone, write }: Prepared): Promise<void> {
    if (config.storeShards <= 1) {
      await commitAndSettle(goods, dead, gone, write);
      return;
    }
    // Shard-aware: one transaction per MySQL shard, and the dead letters (an
    // unsharded table) in one of their own, so no transaction spans shards.
    if (dead.length > 0 || gone.length > 0) await commitAndSettle([], dead, gone);
    const byShard = new Map<number, Good[]>();
    for (const g of goods) {
      const shard = storeShardOf(g.expanded.batch.userId, config.storeShards);
      const list = byShard.get(shard);
      if (list) list.push(g);
      else byShard.set(shard, [g]);
    }
    for (const group of byShard.values()) await commitAndSettle(group, [], []);
  }

  /** Stores `goods` (with `write`, their events built ahead), records `dead`, then acknowledges all three lists. */
  async function commitAndSettle(goods: Good[], dead: DeadLetterOut[], gone: HeldEntry[], write?: Write): Promise<void> {
    const held = [...goods.map((g) => g.held), ...dead.map((d) => d.entry), ...gone];
    if (goods.length === 0 && dead.length === 0) {
      await settle(held, []);
      return;
    }
    const outcome = await applyWithRetry(goods, dead, held, write);
    if (outcome.kind === "abandoned") return;
    if (outcome.kind === "committed") {
      const { result } = outcome;
      stats.transactionsCommitted++;
      stats.eventsStored += result.eventsStored;
      stats.awards += result.awards;
      stats.coinsAwarded += result.coinsAwarded;
      stats.deadLetters += dead.length;
      // Clamped: a gateway clock ahead of this one must not report negative lag.
      const now = Date.now();
      const lagMs = goods.map((g) => Math.max(0, now - g.expanded.batch.receivedAtMs));
      if (lagMs.length > 0) stats.lastCommitLagMs = Math.max(...lagMs);
      observer?.observeCommit({
        entries: held.length,
        eventsStored: result.eventsStored,
        coinsAwarded: result.coinsAwarded,
        commitSeconds: outcome.seconds,
        lagSeconds: lagMs.map((ms) => ms / 1000),
      });
      if (dead.length > 0) observer?.observeDeadLetters(dead.length);
      for (const d of dead) log.warn({ stream: d.entry.stream, entry: d.entry.id, error: d.error }, "entry moved to the dead letters");
      if (hooks.afterCommit) {
        try {
          await hooks.afterCommit({ entryIds: held.map((h) => h.id), userIds: usersOf(goods), eventsStored: result.eventsStored });
        } catch {
          return;
        }
      }
      await settle(held, dead);
      return;
    }

    // A failure that is not about MySQL's availability: find the entry at fault
    // by storing each on its own, so it cannot hold back the others.
    const { error, errorKind } = outcome;
    if (goods.length + dead.length > 1 && goods.length > 0) {
      log.warn({ err: describe(error), entries: held.length }, "batch failed; storing its entries one by one");
      if (dead.length > 0 || gone.length > 0) await commitAndSettle([], dead, gone);
      for (const g of goods) {
        if (stopping) return;
        await commitAndSettle([g], [], []);
      }
      return;
    }
    const only = goods[0];
    if (only !== undefined && errorKind === "data") {
      await commitAndSettle([], [{ entry: only.held, error: `MySQL refused the rows: ${describe(error)}` }], []);
      return;
    }
    // Left pending: a later claim retries it, and maxAttempts ends the retries.
    log.error({ err: describe(error), entries: held.map((h) => h.id) }, "could not store entries; they stay pending");
  }

  async function applyWithRetry(goods: Good[], dead: DeadLetterOut[], held: HeldEntry[], write?: Write): Promise<Outcome> {
    const events = write?.events ?? uniqueEvents(goods.map((g) => g.expanded));
    const eventInserts = write?.inserts;
    const deadLetters = dead.map(toDeadLetterRow);
    const gameIds = new Set(events.map((e) => e.gameId));
    const entryIds = held.map((h) => h.id);
    for (let attempt = 1; ; attempt++) {
      try {
        const started = performance.now();
        const rules = await rulesCache.rulesFor(gameIds);
        const result = await withTransaction(
          pool,
          async (conn) => {
            const r = await applyBatch(conn, { events, eventInserts, rules, deadLetters });
            if (hooks.beforeCommit) {
              try {
                await hooks.beforeCommit({ entryIds, userIds: usersOf(goods), eventsStored: r.eventsStored });
              } catch (err) {
                throw new HookAbortError(describe(err));
              }
            }
            return r;
          },
          { isolation: "READ COMMITTED" },
        );
        if (!stats.mysqlAvailable) log.info("MySQL is back");
        stats.mysqlAvailable = true;
        mysqlBackOff.reset();
        return { kind: "committed", result, seconds: (performance.now() - started) / 1000 };
      } catch (err) {
        if (err instanceof HookAbortError) return { kind: "abandoned" };
        const errorKind = classifyMysqlError(err);
        if (errorKind === "conflict") {
          stats.conflictRetries++;
          // Conflicts clear up within a few attempts; one that does not is
          // treated like any other failure, so it cannot spin forever.
          if (attempt >= maxConflictRetries) return { kind: "failed", error: err, errorKind: "other" };
          await sleep(Math.min(5 * attempt, 200) * (0.5 + Math.random()));
          continue;
        }
        if (errorKind !== "unavailable") return { kind: "failed", error: err, errorKind };
        if (stats.mysqlAvailable) log.warn({ err: describe(err) }, "MySQL is unavailable; holding the batch and retrying");
        stats.mysqlAvailable = false;
        if (stopping || !(await waitHolding(mysqlBackOff.next(), held))) return { kind: "abandoned" };
      }
    }
  }

  // Waits `ms` while keeping `held` from looking idle, so other workers do not
  // claim (and count a delivery of) a batch this worker still owns. False when
  // the worker is stopping.
  async function waitHolding(ms: number, held: HeldEntry[]): Promise<boolean> {
    const until = Date.now() + ms;
    for (;;) {
      const left = until - Date.now();
      if (left <= 0) return true;
      if (!(await sleep(Math.min(left, touchEveryMs), abort.signal))) return false;
      await consumer.touch([...held, ...readAheadHeld]).catch(() => {});
    }
  }

  // Acknowledging can only fail for want of Redis; the commit is done, so a
  // replay would be harmless, but retrying spares the replay.
  async function settle(held: HeldEntry[], dead: DeadLetterOut[]): Promise<void> {
    for (;;) {
      try {
        await consumer.settle(held, dead);
        return;
      } catch (err) {
        if (stopping) {
          log.warn({ err: describe(err) }, "could not acknowledge committed entries; they will be replayed harmlessly");
          return;
        }
        await onRedisError("acknowledge committed entries", err);
      }
    }
  }

  return {
    stats,
    heldShards: () => leases.held(),
    start() {
      if (running) return;
      running = run().catch((err: unknown) => {
        log.error({ err: describe(err) }, "drain loop ended unexpectedly");
      });
    },
    async stop() {
      stopping = true;
      abort.abort();
      await running;
    },
  };
}

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function usersOf(goods: readonly Good[]): string[] {
  return [...new Set(goods.map((g) => g.expanded.batch.userId))];
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
