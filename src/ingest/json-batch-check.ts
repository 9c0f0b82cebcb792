// long because it is one scanner: every state of the JSON grammar shares one cursor and one
// hot loop, and split into modules its calls would cross them per byte.
// Fast path, measured 2026-12-03 (`npm run bench`, 10 s rows, two alternating rounds, gateway
// CPU per event; the "off" side took JSON.parse + checkBatch and connect's JSON decoding):
// rest-200 3.4 µs against 5.5 off (-38%); connect-json-200 6.4 against 19.5 off (-67%).
import { asciiLength, asciiString, IdRanges } from "./byte-ranges.js";
import type { CustomdataLimits } from "./customdata-limits.js";
import { eventTypes, type EventType } from "./event-types.js";
import { gameIdProblem, maxGameIdLength } from "./game-id.js";
import { isCommonTimestamp, maxCommonTimestampLength, parseTimestamp, type ClientInstant } from "./timestamp.js";
import { maxCustomEventNameLength, maxEventIdLength, maxEventsPerBatch, maxUserIdLength, type BatchSummary, type IngestBatch } from "./validate-batch.js";
import { sameBytes, utf16Units, type SliceBuffer } from "./wire-reader.js";

/**
 * The gateway's one-pass check of a JSON `IngestEventsRequest` body, on its
 * bytes: JSON syntax and every rule of `checkBatch` at once, building no object
 * and no string per event. `JSON.parse` and then `checkBatch` cost about two
 * thirds of a REST ingest request, and the body is queued as received anyway.
 *
 * Like `checkWireBatch`, it answers only "valid, this player's, N events" or
 * "not sure" (undefined); the caller then parses and checks the body the exact
 * way, which gives every verdict and reason. It is sure of what clients write
 * for a valid batch: each known field once, by either of its names, no `null`,
 * no unknown fields, ids, types, timestamps and names as printable ASCII without
 * escapes, and customdata of any JSON within the limits. A differential test
 * holds it to: whatever it accepts, `JSON.parse` + `checkBatch` accept with the
 * same summary.
 */
export function checkJsonBatch(body: Buffer, limits: CustomdataLimits): BatchSummary | undefined {
  return scanBatch(body, limits, undefined, false);
}

/**
 * {@link checkJsonBatch} for a Connect JSON request, which protobuf-es reads
 * (`fromJsonString`): also sure that no object of any customdata repeats a key,
 * which protobuf-es refuses where `JSON.parse` keeps the last. Keys written
 * with an escape, and objects of more than 64 keys, are left to the exact path.
 * A differential test holds it to: whatever it accepts, connect's JSON parse
 * of the request and `checkBatch` of the message accept with the same summary.
 */
export function checkProtoJsonBatch(body: Buffer, limits: CustomdataLimits): BatchSummary | undefined {
  return scanBatch(body, limits, undefined, true);
}

/** One event of a batch {@link readJsonBatch} is sure of, as `validateBatch` gives it. */
export interface JsonBatchEvent {
  type: EventType;
  /** The timestamp as written (one `isCommonTimestamp` passes). */
  timestamp: string;
  customEventName: string | undefined;
  eventId: string | undefined;
  /** The customdata as `JSON.stringify` writes what `JSON.parse` read, or undefined when absent. */
  customdataJson: string | undefined;
}

/** A batch {@link readJsonBatch} is sure of, and its events. */
export interface JsonBatchEvents extends BatchSummary {
  events: JsonBatchEvent[];
}

/**
 * The same check, also giving the events: what `validateBatch` makes of the
 * parsed body, with each customdata as the text `JSON.stringify` writes for it.
 * The worker stores that text; here it is mostly the body's own bytes (when
 * they are already written the way `JSON.stringify` writes them: no whitespace,
 * no `\u` or `\/` escape, numbers as `String()` writes them, no repeated or
 * integer-like key), otherwise the customdata alone is parsed and written again.
 * Undefined when not sure, as {@link checkJsonBatch}.
 */
export function readJsonBatch(body: Buffer, limits: CustomdataLimits): JsonBatchEvents | undefined {
  const events: JsonBatchEvent[] = [];
  const summary = scanBatch(body, limits, events, false);
  return summary && { ...summary, events };
}

