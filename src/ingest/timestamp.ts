/**
 * ISO 8601 date-times with an explicit offset, checked against the calendar
 * (a regex alone would let `2026-02-30` through).
 */

/** A parsed client timestamp: the UTC instant and the offset the client wrote. */
export interface ClientInstant {
  /** Milliseconds since the epoch, UTC. */
  epochMs: number;
  /** Microseconds within that millisecond (0-999); the stored precision is 1 µs. */
  micros: number;
  /** The client's offset from UTC in minutes, e.g. 330 for `+05:30`. */
  offsetMinutes: number;
}

const formatReason =
  "must be an ISO 8601 date-time with an explicit offset, e.g. 2026-11-26T09:15:00Z or 2026-11-26T09:15:00+01:00";

// Lowest and highest instants MySQL DATETIME holds after conversion to UTC.
const minEpochMs = Date.UTC(1970, 0, 1);
const maxEpochMs = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function daysInMonth(year: number, month: number): number {
  if (month === 2) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    return leap ? 29 : 28;
  }
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm):
// exact for every year 0-9999, with no Date object per event.
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

// The value of the two ASCII digits at `at`, or -1 when one is not a digit.
function two(s: string, at: number): number {
  const a = s.charCodeAt(at) - 48;
  const b = s.charCodeAt(at + 1) - 48;
  // NaN past the end of the string fails both comparisons' negation below.
  if (!(a >= 0 && a <= 9 && b >= 0 && b <= 9)) return -1;
  return a * 10 + b;
}

const dash = 45;
const colon = 58;
const dot = 46;
const upperT = 84;
const upperZ = 90;
const plus = 43;

/**
 * Parses `value` as an ISO 8601 date-time with `Z` or `±hh:mm`. Returns the reason
 * as a string when it is not one, so validation can report it by field. A scan
 * by hand over char codes rather than a regex or substrings: it runs for every
 * event of every batch, and allocates nothing but its result.
 */
