import { ValidationError } from "../errors.js";
import { MeasuredCustomdata } from "./measured-customdata.js";
import type { PlainIngestEvent, PlainIngestRequest } from "./request-to-plain.js";

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

/** Most nested messages protobuf-es decodes (its default recursionLimit). */
const recursionLimit = 100;
/** Nesting of the customdata Struct: IngestEventsRequest, Event, Struct. */
const customdataMessageDepth = 3;
/** Keys of one Struct compared pair by pair; past this a Set is cheaper. */
const pairwiseKeys = 16;

const wireVarint = 0;
const wireFixed64 = 1;
const wireLen = 2;
const wireFixed32 = 5;

// Buffer's own decoders, without toString's argument checks and encoding
// lookup (a third of the cost of a short string); not in @types/node.
interface SliceBuffer extends Buffer {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

/** The event types, returned as these very strings instead of decoding a copy. */
const knownTypes = ["AppOpen", "LevelCompleted", "GameEnd", "AdImpression", "IAPPurchase", "Custom"].map((name) => ({ name, bytes: Buffer.from(name, "latin1") }));

// Thrown inside the scan, turned into a ValidationError with the event index.
class WireError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

// Scan state of one Event. Reused across the events of a request: no
// allocation per Value or Struct on the regular path.
interface Scan {
  buf: SliceBuffer;
  /** The same bytes, for doubles (Buffer.readDoubleLE checks its arguments each time). */
  view: DataView;
  pos: number;
  /** Customdata figures, see MeasuredCustomdata. */
  depth: number;
  jsonBytes: number;
  regular: boolean;
  /** Key ranges (start, end) of the Structs being scanned, innermost last, up to keysTop. */
  keys: number[];
  keysTop: number;
}

function newScan(bytes: Uint8Array): Scan {
  return {
    buf: Buffer.from(bytes.buffer) as SliceBuffer,
    view: new DataView(bytes.buffer),
    pos: 0,
    depth: 0,
    jsonBytes: 0,
    regular: true,
    keys: [],
    keysTop: 0,
  };
}

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
 * Reads a whole encoded `IngestEventsRequest` (`user_id`, `game_id`, and each
 * event as {@link scanEvents} does) without protobuf-es. Stricter than
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
        default:
          skipField(scan, end, wireType, "body");
      }
    }
  } catch (err) {
    if (!(err instanceof WireError)) throw err;
    throw new ValidationError([{ index: -1, field: err.field, reason: err.reason }]);
  }
  return { user_id: userId, game_id: gameId, events };
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
  scan.pos = start;
  scan.depth = 0;
  scan.jsonBytes = 0;
  scan.regular = true;
  scan.keysTop = 0;
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
        scanStruct(scan, structEnd, 1, customdataMessageDepth);
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

// google.protobuf.Struct: map<string, Value> fields = 1.
function scanStruct(scan: Scan, end: number, level: number, messageDepth: number): void {
  if (messageDepth > recursionLimit) throw new WireError("customdata", "is nested too deeply to decode");
  if (level > scan.depth) scan.depth = level;
  scan.jsonBytes += 2;
  const keysFrom = scan.keysTop;
  let seen: Set<string> | undefined;
  while (scan.pos < end) {
    const tag = readTag(scan, end, "customdata");
    if (tag >>> 3 !== 1) {
      skipField(scan, end, tag & 7, "customdata");
      continue;
    }
    const entryEnd = readLength(scan, end, tag & 7, "customdata");
    let keyStart = 0;
    let keyEnd = 0;
    let keyUnits = 0;
    let values = 0;
    while (scan.pos < entryEnd) {
      const entryTag = readTag(scan, entryEnd, "customdata");
      const entryField = entryTag >>> 3;
      if (entryField === 1) {
        keyEnd = readLength(scan, entryEnd, entryTag & 7, "customdata");
        keyStart = scan.pos;
        keyUnits = utf16Units(scan.buf, keyStart, keyEnd);
        if (keyUnits < 0) throw new WireError("customdata", "holds a key that is not valid UTF-8");
        scan.pos = keyEnd;
      } else if (entryField === 2) {
        const valueEnd = readLength(scan, entryEnd, entryTag & 7, "customdata");
        // A repeated value replaces the earlier one: its size no longer counts.
        if (++values > 1) scan.regular = false;
        scanValue(scan, valueEnd, level, messageDepth + 1);
      } else {
        // protobuf-es reads any other field of a map entry as if it were the
        // next tag: nothing a real encoder writes, so it is refused.
        throw new WireError("customdata", `holds a map entry with field ${entryField}`);
      }
    }
    // protobuf-es drops the byte order mark a string starts with (never ASCII).
    if (keyUnits !== keyEnd - keyStart && hasBom(scan.buf, keyStart, keyEnd)) {
      keyStart += 3;
      keyUnits--;
    }
    // A missing value is null.
    if (values === 0) scan.jsonBytes += 4;
    scan.jsonBytes += keyUnits + 4;
    if (keyEnd - keyStart === 9 && scan.buf.latin1Slice(keyStart, keyEnd) === "__proto__") scan.regular = false;
    // Duplicate keys: the last value wins, so the sizes counted are not exact.
    const count = (scan.keysTop - keysFrom) / 2;
    if (count < pairwiseKeys) {
      for (let k = keysFrom; k < scan.keysTop; k += 2) {
        if (sameBytes(scan.buf, scan.keys[k]!, scan.keys[k + 1]!, keyStart, keyEnd)) scan.regular = false;
      }
    } else {
      if (seen === undefined) {
        seen = new Set();
        for (let k = keysFrom; k < scan.keysTop; k += 2) seen.add(scan.buf.latin1Slice(scan.keys[k]!, scan.keys[k + 1]!));
      }
      const key = scan.buf.latin1Slice(keyStart, keyEnd);
      if (seen.has(key)) scan.regular = false;
      seen.add(key);
    }
    scan.keys[scan.keysTop++] = keyStart;
    scan.keys[scan.keysTop++] = keyEnd;
  }
  scan.keysTop = keysFrom;
}

