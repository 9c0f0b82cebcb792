import type { JsonObject } from "@bufbuild/protobuf";
import { ValidationError, type Violation } from "../errors.js";
import { customdataProblem, defaultCustomdataLimits, type CustomdataLimits } from "./customdata-limits.js";
import { isEventType, type EventType } from "./event-types.js";
import { MeasuredCustomdata } from "./measured-customdata.js";
import { gameIdProblem } from "./game-id.js";
import { clockSkewProblem } from "./clock-skew.js";
import { parseTimestamp, timestampProblem, type ClientInstant } from "./timestamp.js";

/** Most events one batch may carry. */
export const maxEventsPerBatch = 200;
/** Longest client `event_id`. */
export const maxEventIdLength = 64;
/** Longest `user_id`. */
export const maxUserIdLength = 64;
/** Longest `customEventName`. */
export const maxCustomEventNameLength = 128;

/** One validated event, in domain terms. */
export interface IngestEvent {
  type: EventType;
  /** The timestamp exactly as the client sent it. */
  timestamp: string;
  instant: ClientInstant;
  customdata: JsonObject | undefined;
  customEventName: string | undefined;
  /** The client's id, if it sent one. */
  eventId: string | undefined;
}

/** A validated batch: one player, one game, 1 to 200 events. */
export interface IngestBatch {
  userId: string;
  gameId: string;
  events: IngestEvent[];
  /** The device's clock when it sent the batch, if it said. */
  sentAt: ClientInstant | undefined;
}

// The last instant MySQL DATETIME holds: `corrected_at` must stay within it.
const maxCorrectedEpochMs = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

// Control characters would make ids unprintable in logs and tools.
const controlChars = /[\u0000-\u001f\u007f]/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

// Protobuf JSON accepts a field by its proto name or its JSON (lowerCamel) name,
// and reads null as "not set".
function pick(obj: Record<string, unknown>, protoName: string, jsonName: string): unknown {
  const a = obj[protoName];
  if (a !== undefined && a !== null) return a;
  const b = obj[jsonName];
  return b === null ? undefined : b;
}

/**
 * The `user_id` of a request body, or undefined when it has none. Lets the
 * transport compare it with the token before the whole batch is checked.
 */
export function peekUserId(body: unknown): string | undefined {
  if (!isPlainObject(body)) return undefined;
  const v = pick(body, "user_id", "userId");
  return typeof v === "string" ? v : undefined;
}

/** What the gateway needs to know of a valid batch. */
export interface BatchSummary {
  userId: string;
  gameId: string;
  eventCount: number;
  /** The device's clock when it sent the batch; absent when it did not say. */
  sentAt?: ClientInstant;
  /** True when the batch asked to be checked only. */
  dryRun?: boolean;
}

/**
 * Checks a decoded request body (a `JSON.parse` result, or a generated message
 * turned into the same plain shape) against every rule of the contract. Collects
 * every violation before throwing, so a client can fix the whole batch at once.
 *
 * @throws ValidationError listing each bad field with its event index.
 */
export function validateBatch(body: unknown, limits: CustomdataLimits = defaultCustomdataLimits): IngestBatch {
  const events: IngestEvent[] = [];
  const summary = walkBatch(body, limits, events, undefined);
  return { userId: summary.userId, gameId: summary.gameId, events, sentAt: summary.sentAt };
}

/**
 * The same verdict as {@link validateBatch}, for the gateway, which forwards the
 * body as received: nothing is built per event, so a batch costs its checks only.
 *
 * @param receivedAtMs the gateway's receive time, against which `sent_at` is
 *   checked; undefined skips that check (the worker, re-checking a queued batch).
 * @throws ValidationError listing each bad field with its event index.
 */
export function checkBatch(body: unknown, limits: CustomdataLimits = defaultCustomdataLimits, receivedAtMs?: number): BatchSummary {
  return walkBatch(body, limits, undefined, receivedAtMs);
}