/** A batch validated the exact way (`validateBatch`), in the terms of {@link readJsonBatch}. */
export function jsonBatchEventsOf(batch: IngestBatch): JsonBatchEvents {
  return {
    userId: batch.userId,
    gameId: batch.gameId,
    eventCount: batch.events.length,
    ...(batch.sentAt === undefined ? {} : { sentAt: batch.sentAt }),
    events: batch.events.map((e) => ({
      type: e.type,
      timestamp: e.timestamp,
      customEventName: e.customEventName,
      eventId: e.eventId,
      customdataJson: e.customdata === undefined ? undefined : JSON.stringify(e.customdata),
    })),
  };
}

function scanBatch(body: Buffer, limits: CustomdataLimits, out: JsonBatchEvent[] | undefined, distinctKeys: boolean): BatchSummary | undefined {
  scan.open(body as SliceBuffer);
  scan.distinctKeys = distinctKeys;
  ids.clear();
  try {
    return readBatch(scan, limits, out);
  } catch (err) {
    if (err === notSure) return undefined;
    throw err;
  } finally {
    scan.close();
  }
}

/** Thrown for anything the check does not vouch for; caught in checkJsonBatch. */
const notSure = Symbol("not sure");

const quote = 0x22;
const backslash = 0x5c;
const comma = 0x2c;
const colon = 0x3a;
const minus = 0x2d;
const plus = 0x2b;
const dot = 0x2e;
const zero = 0x30;
const nine = 0x39;
const openBrace = 0x7b;
const closeBrace = 0x7d;
const openBracket = 0x5b;
const closeBracket = 0x5d;

/** Deepest customdata nesting read, a bound on recursion (MariaDB stores at most 31 levels; see storableCustomdataDepth). */
const maxNesting = 32;
/** Keys of open objects tracked for repeats at once; past it, or past this many in one object, the text is written again. */
const maxTrackedKeys = 256;
const maxKeysCompared = 64;

/**
 * Names a JSON string may hold at one place (keys, event types), matched on
 * the bytes after the opening quote without first finding the closing one.
 */
class NameTable {
  private readonly bytes: Uint8Array[];
  // Indexes of the names by their first byte.
  private readonly byFirstByte: number[][] = Array.from({ length: 256 }, () => []);

  constructor(names: readonly string[]) {
    this.bytes = names.map((name) => Buffer.from(name, "latin1"));
    this.bytes.forEach((name, n) => this.byFirstByte[name[0]!]!.push(n));
  }

  /** Index of the name that `buf[at]` starts followed by a closing quote, or -1. */
  match(buf: Uint8Array, at: number, end: number): number {
    const candidates = this.byFirstByte[buf[at]!]!;
    for (let c = 0; c < candidates.length; c++) {
      const n = candidates[c]!;
      const name = this.bytes[n]!;
      const close = at + name.length;
      if (close >= end || buf[close] !== quote) continue;
      let k = 1;
      while (k < name.length && buf[at + k] === name[k]) k++;
      if (k === name.length) return n;
    }
    return -1;
  }

  length(n: number): number {
    return this.bytes[n]!.length;
  }
}

// Each field by its proto name and its JSON name, as `pick` reads them; the
// slot is the field, whichever name it came by.
const batchKeys = new NameTable(["user_id", "userId", "game_id", "gameId", "events", "sent_at", "sentAt"]);
const batchSlots = [0, 0, 1, 1, 2, 3, 3];
const eventKeys = new NameTable(["type", "timestamp", "customdata", "customEventName", "custom_event_name", "event_id", "eventId"]);
const eventSlots = [0, 1, 2, 3, 3, 4, 4];
const typeNames = new NameTable(eventTypes);
const customType = eventTypes.indexOf("Custom");

const ids = new IdRanges();

/** Cursor over one body; `start` and `stringEnd` frame the last plain string read. */
class JsonScan {
  buf: SliceBuffer = Buffer.alloc(0) as SliceBuffer;
  pos = 0;
  end = 0;
  start = 0;
  stringEnd = 0;
  /** Customdata size as JSON text, counted as `customdataProblem` counts it. */
  jsonBytes = 0;
  /** While true, `canonical` follows whether the text read is as `JSON.stringify` writes it. */
  tracking = false;
  canonical = true;
  /** Refuse (not sure) a key repeated in one customdata object, as protobuf-es does. */
  distinctKeys = false;
  /** Whether the last string read by `string()` held an escape. */
  escaped = false;
  // The keys of the objects open while tracking, innermost last: repeated keys.
  private readonly keyStarts = new Int32Array(maxTrackedKeys);
  private readonly keyEnds = new Int32Array(maxTrackedKeys);
  private keyCount = 0;

