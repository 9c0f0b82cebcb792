import type { Prepared, ReadPreparer } from "./read-preparer.js";
import type { ShardLeases } from "./shard-leases.js";
import type { HeldEntry, StreamConsumer } from "./stream-consumer.js";

/** A read and, when decoding went through, its sorted form. */
export type StreamRead = { entries: HeldEntry[]; prepared?: Prepared };

/** Options of {@link createReadAhead}. */
export interface ReadAheadOptions {
  consumer: StreamConsumer;
  /** The shards read are the ones held at the time of the read. */
  leases: ShardLeases;
  preparer: ReadPreparer;
}

/**
 * The next read, taken and decoded while the previous read's transaction runs,
 * and the entries it holds until the drain loop takes it in hand.
 */
export interface ReadAhead {
  /**
   * Reads new entries without blocking and prepares them. Never rejects: a
   * failed read-ahead is just no read-ahead (the next blocking read reports
   * Redis errors), and a decoding failure is raised again when the entries are
   * processed in the normal way.
   */
  read(): Promise<StreamRead | undefined>;
  /** Entries read ahead and not yet processed: to be kept from looking idle too. */
  held(): readonly HeldEntry[];
  /** The read ahead was taken in hand, or dropped: its entries are no longer held here. */
  forget(): void;
}

/** A read-ahead of one read at a time. */
export function createReadAhead(options: ReadAheadOptions): ReadAhead {
  const { consumer, leases, preparer } = options;
  let held: HeldEntry[] = [];
  return {
    async read() {
      try {
        const entries = await consumer.readNew(leases.held(), false);
        if (entries.length === 0) return undefined;
        held = entries;
        try {
          return { entries, prepared: await preparer.prepareInterleaved(entries) };
        } catch {
          return { entries };
        }
      } catch {
        return undefined;
      }
    },
    held: () => held,
    forget() {
      held = [];
    },
  };
}