// google.protobuf.ListValue: repeated Value values = 1.
function scanList(scan: Scan, end: number, level: number, messageDepth: number): void {
  if (messageDepth > recursionLimit) throw new WireError("customdata", "is nested too deeply to decode");
  if (level > scan.depth) scan.depth = level;
  scan.jsonBytes += 2;
  let items = 0;
  while (scan.pos < end) {
    const tag = readTag(scan, end, "customdata");
    if (tag >>> 3 !== 1) {
      skipField(scan, end, tag & 7, "customdata");
      continue;
    }
    const valueEnd = readLength(scan, end, tag & 7, "customdata");
    scanValue(scan, valueEnd, level, messageDepth + 1);
    items++;
  }
  // One separator per item (and one too many: customdataProblem counts so).
  scan.jsonBytes += items;
}

// google.protobuf.Value: oneof kind { null_value = 1; number_value = 2;
// string_value = 3; bool_value = 4; struct_value = 5; list_value = 6; }.
// `level` is that of the container holding this value.
function scanValue(scan: Scan, end: number, level: number, messageDepth: number): void {
  if (messageDepth > recursionLimit) throw new WireError("customdata", "is nested too deeply to decode");
  let kinds = 0;
  while (scan.pos < end) {
    const tag = readTag(scan, end, "customdata");
    const fieldNo = tag >>> 3;
    const wireType = tag & 7;
    switch (fieldNo) {
      case 1:
        // NullValue is an open enum: any number is null.
        expectWireType(wireType, wireVarint);
        skipVarint(scan, end, "customdata");
        scan.jsonBytes += 4;
        kinds++;
        break;
      case 2: {
        expectWireType(wireType, wireFixed64);
        if (scan.pos + 8 > end) throw truncated();
        const n = scan.view.getFloat64(scan.pos, true);
        scan.pos += 8;
        // JSON cannot carry NaN or Infinity: customdataProblem names them.
        if (!Number.isFinite(n)) scan.regular = false;
        else scan.jsonBytes += numberLength(n);
        kinds++;
        break;
      }
      case 3: {
        const stringEnd = readLength(scan, end, wireType, "customdata");
        let units = utf16Units(scan.buf, scan.pos, stringEnd);
        if (units < 0) throw new WireError("customdata", "holds a string that is not valid UTF-8");
        if (units !== stringEnd - scan.pos && hasBom(scan.buf, scan.pos, stringEnd)) units--;
        scan.pos = stringEnd;
        scan.jsonBytes += units + 2;
        kinds++;
        break;
      }
      case 4: {
        expectWireType(wireType, wireVarint);
        const at = scan.pos;
        skipVarint(scan, end, "customdata");
        // A one-byte 0 or 1 is what encoders write; any other varint's truth
        // (bits past 64 are dropped) is left to protobuf-es.
        const b = scan.buf[at]!;
        if (scan.pos - at !== 1 || b > 1) scan.regular = false;
        scan.jsonBytes += b === 0 ? 5 : 4;
        kinds++;
        break;
      }
      case 5: {
        const structEnd = readLength(scan, end, wireType, "customdata");
        scanStruct(scan, structEnd, level + 1, messageDepth + 1);
        kinds++;
        break;
      }
      case 6: {
        const listEnd = readLength(scan, end, wireType, "customdata");
        scanList(scan, listEnd, level + 1, messageDepth + 1);
        kinds++;
        break;
      }
      default:
        skipField(scan, end, wireType, "customdata");
    }
  }
  // No kind is null; several kinds keep the last, or merge two Structs.
  if (kinds === 0) scan.jsonBytes += 4;
  else if (kinds > 1) scan.regular = false;
}

function expectWireType(actual: number, expected: number): void {
  if (actual !== expected) throw new WireError("customdata", `holds a Value field of wire type ${actual}, expected ${expected}`);
}

function truncated(): WireError {
  return new WireError("customdata", "is truncated");
}