  open(buf: SliceBuffer): void {
    this.buf = buf;
    this.pos = 0;
    this.end = buf.length;
    this.tracking = false;
    this.keyCount = 0;
  }

  /** Lets the request buffer go. */
  close(): void {
    this.buf = empty;
  }

  // Reads never pass the end: an out-of-bounds read would make V8 treat every
  // byte read as "number or undefined", several times slower.
  /** The byte at `i`, or -1 past the end. */
  at(i: number): number {
    return i < this.end ? this.buf[i]! : -1;
  }

  /** The byte at the cursor, or -1 at the end. */
  peek(): number {
    return this.at(this.pos);
  }

  skipWhitespace(): void {
    const buf = this.buf;
    const end = this.end;
    let i = this.pos;
    while (i < end) {
      const b = buf[i]!;
      if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) break;
      i++;
    }
    if (this.tracking && i !== this.pos) this.canonical = false;
    this.pos = i;
  }

  /** Steps over `byte` (after any whitespace). */
  expect(byte: number): void {
    this.skipWhitespace();
    if (this.peek() !== byte) throw notSure;
    this.pos++;
  }

  /**
   * After a member or an item: true at a comma (stepped over), false at `close`
   * (stepped over), not sure at anything else.
   */
  more(close: number): boolean {
    this.skipWhitespace();
    const b = this.peek();
    this.pos++;
    if (b === comma) return true;
    if (b === close) return false;
    throw notSure;
  }

  /** Reads a string that holds one of `names` and answers its index. */
  name(names: NameTable): number {
    this.skipWhitespace();
    if (this.peek() !== quote || this.pos + 1 >= this.end) throw notSure;
    const at = this.pos + 1;
    const n = names.match(this.buf, at, this.end);
    if (n < 0) throw notSure;
    this.pos = at + names.length(n) + 1;
    return n;
  }

  /** Reads `"key":` and answers the slot of the known key it names. */
  key(keys: NameTable, slots: readonly number[]): number {
    const slot = slots[this.name(keys)]!;
    this.expect(colon);
    return slot;
  }

  /**
   * Reads a string of at most `max` bytes without escapes; its content is
   * [start, stringEnd). Its caller checks the bytes are printable ASCII (a
   * backslash, printable itself, is refused here).
   */
  plainString(max: number): void {
    this.skipWhitespace();
    if (this.peek() !== quote) throw notSure;
    const buf = this.buf;
    const start = this.pos + 1;
    const end = Math.min(this.end, start + max + 1);
    let i = start;
    for (;;) {
      if (i >= end) throw notSure;
      const b = buf[i]!;
      if (b === quote) break;
      if (b === backslash) throw notSure;
      i++;
    }
    this.start = start;
    this.stringEnd = i;
    this.pos = i + 1;
  }

  /** Reads any JSON string (the cursor at its quote) and answers its length as a JS string (UTF-16 units). */
  string(): number {
    const buf = this.buf;
    const end = this.end;
    const start = this.pos + 1;
    let i = start;
    let escapeBytes = 0;
    let ascii = true;
    for (;;) {
      if (i >= end) throw notSure;
      const b = buf[i]!;
      if (b === quote) break;
      if (b < 0x20) throw notSure;
      if (b === backslash) {
        const e = this.at(i + 1);
        if (e === 0x75) {
          // \uXXXX: one UTF-16 unit from six bytes.
          if (!(isHex(this.at(i + 2)) && isHex(this.at(i + 3)) && isHex(this.at(i + 4)) && isHex(this.at(i + 5)))) throw notSure;
          // JSON.stringify writes the character itself, or \u with lower-case hex.
          this.canonical = false;
          escapeBytes += 5;
          i += 6;
        } else if (e === quote || e === backslash || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
          // JSON.stringify writes "/" as is, the others as here.
          if (e === 0x2f) this.canonical = false;
          escapeBytes += 1;
          i += 2;
        } else throw notSure;
        continue;
      }
      if (b >= 0x80) ascii = false;
      i++;
    }
    this.pos = i + 1;
    this.escaped = escapeBytes > 0;
    if (ascii) return i - start - escapeBytes;
    // Validates the UTF-8 too: JSON.parse never sees a body that is not. Each
    // escape is ASCII, counted a unit per byte there, so its extra bytes come off.
    const units = utf16Units(buf, start, i);
    if (units < 0) throw notSure;
    return units - escapeBytes;
  }

  /** Reads a JSON number and answers the length of `String(value)`. */
  number(): number {
    const buf = this.buf;
    const start = this.pos;
    let i = start;
    if (this.at(i) === minus) i++;
    const intStart = i;
    if (this.at(i) === zero) i++;
    else if (isDigit(this.at(i))) while (isDigit(this.at(++i)));
    else throw notSure;
    const intEnd = i;
    let exponent = false;
    if (this.at(i) === dot) {
      if (!isDigit(this.at(++i))) throw notSure;
      while (isDigit(this.at(++i)));
    }
    if (this.at(i) === 0x65 || this.at(i) === 0x45) {
      exponent = true;
      if (this.at(i + 1) === plus || this.at(i + 1) === minus) i++;
      if (!isDigit(this.at(++i))) throw notSure;
      while (isDigit(this.at(++i)));
    }
    this.pos = i;
    if (!exponent && writtenAsIs(buf, start, intStart, intEnd, i)) return i - start;
    this.canonical = false;
    const value = Number(buf.latin1Slice(start, i));
    // JSON.parse makes 1e400 Infinity, which customdataProblem refuses.
    if (!Number.isFinite(value)) throw notSure;
    return String(value).length;
  }

  /** Steps over `word` (true, false, null) at the cursor. */
  literal(word: Uint8Array): void {
    for (let k = 0; k < word.length; k++) if (this.at(this.pos + k) !== word[k]) throw notSure;
    this.pos += word.length;
  }

  /** Reads one customdata value at `depth` (the customdata object is 1), adding its size to jsonBytes. */
  value(depth: number, limits: CustomdataLimits): void {
    this.skipWhitespace();
    const b = this.peek();
    if (b === openBrace) this.object(depth, limits);
    else if (b === openBracket) this.array(depth, limits);
    else if (b === quote) this.jsonBytes += this.string() + 2;
    else if (b === 0x74) {
      this.literal(trueBytes);
      this.jsonBytes += 4;
    } else if (b === 0x66) {
      this.literal(falseBytes);
      this.jsonBytes += 5;
    } else if (b === 0x6e) {
      this.literal(nullBytes);
      this.jsonBytes += 4;
    } else this.jsonBytes += this.number();
    if (this.jsonBytes > limits.maxBytes) throw notSure;
  }

  private object(depth: number, limits: CustomdataLimits): void {
    if (depth > limits.maxDepth || depth > maxNesting) throw notSure;
    this.pos++;
    this.jsonBytes += 2;
    this.skipWhitespace();
    if (this.peek() === closeBrace) {
      this.pos++;
      return;
    }
    // A repeated key is counted each time, with each of its values, where
    // JSON.parse keeps one key and its last value: the sum can only be larger
    // than customdataProblem's, so a batch within the limits here is within
    // them there too.
    const firstKey = this.keyCount;
    do {
      this.skipWhitespace();
      if (this.peek() !== quote) throw notSure;
      const keyStart = this.pos + 1;
      this.jsonBytes += this.string() + 4;
      if (this.distinctKeys) this.requireDistinctKey(firstKey, keyStart, this.pos - 1);
      else if (this.tracking && this.canonical) this.trackKey(firstKey, keyStart, this.pos - 1);
      this.expect(colon);
      this.value(depth + 1, limits);
    } while (this.more(closeBrace));
    this.keyCount = firstKey;
  }

  /**
   * Notes a key of the object whose keys start at `firstKey`. JSON.parse keeps
   * one of repeated keys, and puts integer-like keys first: the text is then not
   * as JSON.stringify writes it. Keys are compared as written: for canonical
   * text, the same key is always written the same way.
   */
  private trackKey(firstKey: number, start: number, end: number): void {
    const b = this.buf[start];
    if (this.keyCount === maxTrackedKeys || this.keyCount - firstKey >= maxKeysCompared || (b !== undefined && isDigit(b))) {
      this.canonical = false;
      return;
    }
    for (let k = firstKey; k < this.keyCount; k++) {
      if (sameBytes(this.buf, this.keyStarts[k]!, this.keyEnds[k]!, start, end)) {
        this.canonical = false;
        return;
      }
    }
    this.keyStarts[this.keyCount] = start;
    this.keyEnds[this.keyCount] = end;
    this.keyCount++;
  }

  /**
   * Notes a key of the object whose keys start at `firstKey`, not sure if it
   * repeats one. Compared as written, which is exact for keys without escapes
   * (the UTF-8 of each was checked); an escaped key could equal one written
   * plainly, so it is left to the exact path, as are very wide objects.
   */
  private requireDistinctKey(firstKey: number, start: number, end: number): void {
    if (this.escaped || this.keyCount === maxTrackedKeys || this.keyCount - firstKey >= maxKeysCompared) throw notSure;
    for (let k = firstKey; k < this.keyCount; k++) {
      if (sameBytes(this.buf, this.keyStarts[k]!, this.keyEnds[k]!, start, end)) throw notSure;
    }
    this.keyStarts[this.keyCount] = start;
    this.keyEnds[this.keyCount] = end;
    this.keyCount++;
  }

  private array(depth: number, limits: CustomdataLimits): void {
    if (depth > limits.maxDepth || depth > maxNesting) throw notSure;
    this.pos++;
    this.jsonBytes += 2;
    this.skipWhitespace();
    if (this.peek() === closeBracket) {
      this.pos++;
      return;
    }
    do {
      this.jsonBytes += 1;
      this.value(depth + 1, limits);
    } while (this.more(closeBracket));
  }
}