// `out` receives the events in domain terms, or is undefined to only check them.
function walkBatch(body: unknown, limits: CustomdataLimits, out: IngestEvent[] | undefined, receivedAtMs: number | undefined): BatchSummary {
  const violations: Violation[] = [];
  const top = (field: string, reason: string) => violations.push({ index: -1, field, reason });
  if (!isPlainObject(body)) {
    throw new ValidationError([{ index: -1, field: "body", reason: "must be a JSON object" }]);
  }

  const userId = pick(body, "user_id", "userId");
  if (typeof userId !== "string" || userId === "") top("user_id", "is required and must be a non-empty string");
  else if (userId.length > maxUserIdLength) top("user_id", `must be at most ${maxUserIdLength} characters`);

  const gameId = pick(body, "game_id", "gameId");
  if (typeof gameId !== "string" || gameId === "") top("game_id", "is required and must be a non-empty string");
  else {
    const problem = gameIdProblem(gameId);
    if (problem) top("game_id", problem);
  }

  const rawEvents = body.events;
  let eventCount = 0;
  if (!Array.isArray(rawEvents)) {
    top("events", "is required and must be an array of 1 to 200 events");
  } else if (rawEvents.length < 1 || rawEvents.length > maxEventsPerBatch) {
    top("events", `must hold 1 to ${maxEventsPerBatch} events, got ${rawEvents.length}`);
  } else {
    const seenIds = new Set<string>();
    for (let i = 0; i < rawEvents.length; i++) readEvent(rawEvents[i], i, violations, limits, seenIds, out);
    eventCount = rawEvents.length;
  }

  // Proto3 JSON writes an unset string as "" and an unset bool as false.
  const rawSentAt = pick(body, "sent_at", "sentAt");
  let sentAt: ClientInstant | undefined;
  if (rawSentAt !== undefined && typeof rawSentAt !== "string") {
    top("sent_at", "must be an ISO 8601 string with an offset");
  } else if (rawSentAt !== undefined && rawSentAt !== "") {
    const parsed = parseTimestamp(rawSentAt);
    const problem = typeof parsed === "string" ? parsed : receivedAtMs === undefined ? undefined : clockSkewProblem(parsed, receivedAtMs);
    if (problem !== undefined) top("sent_at", problem);
    else sentAt = parsed as ClientInstant;
  }

  // Corrected by a device clock that runs behind, a timestamp near the end of
  // 9999 would pass what DATETIME holds (the common ones stop at 9998).
  if (sentAt !== undefined && receivedAtMs !== undefined && Array.isArray(rawEvents) && violations.length === 0) {
    const skewMs = receivedAtMs - sentAt.epochMs;
    if (skewMs > 0) {
      for (let i = 0; i < rawEvents.length; i++) {
        const instant = parseTimestamp((rawEvents[i] as { timestamp: string }).timestamp) as ClientInstant;
        if (instant.epochMs + skewMs > maxCorrectedEpochMs) bad(violations, i, "timestamp", "is past 9999-12-31 once corrected by sent_at");
      }
    }
  }

  const dryRun = pick(body, "dry_run", "dryRun");
  if (dryRun !== undefined && typeof dryRun !== "boolean") top("dry_run", "must be true or false");

  if (violations.length > 0) throw new ValidationError(violations);
  const summary: BatchSummary = { userId: userId as string, gameId: gameId as string, eventCount };
  if (sentAt !== undefined) summary.sentAt = sentAt;
  if (dryRun === true) summary.dryRun = true;
  return summary;
}

// No closure per event: this runs 200 times per batch, and each closure costs
// an allocation (and, under tsx, a naming call).
function bad(violations: Violation[], index: number, field: string, reason: string): void {
  violations.push({ index, field, reason });
}

function readEvent(
  raw: unknown,
  index: number,
  violations: Violation[],
  limits: CustomdataLimits,
  seenIds: Set<string>,
  out: IngestEvent[] | undefined,
): void {
  if (!isPlainObject(raw)) {
    bad(violations, index, "event", "must be a JSON object");
    return;
  }
  const before = violations.length;

  const type = raw.type;
  if (!isEventType(type)) {
    bad(violations, index, "type", "must be one of AppOpen, LevelCompleted, GameEnd, AdImpression, IAPPurchase, Custom");
  }

  const timestamp = raw.timestamp;
  let instant: ClientInstant | undefined;
  if (typeof timestamp !== "string") {
    bad(violations, index, "timestamp", "is required and must be an ISO 8601 string with an offset");
  } else if (out === undefined) {
    const problem = timestampProblem(timestamp);
    if (problem !== undefined) bad(violations, index, "timestamp", problem);
  } else {
    const parsed = parseTimestamp(timestamp);
    if (typeof parsed === "string") bad(violations, index, "timestamp", parsed);
    else instant = parsed;
  }

  const customdata = raw.customdata ?? undefined;
  if (customdata instanceof MeasuredCustomdata) {
    // A binary request's Struct, measured on the wire instead of decoded.
    const problem = customdata.problem(limits);
    if (problem) bad(violations, index, "customdata", problem);
  } else if (customdata !== undefined && !isPlainObject(customdata)) {
    bad(violations, index, "customdata", `must be a JSON object, got ${Array.isArray(customdata) ? "an array" : typeof customdata}`);
  } else if (customdata !== undefined) {
    const problem = customdataProblem(customdata, limits);
    if (problem) bad(violations, index, "customdata", problem);
  }

  const name = pick(raw, "customEventName", "custom_event_name");
  let customEventName: string | undefined;
  if (name !== undefined && typeof name !== "string") {
    bad(violations, index, "customEventName", "must be a string");
  } else if (name !== undefined && name !== "") {
    if (name.length > maxCustomEventNameLength) bad(violations, index, "customEventName", `must be at most ${maxCustomEventNameLength} characters`);
    else if (!name.isWellFormed()) bad(violations, index, "customEventName", "must be valid Unicode");
    customEventName = name;
  }
  if (type === "Custom" && customEventName === undefined && name === undefined) {
    bad(violations, index, "customEventName", "is required when type is Custom");
  } else if (type === "Custom" && customEventName === undefined && name === "") {
    bad(violations, index, "customEventName", "must not be empty when type is Custom");
  }

  const id = pick(raw, "event_id", "eventId");
  let eventId: string | undefined;
  if (id !== undefined && typeof id !== "string") {
    bad(violations, index, "event_id", "must be a string of 1 to 64 characters");
  } else if (id !== undefined && id !== "") {
    if (id.length > maxEventIdLength) bad(violations, index, "event_id", `must be at most ${maxEventIdLength} characters`);
    else if (controlChars.test(id)) bad(violations, index, "event_id", "must not contain control characters");
    // A lone surrogate has no UTF-8 form: MySQL would store U+FFFD, merging ids.
    else if (!id.isWellFormed()) bad(violations, index, "event_id", "must be valid Unicode");
    else eventId = id;
  }

  if (violations.length > before) return;
  if (eventId !== undefined) {
    if (seenIds.has(eventId)) {
      bad(violations, index, "event_id", "appears twice in this batch");
      return;
    }
    seenIds.add(eventId);
  }
  out?.push({
    type: type as EventType,
    timestamp: timestamp as string,
    instant: instant as ClientInstant,
    customdata: customdata as JsonObject | undefined,
    customEventName,
    eventId,
  });
}
