import assert from "node:assert/strict";
import { create, toBinary } from "@bufbuild/protobuf";
import { IngestEventsRequestSchema } from "../../../gen/playsmart/ingest/v1/ingest_pb.js";
import { requestToPlain } from "../../../src/ingest/request-to-plain.js";
import { encodeEntry, PoisonEntryError, type StreamBatch } from "../../../src/stream/stream-entry.js";
import { expandEntry, uniqueEvents } from "../../../src/worker/expand-entry.js";

const batchId = "0193a5e2-7c4f-7b3e-8a1d-2f6c9e0b4d12";
const receivedAtMs = Date.UTC(2026, 10, 26, 8, 15, 0, 42);

// The field list as xreadgroupBuffer returns it.
function fields(batch: Partial<StreamBatch> & { body: StreamBatch["body"] }): Buffer[] {
  const full: StreamBatch = { batchId, userId: "u1", gameId: "com.example.game", receivedAtMs, format: "json", ...batch };
  return encodeEntry(full).map((f) => (typeof f === "string" ? Buffer.from(f, "utf8") : f));
}

const jsonBody = (body: unknown) => JSON.stringify(body);

describe("expandEntry", () => {
  it("expands a JSON body to rows in batch order, assigning missing event ids", () => {
    const { batch, events } = expandEntry(fields({
      body: jsonBody({
        userId: "u1",
        game_id: "com.example.game",
        events: [
          { type: "AppOpen", timestamp: "2026-11-26T09:15:00Z" },
          { type: "LevelCompleted", timestamp: "2026-11-26T09:20:31.250+01:00", customdata: { level: 12 }, event_id: "c-1" },
          { type: "Custom", custom_event_name: "ChestOpened", timestamp: "2026-11-26T09:21:00.0000015-05:00" },
        ],
      }),
    }));
    assert.equal(batch.batchId, batchId);
    assert.deepEqual(events.map((e) => e.eventId), [`${batchId}:0`, "c-1", `${batchId}:2`]);
    assert.deepEqual(events[1], {
      userId: "u1",
      gameId: "com.example.game",
      eventId: "c-1",
      type: "LevelCompleted",
      customEventName: null,
      occurredAt: "2026-11-26 08:20:31.250000",
      utcOffsetMin: 60,
      customdata: '{"level":12}',
      batchId,
      receivedAt: "2026-11-26 08:15:00.042000",
      clockSkewUs: 0,
      receivedAtMs,
    });
    assert.equal(events[2]!.customEventName, "ChestOpened");
    assert.equal(events[2]!.occurredAt, "2026-11-26 14:21:00.000001");
    assert.equal(events[2]!.utcOffsetMin, -300);
  });

  it("expands a binary IngestEventsRequest to the same rows as its JSON twin", () => {
    const events = [
      { type: "LevelCompleted", timestamp: "2026-11-26T09:20:31.250+01:00", customdata: { level: 12, tags: ["a"] }, event_id: "c-1" },
      { type: "Custom", customEventName: "ChestOpened", timestamp: "2026-11-26T09:21:00Z" },
    ];
    const pb = toBinary(IngestEventsRequestSchema, create(IngestEventsRequestSchema, {
      userId: "u1",
      gameId: "com.example.game",
      events: events.map((e) => ({ type: e.type, timestamp: e.timestamp, customdata: e.customdata, customEventName: e.customEventName ?? "", eventId: e.event_id ?? "" })),
    }));
    const fromPb = expandEntry(fields({ format: "pb", body: Buffer.from(pb) })).events;
    const fromJson = expandEntry(fields({ body: jsonBody({ user_id: "u1", game_id: "com.example.game", events }) })).events;
    assert.deepEqual(fromPb, fromJson);
  });

  const poison: Array<[string, Buffer[], RegExp]> = [
    ["a body that is not JSON", fields({ body: "{oops" }), /not JSON/],
    ["a body that breaks the contract", fields({ body: jsonBody({ user_id: "u1", game_id: "com.example.game", events: [{ type: "Nope", timestamp: "x" }] }) }), /breaks the contract: events\[0\]\.type/],
    ["a user differing from the entry's", fields({ userId: "u2", body: jsonBody({ user_id: "u1", game_id: "com.example.game", events: [{ type: "AppOpen", timestamp: "2026-11-26T09:15:00Z" }] }) }), /user_id "u1" differs/],
    ["a game differing from the entry's", fields({ gameId: "com.other.game", body: jsonBody({ user_id: "u1", game_id: "com.example.game", events: [{ type: "AppOpen", timestamp: "2026-11-26T09:15:00Z" }] }) }), /game_id "com.example.game" differs/],
    ["bytes that are no IngestEventsRequest", fields({ format: "pb", body: Buffer.from([0x0a, 0xff, 0xff]) }), /not a binary IngestEventsRequest/],
    ["a batch id that is no UUID", fields({ batchId: "x".repeat(40), body: "{}" }), /not a UUID/],
  ];
  for (const [what, entry, reason] of poison) {
    it(`refuses ${what} as poison`, () => {
      assert.throws(() => expandEntry(entry), (err: unknown) => err instanceof PoisonEntryError && reason.test(err.message));
    });
  }

  it("gives the same rows for a body read in one pass and for one only the exact path reads", () => {
    const compact = {
      user_id: "u1",
      game_id: "com.example.game",
      events: [
        { type: "LevelCompleted", timestamp: "2026-11-26T09:20:31.250+01:00", customdata: { b: 1, a: [1.5, "é\n"], c: { d: null } }, event_id: "c-1" },
        { type: "Custom", customEventName: "ChestOpened", timestamp: "2026-11-26T09:21:00Z" },
      ],
    };
    const quick = expandEntry(fields({ body: JSON.stringify(compact) })).events;
    // Whitespace, a \u escape, a repeated key and a number written long: the
    // one-pass reading writes such customdata again, or leaves the body to JSON.parse.
    const spelled = [
      JSON.stringify(compact, null, 2),
      JSON.stringify(compact).replace('"é', '"\\u00e9'),
      JSON.stringify(compact).replace('{"b":1,', '{"b":0,"b":1,'),
      JSON.stringify(compact).replace("1.5", "1.50"),
      JSON.stringify(compact).replace('"event_id":"c-1"', '"event_id":"c-1","eventId":null'),
    ];
    for (const body of spelled) assert.deepEqual(expandEntry(fields({ body })).events, quick, body);
    assert.equal(quick[0]!.customdata, '{"b":1,"a":[1.5,"é\\n"],"c":{"d":null}}');
  });

  it("refuses a JSON body the one-pass reading is not sure of by the exact path's reason", () => {
    const body = jsonBody({ user_id: "u1", game_id: "com.example.game", events: [{ type: "AppOpen", timestamp: "2026-02-30T10:00:00Z" }] });
    assert.throws(() => expandEntry(fields({ body })), (err: unknown) => err instanceof PoisonEntryError && /events\[0\]\.timestamp/.test(err.message));
  });

  it("refuses an entry without a body or with an unknown version as poison", () => {
    const noBody = fields({ body: "{}" }).slice(0, -2);
    assert.throws(() => expandEntry(noBody), PoisonEntryError);
    const v2 = fields({ body: "{}" });
    v2[1] = Buffer.from("2");
    assert.throws(() => expandEntry(v2), PoisonEntryError);
  });
});