const empty = Buffer.alloc(0) as SliceBuffer;
const trueBytes = Buffer.from("true", "latin1");
const falseBytes = Buffer.from("false", "latin1");
const nullBytes = Buffer.from("null", "latin1");
const scan = new JsonScan();

/**
 * Whether String() writes the number `buf[start, end)` (no exponent; its
 * integer digits at [intStart, intEnd)) exactly as it came, so its length is
 * known without parsing it. A decimal of at most 15 significant digits is the
 * shortest form of its double, so String() keeps those digits; it drops
 * trailing fraction zeros and the sign of -0, and writes below 1e-6 with an
 * exponent.
 */
function writtenAsIs(buf: Uint8Array, start: number, intStart: number, intEnd: number, end: number): boolean {
  const zeroInteger = buf[intStart] === zero;
  if (intEnd === end) return end - intStart <= 15 && !(zeroInteger && intStart > start);
  if (buf[end - 1] === zero) return false;
  let significant = zeroInteger ? 0 : intEnd - intStart;
  let i = intEnd + 1;
  if (zeroInteger) {
    while (buf[i] === zero) i++;
    if (i - intEnd - 1 > 5) return false;
  }
  significant += end - i;
  return significant <= 15;
}

function isDigit(b: number): boolean {
  return b >= zero && b <= nine;
}

