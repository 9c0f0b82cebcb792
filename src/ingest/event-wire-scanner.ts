// Fast path: the reader behind the wire view of ingest-wire-schema.ts; its measured saving
// is at the top of that file.
import { ValidationError } from "../errors.js";
import { MeasuredCustomdata } from "./measured-customdata.js";
import type { PlainIngestEvent, PlainIngestRequest } from "./request-to-plain.js";
import { eventTypeBytes, eventTypes } from "./event-types.js";
import { measureCustomdata } from "./wire-customdata.js";
import { hasBom, indexOfBytes, newScan, readBool, readLength, readTag, skipField, startEvent, utf16Units, WireError, type Scan } from "./wire-reader.js";

/**
 * A single-pass reader of encoded `playsmart.ingest.v1.Event` messages: what
 * validation needs (the four strings, and for `customdata` whether it is
 * well-formed, how deep it nests and how large it is as JSON text) without
 * building the google.protobuf.Struct. Decoding the Struct of 200 events was the
 * largest cost of a binary ingest call, ahead of everything else together.
 *
 * It accepts a subset of what protobuf-es decodes, so a batch it lets through
 * decodes in the worker to the same events. Where protobuf-es is lenient with
 * broken input it is not: a wire type that does not match a known field, a
 * group, a length or tag varint over 5 bytes, a length that runs past its
 * enclosing message, or an unknown field inside a map entry are refused, with
 * invalid UTF-8, truncation and nesting past protobuf-es's recursion limit.
 * Unknown fields with a valid wire type are skipped, as protobuf-es does.
 */


/**
 * Reads each encoded Event of a request into the plain shape `validateBatch`
 * checks, with `customdata` as a {@link MeasuredCustomdata}.
 *
 * @throws ValidationError naming the event, the field and what is wrong with its encoding.
 */
export function scanEvents(events: readonly Uint8Array[]): PlainIngestEvent[] {
  const out: PlainIngestEvent[] = new Array(events.length);
  let scan: Scan | undefined;
  for (let i = 0; i < events.length; i++) {
    const bytes = events[i]!;
    // Every event is a slice of the one request buffer: one Buffer view over it
    // serves them all.
    if (scan === undefined || scan.buf.buffer !== bytes.buffer) scan = newScan(bytes);
    out[i] = scanEventAt(scan, i, bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  }
  return out;
}

/**
 * Reads a whole encoded `IngestEventsRequest` (`user_id`, `game_id`, `sent_at`,
 * `dry_run`, and each event as {@link scanEvents} does) without protobuf-es. Stricter than
 * protobuf-es at the top level too: a known field must have its own wire type.
 *
 * @throws ValidationError naming the field and what is wrong with its encoding.
 */
export function scanRequest(bytes: Uint8Array): PlainIngestRequest {
  const scan = newScan(bytes);
  const end = bytes.byteOffset + bytes.byteLength;
  scan.pos = bytes.byteOffset;
  let userId = "";
  let gameId = "";
  let sentAt = "";
  let dryRun = false;
  const events: PlainIngestEvent[] = [];
  try {
    while (scan.pos < end) {
      const tag = readTag(scan, end, "body");
      const wireType = tag & 7;
      switch (tag >>> 3) {
        case 1:
          userId = readString(scan, end, wireType, "user_id");
          break;
        case 2:
          gameId = readString(scan, end, wireType, "game_id");
          break;
        case 3: {
          const eventEnd = readLength(scan, end, wireType, "events");
          const eventStart = scan.pos;
          events.push(scanEventAt(scan, events.length, eventStart, eventEnd));
          scan.pos = eventEnd;
          break;
        }
        case 4:
          sentAt = readString(scan, end, wireType, "sent_at");
          break;
        case 5:
          dryRun = readBool(scan, end, wireType, "dry_run");
          break;
        default:
          skipField(scan, end, wireType, "body");
      }
    }
  } catch (err) {
    if (!(err instanceof WireError)) throw err;
    throw new ValidationError([{ index: -1, field: err.field, reason: err.reason }]);
  }
  return { user_id: userId, game_id: gameId, events, sent_at: sentAt, dry_run: dryRun };
}

// One event, its wire errors reported at its index.
function scanEventAt(scan: Scan, index: number, start: number, end: number): PlainIngestEvent {
  try {
    return scanEvent(scan, start, end);
  } catch (err) {
    if (!(err instanceof WireError)) throw err;
    throw new ValidationError([{ index, field: err.field, reason: err.reason }]);
  }
}

function scanEvent(scan: Scan, start: number, end: number): PlainIngestEvent {
  let type = "";
  let timestamp = "";
  let customEventName = "";
  let eventId = "";
  let customdataFields = 0;
  startEvent(scan, start);
  while (scan.pos < end) {
    const tag = readTag(scan, end, "event");
    const fieldNo = tag >>> 3;
    const wireType = tag & 7;
    switch (fieldNo) {
      case 1:
        type = readType(scan, end, wireType);
        break;
      case 2:
        timestamp = readString(scan, end, wireType, "timestamp");
        break;
      case 3: {
        const structEnd = readLength(scan, end, wireType, "customdata");
        measureCustomdata(scan, structEnd);
        customdataFields++;
        break;
      }
      case 4:
        customEventName = readString(scan, end, wireType, "customEventName");
        break;
      case 5:
        eventId = readString(scan, end, wireType, "event_id");
        break;
      default:
        skipField(scan, end, wireType, "event");
    }
  }
  let customdata: MeasuredCustomdata | undefined;
  if (customdataFields > 0) {
    // A repeated message field merges its occurrences: left to protobuf-es.
    customdata = new MeasuredCustomdata(scan.depth, scan.jsonBytes, scan.regular && customdataFields === 1, scan.buf, start, end);
  }
  return { type, timestamp, customdata, customEventName, event_id: eventId };
}

// A string field of the Event, decoded as protobuf-es does (strict UTF-8, a
// leading byte order mark dropped).
function readString(scan: Scan, end: number, wireType: number, field: string): string {
  const stringEnd = readLength(scan, end, wireType, field);
  const start = scan.pos;
  scan.pos = stringEnd;
  const units = utf16Units(scan.buf, start, stringEnd);
  // ASCII (nearly every string) is its own latin1: a plain copy.
  if (units === stringEnd - start) return scan.buf.latin1Slice(start, stringEnd);
  if (units < 0) throw new WireError(field, "is not valid UTF-8");
  return scan.buf.utf8Slice(hasBom(scan.buf, start, stringEnd) ? start + 3 : start, stringEnd);
}

// The type is one of six names: those strings themselves (no decoded copy), when it is.
function readType(scan: Scan, end: number, wireType: number): string {
  const at = scan.pos;
  const stringEnd = readLength(scan, end, wireType, "type");
  const known = indexOfBytes(eventTypeBytes, scan.buf, scan.pos, stringEnd);
  if (known >= 0) {
    scan.pos = stringEnd;
    return eventTypes[known]!;
  }
  scan.pos = at;
  return readString(scan, end, wireType, "type");
}
