import assert from "node:assert/strict";
import { ValidationError } from "../../src/errors.js";
import { toQuery, type ListEventsRequest } from "../../src/players/event-explorer.js";
import { toStoredEventView, utcLiteralToRfc3339 } from "../../src/players/stored-event.js";
import { encodePageToken } from "../../src/store/page-token.js";
import { eventsPageStatement } from "../../src/store/player-events-repo.js";

const request = (more: Partial<ListEventsRequest> = {}): ListEventsRequest => ({
  userId: "u1",
  gameId: "",
  type: "",
  timeField: "received",
  since: "",
  until: "",
  pageSize: 0,
  pageToken: "",
  ...more,
});

const fieldsOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e.violations.map((v) => v.field);
    throw e;
  }
  return [];
};

describe("event explorer (pure)", () => {
  it("turns a request into a store query, bounds in UTC", () => {
    assert.deepEqual(toQuery(request()), { userId: "u1", column: "received_at", limit: 20 });
    assert.deepEqual(
      toQuery(request({ gameId: "com.a.b", type: "Custom", timeField: "corrected", since: "2026-11-01T10:00:00+01:00", until: "2026-11-02T00:00:00.123456Z", pageSize: 500 })),
      {
        userId: "u1",
        gameId: "com.a.b",
        type: "Custom",
        column: "corrected_at",
        since: "2026-11-01 09:00:00.000000",
        until: "2026-11-02 00:00:00.123456",
        limit: 100,
      },
    );
  });

  it("names every bad field at once", () => {
    assert.deepEqual(fieldsOf(() => toQuery(request({ userId: "", gameId: "x", type: "Jump", since: "today", until: "2026-13-01T00:00:00Z", pageSize: -1 }))), [
      "user_id",
      "game_id",
      "type",
      "since",
      "until",
      "page_size",
    ]);
    assert.deepEqual(fieldsOf(() => toQuery(request({ userId: "u".repeat(65) }))), ["user_id"]);
    assert.deepEqual(fieldsOf(() => toQuery(request({ since: "2026-11-01T00:00:00Z", until: "2026-11-01T00:00:00Z" }))), ["until"]);
  });

  it("takes only its own page tokens, of the same time field", () => {
    const token = encodePageToken("received|2026-11-01 10:00:00.123|42");
    assert.deepEqual(toQuery(request({ pageToken: token })).before, { time: "2026-11-01 10:00:00.123", seq: 42n });
    assert.deepEqual(fieldsOf(() => toQuery(request({ pageToken: token, timeField: "corrected" }))), ["page_token"]);
    for (const bad of ["received|2026-11-01 10:00:00|0", "received|yesterday|5", "other|2026-11-01 10:00:00|5", "received|2026-11-01 10:00:00|5|x"]) {
      assert.deepEqual(fieldsOf(() => toQuery(request({ pageToken: encodePageToken(bad) }))), ["page_token"], bad);
    }
    assert.deepEqual(fieldsOf(() => toQuery(request({ pageToken: "!!" }))), ["page_token"]);
  });

  it("builds one statement on the key of its time field, every value a parameter", () => {
    const q = toQuery(request({ gameId: "com.a.b", since: "2026-11-01T00:00:00Z", pageToken: encodePageToken("received|2026-11-01 10:00:00.123|42") }));
    const { sql, values } = eventsPageStatement(q);
    assert.match(sql, /FROM events FORCE INDEX \(events_user_received\) WHERE user_id = \? AND game_id = \? AND received_at >= \? AND \(received_at < \? OR \(received_at = \? AND seq < \?\)\) ORDER BY received_at DESC, seq DESC LIMIT \?$/);
    assert.deepEqual(values, ["u1", "com.a.b", "2026-11-01 00:00:00.000000", "2026-11-01 10:00:00.123", "2026-11-01 10:00:00.123", 42n, 20]);
    const corrected = eventsPageStatement(toQuery(request({ timeField: "corrected", until: "2026-11-02T00:00:00Z" })));
    assert.match(corrected.sql, /FORCE INDEX \(events_user_received\) WHERE user_id = \? AND corrected_at < \? ORDER BY received_at DESC, seq DESC LIMIT \?$/);
  });

  it("shows a stored row with its original offset and customdata parsed", () => {
    const view = toStoredEventView({
      seq: 1n,
      eventId: "e1",
      gameId: "com.a.b",
      type: "Custom",
      customEventName: "shop",
      occurredAt: "2026-11-01 14:30:00.500000",
      utcOffsetMin: 330,
      correctedAt: "2026-11-01 14:30:01.500000",
      receivedAt: "2026-11-01 14:31:00.000",
      batchId: "b",
      customdata: '{"a":[1,{"b":null}]}',
    });
    assert.deepEqual(view, {
      eventId: "e1",
      gameId: "com.a.b",
      type: "Custom",
      customEventName: "shop",
      timestamp: "2026-11-01T20:00:00.5+05:30",
      correctedAt: "2026-11-01T14:30:01.5Z",
      receivedAt: "2026-11-01T14:31:00Z",
      batchId: "b",
      customdata: { a: [1, { b: null }] },
    });
    const west = toStoredEventView({ ...viewRow(), occurredAt: "2026-11-01 02:00:00.000000", utcOffsetMin: -150, customEventName: null, customdata: null });
    assert.equal(west.timestamp, "2026-10-31T23:30:00-02:30");
    assert.equal(west.customEventName, "");
    assert.equal(west.customdata, undefined);
    assert.equal(utcLiteralToRfc3339("2026-11-01 00:00:00.000120"), "2026-11-01T00:00:00.00012Z");
  });
});

function viewRow() {
  return {
    seq: 1n,
    eventId: "e",
    gameId: "g.h",
    type: "AppOpen",
    customEventName: null,
    occurredAt: "2026-11-01 00:00:00.000000",
    utcOffsetMin: 0,
    correctedAt: "2026-11-01 00:00:00.000000",
    receivedAt: "2026-11-01 00:00:00.000",
    batchId: "b",
    customdata: null,
  };
}