function isHex(b: number): boolean {
  return (b >= zero && b <= nine) || ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x66);
}

function readBatch(s: JsonScan, limits: CustomdataLimits, out: JsonBatchEvent[] | undefined): BatchSummary | undefined {
  s.expect(openBrace);
  let seen = 0;
  let userStart = 0;
  let userEnd = 0;
  let gameStart = 0;
  let gameEnd = 0;
  let events = 0;
  let sentStart = 0;
  let sentEnd = 0;
  do {
    const slot = s.key(batchKeys, batchSlots);
    if (seen & (1 << slot)) throw notSure;
    seen |= 1 << slot;
    if (slot === 2) events = readEvents(s, limits, out);
    else if (slot === 3) {
      s.plainString(maxCommonTimestampLength);
      if (!isCommonTimestamp(s.buf, s.start, s.stringEnd)) throw notSure;
      sentStart = s.start;
      sentEnd = s.stringEnd;
    } else {
      s.plainString(slot === 0 ? maxUserIdLength : maxGameIdLength);
      if (slot === 0) {
        userStart = s.start;
        userEnd = s.stringEnd;
      } else {
        gameStart = s.start;
        gameEnd = s.stringEnd;
      }
    }
  } while (s.more(closeBrace));
  s.skipWhitespace();
  if (s.pos !== s.end || (seen & 7) !== 7) return undefined;
  const userId = asciiString(s.buf, userStart, userEnd, maxUserIdLength);
  const gameId = asciiString(s.buf, gameStart, gameEnd, Infinity);
  if (userId === undefined || gameId === undefined || gameIdProblem(gameId) !== undefined) return undefined;
  const summary: BatchSummary = { userId, gameId, eventCount: events };
  // A common timestamp parses: its range against the receive time is the caller's to check.
  if (sentEnd > sentStart) summary.sentAt = parseTimestamp(s.buf.latin1Slice(sentStart, sentEnd)) as ClientInstant;
  return summary;
}