describe("uniqueEvents", () => {
  const entry = (userId: string, gameId: string, ids: string[]) =>
    expandEntry(fields({
      userId,
      gameId,
      body: jsonBody({ user_id: userId, game_id: gameId, events: ids.map((id) => ({ type: "AppOpen", timestamp: "2026-11-26T09:15:00Z", event_id: id })) }),
    }));

  it("keeps the first copy of an event a later entry of the same player and game repeats, in stream order", () => {
    const events = uniqueEvents([
      entry("u1", "com.example.game", ["a", "b"]),
      entry("u2", "com.example.game", ["a", "b"]),
      entry("u1", "com.example.other", ["a"]),
      entry("u1", "com.example.game", ["c", "b", "a", "d"]),
      entry("u2", "com.example.game", ["a"]),
    ]);
    assert.deepEqual(events.map((e) => `${e.userId}/${e.gameId}/${e.eventId}`), [
      "u1/com.example.game/a",
      "u1/com.example.game/b",
      "u2/com.example.game/a",
      "u2/com.example.game/b",
      "u1/com.example.other/a",
      "u1/com.example.game/c",
      "u1/com.example.game/d",
    ]);
  });
});

describe("requestToPlain", () => {
  it("gives the plain JSON-contract shape, empty proto3 strings included", () => {
    const msg = create(IngestEventsRequestSchema, {
      userId: "u1",
      gameId: "com.example.game",
      events: [{ type: "AppOpen", timestamp: "2026-11-26T09:15:00Z", customdata: { a: { b: [1, null, true] } } }],
    });
    assert.deepEqual(requestToPlain(msg), {
      user_id: "u1",
      game_id: "com.example.game",
      events: [{ type: "AppOpen", timestamp: "2026-11-26T09:15:00Z", customdata: { a: { b: [1, null, true] } }, customEventName: "", event_id: "" }],
      sent_at: "",
      dry_run: false,
    });
  });
});
