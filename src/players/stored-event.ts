import type { EventRecord } from "../store/player-events-repo.js";

/** A stored event as the admin APIs show it: times in RFC 3339, customdata parsed. */
export interface StoredEventView {
  eventId: string;
  gameId: string;
  type: string;
  /** "" for types other than `Custom`. */
  customEventName: string;
  /** The client's timestamp with its original offset. */
  timestamp: string;
  /** UTC. */
  correctedAt: string;
  /** UTC. */
  receivedAt: string;
  batchId: string;
  /** The customdata object, or undefined when the event had none. */
  customdata: Record<string, unknown> | undefined;
}

/** An `events` row as the admin APIs show it. */
export function toStoredEventView(r: EventRecord): StoredEventView {
  return {
    eventId: r.eventId,
    gameId: r.gameId,
    type: r.type,
    customEventName: r.customEventName ?? "",
    timestamp: withOffset(r.occurredAt, r.utcOffsetMin),
    correctedAt: utcLiteralToRfc3339(r.correctedAt),
    receivedAt: utcLiteralToRfc3339(r.receivedAt),
    batchId: r.batchId,
    customdata: r.customdata === null ? undefined : (JSON.parse(r.customdata) as Record<string, unknown>),
  };
}

// `2026-11-26 09:15:00.250000` -> `2026-11-26T09:15:00.25Z`: the fraction
// without the zeros the column pads it with.
export function utcLiteralToRfc3339(literal: string): string {
  return `${trimFraction(literal.replace(" ", "T"))}Z`;
}

function trimFraction(s: string): string {
  return s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
}

// The UTC literal moved to the client's offset, e.g. `2026-11-26T10:15:00.25+01:00`.
function withOffset(utcLiteral: string, offsetMin: number): string {
  if (offsetMin === 0) return utcLiteralToRfc3339(utcLiteral);
  const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(\.\d+)?$/.exec(utcLiteral);
  if (!m) return utcLiteralToRfc3339(utcLiteral);
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) + offsetMin * 60_000;
  const local = new Date(ms).toISOString().slice(0, 19);
  const sign = offsetMin < 0 ? "-" : "+";
  const abs = Math.abs(offsetMin);
  const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
  return `${trimFraction(local + (m[7] ?? ""))}${offset}`;
}