function readEvents(s: JsonScan, limits: CustomdataLimits, out: JsonBatchEvent[] | undefined): number {
  s.expect(openBracket);
  let events = 0;
  do {
    if (events === maxEventsPerBatch) throw notSure;
    readEvent(s, limits, out);
    events++;
  } while (s.more(closeBracket));
  return events;
}

// One event: returns only when every rule holds; pushed onto `out` if given.
function readEvent(s: JsonScan, limits: CustomdataLimits, out: JsonBatchEvent[] | undefined): void {
  s.expect(openBrace);
  const buf = s.buf;
  let seen = 0;
  let type = -1;
  let timestampStart = 0;
  let timestampEnd = 0;
  let customdataStart = 0;
  let customdataEnd = 0;
  let canonical = true;
  let nameStart = 0;
  let nameEnd = 0;
  let idStart = 0;
  let idEnd = 0;
  do {
    const slot = s.key(eventKeys, eventSlots);
    if (seen & (1 << slot)) throw notSure;
    seen |= 1 << slot;
    if (slot === 2) {
      // Customdata that is not an object (null included) is left to the exact path.
      s.skipWhitespace();
      if (s.peek() !== openBrace) throw notSure;
      s.jsonBytes = 0;
      customdataStart = s.pos;
      s.tracking = out !== undefined;
      s.canonical = true;
      s.value(1, limits);
      s.tracking = false;
      canonical = s.canonical;
      customdataEnd = s.pos;
      continue;
    }
    if (slot === 0) type = s.name(typeNames);
    else if (slot === 1) {
      s.plainString(maxCommonTimestampLength);
      if (!isCommonTimestamp(buf, s.start, s.stringEnd)) throw notSure;
      timestampStart = s.start;
      timestampEnd = s.stringEnd;
    } else if (slot === 3) {
      s.plainString(maxCustomEventNameLength);
      nameStart = s.start;
      nameEnd = s.stringEnd;
    } else {
      s.plainString(maxEventIdLength);
      idStart = s.start;
      idEnd = s.stringEnd;
    }
  } while (s.more(closeBrace));
  if (type < 0 || (seen & 2) === 0) throw notSure;
  if (nameEnd > nameStart) {
    if (asciiLength(buf, nameStart, nameEnd) < 0 || nameEnd - nameStart > maxCustomEventNameLength) throw notSure;
  } else if (type === customType) {
    throw notSure;
  }
  // An empty id means "no id" (the worker derives one).
  if (idEnd > idStart && (idEnd - idStart > maxEventIdLength || !ids.add(buf, idStart, idEnd))) throw notSure;
  if (out === undefined) return;
  let customdataJson: string | undefined;
  if (customdataEnd > customdataStart) {
    const text = buf.utf8Slice(customdataStart, customdataEnd);
    customdataJson = canonical ? text : JSON.stringify(JSON.parse(text));
  }
  out.push({
    type: eventTypes[type]!,
    timestamp: buf.latin1Slice(timestampStart, timestampEnd),
    customEventName: nameEnd > nameStart ? buf.latin1Slice(nameStart, nameEnd) : undefined,
    eventId: idEnd > idStart ? buf.latin1Slice(idStart, idEnd) : undefined,
    customdataJson,
  });
}
