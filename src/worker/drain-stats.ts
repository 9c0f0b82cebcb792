/**
 * Counters of one drain worker since it started, read by metrics and tests.
 * Plain numbers on a plain object: the worker updates them in place and a
 * metrics collector reads them when scraped.
 */
export interface DrainStats {
  /** Stream entries read, claimed or recovered (a redelivery counts again). */
  entriesRead: number;
  /** Events that were new to MySQL. */
  eventsStored: number;
  /** Coins awarded (ledger rows' sum). */
  coinsAwarded: bigint;
  /** Ledger rows written. */
  awards: number;
  /** Entries moved to the dead letters. */
  deadLetters: number;
  /** Events of erased players dropped instead of stored. */
  erasedEventsDropped: number;
  /** Transactions committed. */
  transactionsCommitted: number;
  /** Transactions retried after a deadlock, lock wait timeout or race. */
  conflictRetries: number;
  /** ms from the gateway accepting the oldest batch of the last commit to that commit. */
  lastCommitLagMs: number;
  /** False while the last MySQL attempt failed for want of MySQL. */
  mysqlAvailable: boolean;
}

/** Fresh counters. */
export function createDrainStats(): DrainStats {
  return {
    entriesRead: 0,
    eventsStored: 0,
    coinsAwarded: 0n,
    awards: 0,
    deadLetters: 0,
    erasedEventsDropped: 0,
    transactionsCommitted: 0,
    conflictRetries: 0,
    lastCommitLagMs: 0,
    mysqlAvailable: true,
  };
}
