import type { CustomdataLimits } from "./customdata-limits.js";
import { eventTypeBytes, eventTypes } from "./event-types.js";
import { gameIdProblem } from "./game-id.js";
import { isCommonTimestamp } from "./timestamp.js";
import { maxCustomEventNameLength, maxEventIdLength, maxEventsPerBatch, maxUserIdLength, type BatchSummary } from "./validate-batch.js";
import { measureCustomdata } from "./wire-customdata.js";
import { indexOfBytes, newScan, readLength, readTag, sameBytes, startEvent, WireError, type Scan, type SliceBuffer } from "./wire-reader.js";

/**
 * The gateway's one-pass check of a binary `IngestEventsRequest`, on its bytes:
 * wire format and every rule of `checkBatch` at once, with no object or string
 * per event. Scanning into plain events and checking those
 * (`scanRequest` + `checkBatch`) built five objects and three strings per event
 * and was most of a binary call's cost.
 *
 * It answers only for the batches a client library writes and the contract
 * accepts (known fields, ASCII ids and names, common timestamps, regular
 * customdata within the limits). For anything else it answers "not sure"
 * (undefined), and the caller takes the scan-and-check path, which gives the
 * exact verdict and reasons. So it never needs error messages of its own, and a
 * differential test holds it to: whatever it accepts, that path accepts with the
 * same summary.
 */
export function checkWireBatch(bytes: Uint8Array, limits: CustomdataLimits): BatchSummary | undefined {
  const scan = newScan(bytes);
  const end = bytes.byteOffset + bytes.byteLength;
  scan.pos = bytes.byteOffset;
  let userStart = -1;
  let userEnd = -1;
  let gameStart = -1;
  let gameEnd = -1;
  let events = 0;
  ids.clear();
  try {
    while (scan.pos < end) {
      const tag = readTag(scan, end, "body");
      const wireType = tag & 7;
      switch (tag >>> 3) {
        // A repeated string field keeps its last value, as protobuf-es reads it.
        case 1:
          userEnd = readLength(scan, end, wireType, "user_id");
          userStart = scan.pos;
          scan.pos = userEnd;
          break;
        case 2:
          gameEnd = readLength(scan, end, wireType, "game_id");
          gameStart = scan.pos;
          scan.pos = gameEnd;
          break;
        case 3: {
          const eventEnd = readLength(scan, end, wireType, "events");
          if (events === maxEventsPerBatch || !checkEvent(scan, scan.pos, eventEnd, limits)) return undefined;
          events++;
          scan.pos = eventEnd;
          break;
        }
        default:
          return undefined;
      }
    }
  } catch (err) {
    if (err instanceof WireError) return undefined;
    throw err;
  }
  if (events === 0 || userStart < 0 || gameStart < 0) return undefined;
  const userId = asciiString(scan.buf, userStart, userEnd, maxUserIdLength);
  const gameId = asciiString(scan.buf, gameStart, gameEnd, Infinity);
  if (userId === undefined || gameId === undefined || gameIdProblem(gameId) !== undefined) return undefined;
  return { userId, gameId, eventCount: events };
}

const customType = eventTypes.indexOf("Custom");

// One event: true only when every rule holds.
function checkEvent(scan: Scan, start: number, end: number, limits: CustomdataLimits): boolean {
  const buf = scan.buf;
  let type = -1;
  let timestampStart = -1;
  let timestampEnd = -1;
  let nameStart = 0;
  let nameEnd = 0;
  let idStart = 0;
  let idEnd = 0;
  let customdata = false;
  startEvent(scan, start);
  while (scan.pos < end) {
    const tag = readTag(scan, end, "event");
    const wireType = tag & 7;
    switch (tag >>> 3) {
      case 1: {
        const typeEnd = readLength(scan, end, wireType, "type");
        type = indexOfBytes(eventTypeBytes, buf, scan.pos, typeEnd);
        scan.pos = typeEnd;
        break;
      }
      case 2:
        timestampEnd = readLength(scan, end, wireType, "timestamp");
        timestampStart = scan.pos;
        scan.pos = timestampEnd;
        break;
      case 3: {
        // Repeated customdata fields merge: left to the exact path.
        if (customdata) return false;
        customdata = true;
        measureCustomdata(scan, readLength(scan, end, wireType, "customdata"));
        break;
      }
      case 4:
        nameEnd = readLength(scan, end, wireType, "customEventName");
        nameStart = scan.pos;
        scan.pos = nameEnd;
        break;
      case 5:
        idEnd = readLength(scan, end, wireType, "event_id");
        idStart = scan.pos;
        scan.pos = idEnd;
        break;
      default:
        return false;
    }
  }
  if (type < 0 || timestampStart < 0 || !isCommonTimestamp(buf, timestampStart, timestampEnd)) return false;
  if (customdata && !(scan.regular && scan.depth <= limits.maxDepth && scan.jsonBytes <= limits.maxBytes)) return false;
  if (nameEnd > nameStart) {
    if (asciiLength(buf, nameStart, nameEnd) < 0 || nameEnd - nameStart > maxCustomEventNameLength) return false;
  } else if (type === customType) {
    return false;
  }
  // An absent or empty id means "no id" (the worker derives one).
  if (idEnd > idStart) {
    if (idEnd - idStart > maxEventIdLength || !ids.add(buf, idStart, idEnd)) return false;
  }
  return true;
}

// The length of printable ASCII bytes (0x20-0x7e), or -1: such bytes are their
// own UTF-16 units, valid UTF-8, without a byte order mark or control characters.
function asciiLength(buf: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b < 0x20 || b > 0x7e) return -1;
  }
  return end - start;
}

// A non-empty printable ASCII field of at most `max` characters, as a string.
function asciiString(buf: SliceBuffer, start: number, end: number, max: number): string | undefined {
  const n = asciiLength(buf, start, end);
  return n > 0 && n <= max ? buf.latin1Slice(start, end) : undefined;
}

/**
 * The event ids of one batch, as byte ranges of the request in an open-addressing
 * table: uniqueness without a string per id. Reused by every call (the check is
 * synchronous, so calls never overlap).
 */
class IdRanges {
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

const ids = new IdRanges();
