/**
 * An independent statement of the ingest contract (shared/spec/API.md), written
 * from the spec rather than from `src/ingest/`, so the fuzz tests can tell
 * whether the service's answer is the right one, not merely "some 4xx".
 *
 * Where the spec leaves a detail open, the oracle follows the documented choice
 * of the service (noted at each place); where the service's behaviour contradicts
 * the spec or issue 6, the oracle follows the spec and the test fails.
 */
import type { CustomdataLimits } from "../../src/ingest/customdata-limits.js";

export const eventTypeNames = ["AppOpen", "LevelCompleted", "GameEnd", "AdImpression", "IAPPurchase", "Custom"] as const;
const eventTypeSet: ReadonlySet<unknown> = new Set(eventTypeNames);

/** Fields a top-level violation may name (index -1). */
export const topFields: ReadonlySet<string> = new Set(["body", "user_id", "game_id", "events"]);
/** Fields an event violation may name (index >= 0). */
export const eventFields: ReadonlySet<string> = new Set(["event", "type", "timestamp", "customdata", "customEventName", "event_id"]);

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Protobuf JSON: a field may be spelled by its proto or its JSON name and `null`
 * means "not set". The service reads `user_id`, `game_id`, `event_id` proto name
 * first and `customEventName` JSON name first; the oracle does the same (the spec
 * does not say which wins when a client sends both with different values).
 */
function pick(obj: Record<string, unknown>, first: string, second: string): unknown {
  const a = Object.prototype.hasOwnProperty.call(obj, first) ? obj[first] : undefined;
  if (a !== undefined && a !== null) return a;
  const b = Object.prototype.hasOwnProperty.call(obj, second) ? obj[second] : undefined;
  return b === null ? undefined : b;
}

/** Reverse-DNS bundle id: letters first, dot-separated labels of [A-Za-z0-9_-], at least two labels. */
const gameIdRule = /^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)+$/;
const maxGameId = 128;
const maxUserId = 64;
const maxEventId = 64;
const maxCustomEventName = 128;
const maxEvents = 200;
// eslint-disable-next-line no-control-regex
const controlChar = /[\x00-\x1f\x7f]/;

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil), no Date involved. */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** An instant as the contract defines it. */
export interface OracleInstant {
  epochMs: number;
  micros: number;
  offsetMinutes: number;
}

const tsShape = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$/;
/** 1970-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z: what DATETIME(6) holds after conversion to UTC (in µs). */
const minMicros = 0n;
const maxMicros = BigInt(daysFromCivil(10000, 1, 1)) * 86_400_000_000n - 1n;

/**
 * ISO 8601 date-time with an explicit offset, checked against the calendar and
 * the storable range, fraction truncated to microseconds (the stored precision).
 * Undefined when the string is not one.
 */
export function oracleTimestamp(value: string): OracleInstant | undefined {
  const m = tsShape.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i]));
  if (mo! < 1 || mo! > 12) return undefined;
  const dim = [31, isLeap(y!) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo! - 1]!;
  if (d! < 1 || d! > dim) return undefined;
  if (h! > 23 || mi! > 59 || s! > 59) return undefined;
  let offsetMinutes = 0;
  if (m[8] !== "Z") {
    const oh = Number(m[8]!.slice(1, 3));
    const om = Number(m[8]!.slice(4, 6));
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (m[8]!.startsWith("-") ? -1 : 1) * (oh * 60 + om);
  }
  const frac = (m[7] ?? ".").slice(1).padEnd(6, "0").slice(0, 6);
  // BigInt: microseconds up to year 9999 exceed 2^53.
  const seconds = BigInt(daysFromCivil(y!, mo!, d!)) * 86_400n + BigInt(h! * 3600 + mi! * 60 + s! - offsetMinutes * 60);
  const totalMicros = seconds * 1_000_000n + BigInt(Number(frac));
  if (totalMicros < minMicros || totalMicros > maxMicros) return undefined;
  const epochMs = Number(totalMicros / 1000n);
  return { epochMs, micros: Number(totalMicros % 1000n), offsetMinutes };
}

/** Nesting depth: the customdata object itself is level 1; leaves add nothing. */
export function depthOf(v: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[v, 1]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (typeof x !== "object" || x === null) continue;
    if (d > max) max = d;
    for (const child of Array.isArray(x) ? x : Object.values(x)) stack.push([child, d + 1]);
  }
  return max;
}

/** Whether any number inside is NaN or infinite (JSON cannot carry it: it would be stored as null). */
export function hasNonFiniteNumber(v: unknown): boolean {
  const stack: unknown[] = [v];
  while (stack.length > 0) {
    const x = stack.pop();
    if (typeof x === "number" && !Number.isFinite(x)) return true;
    if (typeof x === "object" && x !== null) stack.push(...(Array.isArray(x) ? x : Object.values(x)));
  }
  return false;
}

/**
 * Length of the value as JSON text with strings counted without escapes, and the
 * number of containers. The service's documented size estimate lies in
 * [plain, plain + containers], so the oracle calls a size below that range
 * certainly fine and one above it certainly too big.
 */
export function plainJsonSize(v: unknown): { plain: number; containers: number } {
  let plain = 0;
  let containers = 0;
  const stack: unknown[] = [v];
  while (stack.length > 0) {
    const x = stack.pop();
    if (typeof x === "string") plain += x.length + 2;
    else if (typeof x === "number" || typeof x === "boolean" || x === null) plain += String(x).length;
    else if (Array.isArray(x)) {
      containers++;
      plain += 2 + Math.max(0, x.length - 1);
      stack.push(...x);
    } else if (typeof x === "object") {
      containers++;
      const keys = Object.keys(x);
      plain += 2 + Math.max(0, keys.length - 1);
      for (const k of keys) {
        plain += k.length + 3;
        stack.push((x as Record<string, unknown>)[k]);
      }
    }
  }
  return { plain, containers };
}

