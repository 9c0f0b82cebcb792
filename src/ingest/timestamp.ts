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

const pattern =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

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

/**
 * Parses `value` as an ISO 8601 date-time with `Z` or `±hh:mm`. Returns the reason
 * as a string when it is not one, so validation can report it by field.
 */
export function parseTimestamp(value: string): ClientInstant | string {
  const m = pattern.exec(value);
  if (m === null) {
    return "must be an ISO 8601 date-time with an explicit offset, e.g. 2026-11-26T09:15:00Z or 2026-11-26T09:15:00+01:00";
  }
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  if (month < 1 || month > 12) return `month ${m[2]} does not exist`;
  if (day < 1 || day > daysInMonth(year, month)) return `day ${m[3]} does not exist in ${m[1]}-${m[2]}`;
  if (hour > 23 || minute > 59 || second > 59) return "time of day out of range";
  let offsetMinutes = 0;
  if (m[8] === undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return "offset out of range";
    offsetMinutes = (m[9] === "-" ? -1 : 1) * (oh * 60 + om);
  }
  const fraction = (m[7] ?? "").padEnd(6, "0");
  const ms = Number(fraction.slice(0, 3));
  const micros = Number(fraction.slice(3, 6));
  // Date.UTC reads years 0-99 as 1900-1999; setUTCFullYear takes the year as written.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  const epochMs = date.getTime() - offsetMinutes * 60_000;
  if (epochMs < minEpochMs || epochMs > maxEpochMs) return "must be between 1970-01-01 and 9999-12-31 in UTC";
  return { epochMs, micros, offsetMinutes };
}

/** Formats an instant as a MySQL `DATETIME(6)` literal in UTC. */
export function toMysqlDatetime(epochMs: number, micros = 0): string {
  const iso = new Date(epochMs).toISOString(); // 2026-11-26T09:15:00.123Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}${String(micros).padStart(3, "0")}`;
}
