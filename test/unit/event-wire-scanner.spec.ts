/**
 * Differential test of the binary wire scanner (src/ingest/event-wire-scanner.ts)
 * against protobuf-es and customdataProblem: on random well-formed requests, also
 * with the encodings a client library never writes but Protobuf allows (duplicate
 * keys, several kinds in one Value, missing keys and values, unknown fields,
 * byte order marks, NaN), the scanner yields the same strings, the same
 * customdata verdict under every limit, and exact depth and size; on mutated
 * bytes it never accepts what protobuf-es refuses, refuses only what is
 * malformed on the wire, and never fails with anything but a ValidationError.
 */
import assert from "node:assert/strict";
import { create, fromBinary, toBinary, type DescMessage, type JsonObject } from "@bufbuild/protobuf";
import fc from "fast-check";
import { IngestEventsRequestSchema } from "../../gen/playsmart/ingest/v1/ingest_pb.js";
import { ValidationError } from "../../src/errors.js";
import { customdataProblem, type CustomdataLimits } from "../../src/ingest/customdata-limits.js";
import { scanEvents, scanRequest } from "../../src/ingest/event-wire-scanner.js";
import { MeasuredCustomdata } from "../../src/ingest/measured-customdata.js";
import { requestToPlain, type PlainIngestEvent, type PlainIngestRequest } from "../../src/ingest/request-to-plain.js";
import { validateBatch } from "../../src/ingest/validate-batch.js";
import { createIngestWireMethod } from "../../src/server/ingest-wire-schema.js";
import "../fuzz/arbitraries.js"; // FUZZ_SEED
import { strictWireProblem } from "../helpers/strict-wire.js";
import { mutatedBytes } from "../helpers/mutated-bytes.js";
import { encodeRequest, eventArb } from "../helpers/wire-requests.js";

const wireSchema: DescMessage = createIngestWireMethod().input;

const limitSets: CustomdataLimits[] = [
  { maxDepth: 16, maxBytes: 16 * 1024 },
  { maxDepth: 2, maxBytes: 80 },
  { maxDepth: 1, maxBytes: 12 },
  { maxDepth: 31, maxBytes: 64 },
];

/**
 * The scanner's reading of a request (scanRequest, the path of an uncompressed
 * call), or the ValidationError it threw. When scanRequest accepts, scanEvents
 * over the wire view (the path of a compressed call) must read the same.
 */
