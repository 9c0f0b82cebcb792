import { maxEventsPerBatch } from "./validate-batch.js";
import { sameBytes, type SliceBuffer } from "./wire-reader.js";

/*
 * Checks on byte ranges of one request, shared by the one-pass checks of
 * binary and JSON bodies (`wire-batch-check.ts`, `json-batch-check.ts`).
 */

/**
 * The length of printable ASCII bytes (0x20-0x7e), or -1: such bytes are their
 * own UTF-16 units, valid UTF-8, without a byte order mark or control characters.
 */
export function asciiLength(buf: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b < 0x20 || b > 0x7e) return -1;
  }
  return end - start;
}

/** A non-empty printable ASCII field of at most `max` characters, as a string. */
export function asciiString(buf: SliceBuffer, start: number, end: number, max: number): string | undefined {
  const n = asciiLength(buf, start, end);
  return n > 0 && n <= max ? buf.latin1Slice(start, end) : undefined;
}

/**
 * The event ids of one batch, as byte ranges of the request in an open-addressing
 * table: uniqueness without a string per id. A check reuses one table for every
 * call: checks are synchronous, so calls never overlap.
 */
export class IdRanges {
  // Power of two above twice the most ids a batch holds: probes stay short.
  private readonly slots = new Int32Array(512);
  private readonly starts = new Int32Array(maxEventsPerBatch);
  private readonly ends = new Int32Array(maxEventsPerBatch);
  private size = 0;

  clear(): void {
    if (this.size > 0) this.slots.fill(0);
    this.size = 0;
  }

  /**
   * Adds a printable ASCII id; false when it is not one or the batch already
   * holds it. Every id of a batch is a range of the same request buffer.
   */
  add(buf: Uint8Array, start: number, end: number): boolean {
    // FNV-1a over the bytes, with the printable-ASCII check folded in.
    let hash = 0x811c9dc5;
    for (let i = start; i < end; i++) {
      const b = buf[i]!;
      if (b < 0x20 || b > 0x7e) return false;
      hash = Math.imul(hash ^ b, 0x01000193);
    }
    const mask = this.slots.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot]!;
      if (entry === 0) {
        this.starts[this.size] = start;
        this.ends[this.size] = end;
        this.slots[slot] = ++this.size;
        return true;
      }
      if (sameBytes(buf, this.starts[entry - 1]!, this.ends[entry - 1]!, start, end)) return false;
    }
  }
}