/** "ok", "bad" or "either" (inside the estimate's tolerance) for one event's customdata. */
export function customdataVerdict(cd: unknown, limits: CustomdataLimits): "ok" | "bad" | "either" {
  if (!isPlainObject(cd)) return "bad";
  if (depthOf(cd) > limits.maxDepth) return "bad";
  // Issue 6: numbers out of range are refused, not stored as null.
  if (hasNonFiniteNumber(cd)) return "bad";
  const { plain, containers } = plainJsonSize(cd);
  if (plain > limits.maxBytes) return "bad";
  if (plain + containers <= limits.maxBytes) return "ok";
  return "either";
}

/** What the contract says about one request body. */
export interface OracleVerdict {
  /** True when every rule holds (ignoring "either" fields). */
  valid: boolean;
  /** True when some field's verdict is "either": then only the shape of the answer is checked. */
  ambiguous: boolean;
  /** `index:field` of every certainly broken rule. */
  problems: Set<string>;
  /** `index:field` of fields in the tolerance band. */
  maybe: Set<string>;
  /** Indexes of certainly bad events. */
  badEvents: Set<number>;
  /** The user id the body claims (for the 403 rule), when it is a string. */
  claimedUserId: string | undefined;
}

/** Judges a decoded body (a JSON.parse result, or a protobuf message in its plain shape). */
export function judgeBatch(body: unknown, limits: CustomdataLimits): OracleVerdict {
  const problems = new Set<string>();
  const maybe = new Set<string>();
  const badEvents = new Set<number>();
  const verdict = (claimedUserId: string | undefined): OracleVerdict => ({
    valid: problems.size === 0,
    ambiguous: maybe.size > 0,
    problems,
    maybe,
    badEvents,
    claimedUserId,
  });
  if (!isPlainObject(body)) {
    problems.add("-1:body");
    return verdict(undefined);
  }
  const userId = pick(body, "user_id", "userId");
  if (typeof userId !== "string" || userId.length === 0 || userId.length > maxUserId) problems.add("-1:user_id");
  const gameId = pick(body, "game_id", "gameId");
  if (typeof gameId !== "string" || gameId.length === 0 || gameId.length > maxGameId || !gameIdRule.test(gameId)) problems.add("-1:game_id");
  const events = Object.prototype.hasOwnProperty.call(body, "events") ? body.events : undefined;
  if (!Array.isArray(events) || events.length < 1 || events.length > maxEvents) {
    problems.add("-1:events");
  } else {
    const seen = new Set<string>();
    // A plain loop, not forEach: a sparse array's holes are events too (undefined, not objects).
    for (let i = 0; i < events.length; i++) {
      const raw: unknown = events[i];
      const bad = (field: string) => {
        problems.add(`${i}:${field}`);
        badEvents.add(i);
      };
      if (!isPlainObject(raw)) {
        bad("event");
        continue;
      }
      const own = (k: string) => (Object.prototype.hasOwnProperty.call(raw, k) ? raw[k] : undefined);
      const type = own("type");
      if (!eventTypeSet.has(type)) bad("type");
      const ts = own("timestamp");
      if (typeof ts !== "string" || oracleTimestamp(ts) === undefined) bad("timestamp");
      const cd = own("customdata");
      if (cd !== undefined && cd !== null) {
        const v = customdataVerdict(cd, limits);
        if (v === "bad") bad("customdata");
        else if (v === "either") maybe.add(`${i}:customdata`);
      }
      const name = pick(raw, "customEventName", "custom_event_name");
      if (name !== undefined && typeof name !== "string") bad("customEventName");
      else if (typeof name === "string" && name.length > maxCustomEventName) bad("customEventName");
      else if (type === "Custom" && (name === undefined || name === "")) bad("customEventName");
      const id = pick(raw, "event_id", "eventId");
      let eventId: string | undefined;
      if (id !== undefined && typeof id !== "string") bad("event_id");
      // Proto3 cannot tell "" from unset, so "" means "let the server assign one".
      else if (typeof id === "string" && id !== "") {
        if (id.length > maxEventId || controlChar.test(id)) bad("event_id");
        else eventId = id;
      }
      if (!badEvents.has(i) && !maybe.has(`${i}:customdata`) && eventId !== undefined) {
        if (seen.has(eventId)) bad("event_id");
        seen.add(eventId);
      }
    }
  }
  return verdict(typeof userId === "string" ? userId : undefined);
}

/**
 * Whether JSON text (assumed valid) has an object with the same key twice, at any
 * depth, comparing keys after unescaping (`"a"` and `"\u0061"` are one key).
 */
export function hasDuplicateKeys(text: string): boolean {
  const stack: Array<Set<string> | null> = [];
  let i = 0;
  let expectKey = false;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "{") {
      stack.push(new Set());
      expectKey = true;
      i++;
    } else if (c === "[") {
      stack.push(null);
      expectKey = false;
      i++;
    } else if (c === "}" || c === "]") {
      stack.pop();
      i++;
    } else if (c === ",") {
      expectKey = stack[stack.length - 1] instanceof Set;
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const literal = text.slice(i, j + 1);
      if (expectKey) {
        const key = JSON.parse(literal) as string;
        const set = stack[stack.length - 1] as Set<string>;
        if (set.has(key)) return true;
        set.add(key);
        expectKey = false;
      }
      i = j + 1;
    } else {
      i++;
    }
  }
  return false;
}

/** Whether bytes are well-formed UTF-8. */
export function isWellFormedUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}
