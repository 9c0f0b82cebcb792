/**
 * A strict, schema-driven reading of Protobuf binary input, for the tests of the
 * binary ingest path: says why bytes that protobuf-es decodes are nonetheless
 * malformed. protobuf-es reads a known field whatever its wire type, lets a
 * field run past the end of its enclosing message, reads a map entry's unknown
 * field as if it were the next tag, truncates 6-10 byte lengths to 32 bits and
 * skips groups. The gateway's wire scanner refuses those; this is the test's
 * own, generic statement of the same rules, written from the descriptors rather
 * than from the scanner.
 */
import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";

const recursionLimit = 100;
const fatal = new TextDecoder("utf-8", { fatal: true });

class Malformed extends Error {}

/** Why `bytes` is not a strictly well-formed `schema` message, or undefined. */
export function strictWireProblem(schema: DescMessage, bytes: Uint8Array): string | undefined {
  try {
    const r = { buf: bytes, pos: 0 };
    readMessage(schema, r, bytes.length, 1);
    return undefined;
  } catch (err) {
    if (err instanceof Malformed) return err.message;
    throw err;
  }
}

interface Reader {
  buf: Uint8Array;
  pos: number;
}

function varint(r: Reader, end: number, maxBytes: number): bigint {
  let v = 0n;
  for (let i = 0; i < maxBytes; i++) {
    if (r.pos >= end) throw new Malformed("truncated varint");
    const b = r.buf[r.pos++]!;
    v |= BigInt(b & 0x7f) << BigInt(7 * i);
    if (b < 0x80) return v;
  }
  throw new Malformed(`varint over ${maxBytes} bytes`);
}

function u32(r: Reader, end: number): number {
  const v = varint(r, end, 5);
  if (v > 0xffffffffn) throw new Malformed("32-bit varint overflows");
  return Number(v);
}

function sub(r: Reader, end: number): number {
  const len = u32(r, end);
  if (r.pos + len > end) throw new Malformed("length past the enclosing message");
  return r.pos + len;
}

function expectedWireType(field: DescField): number {
  if (field.fieldKind === "message" || field.fieldKind === "map") return 2;
  if (field.fieldKind === "list" && field.listKind === "message") return 2;
  if (field.fieldKind === "enum" || (field.fieldKind === "list" && field.listKind === "enum")) return 0;
  const scalar = field.fieldKind === "scalar" || field.fieldKind === "list" ? field.scalar : undefined;
  switch (scalar) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return 2;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return 1;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return 5;
    default:
      return 0;
  }
}

function skip(r: Reader, end: number, wireType: number): void {
  if (wireType === 0) varint(r, end, 10);
  else if (wireType === 1 || wireType === 5) {
    const n = wireType === 1 ? 8 : 4;
    if (r.pos + n > end) throw new Malformed("truncated fixed-size field");
    r.pos += n;
  } else if (wireType === 2) r.pos = sub(r, end);
  else throw new Malformed(`wire type ${wireType}`);
}

function readString(r: Reader, end: number): void {
  const e = sub(r, end);
  try {
    fatal.decode(r.buf.subarray(r.pos, e));
  } catch {
    throw new Malformed("invalid UTF-8");
  }
  r.pos = e;
}

function readScalarOrMessage(field: DescField, r: Reader, end: number, depth: number): void {
  if (field.fieldKind === "message" || (field.fieldKind === "list" && field.listKind === "message")) {
    readMessage(field.message!, r, sub(r, end), depth + 1);
  } else if ((field.fieldKind === "scalar" || field.fieldKind === "list") && field.scalar === ScalarType.STRING) {
    readString(r, end);
  } else {
    skip(r, end, expectedWireType(field));
  }
}

function readMessage(desc: DescMessage, r: Reader, end: number, depth: number): void {
  if (depth > recursionLimit) throw new Malformed("nested past the recursion limit");
  while (r.pos < end) {
    const tag = u32(r, end);
    const fieldNo = tag >>> 3;
    const wireType = tag & 7;
    if (fieldNo === 0) throw new Malformed("field number 0");
    const field = desc.fields.find((f) => f.number === fieldNo);
    if (field === undefined) {
      skip(r, end, wireType);
      continue;
    }
    if (wireType !== expectedWireType(field)) throw new Malformed(`${desc.typeName}.${field.name}: wire type ${wireType}`);
    if (field.fieldKind === "map") {
      const entryEnd = sub(r, end);
      while (r.pos < entryEnd) {
        const entryTag = u32(r, entryEnd);
        const no = entryTag >>> 3;
        if (no === 1 && (entryTag & 7) === 2) readString(r, entryEnd);
        else if (no === 2 && (entryTag & 7) === 2 && field.mapKind === "message") readMessage(field.message, r, sub(r, entryEnd), depth + 1);
        else throw new Malformed(`map entry field ${no} wire type ${entryTag & 7}`);
      }
      continue;
    }
    readScalarOrMessage(field, r, end, depth);
  }
}
