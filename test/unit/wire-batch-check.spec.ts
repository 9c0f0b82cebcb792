/**
 * Differential test of the gateway's one-pass check of binary requests
 * (src/ingest/wire-batch-check.ts) against the exact path it stands in for,
 * scanRequest + checkBatch: whatever it accepts, that path accepts with the same
 * summary, under every limit; and it is sure of every valid batch a client
 * library writes, so that the fast path is the one taken.
 */
import assert from "node:assert/strict";
import { create, toBinary, type JsonObject } from "@bufbuild/protobuf";
import fc from "fast-check";
import { IngestEventsRequestSchema } from "../../gen/playsmart/ingest/v1/ingest_pb.js";
import { ValidationError } from "../../src/errors.js";
import { customdataProblem, type CustomdataLimits } from "../../src/ingest/customdata-limits.js";
import { scanRequest } from "../../src/ingest/event-wire-scanner.js";
import { checkBatch, type BatchSummary } from "../../src/ingest/validate-batch.js";
import { checkWireBatch } from "../../src/ingest/wire-batch-check.js";
import "../fuzz/arbitraries.js"; // FUZZ_SEED
import { mutatedBytes } from "../helpers/mutated-bytes.js";
import { limitSets, mostly } from "../helpers/one-pass-limits.js";
import { encodeRequest, eventArb, type WEntry, type WEvent } from "../helpers/wire-requests.js";

/** The exact path's summary, or its error's violations as text. */
function exact(bytes: Uint8Array, limits: CustomdataLimits): BatchSummary | string {
  try {
    return checkBatch(scanRequest(bytes), limits);
  } catch (err) {
    if (err instanceof ValidationError) return JSON.stringify(err.violations);
    throw err;
  }
}

/** Holds checkWireBatch to the exact path; returns whether it was sure. */
function sound(bytes: Uint8Array, limits: CustomdataLimits): boolean {
  const quick = checkWireBatch(bytes, limits);
  if (quick === undefined) return false;
  assert.deepEqual(exact(bytes, limits), quick, "accepted what the exact path does not, or summed it up differently");
  return true;
}

const level: WEntry[][] = [[{ key: "level", values: [{ k: "num", v: 3 }] }]];
const nested: WEntry[][] = [[{ key: "a", values: [{ k: "struct", entries: [{ key: "b", values: [{ k: "str", v: "deep" }] }] }] }]];
const twice: WEntry[][] = [[{ key: "a", values: [{ k: "num", v: 1 }] }, { key: "a", values: [{ k: "num", v: 2 }] }]];

// Batches near the rules' edges: most events valid, each rule sometimes broken.
const edgyEvent: fc.Arbitrary<WEvent> = fc.record({
  type: mostly(fc.constantFrom("AppOpen", "LevelCompleted", "GameEnd", "AdImpression", "IAPPurchase", "Custom"), ["levelcompleted", "", "Custom"]),
  timestamp: mostly(fc.constantFrom("2026-11-26T09:15:00Z", "2026-11-26T09:20:31.250+01:00", "2024-02-29T23:59:59.999999999-12:00"), [
    "2026-02-29T10:00:00Z",
    "2026-11-26T24:00:00Z",
    "1970-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "2026-11-26 09:15:00Z",
    "2026-11-26T09:15:00.1234567890Z",
  ]),
  customEventName: mostly(fc.constant("ChestOpened"), ["", "x".repeat(128), "x".repeat(129), "Chest\u0001", "Trésor", "\uFEFF"]),
  eventId: mostly(fc.uuid(), ["", "a", "a", "x".repeat(64), "x".repeat(65), "id\u0007", "id\u007f", "idé", "\uFEFFa"]),
  customdata: mostly(fc.constantFrom<WEntry[][]>([], level), [nested, twice]),
});