export function parseTimestamp(value: string): ClientInstant | string {
  const len = value.length;
  if (
    len < 20 ||
    value.charCodeAt(4) !== dash ||
    value.charCodeAt(7) !== dash ||
    value.charCodeAt(10) !== upperT ||
    value.charCodeAt(13) !== colon ||
    value.charCodeAt(16) !== colon
  ) {
    return formatReason;
  }
  const century = two(value, 0);
  const yy = two(value, 2);
  const month = two(value, 5);
  const day = two(value, 8);
  const hour = two(value, 11);
  const minute = two(value, 14);
  const second = two(value, 17);
  if (century < 0 || yy < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return formatReason;
  const year = century * 100 + yy;
  let i = 19;
  let fraction = 0; // microseconds, from the first six fraction digits
  if (value.charCodeAt(i) === dot) {
    const start = ++i;
    let c = value.charCodeAt(i) - 48;
    // Ten digits are already too many: a huge fraction costs no more than that.
    while (c >= 0 && c <= 9 && i - start < 10) {
      if (i - start < 6) fraction = fraction * 10 + c;
      c = value.charCodeAt(++i) - 48;
    }
    const n = i - start;
    if (n < 1 || n > 9) return formatReason;
    for (let k = n; k < 6; k++) fraction *= 10;
  }
  let offsetMinutes = 0;
  const sign = value.charCodeAt(i);
  if (sign === upperZ) {
    if (i + 1 !== len) return formatReason;
  } else if (sign === plus || sign === dash) {
    if (i + 6 !== len || value.charCodeAt(i + 3) !== colon) return formatReason;
    const oh = two(value, i + 1);
    const om = two(value, i + 4);
    if (oh < 0 || om < 0) return formatReason;
    if (oh > 23 || om > 59) return "offset out of range";
    offsetMinutes = (sign === dash ? -1 : 1) * (oh * 60 + om);
  } else {
    return formatReason;
  }
  if (month < 1 || month > 12) return `month ${value.slice(5, 7)} does not exist`;
  if (day < 1 || day > daysInMonth(year, month)) {
    return `day ${value.slice(8, 10)} does not exist in ${value.slice(0, 4)}-${value.slice(5, 7)}`;
  }
  if (hour > 23 || minute > 59 || second > 59) return "time of day out of range";
  const ms = Math.floor(fraction / 1000);
  const epochMs =
    ((daysFromCivil(year, month, day) * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + ms - offsetMinutes * 60_000;
  if (epochMs < minEpochMs || epochMs > maxEpochMs) return "must be between 1970-01-01 and 9999-12-31 in UTC";
  return { epochMs, micros: fraction - ms * 1000, offsetMinutes };
}

// The grammar parseTimestamp reads, as one native scan. `\d` is ASCII only here.
const shape = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

// Digit at `at` of a string the shape already matched.
function digit(s: string, at: number): number {
  return s.charCodeAt(at) - 48;
}

/**
 * Why `value` is not a timestamp {@link parseTimestamp} accepts, or undefined.
 * Same verdicts and reasons, cheaper: the gateway only needs to know, so the
 * common case (well formed, in range, years 1971-9998 where no offset can move
 * the instant out of range) is answered by one regex test and a few digit
 * reads; anything else is left to parseTimestamp for its exact reason.
 */
export function timestampProblem(value: string): string | undefined {
  if (shape.test(value)) {
    const year = digit(value, 0) * 1000 + digit(value, 1) * 100 + digit(value, 2) * 10 + digit(value, 3);
    const month = digit(value, 5) * 10 + digit(value, 6);
    const day = digit(value, 8) * 10 + digit(value, 9);
    const end = value.length;
    const zulu = value.charCodeAt(end - 1) === upperZ;
    if (
      year > 1970 &&
      year < 9999 &&
      month >= 1 &&
      month <= 12 &&
      day >= 1 &&
      day <= daysInMonth(year, month) &&
      digit(value, 11) * 10 + digit(value, 12) <= 23 &&
      digit(value, 14) <= 5 &&
      digit(value, 17) <= 5 &&
      (zulu || (digit(value, end - 5) * 10 + digit(value, end - 4) <= 23 && digit(value, end - 2) <= 5))
    ) {
      return undefined;
    }
  }
  const parsed = parseTimestamp(value);
  return typeof parsed === "string" ? parsed : undefined;
}

// Digit at `at` of raw bytes, or a value that fails every range check below.
function byteDigit(buf: Uint8Array, at: number): number {
  const c = buf[at]! - 48;
  // Far below zero, so that one non-digit puts any field it is part of out of
  // range, the four-digit year included (-1000 did not: "300x" read as 2999).
  return c >= 0 && c <= 9 ? c : -1_000_000;
}

/** Longest timestamp {@link isCommonTimestamp} accepts: nine fraction digits and an offset. */
export const maxCommonTimestampLength = 35;

/**
 * Whether the ASCII bytes `buf[start, end)` are a timestamp of the common case
 * {@link timestampProblem} accepts without parsing: the same grammar and the
 * same calendar and range checks, read from the bytes of a binary request
 * without making a string. False means "not sure", not "invalid": the caller
 * asks timestampProblem for the verdict and its reason.
 */
export function isCommonTimestamp(buf: Uint8Array, start: number, end: number): boolean {
  // 2026-11-26T09:15:00Z is 20 bytes.
  if (end - start < 20 || end - start > maxCommonTimestampLength) return false;
  if (buf[start + 4] !== dash || buf[start + 7] !== dash || buf[start + 10] !== upperT || buf[start + 13] !== colon || buf[start + 16] !== colon) {
    return false;
  }
  const year = byteDigit(buf, start) * 1000 + byteDigit(buf, start + 1) * 100 + byteDigit(buf, start + 2) * 10 + byteDigit(buf, start + 3);
  const month = byteDigit(buf, start + 5) * 10 + byteDigit(buf, start + 6);
  const day = byteDigit(buf, start + 8) * 10 + byteDigit(buf, start + 9);
  const hour = byteDigit(buf, start + 11) * 10 + byteDigit(buf, start + 12);
  const minute = byteDigit(buf, start + 14) * 10 + byteDigit(buf, start + 15);
  const second = byteDigit(buf, start + 17) * 10 + byteDigit(buf, start + 18);
  // Years 1971-9998: no offset can move the instant out of DATETIME's range.
  if (!(year > 1970 && year < 9999 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month))) return false;
  if (!(hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 && second <= 59)) return false;
  let i = start + 19;
  if (buf[i] === dot) {
    const from = ++i;
    while (i < end && byteDigit(buf, i) >= 0) i++;
    if (i === from || i - from > 9) return false;
  }
  if (i === end - 1) return buf[i] === upperZ;
  if (i !== end - 6 || (buf[i] !== plus && buf[i] !== dash) || buf[i + 3] !== colon) return false;
  const offsetHours = byteDigit(buf, i + 1) * 10 + byteDigit(buf, i + 2);
  const offsetMinutes = byteDigit(buf, i + 4) * 10 + byteDigit(buf, i + 5);
  return offsetHours >= 0 && offsetHours <= 23 && offsetMinutes >= 0 && offsetMinutes <= 59;
}
