import assert from "node:assert/strict";
import { ValidationError, type Violation } from "../../src/errors.js";
import { eventTypes } from "../../src/ingest/event-types.js";
import { checkBatch, validateBatch } from "../../src/ingest/validate-batch.js";

const ts = "2026-11-26T09:15:00Z";
const batch = (events: unknown[], extra: Record<string, unknown> = {}) => ({
  user_id: "u-1",
  game_id: "com.example.mygame",
  events,
  ...extra,
});

function violations(body: unknown): Violation[] {
  try {
    validateBatch(body);
  } catch (err) {
    assert.ok(err instanceof ValidationError);
    return err.violations;
  }
  assert.fail("expected a ValidationError");
}

describe("validateBatch", () => {
  it("accepts 1 event and 200 events", () => {
    assert.equal(validateBatch(batch([{ type: "AppOpen", timestamp: ts }])).events.length, 1);
    const many = Array.from({ length: 200 }, () => ({ type: "GameEnd", timestamp: ts }));
    assert.equal(validateBatch(batch(many)).events.length, 200);
  });

  it("refuses 0 and 201 events", () => {
    assert.deepEqual(violations(batch([])), [
      { index: -1, field: "events", reason: "must hold 1 to 200 events, got 0" },
    ]);
    const tooMany = Array.from({ length: 201 }, () => ({ type: "GameEnd", timestamp: ts }));
    assert.deepEqual(violations(batch(tooMany)), [
      { index: -1, field: "events", reason: "must hold 1 to 200 events, got 201" },
    ]);
  });

  it("accepts each event type", () => {
    for (const type of eventTypes) {
      const event = type === "Custom" ? { type, timestamp: ts, customEventName: "ChestOpened" } : { type, timestamp: ts };
      assert.equal(validateBatch(batch([event])).events[0]!.type, type);
    }
  });

  it("refuses an unknown type, including a different case", () => {
    const v = violations(batch([{ type: "levelcompleted", timestamp: ts }, { timestamp: ts }]));
    assert.deepEqual(v.map((x) => [x.index, x.field]), [[0, "type"], [1, "type"]]);
  });

  it("accepts offsets Z, +05:30, -08:00 and fractional seconds", () => {
    const events = ["2026-11-26T09:15:00Z", "2026-11-26T09:15:00+05:30", "2026-11-26T09:15:00-08:00", "2026-11-26T09:15:00.123456Z"]
      .map((timestamp) => ({ type: "AppOpen", timestamp }));
    assert.deepEqual(validateBatch(batch(events)).events.map((e) => e.instant.offsetMinutes), [0, 330, -480, 0]);
  });

  it("refuses impossible dates, missing offsets and numeric timestamps", () => {
    const v = violations(batch([
      { type: "AppOpen", timestamp: "2026-02-30T10:00:00Z" },
      { type: "AppOpen", timestamp: "2026-11-26T09:15:00" },
      { type: "AppOpen", timestamp: 1795668733 },
      { type: "AppOpen" },
    ]));
    assert.deepEqual(v.map((x) => [x.index, x.field]), [[0, "timestamp"], [1, "timestamp"], [2, "timestamp"], [3, "timestamp"]]);
    assert.equal(v[0]!.reason, "day 30 does not exist in 2026-02");
  });

  it("requires customEventName for Custom, in either spelling", () => {
    assert.deepEqual(violations(batch([{ type: "Custom", timestamp: ts }])), [
      { index: 0, field: "customEventName", reason: "is required when type is Custom" },
    ]);
    assert.deepEqual(violations(batch([{ type: "Custom", timestamp: ts, customEventName: "" }])), [
      { index: 0, field: "customEventName", reason: "must not be empty when type is Custom" },
    ]);
    const snake = validateBatch(batch([{ type: "Custom", timestamp: ts, custom_event_name: "ChestOpened" }]));
    assert.equal(snake.events[0]!.customEventName, "ChestOpened");
  });

  it("accepts customdata objects, flat or nested, and refuses arrays, strings and numbers", () => {
    const good = validateBatch(batch([{ type: "LevelCompleted", timestamp: ts, customdata: { level: 12, nested: { a: [1, 2] } } }]));
    assert.deepEqual(good.events[0]!.customdata, { level: 12, nested: { a: [1, 2] } });
    const v = violations(batch([
      { type: "AppOpen", timestamp: ts, customdata: [1, 2] },
      { type: "AppOpen", timestamp: ts, customdata: "x" },
      { type: "AppOpen", timestamp: ts, customdata: 3 },
      { type: "AppOpen", timestamp: ts, customdata: null },
    ]));
    assert.deepEqual(v.map((x) => [x.index, x.field]), [[0, "customdata"], [1, "customdata"], [2, "customdata"]]);
  });

  it("checks user_id, game_id and the body itself", () => {
    assert.deepEqual(violations("[]"), [{ index: -1, field: "body", reason: "must be a JSON object" }]);
    assert.deepEqual(violations([]), [{ index: -1, field: "body", reason: "must be a JSON object" }]);
    const v = violations({ events: [{ type: "AppOpen", timestamp: ts }] });
    assert.deepEqual(v.map((x) => x.field), ["user_id", "game_id"]);
    for (const gameId of ["mygame", "com..example", ".com.example", "com.example.", "1com.example", "com example.x"]) {
      assert.deepEqual(violations(batch([{ type: "AppOpen", timestamp: ts }], { game_id: gameId })).map((x) => x.field), ["game_id"], gameId);
    }
  });

  it("accepts camelCase spellings of Protobuf JSON", () => {
    const b = validateBatch({ userId: "u-9", gameId: "com.example.x", events: [{ type: "AppOpen", timestamp: ts, eventId: "e1" }] });
    assert.equal(b.userId, "u-9");
    assert.equal(b.gameId, "com.example.x");
    assert.equal(b.events[0]!.eventId, "e1");
  });

  it("checks event_id length and duplicates within the batch", () => {
    const v = violations(batch([
      { type: "AppOpen", timestamp: ts, event_id: "a".repeat(65) },
      { type: "AppOpen", timestamp: ts, event_id: "same" },
      { type: "AppOpen", timestamp: ts, event_id: "same" },
      { type: "AppOpen", timestamp: ts, event_id: 7 },
    ]));
    assert.deepEqual(v.map((x) => [x.index, x.field]), [[0, "event_id"], [2, "event_id"], [3, "event_id"]]);
    assert.equal(validateBatch(batch([{ type: "AppOpen", timestamp: ts, event_id: "a".repeat(64) }])).events[0]!.eventId, "a".repeat(64));
  });

  it("collects every violation of a mixed batch with its index", () => {
    const v = violations(batch([
      { type: "AppOpen", timestamp: ts },
      { type: "Nope", timestamp: "yesterday" },
      { type: "AppOpen", timestamp: ts },
      { type: "Custom", timestamp: ts, customdata: [] },
    ]));
    assert.deepEqual(v.map((x) => [x.index, x.field]), [[1, "type"], [1, "timestamp"], [3, "customdata"], [3, "customEventName"]]);
  });

  it("ignores unknown fields", () => {
    assert.equal(validateBatch(batch([{ type: "AppOpen", timestamp: ts, future: 1 }], { sdk: "2.0" })).events.length, 1);
  });
});

