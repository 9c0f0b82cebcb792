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
