import { formatEventInserts, type EventInserts } from "../store/events-repo.js";
import { PoisonEntryError } from "../stream/stream-entry.js";
import type { DrainStats } from "./drain-stats.js";
import { expandEntry, uniqueEvents, type ExpandedEntry, type ExpandedEvent } from "./expand-entry.js";
import type { DeadLetterOut, HeldEntry } from "./stream-consumer.js";

/** An entry that decoded and validated, with the rows it stores. */
export type Good = { held: HeldEntry; expanded: ExpandedEntry };

/** The events of all the goods of a read and their INSERT statements, built ahead. */
export type Write = { events: ExpandedEvent[]; inserts: EventInserts };

/** One read sorted and decoded (and, when read ahead, its write built). */
export type Prepared = { goods: Good[]; dead: DeadLetterOut[]; gone: HeldEntry[]; write?: Write };

/** Options of {@link createReadPreparer}. */
export interface ReadPreparerOptions {
  /** Deliveries after which an entry goes to the dead letters unread (WORKER_MAX_ATTEMPTS). */
  maxAttempts: number;
  /** Number of MySQL shards; a write is built ahead only when there is one. */
  storeShards: number;
  /** Counts the entries read. */
  stats: DrainStats;
}

/** Turns a read into what its transaction stores and what it gives up on. */
export interface ReadPreparer {
  /** Sorts a read into entries to store, dead letters and entries gone; decodes the first. */
  prepare(entries: readonly HeldEntry[]): Prepared;
  /**
   * The same for a read taken ahead, while another read's transaction runs:
   * yields to the event loop as it goes, and builds the write.
   */
  prepareInterleaved(entries: readonly HeldEntry[]): Promise<Prepared>;
}

/**
 * A preparer. An entry deleted while pending is gone (only to acknowledge); one
 * delivered more than `maxAttempts` times, or that is poison, is a dead letter.
 */
export function createReadPreparer(options: ReadPreparerOptions): ReadPreparer {
  const { maxAttempts, storeShards, stats } = options;

  function sortInto(out: Prepared, held: HeldEntry): void {
    if (held.fields === null) {
      out.gone.push(held);
    } else if (held.deliveries > maxAttempts) {
      out.dead.push({ entry: held, error: `delivered ${held.deliveries} times without being stored (max ${maxAttempts})` });
    } else {
      try {
        out.goods.push({ held, expanded: expandEntry(held.fields) });
      } catch (err) {
        if (!(err instanceof PoisonEntryError)) throw err;
        out.dead.push({ entry: held, error: `poison entry: ${err.message}` });
      }
    }
  }

  return {
    prepare(entries) {
      const out: Prepared = { goods: [], dead: [], gone: [] };
      for (const held of entries) sortInto(out, held);
      stats.entriesRead += entries.length;
      return out;
    },

    // Yielding every few entries lets MySQL's answers be handled (and the next
    // statement sent) while the read ahead is decoded; the INSERT statements
    // built here would otherwise be JavaScript inside the next transaction.
    // Only unsharded: a sharded store splits the read into per-shard
    // transactions with events of their own.
    async prepareInterleaved(entries) {
      const out: Prepared = { goods: [], dead: [], gone: [] };
      for (let i = 0; i < entries.length; i++) {
        if (i > 0 && i % 8 === 0) await yieldToLoop();
        sortInto(out, entries[i]!);
      }
      stats.entriesRead += entries.length;
      if (storeShards <= 1 && out.goods.length > 0) {
        const events = uniqueEvents(out.goods.map((g) => g.expanded));
        out.write = { events, inserts: await formatEventInserts(events, { pause: yieldToLoop }) };
      }
      return out;
    },
  };
}

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
