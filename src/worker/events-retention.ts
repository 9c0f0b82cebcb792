import type { Pool } from "mysql2/promise";
import { toMysqlDatetime } from "../ingest/utc-datetime.js";
import type { Logger } from "../logger.js";
import { deleteExpiredEvents, nextRetentionWindow, releaseRetentionLock, tryRetentionLock } from "../store/retention-repo.js";
import { sleep } from "./back-off.js";
import { describeError } from "./describe-error.js";

/** Receives what retention removed, for metrics. */
export interface RetentionObserver {
  observeRetention(eventsDeleted: number): void;
}

/** Options of {@link createEventsRetention}. */
export interface EventsRetentionOptions {
  pool: Pool;
  /** EVENTS_RETENTION_DAYS (> 0). */
  days: number;
  /** Time between passes, in ms. */
  intervalMs: number;
  /** Rows looked at per DELETE, each its own short transaction. @default 1000 */
  chunkRows?: number;
  /**
   * Share of the time a pass spends deleting (EVENTS_RETENTION_DUTY_PERCENT):
   * after a chunk that took t ms it pauses t * (100 / duty - 1) ms, so a pass
   * takes about that share of one MySQL connection's time and the drain keeps
   * the rest. @default 10
   */
  dutyPercent?: number;
  /** The current time, for tests. @default Date.now */
  now?: () => number;
  observer?: RetentionObserver;
  log: Logger;
}

/** The background removal of old events. */
export interface EventsRetention {
  /** Starts passes every interval (the first at once). */
  start(): void;
  /** Runs one pass now and resolves with the events it removed (0 when another process holds the lock). */
  runPass(): Promise<number>;
  /** Stops after the chunk in hand. */
  stop(): Promise<void>;
}

/**
 * Removes events received more than `days` ago, oldest first, in small
 * chunks. Coin ledger rows, daily totals and wallets are never touched: the
 * ledger is the record of what was paid, and removing an event does not
 * unpay it. A removed event sent again is stored again but not paid again:
 * with retention on, the drain looks coin events up in the ledger
 * (`eventsMayBeRemoved` in apply-batch.ts).
 *
 * A pass walks `events` in `seq` order, the order rows were stored, which
 * follows receive time: each window of `chunkRows` rows loses its rows older
 * than the cutoff, and the pass stops at the first window with no row older
 * than the cutoff, so it reads little more than what it deletes. An event
 * stored long after it was received (a backlog of days) goes when the rows
 * stored before it have gone. One process at a time runs a pass (a MySQL
 * named lock), however many workers run.
 */
export function createEventsRetention(options: EventsRetentionOptions): EventsRetention {
  const { pool, days, intervalMs, observer, log } = options;
  const chunk = options.chunkRows ?? 1000;
  const pausePerMs = 100 / (options.dutyPercent ?? 10) - 1;
  const now = options.now ?? Date.now;
  const controller = new AbortController();
  let loop: Promise<void> | undefined;
  let running: Promise<number> | undefined;

  async function pass(): Promise<number> {
    const conn = await pool.getConnection();
    let deleted = 0;
    try {
      if (!(await tryRetentionLock(conn))) return 0;
      try {
        const cutoff = toMysqlDatetime(now() - days * 86_400_000);
        let after = 0n;
        while (!controller.signal.aborted) {
          const started = performance.now();
          const window = await nextRetentionWindow(conn, after, chunk);
          if (!window || window.oldestReceivedAt >= cutoff) break;
          const n = await deleteExpiredEvents(conn, after, window.lastSeq, cutoff);
          deleted += n;
          if (n > 0) observer?.observeRetention(n);
          after = window.lastSeq;
          if (pausePerMs > 0) await sleep((performance.now() - started) * pausePerMs, controller.signal);
        }
      } finally {
        await releaseRetentionLock(conn);
      }
    } finally {
      conn.release();
    }
    if (deleted > 0) log.info({ deleted, days }, "retention removed old events");
    return deleted;
  }

  const runPass = () => (running ??= pass().finally(() => (running = undefined)));

  return {
    start() {
      loop = (async () => {
        while (!controller.signal.aborted) {
          await runPass().catch((err: unknown) => log.warn({ err: describeError(err) }, "retention pass failed; next one at the interval"));
          await sleep(intervalMs, controller.signal);
        }
      })();
    },
    runPass,
    async stop() {
      controller.abort();
      await loop;
      await running?.catch(() => {});
    },
  };
}