// A tag: a varint of at most 5 bytes that fits 32 bits, field number 1 or more,
// wire type 0-5 (groups, 3 and 4, are refused by the caller's skip or read).
function readTag(scan: Scan, end: number, field: string): number {
  const pos = scan.pos;
  // Fields 1-15 have one-byte tags: nearly every tag of these messages.
  if (pos < end) {
    const b = scan.buf[pos]!;
    if (b < 0x80 && b >= 8) {
      scan.pos = pos + 1;
      return b;
    }
  }
  const tag = readVarint32(scan, end, field, "a field tag");
  if (tag >>> 3 === 0) throw new WireError(field, "holds a field number 0");
  return tag;
}

// A length-delimited field's length; returns where the field ends.
function readLength(scan: Scan, end: number, wireType: number, field: string): number {
  if (wireType !== wireLen) throw new WireError(field, `has wire type ${wireType}, expected 2 (length-delimited)`);
  let pos = scan.pos;
  let len: number;
  const b = pos < end ? scan.buf[pos]! : 0x80;
  if (b < 0x80) {
    len = b;
    scan.pos = ++pos;
  } else {
    len = readVarint32(scan, end, field, "a length");
    pos = scan.pos;
  }
  if (len > end - pos) throw new WireError(field, "is truncated: a length runs past its message");
  return pos + len;
}

function readVarint32(scan: Scan, end: number, field: string, what: string): number {
  const buf = scan.buf;
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 5; i++) {
    if (scan.pos >= end) throw new WireError(field, `is truncated inside ${what}`);
    const b = buf[scan.pos++]!;
    if (i === 4 && b > 0x0f) throw new WireError(field, `holds ${what} that overflows 32 bits`);
    result += (b & 0x7f) * scale;
    if (b < 0x80) return result;
    scale *= 0x80;
  }
  throw new WireError(field, `holds ${what} that overflows 32 bits`);
}

function skipVarint(scan: Scan, end: number, field: string): void {
  for (let i = 0; i < 10; i++) {
    if (scan.pos >= end) throw new WireError(field, "is truncated inside a varint");
    if (scan.buf[scan.pos++]! < 0x80) return;
  }
  throw new WireError(field, "holds a varint longer than 10 bytes");
}

function skipField(scan: Scan, end: number, wireType: number, field: string): void {
  switch (wireType) {
    case wireVarint:
      skipVarint(scan, end, field);
      return;
    case wireFixed64:
    case wireFixed32: {
      const n = wireType === wireFixed64 ? 8 : 4;
      if (end - scan.pos < n) throw new WireError(field, "is truncated inside a fixed-size field");
      scan.pos += n;
      return;
    }
    case wireLen:
      scan.pos = readLength(scan, end, wireType, field);
      return;
    default:
      throw new WireError(field, `holds wire type ${wireType}, which proto3 messages never use (groups)`);
  }
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

// The type is one of six names: those strings themselves, when it is.
function readType(scan: Scan, end: number, wireType: number): string {
  const at = scan.pos;
  const stringEnd = readLength(scan, end, wireType, "type");
  const len = stringEnd - scan.pos;
  for (let t = 0; t < knownTypes.length; t++) {
    const known = knownTypes[t]!;
    if (known.bytes.length === len && sameBytesAs(scan.buf, scan.pos, known.bytes)) {
      scan.pos = stringEnd;
      return known.name;
    }
  }
  scan.pos = at;
  return readString(scan, end, wireType, "type");
}

function sameBytesAs(buf: Buffer, start: number, other: Buffer): boolean {
  for (let i = 0; i < other.length; i++) if (buf[start + i] !== other[i]) return false;
  return true;
}

function hasBom(buf: Buffer, start: number, end: number): boolean {
  return end - start >= 3 && buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf;
}

/**
 * The UTF-16 length of `buf[start, end)` as a JS string, or -1 when it is not
 * well-formed UTF-8 (as the fatal TextDecoder protobuf-es uses judges it:
 * no overlong forms, no surrogates, nothing past U+10FFFF, nothing cut off).
 */
export function utf16Units(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end && buf[i]! < 0x80) i++;
  if (i === end) return end - start;
  let units = i - start;
  while (i < end) {
    const b = buf[i]!;
    if (b < 0x80) {
      i++;
      units++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
    } else return -1;
    if (end - i <= need) return -1;
    const b1 = buf[i + 1]!;
    if (b1 < lo || b1 > hi) return -1;
    for (let k = 2; k <= need; k++) {
      const c = buf[i + k]!;
      if (c < 0x80 || c > 0xbf) return -1;
    }
    i += need + 1;
    units += need === 3 ? 2 : 1;
  }
  return units;
}

function sameBytes(buf: Buffer, aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
  if (aEnd - aStart !== bEnd - bStart) return false;
  for (let i = 0; i < aEnd - aStart; i++) if (buf[aStart + i] !== buf[bStart + i]) return false;
  return true;
}

// String(n).length without building the string for the usual integers.
function numberLength(n: number): number {
  if (Number.isInteger(n) && n > -1e15 && n < 1e15) {
    let len = n < 0 ? 2 : 1;
    let a = n < 0 ? -n : n;
    while (a >= 10) {
      a = Math.floor(a / 10);
      len++;
    }
    return len;
  }
  return String(n).length;
}