describe("checkWireBatch (differential against scanRequest + checkBatch)", () => {
  it("accepts only what the exact path accepts, with the same summary, near every rule's edge", () => {
    let sure = 0;
    fc.assert(
      fc.property(mostly(fc.constant("u-1"), ["", "x".repeat(64), "x".repeat(65), "ü-1"]), mostly(fc.constant("com.example.game"), ["nodots", ""]), fc.array(edgyEvent, { minLength: 0, maxLength: 4 }), (userId, gameId, events) => {
        const bytes = encodeRequest(userId, gameId, events, false);
        for (const limits of limitSets) if (sound(bytes, limits)) sure++;
      }),
      { numRuns: 3000 },
    );
    assert.ok(sure > 300, `sure of only ${sure} batches`);
  });

  it("accepts only what the exact path accepts on unusual encodings and mutated bytes", () => {
    fc.assert(
      fc.property(fc.array(eventArb, { minLength: 1, maxLength: 4 }), fc.boolean(), (events, unknownField) => {
        const bytes = encodeRequest("u-1", "com.example.game", events, unknownField);
        for (const limits of limitSets) sound(bytes, limits);
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(mutatedBytes(fc.array(edgyEvent, { minLength: 1, maxLength: 3 }).map((events) => encodeRequest("u-1", "com.example.game", events, false)), 3), (bytes) => {
        for (const limits of limitSets) sound(bytes, limits);
      }),
      { numRuns: 3000 },
    );
  });

  it("is sure of every valid batch a client library writes", () => {
    const jsonObject = fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }) as fc.Arbitrary<JsonObject>;
    const event = fc.record({
      type: fc.constantFrom("AppOpen", "LevelCompleted", "GameEnd", "AdImpression", "IAPPurchase", "Custom"),
      timestamp: fc.date({ min: new Date("1971-01-02T00:00:00Z"), max: new Date("9998-12-30T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString()),
      customdata: fc.option(jsonObject, { nil: undefined }),
      id: fc.option(fc.uuid(), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 20 }), (events) => {
        // A "__proto__" key is left to the exact path on purpose (see MeasuredCustomdata).
        fc.pre(!JSON.stringify(events).includes('"__proto__"'));
        fc.pre(new Set(events.map((e) => e.id).filter((id) => id !== undefined)).size === events.filter((e) => e.id !== undefined).length);
        const bytes = toBinary(
          IngestEventsRequestSchema,
          create(IngestEventsRequestSchema, {
            userId: "7d3c2a8e-1f0b-4c55-9a57-2b8d6f0e4a11",
            gameId: "com.example.game",
            events: events.map((e) => ({
              type: e.type,
              timestamp: e.timestamp,
              ...(e.customdata === undefined ? {} : { customdata: e.customdata }),
              customEventName: e.type === "Custom" ? "ChestOpened" : "",
              eventId: e.id ?? "",
            })),
          }),
        );
        const limits = { maxDepth: 16, maxBytes: 64 * 1024 };
        assert.ok(typeof exact(bytes, limits) !== "string", "the batch is valid");
        assert.ok(sound(bytes, limits), "not sure of a valid batch");
      }),
      { numRuns: 500 },
    );
  });

  it("is not sure of a repeated string field, whose earlier copy protobuf-es still checks", () => {
    // Found by the mutated-bytes property (seed 1614244533): customEventName
    // twice, the first copy not UTF-8; the exact path refuses it, and the check
    // took the last copy only, so the worker would have dead-lettered the batch.
    const valid = toBinary(IngestEventsRequestSchema, create(IngestEventsRequestSchema, {
      userId: "u-1",
      gameId: "com.example.game",
      events: [{ type: "Custom", timestamp: "2026-11-26T09:15:00Z", customEventName: "ChestOpened", eventId: "e-1" }],
    }));
    const limits = limitSets[0]!;
    assert.ok(sound(valid, limits));
    const notUtf8 = Uint8Array.from([0x80]);
    const field = (tag: number, value: Uint8Array) => Uint8Array.from([tag, value.length, ...value]);
    const event = (...fields: Uint8Array[]) => {
      const body = Buffer.concat(fields);
      return Buffer.concat([Uint8Array.from([0x1a, body.length]), body]);
    };
    const head = Buffer.concat([field(0x0a, Buffer.from("u-1")), field(0x12, Buffer.from("com.example.game"))]);
    const type = field(0x0a, Buffer.from("Custom"));
    const ts = field(0x12, Buffer.from("2026-11-26T09:15:00Z"));
    const name = field(0x22, Buffer.from("ChestOpened"));
    const id = field(0x2a, Buffer.from("e-1"));
    const cases: Array<[string, Uint8Array]> = [
      ["user_id", Buffer.concat([field(0x0a, notUtf8), head, event(type, ts, name, id)])],
      ["game_id", Buffer.concat([field(0x12, notUtf8), head, event(type, ts, name, id)])],
      ["type", Buffer.concat([head, event(field(0x0a, notUtf8), type, ts, name, id)])],
      ["timestamp", Buffer.concat([head, event(type, field(0x12, notUtf8), ts, name, id)])],
      ["customEventName", Buffer.concat([head, event(type, ts, field(0x22, notUtf8), name, id)])],
      ["event_id", Buffer.concat([head, event(type, ts, name, field(0x2a, notUtf8), id)])],
    ];
    assert.deepEqual(checkWireBatch(Buffer.concat([head, event(type, ts, name, id)]), limits), { userId: "u-1", gameId: "com.example.game", eventCount: 1 });
    for (const [what, bytes] of cases) {
      assert.equal(checkWireBatch(bytes, limits), undefined, what);
      assert.match(String(exact(bytes, limits)), /UTF-8/, `${what}: the exact path refuses it`);
    }
  });

  it("measures numbers of every length in customdata as customdataProblem counts them, at the byte", () => {
    // The exact path measures on the wire too (MeasuredCustomdata), so sizes are
    // held here to customdataProblem on the decoded object.
    const numbers = [0, -0, 0.5, -2.25, 1e21, 1.5e-7, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER];
    for (let digits = 1; digits <= 16; digits++) {
      const low = 10 ** (digits - 1);
      const high = 10 ** digits - 1;
      numbers.push(low, high, -low, -high, Math.floor((low + high) / 2));
    }
    for (const n of numbers) {
      const customdata = { n, s: "x" } as JsonObject;
      const bytes = toBinary(IngestEventsRequestSchema, create(IngestEventsRequestSchema, {
        userId: "u-1",
        gameId: "com.example.game",
        events: [{ type: "AppOpen", timestamp: "2026-11-26T09:15:00Z", customdata }],
      }));
      let size = 1;
      while (customdataProblem(customdata, { maxDepth: 16, maxBytes: size }) !== undefined) size++;
      assert.ok(checkWireBatch(bytes, { maxDepth: 16, maxBytes: size }), `${n}: sure within ${size} bytes`);
      assert.equal(checkWireBatch(bytes, { maxDepth: 16, maxBytes: size - 1 }), undefined, `${n}: over ${size - 1} bytes`);
    }
  });

  it("is not sure of each broken rule, nor of 201 events, and is sure of 200", () => {
    const ok: WEvent = { type: "AppOpen", timestamp: "2026-11-26T09:15:00Z", customEventName: "", eventId: "", customdata: [] };
    const limits = limitSets[0]!;
    const quick = (userId: string, gameId: string, events: WEvent[]) => checkWireBatch(encodeRequest(userId, gameId, events, false), limits);
    assert.deepEqual(quick("u-1", "com.example.game", [ok]), { userId: "u-1", gameId: "com.example.game", eventCount: 1 });
    const many = (n: number) => Array.from({ length: n }, (_, i) => ({ ...ok, eventId: `e-${i}` }));
    assert.equal(quick("u-1", "com.example.game", many(200))?.eventCount, 200);
    assert.equal(quick("u-1", "com.example.game", many(201)), undefined);
    assert.equal(quick("u-1", "com.example.game", []), undefined);
    assert.equal(quick("", "com.example.game", [ok]), undefined);
    assert.equal(quick("u-1", "nodots", [ok]), undefined);
    const broken: Array<[string, Partial<WEvent>]> = [
      ["unknown type", { type: "Levelcompleted" }],
      ["no type", { type: "" }],
      ["no timestamp", { timestamp: "" }],
      ["February 30", { timestamp: "2026-02-30T10:00:00Z" }],
      ["hour 24", { timestamp: "2026-11-26T24:00:00Z" }],
      ["ten fraction digits", { timestamp: "2026-11-26T09:15:00.1234567890Z" }],
      ["offset minutes 60", { timestamp: "2026-11-26T09:15:00+01:60" }],
      ["Custom without a name", { type: "Custom" }],
      ["a name of 129 characters", { customEventName: "n".repeat(129) }],
      ["an id of 65 characters", { eventId: "i".repeat(65) }],
      ["an id with a control character", { eventId: "a\u0000b" }],
      ["customdata nested too deep", { customdata: [[{ key: "a", values: [{ k: "struct", entries: [{ key: "b", values: [{ k: "struct", entries: [] }] }] }] }]] }],
    ];
    for (const [what, change] of broken) {
      const bytes = encodeRequest("u-1", "com.example.game", [{ ...ok, ...change }], false);
      assert.equal(checkWireBatch(bytes, { maxDepth: 2, maxBytes: 1024 }), undefined, what);
      assert.equal(typeof exact(bytes, { maxDepth: 2, maxBytes: 1024 }), "string", `${what} is refused by the exact path`);
    }
    const dup = [{ ...ok, eventId: "same" }, { ...ok, eventId: "other" }, { ...ok, eventId: "same" }];
    assert.equal(quick("u-1", "com.example.game", dup), undefined, "a repeated id");
    assert.match(String(exact(encodeRequest("u-1", "com.example.game", dup, false), limits)), /appears twice/);
  });
});
