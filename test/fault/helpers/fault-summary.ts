import type { Audit } from "./exactly-once.js";
import type { LoadResult } from "./workload.js";

/**
 * One line of figures per fault scenario on stdout, for the README's
 * "Reliability" section:
 *
 *   fault-summary: {"scenario":"worker-sigkill","faultsInjected":20,...,"serverErrors":0}
 *
 * Printed whether the scenario passed or not (`ok`), with whatever was measured.
 */
export interface FaultSummary {
  scenario: string;
  ok: boolean;
  durationMs: number;
  /** What was done to the system, e.g. "SIGKILL of a worker process". */
  fault: string;
  faultsInjected: number;
  requests: number;
  batchesAccepted: number;
  eventsAccepted: number;
  eventsStored: number | null;
  coinsExpected: string | null;
  coinsPaid: string | null;
  /** 503 / UNAVAILABLE answers (then resent with the same event ids). */
  refused: number;
  /** 429 / RESOURCE_EXHAUSTED answers (then resent). */
  rateLimited: number;
  /** Attempts without an answer (refused or reset connection, timeout). */
  noAnswer: number;
  retries: number;
  /** Batches deliberately sent twice (same event ids) and accepted both times. */
  duplicatesAccepted: number;
  /** 5xx other than 503, INTERNAL / UNKNOWN: must be 0. */
  serverErrors: number;
  deadLetters: number | null;
  /** Scenario-specific figures (latencies, reconnect time, ...). */
  [extra: string]: unknown;
}

/** Collects a scenario's figures as they become known, and prints them once. */
export interface SummaryBuilder {
  set(figures: Record<string, unknown>): void;
  fromLoad(load: LoadResult): void;
  fromAudit(audit: Audit): void;
  /** Prints the line; `ok` says whether the scenario's assertions all passed. */
  print(ok: boolean): void;
}

/** Starts the figures of `scenario`; the clock starts now. */
export function summaryOf(scenario: string, fault: string): SummaryBuilder {
  const started = Date.now();
  const s: FaultSummary = {
    scenario,
    ok: false,
    durationMs: 0,
    fault,
    faultsInjected: 0,
    requests: 0,
    batchesAccepted: 0,
    eventsAccepted: 0,
    eventsStored: null,
    coinsExpected: null,
    coinsPaid: null,
    refused: 0,
    rateLimited: 0,
    noAnswer: 0,
    retries: 0,
    duplicatesAccepted: 0,
    serverErrors: 0,
    deadLetters: null,
  };
  let printed = false;
  return {
    set(figures) {
      Object.assign(s, figures);
    },
    fromLoad(load) {
      Object.assign(s, {
        requests: load.attempts.length,
        batchesAccepted: load.accepted.length,
        eventsAccepted: load.eventsAccepted,
        refused: load.counts.unavailable,
        rateLimited: load.counts.rate_limited,
        noAnswer: load.counts.network,
        retries: load.retries,
        duplicatesAccepted: load.duplicatesAccepted,
        serverErrors: load.counts.server_error,
        ...(load.abandoned.length ? { abandonedBatches: load.abandoned.length } : {}),
        ...(load.counts.rejected ? { rejected: load.counts.rejected } : {}),
      });
    },
    fromAudit(audit) {
      Object.assign(s, {
        eventsStored: audit.eventsStored,
        coinsExpected: String(audit.coinsExpected),
        coinsPaid: String(audit.coinsPaid),
        deadLetters: audit.deadLetters,
        ledgerRows: audit.ledgerRows,
      });
    },
    print(ok) {
      if (printed) return;
      printed = true;
      s.ok = ok;
      s.durationMs = Date.now() - started;
      process.stdout.write(`fault-summary: ${JSON.stringify(s)}\n`);
    },
  };
}