function scan(bytes: Uint8Array): PlainIngestRequest | ValidationError {
  let whole: PlainIngestRequest;
  try {
    whole = scanRequest(bytes);
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  const wire = fromBinary(wireSchema, bytes) as unknown as { userId: string; gameId: string; events: Uint8Array[] };
  assert.equal(whole.user_id, wire.userId);
  assert.equal(whole.game_id, wire.gameId);
  const viaWireView = scanEvents(wire.events);
  assert.equal(viaWireView.length, whole.events.length);
  for (let i = 0; i < viaWireView.length; i++) {
    const a = viaWireView[i]!;
    const b = whole.events[i]!;
    assert.deepEqual([a.type, a.timestamp, a.customEventName, a.event_id], [b.type, b.timestamp, b.customEventName, b.event_id]);
  }
  return whole;
}

function verdict(body: unknown, limits: CustomdataLimits): string {
  try {
    return `ok ${validateBatch(body, limits).events.length}`;
  } catch (err) {
    if (err instanceof ValidationError) return JSON.stringify(err.violations);
    throw err;
  }
}

/** Scanned and decoded events agree: strings, and customdata under every limit, with exact figures. */
function assertSame(scanned: PlainIngestEvent[], decoded: PlainIngestEvent[]): void {
  assert.equal(scanned.length, decoded.length);
  for (let i = 0; i < scanned.length; i++) {
    const s = scanned[i]!;
    const d = decoded[i]!;
    assert.equal(s.type, d.type, `events[${i}].type`);
    assert.equal(s.timestamp, d.timestamp, `events[${i}].timestamp`);
    assert.equal(s.customEventName, d.customEventName, `events[${i}].customEventName`);
    assert.equal(s.event_id, d.event_id, `events[${i}].event_id`);
    if (d.customdata === undefined) {
      assert.equal(s.customdata, undefined);
      continue;
    }
    const m = s.customdata;
    assert.ok(m instanceof MeasuredCustomdata, `events[${i}].customdata is measured`);
    const obj = d.customdata as object;
    for (const limits of limitSets) assert.equal(m.problem(limits), customdataProblem(obj, limits), `events[${i}].customdata under ${JSON.stringify(limits)}`);
    if (m.regular) {
      // Exact figures: at the limit it passes, one under it fails.
      assert.equal(customdataProblem(obj, { maxDepth: m.depth, maxBytes: m.jsonBytes }), undefined, "depth and size are not under-counted");
      assert.notEqual(customdataProblem(obj, { maxDepth: m.depth, maxBytes: m.jsonBytes - 1 }), undefined, "size is exact");
      assert.notEqual(customdataProblem(obj, { maxDepth: m.depth - 1, maxBytes: m.jsonBytes }), undefined, "depth is exact");
    }
  }
}

/** scanRequest alone (the wire view fails on these bytes, so there is no second reading to compare). */
function scanOnly(bytes: Uint8Array): PlainIngestRequest | ValidationError {
  try {
    return scanRequest(bytes);
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
}

const decodeReal = (bytes: Uint8Array) => requestToPlain(fromBinary(IngestEventsRequestSchema, bytes));

describe("event wire scanner (differential against protobuf-es)", () => {
  it("reads well-formed requests exactly as protobuf-es and customdataProblem do", () => {
    fc.assert(
      fc.property(fc.array(eventArb, { minLength: 1, maxLength: 4 }), (events) => {
        const bytes = encodeRequest("u-1", "com.example.game", events);
        const scanned = scan(bytes);
        assert.ok(!(scanned instanceof ValidationError), `refused a well-formed request: ${scanned instanceof ValidationError ? scanned.message : ""}`);
        const decoded = decodeReal(bytes);
        assert.equal(scanned.user_id, decoded.user_id);
        assert.equal(scanned.game_id, decoded.game_id);
        assertSame(scanned.events, decoded.events);
        for (const limits of limitSets) {
          assert.equal(verdict(scanned, limits), verdict(decoded, limits));
        }
      }),
      { numRuns: 400 },
    );
  });

  it("requests as client libraries encode them are measured exactly, without the protobuf-es fallback", () => {
    const jsonObject = fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 6 }) as fc.Arbitrary<JsonObject>;
    fc.assert(
      fc.property(fc.array(fc.record({ type: fc.constantFrom("AppOpen", "Custom", "LevelCompleted"), cd: fc.option(jsonObject, { nil: undefined }) }), { minLength: 1, maxLength: 5 }), (events) => {
        // A "__proto__" key is left to protobuf-es on purpose (see MeasuredCustomdata).
        fc.pre(!JSON.stringify(events).includes('"__proto__"'));
        const bytes = toBinary(
          IngestEventsRequestSchema,
          create(IngestEventsRequestSchema, {
            userId: "u-1",
            gameId: "com.example.game",
            events: events.map((e) => ({ type: e.type, timestamp: "2026-11-26T09:15:00Z", ...(e.cd === undefined ? {} : { customdata: e.cd }) })),
          }),
        );
        const scanned = scan(bytes);
        assert.ok(!(scanned instanceof ValidationError));
        const decoded = decodeReal(bytes);
        assertSame(scanned.events, decoded.events);
        for (const e of scanned.events) {
          if (e.customdata !== undefined) assert.ok((e.customdata as MeasuredCustomdata).regular, "a client's encoding is regular");
        }
      }),
      { numRuns: 400 },
    );
  });

  it("mutated bytes: never accepts what protobuf-es refuses, refuses only malformed wire, never throws otherwise", () => {
    let refusedMalformed = 0;
    let accepted = 0;
    fc.assert(
      fc.property(mutatedBytes(fc.array(eventArb, { minLength: 1, maxLength: 2 }).map((events) => encodeRequest("u-1", "com.example.game", events)), 3), (bytes) => {
        let wireDecodes = true;
        try {
          fromBinary(wireSchema, bytes);
        } catch {
          wireDecodes = false; // connect refuses it before a compressed call's scan
        }
        const scanned = wireDecodes ? scan(bytes) : scanOnly(bytes);
        let decoded: ReturnType<typeof decodeReal> | undefined;
        try {
          decoded = decodeReal(bytes);
        } catch {
          decoded = undefined;
        }
        if (scanned instanceof ValidationError) {
          const problem = strictWireProblem(IngestEventsRequestSchema, bytes);
          assert.ok(decoded === undefined || problem !== undefined, `refused bytes protobuf-es decodes and that are well-formed: ${scanned.message}`);
          refusedMalformed++;
          return;
        }
        assert.ok(decoded !== undefined, "accepted bytes protobuf-es refuses");
        accepted++;
        assert.equal(scanned.user_id, decoded.user_id);
        assert.equal(scanned.game_id, decoded.game_id);
        assertSame(scanned.events, decoded.events);
        for (const limits of limitSets) assert.equal(verdict(scanned, limits), verdict(decoded, limits));
      }),
      { numRuns: 1500 },
    );
    assert.ok(refusedMalformed > 50 && accepted > 50, `too few of each: ${refusedMalformed} refused, ${accepted} accepted`);
  });

  it("refuses what protobuf-es merely tolerates, naming the event and field", () => {
    // A Struct map entry whose key claims 14 bytes while 15 follow: protobuf-es
    // reads the 15th byte as a tag of the entry (field 15), ignores it without
    // skipping its value, and goes on. The fuzz suite met a case of this kind
    // (seed -2093519174).
    const key = Buffer.from("abcdefghijklmn");
    const entry = Buffer.concat([Buffer.from([0x0a, 14]), key, Buffer.from([0x78])]);
    const struct = Buffer.concat([Buffer.from([0x0a, entry.length]), entry]);
    const event = Buffer.concat([Buffer.from([0x0a, 7]), Buffer.from("AppOpen"), Buffer.from([0x1a, struct.length]), struct]);
    const bytes = Buffer.concat([Buffer.from([0x1a, event.length]), event]);
    assert.doesNotThrow(() => fromBinary(IngestEventsRequestSchema, bytes));
    const scanned = scan(bytes);
    assert.ok(scanned instanceof ValidationError);
    assert.equal(scanned.violations[0]!.index, 0);
    assert.equal(scanned.violations[0]!.field, "customdata");
    assert.ok(strictWireProblem(IngestEventsRequestSchema, bytes) !== undefined);

    const cases: Array<[string, Buffer, string]> = [
      ["type with wire type 0", Buffer.from([0x08, 0x05]), "type"],
      ["a group in the event", Buffer.from([0x33, 0x34]), "event"],
      ["a 6-byte length", Buffer.from([0x12, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00, 0x41]), "timestamp"],
      ["invalid UTF-8 in event_id", Buffer.from([0x2a, 0x02, 0xc3, 0x28]), "event_id"],
      ["a truncated string", Buffer.from([0x0a, 0x05, 0x41]), "type"],
      ["a number with wire type 5", Buffer.from([0x1a, 0x09, 0x0a, 0x07, 0x12, 0x05, 0x15, 0, 0, 0, 0]), "customdata"],
    ];
    for (const [what, ev, field] of cases) {
      const req = Buffer.concat([Buffer.from([0x1a, ev.length]), ev]);
      assert.throws(() => scanEvents([req.subarray(2)]), (err) => err instanceof ValidationError && err.violations[0]!.field === field && err.violations[0]!.index === 0, what);
    }
  });
});
