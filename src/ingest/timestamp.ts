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

// The value of `n` ASCII digits at `at`, or -1 when one of them is not a digit.
function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * Parses `value` as an ISO 8601 date-time with `Z` or `±hh:mm`. Returns the reason
 * as a string when it is not one, so validation can report it by field. A scan
 * by hand rather than a regex: it runs for every event of every batch.
 */
export function parseTimestamp(value: string): ClientInstant | string {
  const len = value.length;
  if (len < 20 || value[4] !== "-" || value[7] !== "-" || value[10] !== "T" || value[13] !== ":" || value[16] !== ":") {
    return formatReason;
  }
  const year = digits(value, 0, 4);
  const month = digits(value, 5, 2);
  const day = digits(value, 8, 2);
  const hour = digits(value, 11, 2);
  const minute = digits(value, 14, 2);
  const second = digits(value, 17, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return formatReason;
  let i = 19;
  let ms = 0;
  let micros = 0;
  if (value[i] === ".") {
    const start = ++i;
    while (i < len && value.charCodeAt(i) >= 48 && value.charCodeAt(i) <= 57) i++;
    const n = i - start;
    if (n < 1 || n > 9) return formatReason;
    const fraction = (value.slice(start, i) + "000000").slice(0, 6);
    ms = Number(fraction.slice(0, 3));
    micros = Number(fraction.slice(3, 6));
  }
  let offsetMinutes = 0;
  const sign = value[i];
  if (sign === "Z") {
    if (i + 1 !== len) return formatReason;
  } else if (sign === "+" || sign === "-") {
    if (i + 6 !== len || value[i + 3] !== ":") return formatReason;
    const oh = digits(value, i + 1, 2);
    const om = digits(value, i + 4, 2);
    if (oh < 0 || om < 0) return formatReason;
    if (oh > 23 || om > 59) return "offset out of range";
    offsetMinutes = (sign === "-" ? -1 : 1) * (oh * 60 + om);
  } else {
    return formatReason;
  }
  const mm = value.slice(5, 7);
  if (month < 1 || month > 12) return `month ${mm} does not exist`;
  if (day < 1 || day > daysInMonth(year, month)) return `day ${value.slice(8, 10)} does not exist in ${value.slice(0, 4)}-${mm}`;
  if (hour > 23 || minute > 59 || second > 59) return "time of day out of range";
  const epochMs =
    ((daysFromCivil(year, month, day) * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + ms - offsetMinutes * 60_000;
  if (epochMs < minEpochMs || epochMs > maxEpochMs) return "must be between 1970-01-01 and 9999-12-31 in UTC";
  return { epochMs, micros, offsetMinutes };
}

/** Formats an instant as a MySQL `DATETIME(6)` literal in UTC. */
export function toMysqlDatetime(epochMs: number, micros = 0): string {
  const iso = new Date(epochMs).toISOString(); // 2026-11-26T09:15:00.123Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}${String(micros).padStart(3, "0")}`;
}
