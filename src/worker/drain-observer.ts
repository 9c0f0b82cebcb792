/** One committed drain transaction. */
export interface DrainCommit {
  /** Stream entries the transaction covered (dead letters included). */
  entries: number;
  /** Events that were new. */
  eventsStored: number;
  coinsAwarded: bigint;
  /** Time from the start of the successful attempt to its COMMIT, in seconds. */
  commitSeconds: number;
  /** Seconds from the gateway accepting each stored batch to this commit. */
  lagSeconds: number[];
  /** Events of erased players the transaction dropped instead of storing. */
  eventsDropped: number;
}

/**
 * Receives what the drain worker did, for metrics. The metrics registry
 * implements it; the worker knows nothing of Prometheus.
 */
export interface DrainObserver {
  observeCommit(commit: DrainCommit): void;
  observeDeadLetters(count: number): void;
}
