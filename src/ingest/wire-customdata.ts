import { hasBom, readLength, readTag, sameBytes, skipField, skipVarint, utf16Units, wireFixed64, wireVarint, WireError, type Scan } from "./wire-reader.js";

/**
 * Measures an event's encoded `customdata` (a google.protobuf.Struct) as
 * `customdataProblem` would measure the object protobuf-es decodes from it:
 * deepest nesting and size as JSON text, without building the Struct. The
 * figures land in the scan (`depth`, `jsonBytes`, `regular`; see
 * MeasuredCustomdata for what `regular` promises).
 */

/** Most nested messages protobuf-es decodes (its default recursionLimit). */
const recursionLimit = 100;
/** Nesting of the customdata Struct: IngestEventsRequest, Event, Struct. */
const customdataMessageDepth = 3;
/** Keys of one Struct compared pair by pair; past this a Set is cheaper. */
const pairwiseKeys = 16;

/**
 * Scans the Struct that ends at `end` (the scan stands at its first byte) and
 * adds its figures to the scan's.
 * @throws WireError on malformed wire data inside it.
 */
export function measureCustomdata(scan: Scan, end: number): void {
  scanStruct(scan, end, 1, customdataMessageDepth);
}

// google.protobuf.Struct: map<string, Value> fields = 1.
function scanStruct(scan: Scan, end: number, level: number, messageDepth: number): void {
  if (messageDepth > recursionLimit) throw new WireError("customdata", "is nested too deeply to decode");
  if (level > scan.depth) scan.depth = level;
  scan.jsonBytes += 2;
  const buf = scan.buf;
  const keysFrom = scan.keysTop;
  let seen: Set<string> | undefined;
  while (scan.pos < end) {
    let keyStart: number;
    let keyEnd: number;
    let keyUnits: number;
    let values: number;
    // What encoders write for a short entry: tag 1 and its length, the key
    // (tag 1, length, ASCII bytes), then the value (tag 2, length) up to the
    // entry's end, every length in one byte. Read here without the general
    // readers; anything else takes the general path.
    // Each byte is read only once its index is known to be below `end`: an
    // out-of-bounds read would make V8 slow down every read of `buf` after it.
    const at = scan.pos;
    let entryEnd = 0;
    keyStart = at + 4;
    keyEnd = 0;
    let plain = false;
    if (at + 4 <= end && buf[at] === 0x0a && buf[at + 2] === 0x0a) {
      const entryLength = buf[at + 1]!;
      const keyLength = buf[at + 3]!;
      entryEnd = at + 2 + entryLength;
      keyEnd = keyStart + keyLength;
      plain =
        entryLength < 0x80 &&
        keyLength < 0x80 &&
        entryEnd <= end &&
        keyEnd + 2 <= entryEnd &&
        buf[keyEnd] === 0x12 &&
        keyEnd + 2 + buf[keyEnd + 1]! === entryEnd &&
        isAscii(buf, keyStart, keyEnd);
    }
    if (plain) {
      keyUnits = keyEnd - keyStart;
      values = 1;
      scan.pos = keyEnd + 2;
      scanValue(scan, entryEnd, level, messageDepth + 1);
    } else {
      const tag = readTag(scan, end, "customdata");
      if (tag >>> 3 !== 1) {
        skipField(scan, end, tag & 7, "customdata");
        continue;
      }
      const generalEnd = readLength(scan, end, tag & 7, "customdata");
      keyStart = 0;
      keyEnd = 0;
      keyUnits = 0;
      values = 0;
      while (scan.pos < generalEnd) {
        const entryTag = readTag(scan, generalEnd, "customdata");
        const entryField = entryTag >>> 3;
        if (entryField === 1) {
          keyEnd = readLength(scan, generalEnd, entryTag & 7, "customdata");
          keyStart = scan.pos;
          keyUnits = utf16Units(buf, keyStart, keyEnd);
          if (keyUnits < 0) throw new WireError("customdata", "holds a key that is not valid UTF-8");
          scan.pos = keyEnd;
        } else if (entryField === 2) {
          const valueEnd = readLength(scan, generalEnd, entryTag & 7, "customdata");
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
      if (keyUnits !== keyEnd - keyStart && hasBom(buf, keyStart, keyEnd)) {
        keyStart += 3;
        keyUnits--;
      }
    }
    // A missing value is null.
    if (values === 0) scan.jsonBytes += 4;
    scan.jsonBytes += keyUnits + 4;
    if (keyEnd - keyStart === 9 && buf.latin1Slice(keyStart, keyEnd) === "__proto__") scan.regular = false;
    // Duplicate keys: the last value wins, so the sizes counted are not exact.
    const count = (scan.keysTop - keysFrom) / 2;
    if (count < pairwiseKeys) {
      for (let k = keysFrom; k < scan.keysTop; k += 2) {
        if (sameBytes(buf, scan.keys[k]!, scan.keys[k + 1]!, keyStart, keyEnd)) scan.regular = false;
      }
    } else {
      if (seen === undefined) {
        seen = new Set();
        for (let k = keysFrom; k < scan.keysTop; k += 2) seen.add(buf.latin1Slice(scan.keys[k]!, scan.keys[k + 1]!));
      }
      const key = buf.latin1Slice(keyStart, keyEnd);
      if (seen.has(key)) scan.regular = false;
      seen.add(key);
    }
    scan.keys[scan.keysTop++] = keyStart;
    scan.keys[scan.keysTop++] = keyEnd;
  }
  scan.keysTop = keysFrom;
}

function isAscii(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i]! >= 0x80) return false;
  return true;
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

// String(n).length without building the string for the usual integers:
// comparisons, not a division per digit.
function numberLength(n: number): number {
  if (Number.isInteger(n) && n > -1e15 && n < 1e15) {
    const a = n < 0 ? -n : n;
    const sign = n < 0 ? 1 : 0;
    if (a < 1e4) return sign + (a < 10 ? 1 : a < 100 ? 2 : a < 1000 ? 3 : 4);
    if (a < 1e8) return sign + (a < 1e5 ? 5 : a < 1e6 ? 6 : a < 1e7 ? 7 : 8);
    let len = sign + 9;
    for (let p = 1e9; a >= p; p *= 10) len++;
    return len;
  }
  return String(n).length;
}
