/**
 * Property-based tests of the pure ingest validator (`validateBatch`), the
 * timestamp parser and the worker's re-validation (`expandEntry`), against the
 * independent contract oracle in `contract-oracle.ts`.
 *
 * For any input the validator either returns a batch that satisfies every rule
 * of the contract, or throws a ValidationError whose violations name exactly the
 * broken rules, never anything else, and within a time bound. What it accepts,
 * the worker must store verbatim (a 202 is never lost or altered).
 */
import assert from "node:assert/strict";
import { create, fromBinary, toBinary, type JsonObject } from "@bufbuild/protobuf";
import fc from "fast-check";
import { IngestEventsRequestSchema } from "../../gen/playsmart/ingest/v1/ingest_pb.js";
import { ValidationError } from "../../src/errors.js";
import { defaultCustomdataLimits, type CustomdataLimits } from "../../src/ingest/customdata-limits.js";
import { requestToPlain } from "../../src/ingest/request-to-plain.js";
import { parseTimestamp } from "../../src/ingest/timestamp.js";
import { validateBatch, type IngestBatch } from "../../src/ingest/validate-batch.js";
import { encodeEntry } from "../../src/stream/stream-entry.js";
import { expandEntry } from "../../src/worker/expand-entry.js";
import {
  componentTimestamp,
  componentTimestampNoKnownBug,
  copy,
  duplicateKeyText,
  hostileValue,
  manyKeys,
  mutation,
  nested,
  protoKeyBody,
  smallCustomdata,
  validBatch,
  validTimestamp,
} from "./arbitraries.js";
import { eventFields, isPlainObject, judgeBatch, oracleTimestamp, topFields } from "./contract-oracle.js";

/**
 * Per-call bound of validateBatch: inputs here are at most the size of a 1 MiB
 * body, and a valid 1 MiB batch costs up to ~120 ms on this machine (linear in
 * its values); generous for a loaded CI machine. A call over it is timed once
 * more and the faster time counts: a garbage collection of an earlier input's
 * megabytes can land in one call (seen at 270-830 ms, 2 runs in 15), while a
 * blow-up in the validator is slow every time.
 */
const maxCallMs = 250;
const userId = "01JD4AAAAAAAAAAAAAAAAAAAAA";
let slowest = { ms: 0, what: "" };

type Outcome = { ok: true; batch: IngestBatch } | { ok: false; error: unknown };

