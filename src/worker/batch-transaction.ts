import type { Pool } from "mysql2/promise";
import type { Logger } from "../logger.js";
import { selectErasedAmong } from "../store/erasure-repo.js";
import { classifyMysqlError, type MysqlErrorKind } from "../store/mysql-errors.js";
import { withTransaction } from "../store/transaction.js";
import { applyBatch, type ApplyResult } from "./apply-batch.js";
import { createBackOff, sleep } from "./back-off.js";
import { toDeadLetterRow } from "./dead-letter-row.js";
import { describeError } from "./describe-error.js";
import { usersOf, type DrainWorkerHooks } from "./drain-hooks.js";
import type { DrainStats } from "./drain-stats.js";
import { uniqueEvents } from "./expand-entry.js";
import { createGameRulesCache } from "./game-rules-cache.js";
import type { Good, Write } from "./read-preparer.js";
import type { DeadLetterOut, HeldEntry, StreamConsumer } from "./stream-consumer.js";

/** How a batch's transaction ended, after every retry it was worth. */
export type Outcome =
  | {
      kind: "committed";
      result: ApplyResult;
      seconds: number;
      /** Players of the batch found erased: their events and dead letters were dropped. */
      erased: ReadonlySet<string>;
      /** Events of erased players dropped. */
      eventsDropped: number;
    }
  | { kind: "abandoned" }
  | { kind: "failed"; error: unknown; errorKind: MysqlErrorKind };

/** Options of {@link createBatchTransaction}. */
export interface BatchTransactionOptions {
  pool: Pool;
  /** How long a game's coin rules are reused, in ms (WORKER_GAMES_CACHE_MS). */
  gamesCacheMs: number;
  /** Retention removes old events: coin events are checked against the ledger (apply-batch.ts). */
  eventsMayBeRemoved?: boolean;
  /** Idle time after which another worker claims an entry: held ones are touched well before. */
  claimIdleMs: number;
  /** Touches the entries held while MySQL is away. */
  consumer: StreamConsumer;
  /** Entries held beyond the batch (read ahead), touched with it. */
  heldAhead: () => readonly HeldEntry[];
  hooks: DrainWorkerHooks;
  stats: DrainStats;
  log: Logger;
  /** Aborted when the worker stops: a batch waiting for MySQL is abandoned then. */
  signal: AbortSignal;
}

/** The MySQL side of a batch: one transaction, retried for as long as that is worth it. */
export interface BatchTransaction {
  /**
   * Stores `goods` (with `write`, their events built ahead) and records `dead`
   * in one READ COMMITTED transaction; `held` are all the entries it covers.
   */
  apply(goods: Good[], dead: DeadLetterOut[], held: HeldEntry[], write?: Write): Promise<Outcome>;
}

const maxConflictRetries = 20;
const noPlayers: ReadonlySet<string> = new Set();

class HookAbortError extends Error {
  override name = "HookAbortError";
}

/**
 * Deadlocks and races are retried at once; while MySQL is unreachable the
 * batch is held (its entries kept from looking idle) and retried with capped
 * back-off, until MySQL is back or the worker stops.
 */
export function createBatchTransaction(options: BatchTransactionOptions): BatchTransaction {
  const { pool, consumer, heldAhead, hooks, stats, log, signal } = options;
  const rulesCache = createGameRulesCache({ pool, ttlMs: options.gamesCacheMs });
  const mysqlBackOff = createBackOff({ initialMs: 100, maxMs: 5000 });
  // Held entries are re-claimed by this consumer well before they look idle.
  const touchEveryMs = Math.max(Math.floor(options.claimIdleMs / 3), 50);

  async function apply(goods: Good[], dead: DeadLetterOut[], held: HeldEntry[], write?: Write): Promise<Outcome> {
    const events = write?.events ?? uniqueEvents(goods.map((g) => g.expanded));
    const eventInserts = write?.inserts;
    const deadLetters = dead.map(toDeadLetterRow);
    const gameIds = new Set(events.map((e) => e.gameId));
    const entryIds = held.map((h) => h.id);
    const players = new Set(usersOf(goods));
    for (const d of deadLetters) if (d.userId !== null) players.add(d.userId);
    for (let attempt = 1; ; attempt++) {
      try {
        const started = performance.now();
        const rules = await rulesCache.rulesFor(gameIds);
        let erased: ReadonlySet<string> = noPlayers;
        let eventsDropped = 0;
        const result = await withTransaction(
          pool,
          async (conn) => {
            // First, so an erasure recorded before this transaction is seen
            // by everything it writes (erasure-repo.ts, the fence).
            erased = await selectErasedAmong(conn, players);
            const eventsMayBeRemoved = options.eventsMayBeRemoved === true;
            let input = { events, eventInserts, rules, deadLetters, eventsMayBeRemoved };
            if (erased.size > 0) {
              const kept = events.filter((e) => !erased.has(e.userId));
              eventsDropped = events.length - kept.length;
              const deadKept = deadLetters.filter((d) => d.userId === null || !erased.has(d.userId));
              input = { events: kept, eventInserts: undefined, rules, deadLetters: deadKept, eventsMayBeRemoved };
            }
            const r = await applyBatch(conn, input);
            if (hooks.beforeCommit) {
              try {
                await hooks.beforeCommit({ entryIds, userIds: usersOf(goods), eventsStored: r.eventsStored });
              } catch (err) {
                throw new HookAbortError(describeError(err));
              }
            }
            return r;
          },
          { isolation: "READ COMMITTED" },
        );
        if (!stats.mysqlAvailable) log.info("MySQL is back");
        stats.mysqlAvailable = true;
        mysqlBackOff.reset();
        return { kind: "committed", result, seconds: (performance.now() - started) / 1000, erased, eventsDropped };
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
        if (stats.mysqlAvailable) log.warn({ err: describeError(err) }, "MySQL is unavailable; holding the batch and retrying");
        stats.mysqlAvailable = false;
        if (signal.aborted || !(await waitHolding(mysqlBackOff.next(), held))) return { kind: "abandoned" };
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
      if (!(await sleep(Math.min(left, touchEveryMs), signal))) return false;
      await consumer.touch([...held, ...heldAhead()]).catch(() => {});
    }
  }

  return { apply };
}
