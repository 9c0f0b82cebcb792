import type { Pool } from "mysql2/promise";
import { ValidationError, type Violation } from "../errors.js";
import { isEventType } from "../ingest/event-types.js";
import { gameIdProblem } from "../ingest/game-id.js";
import { parseTimestamp } from "../ingest/timestamp.js";
import { toMysqlDatetime } from "../ingest/utc-datetime.js";
import { decodePageToken, encodePageToken } from "../store/page-token.js";
import { selectEventsPage, type EventCursor, type EventQuery, type EventTimeColumn } from "../store/player-events-repo.js";
import { toStoredEventView, type StoredEventView } from "./stored-event.js";

/** Which instant `since` and `until` bound (the order is receive time either way). */
export type EventTimeField = "received" | "corrected";

/** A listing of one player's events, as the admin asks for it. */
export interface ListEventsRequest {
  userId: string;
  /** "" = every game. */
  gameId: string;
  /** "" = every type. */
  type: string;
  timeField: EventTimeField;
  /** RFC 3339, inclusive; "" = no lower bound. */
  since: string;
  /** RFC 3339, exclusive; "" = no upper bound. */
  until: string;
  /** 0 means 20; above 100 is read as 100. */
  pageSize: number;
  pageToken: string;
}

/** One page of events, newest first. */
export interface EventsPage {
  events: StoredEventView[];
  /** "" on the last page. */
  nextPageToken: string;
}

/** The event explorer: the domain behind EventAdminService and `playsmart events list`. */
export interface EventExplorer {
  /**
   * One page of a player's events, newest first by receive time.
   * @throws ValidationError naming each bad field.
   */
  list(request: ListEventsRequest): Promise<EventsPage>;
}

/** Options of {@link createEventExplorer}. */
export interface EventExplorerOptions {
  pool: Pool;
}

/** Largest page of {@link EventExplorer.list}. */
export const maxEventsPageSize = 100;
const defaultEventsPageSize = 20;

const columnOf: Record<EventTimeField, EventTimeColumn> = { received: "received_at", corrected: "corrected_at" };

/** An explorer over MySQL; every page is one range read of the player's key (migration 005). */
export function createEventExplorer(options: EventExplorerOptions): EventExplorer {
  const { pool } = options;
  return {
    async list(request) {
      const query = toQuery(request);
      const rows = await selectEventsPage(pool, { ...query, limit: query.limit + 1 });
      const page = rows.slice(0, query.limit);
      const last = page[page.length - 1];
      return {
        events: page.map(toStoredEventView),
        nextPageToken: rows.length > query.limit && last ? encodeCursor(request.timeField, { time: last.receivedAt, seq: last.seq }) : "",
      };
    },
  };
}

/**
 * The store query of a request, every field checked.
 * @throws ValidationError with one violation per bad field.
 */
export function toQuery(request: ListEventsRequest): EventQuery {
  const violations: Violation[] = [];
  const bad = (field: string, reason: string) => violations.push({ index: -1, field, reason });
  if (request.userId === "") bad("user_id", "is required");
  else if (request.userId.length > 64) bad("user_id", "must be at most 64 characters");
  if (request.gameId !== "") {
    const problem = gameIdProblem(request.gameId);
    if (problem) bad("game_id", problem);
  }
  if (request.type !== "" && !isEventType(request.type)) {
    bad("type", "must be one of AppOpen, LevelCompleted, GameEnd, AdImpression, IAPPurchase, Custom");
  }
  const since = instant(request.since, "since", bad);
  const until = instant(request.until, "until", bad);
  if (since !== undefined && until !== undefined && since >= until) bad("until", "must be later than since");
  if (!Number.isInteger(request.pageSize) || request.pageSize < 0) bad("page_size", "must be 0 (default) to 100");
  let before: EventCursor | undefined;
  if (request.pageToken !== "") {
    before = decodeCursor(request.pageToken, request.timeField);
    if (before === undefined) bad("page_token", "is not a token from a previous page of this listing");
  }
  if (violations.length > 0) throw new ValidationError(violations);
  return {
    userId: request.userId,
    ...(request.gameId !== "" && { gameId: request.gameId }),
    ...(request.type !== "" && { type: request.type }),
    column: columnOf[request.timeField],
    ...(since !== undefined && { since }),
    ...(until !== undefined && { until }),
    ...(before !== undefined && { before }),
    limit: request.pageSize === 0 ? defaultEventsPageSize : Math.min(request.pageSize, maxEventsPageSize),
  };
}

// An RFC 3339 bound as a DATETIME(6) literal in UTC (which compares as the
// instant, both columns being UTC); undefined for "" or a bad value.
function instant(value: string, field: string, bad: (field: string, reason: string) => void): string | undefined {
  if (value === "") return undefined;
  const parsed = parseTimestamp(value);
  if (typeof parsed === "string") {
    bad(field, parsed);
    return undefined;
  }
  return toMysqlDatetime(parsed.epochMs, parsed.micros);
}

// A cursor names the time field of its listing: a token of a receive-time
// range cannot page a corrected-time one.
const cursorPattern = /^(received|corrected)\|(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,6})?)\|([1-9]\d{0,18})$/;

function encodeCursor(field: EventTimeField, cursor: EventCursor): string {
  return encodePageToken(`${field}|${cursor.time}|${cursor.seq}`);
}

function decodeCursor(token: string, field: EventTimeField): EventCursor | undefined {
  const text = decodePageToken(token, (c) => cursorPattern.test(c));
  const m = text === undefined ? null : cursorPattern.exec(text);
  if (!m || m[1] !== field) return undefined;
  return { time: m[2]!, seq: BigInt(m[3]!) };
}
