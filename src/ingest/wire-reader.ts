/**
 * Primitives of the binary wire scanners (`event-wire-scanner.ts`,
 * `wire-batch-check.ts`): a cursor over one request buffer and the reads of
 * tags, lengths, varints and UTF-8 that both share. Every read checks its
 * bounds and throws a {@link WireError} naming the field, so a scanner can
 * turn it into a ValidationError (or into "not sure" and a fallback).
 */

/** Wire types proto3 uses. */
export const wireVarint = 0;
export const wireFixed64 = 1;
export const wireLen = 2;
export const wireFixed32 = 5;

/**
 * Buffer's own decoders, without toString's argument checks and encoding
 * lookup (a third of the cost of a short string); not in @types/node.
 */
export interface SliceBuffer extends Buffer {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

/** Malformed wire data in `field`; a scanner turns it into a ValidationError with the event index. */
export class WireError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/**
 * Scan state over one request buffer, reused across the events of a request:
 * no allocation per Value or Struct on the regular path.
 */
export interface Scan {
  buf: SliceBuffer;
  /** The same bytes, for doubles (Buffer.readDoubleLE checks its arguments each time). */
  view: DataView;
  pos: number;
  /** Customdata figures of the current event, see MeasuredCustomdata. */
  depth: number;
  jsonBytes: number;
  regular: boolean;
  /** Key ranges (start, end) of the Structs being scanned, innermost last, up to keysTop. */
  keys: number[];
  keysTop: number;
}

/** A scan over the whole ArrayBuffer that `bytes` views; positions are offsets into it. */
export function newScan(bytes: Uint8Array): Scan {
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

/** Resets the customdata figures before an event. */
export function startEvent(scan: Scan, start: number): void {
  scan.pos = start;
  scan.depth = 0;
  scan.jsonBytes = 0;
  scan.regular = true;
  scan.keysTop = 0;
}

/**
 * A tag: a varint of at most 5 bytes that fits 32 bits, field number 1 or more,
 * wire type 0-5 (groups, 3 and 4, are refused by the caller's skip or read).
 */
export function readTag(scan: Scan, end: number, field: string): number {
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

/** A length-delimited field's length; moves past it and returns where the field ends. */
export function readLength(scan: Scan, end: number, wireType: number, field: string): number {
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

/**
 * A `bool` field: a varint of up to 10 bytes, true when not zero (as
 * protobuf-es reads it).
 */
export function readBool(scan: Scan, end: number, wireType: number, field: string): boolean {
  if (wireType !== wireVarint) throw new WireError(field, `has wire type ${wireType}, expected 0 (varint)`);
  let value = false;
  for (let i = 0; i < 10; i++) {
    if (scan.pos >= end) throw new WireError(field, "is truncated inside a varint");
    const b = scan.buf[scan.pos++]!;
    // The tenth byte holds bit 63 only: protobuf-es ignores its other bits.
    if ((i === 9 ? b & 0x01 : b & 0x7f) !== 0) value = true;
    if (b < 0x80) return value;
  }
  throw new WireError(field, "holds a varint longer than 10 bytes");
}

/** Moves past a varint of up to 10 bytes. */
export function skipVarint(scan: Scan, end: number, field: string): void {
  for (let i = 0; i < 10; i++) {
    if (scan.pos >= end) throw new WireError(field, "is truncated inside a varint");
    if (scan.buf[scan.pos++]! < 0x80) return;
  }
  throw new WireError(field, "holds a varint longer than 10 bytes");
}

/** Moves past a field of `wireType`; groups are refused. */
export function skipField(scan: Scan, end: number, wireType: number, field: string): void {
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

/** Whether `buf[start, end)` starts with a UTF-8 byte order mark (which protobuf-es drops). */
export function hasBom(buf: Uint8Array, start: number, end: number): boolean {
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

/** Whether two ranges of `buf` hold the same bytes. */
export function sameBytes(buf: Uint8Array, aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
  if (aEnd - aStart !== bEnd - bStart) return false;
  for (let i = 0; i < aEnd - aStart; i++) if (buf[aStart + i] !== buf[bStart + i]) return false;
  return true;
}

/** Index of the entry of `names` that `buf[start, end)` holds, or -1. */
export function indexOfBytes(names: readonly Uint8Array[], buf: Uint8Array, start: number, end: number): number {
  for (let n = 0; n < names.length; n++) {
    const name = names[n]!;
    if (name.length === end - start && sameBytesAt(buf, start, name)) return n;
  }
  return -1;
}

function sameBytesAt(buf: Uint8Array, start: number, other: Uint8Array): boolean {
  for (let i = 0; i < other.length; i++) if (buf[start + i] !== other[i]) return false;
  return true;
}