describe("validateBatch customdata limits", () => {
  const nest = (levels: number) => {
    let v: Record<string, unknown> = { leaf: 1 };
    for (let i = 1; i < levels; i++) v = { next: v };
    return v;
  };
  const limits = { maxDepth: 4, maxBytes: 200 };

  it("accepts customdata at the depth limit and refuses one level deeper, arrays counting as levels", () => {
    assert.equal(validateBatch(batch([{ type: "AppOpen", timestamp: ts, customdata: nest(4) }]), limits).events.length, 1);
    assert.deepEqual(violations2(batch([{ type: "AppOpen", timestamp: ts, customdata: nest(5) }]), limits), [
      { index: 0, field: "customdata", reason: "is nested deeper than 4 levels" },
    ]);
    const arrays = { a: [[[1]]] }; // object, array, array, array: 4 levels
    assert.equal(validateBatch(batch([{ type: "AppOpen", timestamp: ts, customdata: arrays }]), limits).events.length, 1);
    assert.equal(violations2(batch([{ type: "AppOpen", timestamp: ts, customdata: { a: [[[[1]]]] } }]), limits)[0]!.field, "customdata");
  });

  it("refuses customdata larger than the byte limit", () => {
    assert.deepEqual(violations2(batch([{ type: "AppOpen", timestamp: ts, customdata: { s: "x".repeat(300) } }]), limits), [
      { index: 0, field: "customdata", reason: "is larger than 200 bytes as JSON" },
    ]);
    const manyKeys = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
    assert.equal(violations2(batch([{ type: "AppOpen", timestamp: ts, customdata: manyKeys }]), limits)[0]!.reason, "is larger than 200 bytes as JSON");
  });

  it("defaults to depth 16", () => {
    assert.equal(validateBatch(batch([{ type: "AppOpen", timestamp: ts, customdata: nest(16) }])).events.length, 1);
    assert.equal(violations2(batch([{ type: "AppOpen", timestamp: ts, customdata: nest(17) }]))[0]!.reason, "is nested deeper than 16 levels");
  });
});

function violations2(body: unknown, limits?: { maxDepth: number; maxBytes: number }): Violation[] {
  try {
    validateBatch(body, limits);
  } catch (err) {
    assert.ok(err instanceof ValidationError);
    return err.violations;
  }
  assert.fail("expected a ValidationError");
}

describe("checkBatch", () => {
  // The gateway checks with checkBatch and the worker with validateBatch: one
  // verdict, or a batch the gateway accepted could be refused downstream.
  const verdict = (f: (body: unknown) => unknown, body: unknown) => {
    try {
      f(body);
      return "ok";
    } catch (err) {
      assert.ok(err instanceof ValidationError);
      return JSON.stringify(err.violations);
    }
  };

  it("gives validateBatch's verdict and count", () => {
    const events = [
      { type: "AppOpen", timestamp: ts, event_id: "a" },
      { type: "Custom", timestamp: "2026-11-26T09:15:00.5-03:00", customEventName: "x", eventId: "b", customdata: { k: [1, { z: null }] } },
      { type: "LevelCompleted", timestamp: ts },
    ];
    assert.deepEqual(checkBatch(batch(events)), { userId: "u-1", gameId: "com.example.mygame", eventCount: 3 });
    const bad = [
      batch([{ type: "AppOpen", timestamp: "2026-02-30T00:00:00Z" }]),
      batch([{ type: "AppOpen", timestamp: ts, event_id: "a" }, { type: "GameEnd", timestamp: ts, event_id: "a" }]),
      batch([{ type: "Nope", timestamp: "1969-12-31T23:59:59Z", event_id: "\u0001" }, { type: "Custom", timestamp: ts }]),
      batch([]),
      { events: [{}] },
      "text",
    ];
    for (const body of [batch(events), ...bad]) {
      assert.equal(verdict(checkBatch, body), verdict(validateBatch, body));
    }
    assert.notEqual(verdict(checkBatch, bad[0]), "ok");
  });
});