function run(body: unknown, limits: CustomdataLimits = defaultCustomdataLimits, what = "", boundMs = maxCallMs): Outcome {
  let outcome: Outcome | undefined;
  let ms = Infinity;
  for (let attempt = 0; attempt < 2 && ms >= boundMs; attempt++) {
    const started = performance.now();
    try {
      outcome = { ok: true, batch: validateBatch(body, limits) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    ms = Math.min(ms, performance.now() - started);
  }
  if (ms > slowest.ms) slowest = { ms, what };
  assert.ok(ms < boundMs, `validateBatch took ${ms.toFixed(1)} ms (${what}) twice; bound ${boundMs} ms`);
  return outcome!;
}

/** A ValidationError with well-formed violations: the only failure the validator may throw. */
function assertWellFormedRefusal(error: unknown, body: unknown): asserts error is ValidationError {
  if (!(error instanceof ValidationError)) {
    assert.fail(`validateBatch threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}, not a ValidationError`);
  }
  assert.equal(error.name, "ValidationError");
  assert.ok(Array.isArray(error.violations) && error.violations.length > 0, "a refusal names at least one violation");
  assert.equal(typeof error.message, "string");
  assert.ok(error.message.length > 0 && error.message.length <= 400, `message of ${error.message.length} characters`);
  const events = isPlainObject(body) && Array.isArray(body.events) ? body.events : undefined;
  for (const v of error.violations) {
    assert.deepEqual(Object.keys(v).sort(), ["field", "index", "reason"]);
    assert.ok(Number.isInteger(v.index), `index ${v.index}`);
    if (v.index === -1) assert.ok(topFields.has(v.field), `top-level field ${v.field}`);
    else {
      assert.ok(events !== undefined && v.index >= 0 && v.index < events.length, `index ${v.index} names an event of the batch`);
      assert.ok(eventFields.has(v.field), `event field ${v.field}`);
    }
    assert.equal(typeof v.reason, "string");
    // Reasons are fixed texts: they never echo a (possibly huge or secret) input.
    assert.ok(v.reason.length > 0 && v.reason.length <= 200, `reason of ${v.reason.length} characters`);
  }
  // The REST body and the typed Connect detail carry these as they are.
  assert.doesNotThrow(() => JSON.stringify(error.violations));
  assert.ok(error.violations.length <= 6 * (events?.length ?? 0) + 4, `${error.violations.length} violations`);
}

/** Every rule of the contract holds for an accepted batch, and its values are the input's. */
function assertContractHolds(body: unknown, batch: IngestBatch): void {
  assert.ok(isPlainObject(body));
  const b = body as Record<string, unknown>;
  const claimed = b.user_id ?? b.userId;
  assert.equal(batch.userId, claimed);
  assert.ok(batch.userId.length >= 1 && batch.userId.length <= 64);
  assert.equal(batch.gameId, b.game_id ?? b.gameId);
  assert.match(batch.gameId, /^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)+$/);
  const raw = b.events as Array<Record<string, unknown>>;
  assert.equal(batch.events.length, raw.length, "the whole batch is accepted, nothing dropped");
  assert.ok(batch.events.length >= 1 && batch.events.length <= 200);
  const ids = new Set<string>();
  batch.events.forEach((e, i) => {
    const r = raw[i]!;
    assert.equal(e.type, r.type);
    assert.equal(e.timestamp, r.timestamp);
    const instant = oracleTimestamp(e.timestamp);
    assert.ok(instant, `events[${i}].timestamp ${e.timestamp} is not a contract timestamp`);
    assert.deepEqual(e.instant, instant, `events[${i}].timestamp ${e.timestamp} read as another instant`);
    if (r.customdata === undefined || r.customdata === null) assert.equal(e.customdata, undefined);
    else {
      assert.ok(isPlainObject(e.customdata));
      assert.deepEqual(e.customdata, r.customdata);
    }
    if (e.type === "Custom") assert.ok(typeof e.customEventName === "string" && e.customEventName.length >= 1 && e.customEventName.length <= 128);
    if (e.eventId !== undefined) {
      assert.ok(e.eventId.length >= 1 && e.eventId.length <= 64 && !/[\x00-\x1f\x7f]/.test(e.eventId));
      assert.ok(!ids.has(e.eventId), `event_id ${e.eventId} twice`);
      ids.add(e.eventId);
    }
  });
}

/**
 * What the gateway accepted, the worker must store as it was sent: expand the
 * stream entry (JSON from REST and binary from RPC) with the real worker code and
 * compare each row with the input.
 */
function assertWorkerStoresVerbatim(body: Record<string, unknown>, batch: IngestBatch): void {
  const batchId = "01a21652-037c-7a71-9e5b-527d74438d0c";
  const receivedAtMs = Date.UTC(2026, 10, 26, 9, 15);
  const pb = create(IngestEventsRequestSchema, {
    userId: batch.userId,
    gameId: batch.gameId,
    events: batch.events.map((e) => ({
      type: e.type,
      timestamp: e.timestamp,
      customEventName: e.customEventName ?? "",
      eventId: e.eventId ?? "",
      ...(e.customdata === undefined ? {} : { customdata: e.customdata as JsonObject }),
    })),
  });
  for (const [format, data] of [["json", JSON.stringify(body)], ["pb", Buffer.from(toBinary(IngestEventsRequestSchema, pb))]] as const) {
    const fields = encodeEntry({ batchId, userId: batch.userId, gameId: batch.gameId, receivedAtMs, format, body: data }).map((f) =>
      Buffer.isBuffer(f) ? f : Buffer.from(f, "utf8"),
    );
    let expanded: ReturnType<typeof expandEntry>;
    try {
      expanded = expandEntry(fields);
    } catch (err) {
      assert.fail(`the worker refuses a ${format} entry the gateway accepted: ${(err as Error).message}`);
    }
    assert.equal(expanded.events.length, batch.events.length);
    expanded.events.forEach((row, i) => {
      const e = batch.events[i]!;
      assert.equal(row.eventId, e.eventId ?? `${batchId}:${i}`);
      assert.equal(row.type, e.type);
      assert.equal(row.customEventName, e.customEventName ?? null);
      assert.equal(row.utcOffsetMin, e.instant.offsetMinutes);
      const iso = new Date(e.instant.epochMs).toISOString();
      assert.equal(row.occurredAt, `${iso.slice(0, 10)} ${iso.slice(11, 23)}${String(e.instant.micros).padStart(3, "0")}`);
      if (e.customdata === undefined) assert.equal(row.customdata, null);
      else {
        // Known limitation, not of src/: @bufbuild/protobuf converts google.protobuf.Struct
        // to plain objects by assignment, so a key "__proto__" is lost on the RPC
        // path (reflect.js wktStructToLocal / wktStructToReflect). Reported, skipped here.
        if (format === "pb" && hasProtoKey(e.customdata)) return;
        // The JSON column must hold the customdata the client sent, value for value.
        assert.ok(jsonEqual(JSON.parse(row.customdata!), e.customdata), `${format}: events[${i}].customdata is stored altered: ${row.customdata}`);
      }
    });
  }
}

/** Equality of JSON values by own keys, ignoring prototypes; -0 equals 0 (JSON has one zero), NaN equals nothing. */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Whether an own key "__proto__" occurs at any depth. */
function hasProtoKey(v: unknown): boolean {
  if (typeof v !== "object" || v === null) return false;
  if (!Array.isArray(v) && Object.prototype.hasOwnProperty.call(v, "__proto__")) return true;
  return Object.values(v).some(hasProtoKey);
}

/** The whole property for one input. */
function checkInput(body: unknown, limits: CustomdataLimits = defaultCustomdataLimits, what = ""): void {
  const verdict = judgeBatch(body, limits);
  const outcome = run(body, limits, what);
  if (!outcome.ok) {
    assertWellFormedRefusal(outcome.error, body);
    if (!verdict.ambiguous) {
      assert.ok(!verdict.valid, `refused a batch the contract accepts: ${outcome.error.message}`);
      const reported = new Set(outcome.error.violations.map((v) => `${v.index}:${v.field}`));
      assert.deepEqual([...reported].sort(), [...verdict.problems].sort(), "violations name exactly the broken rules");
    } else {
      for (const v of outcome.error.violations) {
        const key = `${v.index}:${v.field}`;
        assert.ok(verdict.problems.has(key) || verdict.maybe.has(key) || v.field === "event_id", `violation ${key} names no broken rule`);
      }
    }
    return;
  }
  if (!verdict.ambiguous) assert.ok(verdict.valid, `accepted a batch that breaks ${[...verdict.problems].join(", ")}`);
  else assert.equal(verdict.problems.size, 0, `accepted a batch that breaks ${[...verdict.problems].join(", ")}`);
  assertContractHolds(body, outcome.batch);
  assertWorkerStoresVerbatim(body as Record<string, unknown>, outcome.batch);
}

describe("fuzz: validateBatch, parseTimestamp and the worker's re-validation", function () {
  this.timeout(60_000);
  after(() => {
    // Nothing may have been written onto Object.prototype by any input.
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    console.log(`      slowest validateBatch call: ${slowest.ms.toFixed(1)} ms (${slowest.what})`);
  });

  it("accepts every valid batch whole and the worker stores it verbatim", () => {
    fc.assert(
      fc.property(validBatch(userId), (body) => checkInput(body, defaultCustomdataLimits, "valid batch")),
      { numRuns: 300 },
    );
  });

  it("mutated valid batches: accepted exactly when the contract holds, else refused naming each broken rule", () => {
    fc.assert(
      fc.property(validBatch(userId), fc.array(mutation, { minLength: 1, maxLength: 3 }), (base, mutations) => {
        const body = copy(base);
        for (const m of mutations) m.apply(body);
        checkInput(body, defaultCustomdataLimits, mutations.map((m) => m.name).join(" + "));
      }),
      { numRuns: 400 },
    );
  });

  it("numbers out of range in customdata (1e309 parses to Infinity) are refused, not stored as null", () => {
    // Regression test of a fixed bug (src/ingest/customdata-limits.ts, customdataProblem): numbers are only
    // measured, never checked for being finite. JSON.parse reads 1e309 as Infinity
    // (and a binary google.protobuf.Value can carry NaN/Infinity); the batch is
    // accepted with 202 and the worker's JSON.stringify stores null instead.
    for (const text of ['{"n":1e309}', '{"n":-1e309}', '{"a":{"b":[1,1e400]}}']) {
      const body = JSON.parse(
        `{"user_id":"${userId}","game_id":"com.example.game","events":[{"type":"AppOpen","timestamp":"2026-01-01T00:00:00Z","customdata":${text}}]}`,
      ) as unknown;
      const outcome = run(body, defaultCustomdataLimits, text);
      assert.equal(outcome.ok, false, `customdata ${text} was accepted and would be stored as ${outcome.ok ? JSON.stringify(outcome.batch.events[0]!.customdata) : ""}`);
      if (!outcome.ok) {
        assertWellFormedRefusal(outcome.error, body);
        assert.deepEqual(outcome.error.violations.map((v) => `${v.index}:${v.field}`), ["0:customdata"]);
      }
    }
  });

  it("arbitrary JSON values as the body, as events and as event fields", () => {
    const event = fc.dictionary(
      fc.constantFrom("type", "timestamp", "customdata", "customEventName", "custom_event_name", "event_id", "eventId", "x"),
      fc.oneof(fc.jsonValue({ maxDepth: 3 }), hostileValue, validTimestamp, fc.constantFrom("AppOpen", "Custom", "LevelCompleted")),
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue({ maxDepth: 4 }),
          fc.record({ user_id: fc.jsonValue({ maxDepth: 1 }), game_id: fc.jsonValue({ maxDepth: 1 }), events: fc.jsonValue({ maxDepth: 3 }) }),
          fc.record({ user_id: fc.constant(userId), game_id: fc.constant("com.example.game"), events: fc.array(fc.oneof(event, fc.jsonValue()), { minLength: 1, maxLength: 6 }) }),
        ),
        (body) => checkInput(body, defaultCustomdataLimits, "arbitrary JSON"),
      ),
      { numRuns: 600 },
    );
  });

  it("anything (null-prototype objects, undefined, sparse values): returns or throws ValidationError, nothing else", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything({ withNullPrototype: true, withObjectString: true, maxDepth: 3 }),
          fc.record({ user_id: fc.constant(userId), game_id: fc.constant("com.example.game"), events: fc.array(fc.anything({ withNullPrototype: true, maxDepth: 3 }), { minLength: 1, maxLength: 4 }) }),
        ),
        (body) => {
          const outcome = run(body, defaultCustomdataLimits, "anything");
          if (!outcome.ok) assertWellFormedRefusal(outcome.error, body);
          else assertContractHolds(body, outcome.batch);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("__proto__ and constructor keys (own properties, as JSON.parse makes them) neither satisfy a rule nor pollute", () => {
    fc.assert(
      fc.property(protoKeyBody(userId), (text) => {
        checkInput(JSON.parse(text) as unknown, defaultCustomdataLimits, text);
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
      }),
      { numRuns: 30 },
    );
    // Only the real fields count: a batch made of __proto__ alone is refused.
    const onlyProto = JSON.parse(`{"__proto__":{"user_id":"${userId}","game_id":"com.example.game","events":[]}}`) as unknown;
    const outcome = run(onlyProto);
    assert.equal(outcome.ok, false);
  });

  it("duplicate keys in the raw JSON text: the validator judges what JSON.parse returns, consistently", () => {
    fc.assert(
      fc.property(validBatch(userId, 3).chain((b) => duplicateKeyText(b)), (text) => {
        checkInput(JSON.parse(text) as unknown, defaultCustomdataLimits, "duplicate keys");
      }),
      { numRuns: 200 },
    );
  });

  it("inputs as large as a 1 MiB body (huge strings, many keys, deep nesting) are judged within the time bound", () => {
    const base = () => ({ user_id: userId, game_id: "com.example.game", events: [{ type: "AppOpen", timestamp: "2026-01-01T00:00:00Z" }] as Array<Record<string, unknown>> });
    const huge = "\u{1F600}".repeat(250_000);
    const event = (customdata: unknown) => ({ type: "AppOpen", timestamp: "2026-01-01T00:00:00Z", customdata });
    // [what, input, accepted?] - each about the size of the default 1 MiB body limit.
    const cases: Array<[string, () => unknown, boolean]> = [
      ["1 MB user_id", () => ({ ...base(), user_id: huge }), false],
      ["1 MB game_id", () => ({ ...base(), game_id: huge }), false],
      ["1 MB timestamp", () => { const b = base(); b.events[0]!.timestamp = "2026-01-01T00:00:00" + "0".repeat(1_000_000) + "Z"; return b; }, false],
      ["1 MB event_id", () => { const b = base(); b.events[0]!.event_id = huge; return b; }, false],
      ["1 MB customEventName", () => { const b = base(); b.events[0]!.type = "Custom"; b.events[0]!.customEventName = huge; return b; }, false],
      ["1 MB customdata string", () => ({ ...base(), events: [event({ s: huge })] }), false],
      ["60 events with 16.5 KB customdata each", () => ({ ...base(), events: Array.from({ length: 60 }, () => event({ s: "x".repeat(16_500) })) }), false],
      ["60 events with 16 KB customdata each", () => ({ ...base(), events: Array.from({ length: 60 }, () => event({ s: "x".repeat(16_000) })) }), true],
      ["customdata with 60,000 keys", () => ({ ...base(), events: [event(manyKeys(60_000))] }), false],
      // (A customdata array of 400,000 items hits a known cost bug: its own test below.)
      ["200 events, each customdata with 300 keys", () => ({ ...base(), events: Array.from({ length: 200 }, () => event(manyKeys(300))) }), true],
      ["customdata nested 100,000 levels", () => ({ ...base(), events: [event({ d: nested(100_000, "mixed") })] }), false],
      ["events nested 100,000 levels", () => ({ ...base(), events: nested(100_000, "array") }), false],
      ["body with 60,000 unknown keys", () => ({ ...base(), ...manyKeys(60_000, "u") }), true],
      ["10,000 events", () => ({ ...base(), events: new Array(10_000).fill({ type: "AppOpen", timestamp: "2026-01-01T00:00:00Z" }) }), false],
    ];
    for (const [what, make, accepted] of cases) {
      const body = make();
      const outcome = run(body, defaultCustomdataLimits, what);
      assert.equal(outcome.ok, accepted, `${what}: ${outcome.ok ? "accepted" : (outcome.error as Error).message}`);
      if (!outcome.ok) assertWellFormedRefusal(outcome.error, body);
    }
  });

  it("customdata far over the size limit is refused at the cost of the limit, not of its size", () => {
    // Regression test of a fixed bug (src/ingest/customdata-limits.ts, customdataProblem): the size check runs
    // only after a container's children were all pushed onto the work stack
    // (`for (const item of v) stack.push(...)`, and the key loop), so an array of
    // 400,000 items (800 KB, 50x the 16 KiB limit) costs 85-200 ms of event-loop
    // time, 5-20x its JSON.parse, although the limit was passed after ~8,000
    // items. The doc comment promises "a hostile payload costs no more than the
    // limit". Fix: check `bytes > limits.maxBytes` right after adding a
    // container's own size and inside the key loop, before pushing more.
    const time = (n: number) => {
      const body = { user_id: userId, game_id: "com.example.game", events: [{ type: "AppOpen", timestamp: "2026-01-01T00:00:00Z", customdata: { a: new Array(n).fill(0) } }] };
      const runs: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        assert.throws(() => validateBatch(body), ValidationError);
        runs.push(performance.now() - started);
      }
      return runs.sort((a, b) => a - b)[2]!;
    };
    const atLimit = time(10_000);
    const farOver = time(400_000);
    assert.ok(farOver < 25, `refusing 400,000 items took ${farOver.toFixed(1)} ms (median of 5); 10,000 items took ${atLimit.toFixed(1)} ms`);
  });

  it("configured customdata limits (depth 1-31, 64 B - 4 KiB): accepted exactly within them", () => {
    fc.assert(
      fc.property(
        fc.record({ maxDepth: fc.integer({ min: 1, max: 31 }), maxBytes: fc.integer({ min: 64, max: 4096 }) }),
        fc.oneof(
          smallCustomdata,
          fc.integer({ min: 1, max: 40 }).map((n) => ({ d: nested(n - 1, "mixed") }) as Record<string, unknown>),
          fc.integer({ min: 1, max: 6000 }).map((n) => ({ s: "y".repeat(n) })),
          fc.dictionary(fc.string({ maxLength: 30 }), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 40 }) as fc.Arbitrary<Record<string, unknown>>,
        ),
        (limits, customdata) => {
          const body = { user_id: userId, game_id: "com.example.game", events: [{ type: "AppOpen", timestamp: "2026-01-01T00:00:00Z", customdata }] };
          checkInput(body, limits, `customdata under ${JSON.stringify(limits)}`);
        },
      ),
      { numRuns: 400 },
    );
  });

  it("protobuf requests (random messages and random bytes) in their plain shape", () => {
    const message = fc.record({
      userId: fc.oneof(fc.constant(userId), fc.constant(""), fc.string({ maxLength: 70 })),
      gameId: fc.oneof(fc.constant("com.example.game"), fc.constant(""), fc.string({ maxLength: 20 })),
      events: fc.array(
        fc.record({
          type: fc.oneof(fc.constantFrom("AppOpen", "Custom", "LevelCompleted", ""), fc.string({ maxLength: 12 })),
          timestamp: fc.oneof(validTimestamp, componentTimestampNoKnownBug, fc.constant("")),
          customEventName: fc.oneof(fc.constant(""), fc.string({ maxLength: 140 })),
          eventId: fc.oneof(fc.constant(""), fc.string({ maxLength: 70 })),
          customdata: fc.option(smallCustomdata as fc.Arbitrary<JsonObject>, { nil: undefined }),
        }),
        { maxLength: 6 },
      ),
    });
    fc.assert(
      fc.property(fc.oneof(message.map((m) => ({ m })), fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ bytes }))), (input) => {
        let plain: unknown;
        if ("m" in input) {
          const msg = create(IngestEventsRequestSchema, input.m);
          plain = requestToPlain(fromBinary(IngestEventsRequestSchema, toBinary(IngestEventsRequestSchema, msg)));
        } else {
          try {
            plain = requestToPlain(fromBinary(IngestEventsRequestSchema, input.bytes));
          } catch {
            return; // not a message: the transport refuses it before validation
          }
        }
        checkInput(plain, defaultCustomdataLimits, "protobuf");
      }),
      { numRuns: 500 },
    );
  });

  describe("parseTimestamp", () => {
    function agrees(value: string): void {
      const started = performance.now();
      const parsed = parseTimestamp(value);
      const ms = performance.now() - started;
      assert.ok(ms < 50, `parseTimestamp took ${ms.toFixed(1)} ms`);
      const expected = oracleTimestamp(value);
      if (expected === undefined) {
        assert.equal(typeof parsed, "string", `${JSON.stringify(value.slice(0, 60))} is not a storable ISO 8601 instant, but was read as ${JSON.stringify(parsed)}`);
        assert.ok((parsed as string).length > 0);
      } else {
        assert.deepEqual(parsed, expected, `${value} read as another instant`);
      }
    }

    it("agrees with the calendar on valid timestamps across 1970-9999 and every offset", () => {
      fc.assert(fc.property(validTimestamp, agrees), { numRuns: 1000 });
    });

    it("agrees on component-wise out-of-range timestamps (month 13, day 32, 24:00, +24:00, years 0000-0199)", () => {
      // Regression test of a fixed bug (src/ingest/timestamp.ts, parseTimestamp: `Date.UTC(year, ...)`):
      // Date.UTC maps years 0-99 to 1900-1999, so "0070-01-01T00:00:00Z" is read
      // as 1970-01-01 and "0099-12-31T23:59:59Z" as 1999-12-31 instead of being
      // refused as before 1970. fast-check shrinks to such a year.
      fc.assert(fc.property(componentTimestamp, agrees), {
        numRuns: 2000,
        examples: [["0070-01-01T00:00:00Z"], ["0099-12-31T23:59:59+05:00"], ["1969-12-31T23:30:00-01:00"], ["9999-12-31T23:59:59.999999Z"]],
      });
    });

    it("agrees on arbitrary and mutated strings, and stays fast on huge ones", () => {
      const mutated = fc.tuple(validTimestamp, fc.nat(40), fc.string({ unit: "binary", maxLength: 3 })).map(([t, at, s]) => t.slice(0, at % (t.length + 1)) + s + t.slice((at % (t.length + 1)) + 1));
      fc.assert(
        fc.property(
          fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: "binary", maxLength: 40 }), mutated, fc.integer({ min: 1000, max: 1_000_000 }).map((n) => "2026-01-01T00:00:00." + "9".repeat(n) + "Z")),
          agrees,
        ),
        { numRuns: 1000 },
      );
    });
  });
});
