import type { Logger } from "../logger.js";
import { SpanStatusCode } from "@opentelemetry/api";
import { storeShardOf } from "../store/store-shard.js";
import { spanAttr, tracingActive } from "../tracing/tracer.js";
import type { BatchTransaction, Outcome } from "./batch-transaction.js";
import { startCommitSpan } from "./commit-span.js";
import { userOfDeadLetter } from "./dead-letter-row.js";
import { describeError } from "./describe-error.js";
import { usersOf, type DrainWorkerHooks } from "./drain-hooks.js";
import type { DrainObserver } from "./drain-observer.js";
import type { DrainStats } from "./drain-stats.js";
import type { Good, Prepared, Write } from "./read-preparer.js";
import type { RedisRetry } from "./redis-retry.js";
import type { DeadLetterOut, HeldEntry, StreamConsumer } from "./stream-consumer.js";

/** Options of {@link createBatchSettler}. */
export interface BatchSettlerOptions {
  transaction: BatchTransaction;
  /** Acknowledges committed entries and copies dead letters. */
  consumer: StreamConsumer;
  redisRetry: RedisRetry;
  /** Number of MySQL shards: no transaction spans two. */
  storeShards: number;
  hooks: DrainWorkerHooks;
  stats: DrainStats;
  observer?: DrainObserver;
  log: Logger;
  /** Aborted when the worker stops: entries not stored yet stay pending then. */
  signal: AbortSignal;
}

/** Takes a prepared read through its transactions to the acknowledgement of its entries. */
export interface BatchSettler {
  /**
   * Commits `batch` and then acknowledges its entries: goods stored, dead
   * letters recorded and copied, gone entries just removed. Entries that could
   * not be stored stay pending for a later claim.
   */
  settle(batch: Prepared): Promise<void>;
}

/**
 * A settler: an entry is acknowledged only after its transaction committed,
 * and an entry at fault in a failed batch is found so it cannot hold back the
 * others.
 */
export function createBatchSettler(options: BatchSettlerOptions): BatchSettler {
  const { transaction, consumer, redisRetry, storeShards, hooks, stats, observer, log, signal } = options;

  async function settle({ goods, dead, gone, write }: Prepared): Promise<void> {
    if (storeShards <= 1) {
      await commitAndSettle(goods, dead, gone, write);
      return;
    }
    // Shard-aware: one transaction per MySQL shard, and the dead letters (an
    // unsharded table) in one of their own, so no transaction spans shards.
    if (dead.length > 0 || gone.length > 0) await commitAndSettle([], dead, gone);
    const byShard = new Map<number, Good[]>();
    for (const g of goods) {
      const shard = storeShardOf(g.expanded.batch.userId, storeShards);
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
      await acknowledge(held, []);
      return;
    }
    const span = tracingActive() && goods.length > 0 ? startCommitSpan(goods, held.length) : undefined;
    let outcome: Outcome;
    try {
      outcome = await transaction.apply(goods, dead, held, write);
      span?.setAttribute(spanAttr.outcome, outcome.kind);
      if (outcome.kind === "failed") span?.setStatus({ code: SpanStatusCode.ERROR, message: outcome.errorKind });
      if (outcome.kind === "committed") {
        span?.setAttribute(spanAttr.eventCount, outcome.result.eventsStored);
        await settleCommitted(goods, dead, held, outcome);
      }
    } finally {
      span?.end();
    }
    if (outcome.kind !== "failed") return;

    // A failure that is not about MySQL's availability: find the entry at fault
    // by storing each on its own, so it cannot hold back the others.
    const { error, errorKind } = outcome;
    if (goods.length + dead.length > 1 && goods.length > 0) {
      log.warn({ err: describeError(error), entries: held.length }, "batch failed; storing its entries one by one");
      if (dead.length > 0 || gone.length > 0) await commitAndSettle([], dead, gone);
      for (const g of goods) {
        if (signal.aborted) return;
        await commitAndSettle([g], [], []);
      }
      return;
    }
    const only = goods[0];
    if (only !== undefined && errorKind === "data") {
      await commitAndSettle([], [{ entry: only.held, error: `MySQL refused the rows: ${describeError(error)}` }], []);
      return;
    }
    // Left pending: a later claim retries it, and maxAttempts ends the retries.
    log.error({ err: describeError(error), entries: held.map((h) => h.id) }, "could not store entries; they stay pending");
  }

  /** Counts and reports a commit, then acknowledges its entries. */
  async function settleCommitted(goods: Good[], dead: DeadLetterOut[], held: HeldEntry[], outcome: Extract<Outcome, { kind: "committed" }>): Promise<void> {
    const { result } = outcome;
    stats.transactionsCommitted++;
    stats.eventsStored += result.eventsStored;
    stats.awards += result.awards;
    stats.coinsAwarded += result.coinsAwarded;
    stats.deadLetters += dead.length;
    stats.erasedEventsDropped += outcome.eventsDropped;
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
      eventsDropped: outcome.eventsDropped,
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
    // An erased player's dead letters are acknowledged, not copied.
    const { erased } = outcome;
    await acknowledge(held, erased.size === 0 ? dead : dead.filter((d) => !erased.has(userOfDeadLetter(d) ?? "")));
  }

  // Acknowledging can only fail for want of Redis; the commit is done, so a
  // replay would be harmless, but retrying spares the replay.
  async function acknowledge(held: HeldEntry[], dead: DeadLetterOut[]): Promise<void> {
    for (;;) {
      try {
        await consumer.settle(held, dead);
        return;
      } catch (err) {
        if (signal.aborted) {
          log.warn({ err: describeError(err) }, "could not acknowledge committed entries; they will be replayed harmlessly");
          return;
        }
        await redisRetry.wait("acknowledge committed entries", err);
      }
    }
  }

  return { settle };
}
