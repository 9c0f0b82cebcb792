/**
 * Differential test of the gateway's one-pass check of JSON request bodies
 * (src/ingest/json-batch-check.ts) against the exact path it stands in for,
 * parseJsonBody + checkBatch: whatever it accepts, that path accepts with the
 * same summary, under every limit; and it is sure of every valid batch a client
 * writes with JSON.stringify, within what its doc comment promises. Its reading
 * form for the worker, readJsonBatch, is held at the same time to the same
 * verdict and to validateBatch's events, customdata as JSON.stringify writes it.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { ValidationError } from "../../src/errors.js";
import type { CustomdataLimits } from "../../src/ingest/customdata-limits.js";
import { checkJsonBatch, checkProtoJsonBatch, jsonBatchEventsOf, readJsonBatch, type JsonBatchEvents } from "../../src/ingest/json-batch-check.js";
import { parseJsonBody } from "../../src/ingest/json-body.js";
import { requestToPlain } from "../../src/ingest/request-to-plain.js";
import { rpcJsonOptions } from "../../src/server/rpc-json-options.js";
import { createMethodSerializationLookup } from "@connectrpc/connect/protocol";
import { IngestService } from "../../gen/playsmart/ingest/v1/ingest_pb.js";
import { checkBatch, validateBatch, type BatchSummary } from "../../src/ingest/validate-batch.js";
import "../fuzz/arbitraries.js"; // FUZZ_SEED
import { mutatedBytes } from "../helpers/mutated-bytes.js";
import { limitSets, mostly } from "../helpers/one-pass-limits.js";

/** The exact path's summary, or its error's violations as text. */
function exact(body: Buffer, limits: CustomdataLimits): BatchSummary | string {
  try {
    return checkBatch(parseJsonBody(body), limits);
  } catch (err) {
    if (err instanceof ValidationError) return JSON.stringify(err.violations);
    throw err;
  }
}

/** The exact path's events as readJsonBatch gives them, or its error's violations as text. */
function exactEvents(body: Buffer, limits: CustomdataLimits): JsonBatchEvents | string {
  try {
    return jsonBatchEventsOf(validateBatch(parseJsonBody(body), limits));
  } catch (err) {
    if (err instanceof ValidationError) return JSON.stringify(err.violations);
    throw err;
  }
}

// Connect's own reading of a JSON IngestEvents request, with the gateway's options.
const connectJson = createMethodSerializationLookup(IngestService.method.ingestEvents, undefined, rpcJsonOptions, { readMaxBytes: 0xffffffff, writeMaxBytes: 0xffffffff }).getI(false);

/** A Connect JSON request's exact path: connect's parse, then checkBatch of the message; its summary or its refusal as text. */
function exactProto(body: Buffer, limits: CustomdataLimits): BatchSummary | string {
  let message;
  try {
    message = connectJson.parse(body);
  } catch (err) {
    return `not decoded: ${String(err)}`;
  }
  try {
    return checkBatch(requestToPlain(message), limits);
  } catch (err) {
    if (err instanceof ValidationError) return JSON.stringify(err.violations);
    throw err;
  }
}

let sureProto = 0;

/**
 * Holds checkProtoJsonBatch to connect's parse + checkBatch: whatever it
 * accepts, they accept with the same summary; and it is never sure where
 * checkJsonBatch is not.
 */
function soundProto(body: Buffer, limits: CustomdataLimits, loose: BatchSummary | undefined): boolean {
  const quick = checkProtoJsonBatch(body, limits);
  if (quick === undefined) return false;
  const printed = JSON.stringify(body.toString("latin1"));
  assert.deepEqual(loose, quick, `sure for Connect, not for REST: ${printed}`);
  assert.deepEqual(exactProto(body, limits), quick, `accepted what connect + checkBatch do not, or summed it up differently: ${printed}`);
  sureProto++;
  return true;
}

/** Holds checkJsonBatch and readJsonBatch to the exact path, and checkProtoJsonBatch to its own; returns whether the first were sure. */
function sound(body: Buffer, limits: CustomdataLimits): boolean {
  const quick = checkJsonBatch(body, limits);
  soundProto(body, limits, quick);
  const read = readJsonBatch(body, limits);
  const printed = JSON.stringify(body.toString("latin1"));
  assert.deepEqual(read && { userId: read.userId, gameId: read.gameId, eventCount: read.eventCount, ...(read.sentAt ? { sentAt: read.sentAt } : {}) }, quick, `readJsonBatch and checkJsonBatch differ: ${printed}`);
  if (quick === undefined) return false;
  assert.deepEqual(exact(body, limits), quick, `accepted what the exact path does not, or summed it up differently: ${printed}`);
  assert.deepEqual(read, exactEvents(body, limits), `read events differently from validateBatch: ${printed}`);
  return true;
}

// JSON text as a tree whose keys and leaves are already written, so that
// escapes, repeated keys and even broken text are the test's to choose.
type Json = string | { obj: Member[] } | { arr: Json[] };
type Member = [string, Json];
const q = (s: string) => JSON.stringify(s);

/** Writes `j`, putting the whitespace of `ws` in turn wherever JSON allows it. */
function print(j: Json, ws: readonly string[]): string {
  let n = 0;
  const w = () => ws[n++ % ws.length]!;
  const go = (v: Json): string => {
    if (typeof v === "string") return v;
    if ("arr" in v) return `[${w()}${v.arr.map(go).join(`${w()},${w()}`)}${w()}]`;
    return `{${w()}${v.obj.map(([k, x]) => `${k}${w()}:${w()}${go(x)}`).join(`${w()},${w()}`)}${w()}}`;
  };
  return w() + go(j) + w();
}
const whitespace = fc.array(fc.constantFrom("", "", "", "", " ", "\t", "\n", "\r\n", " \t\r\n "), { minLength: 1, maxLength: 24 });

// A field by either of its names, or missing, by both names, repeated, null,
// or null by one name and set by the other (which Protobuf JSON reads as set).
const named = (a: string, b: string, value: fc.Arbitrary<Json>): fc.Arbitrary<Member[]> =>
  fc.oneof(
    { weight: 50, arbitrary: fc.tuple(fc.constantFrom(a, b), value).map(([n, v]): Member[] => [[q(n), v]]) },
    { weight: 1, arbitrary: fc.constant<Member[]>([]) },
    { weight: 1, arbitrary: fc.tuple(value, value).map(([v, w]): Member[] => [[q(a), v], [q(b), w]]) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(a, b), value, value).map(([n, v, w]): Member[] => [[q(n), v], [q(n), w]]) },
    { weight: 1, arbitrary: fc.constantFrom(a, b).map((n): Member[] => [[q(n), "null"]]) },
    { weight: 1, arbitrary: fc.tuple(fc.boolean(), value).map(([first, v]): Member[] => (first ? [[q(a), "null"], [q(b), v]] : [[q(b), v], [q(a), "null"]])) },
  );
/** An unknown member, one time in ten. */
const rarely = (member: fc.Arbitrary<Member>) => fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: member });
const rotate = <T,>(xs: T[], by: number): T[] => (xs.length === 0 ? xs : [...xs.slice(by % xs.length), ...xs.slice(0, by % xs.length)]);

const numbers = ["0", "-0", "1.50", "1e5", "1E-7", "0.0000001", "0.000001", "-0.0000015", "12345678901234567890", "1e400", "-1e400", "1e-400", "0.1", "-12.5", "1.0", "-0.0", "1e21", "123456789012345", "-123456789012345", "1234567890123456", "12345678901234567", "123456789.012345", "1234567890.1234567", "0.30000000000000004", "01", "1.", "+1", "-", ".5", "1e", "0x10"];
const strings = [q(""), '"a\\"b"', '"a\\\\b"', '"a\\/b"', '"a\\nb"', '"\\b\\f\\r\\t"', '"\\u00e9"', '"\\ud83d\\ude00"', '"\\ud800"', '"\\u12"', '"\\x41"', q("é"), q("\u{1F600}"), '"é\\n"', q("x".repeat(40)), '"tab\there"', '"unterminated'];
const keys = [q("a"), q("b"), q("é"), q("\u{1F600}"), q("__proto__"), q("constructor"), q(""), '"k\\"q"', '"\\u0061"', "a", "1"];
const leaf: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom(...numbers),
  fc.constantFrom("true", "false", "null", "nul", "True"),
  fc.constantFrom(...strings),
  fc.string({ unit: "grapheme", maxLength: 6 }).map(q),
  fc.oneof(fc.integer(), fc.double()).map((x) => JSON.stringify(x)),
);
const { value: cdValue } = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc.array(fc.tuple(fc.oneof(fc.constantFrom(...keys), fc.string({ unit: "grapheme", maxLength: 4 }).map(q)), tie("value")), { maxLength: 5 }).map((obj): Json => ({ obj })),
    fc.array(tie("value"), { maxLength: 4 }).map((arr): Json => ({ arr })),
  ),
}));
// Wide objects, and nesting near every maxDepth.
const wide = fc.constantFrom(15, 16, 17).map((n): Json => ({ obj: Array.from({ length: n }, (_, i): Member => [q(`k${i}`), "1"]) }));
const deep = fc.tuple(fc.integer({ min: 0, max: 17 }), fc.boolean()).map(([n, arrays]) => {
  let v: Json = "1";
  for (let i = 0; i < n; i++) v = arrays && i % 2 === 0 ? { arr: [v] } : { obj: [[q("d"), v]] };
  return v;
});
// A padding string that brings the size near maxBytes 12 and 80.
const member = fc.tuple(fc.constantFrom(q("a"), q("b"), q("c"), q("é")), fc.oneof({ weight: 6, arbitrary: cdValue }, { weight: 1, arbitrary: wide }, { weight: 1, arbitrary: deep }));
const customdata: fc.Arbitrary<Json> = mostly(
  fc.tuple(fc.option(fc.nat(80), { nil: undefined }), fc.array(member, { maxLength: 3 })).map(
    ([pad, members]): Json => ({ obj: pad === undefined ? members : [[q("pad"), q("x".repeat(pad))], ...members] }),
  ),
  ["null", "[]", q("s"), "1", "{}", '{"a":1,}', "{,}"],
);

const validTimestamps = ["2026-11-26T09:15:00Z", "2026-11-26T09:20:31.250+01:00", "2024-02-29T23:59:59.999999999-12:00", "9998-12-31T23:59:59Z"];
const timestamp: fc.Arbitrary<Json> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...validTimestamps).map(q) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      ...["2026-02-29T10:00:00Z", "2026-11-26T24:00:00Z", "1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-11-26 09:15:00Z", "2026-11-26T09:15:00.1234567890Z", "1971-01-01T00:00:00+23:59", "2026-11-26t09:15:00z"].map(q),
      '"2026-11-26T09:15:00\\u005a"',
    ),
  },
);
const types = ["AppOpen", "LevelCompleted", "GameEnd", "AdImpression", "IAPPurchase", "Custom"];
const edgyEvent: fc.Arbitrary<Json> = fc
  .tuple(
    named("type", "type", mostly(fc.constantFrom(...types).map(q), [q("levelcompleted"), q("APPOPEN"), q(""), q("Custom"), '"App\\u004fpen"', "1", '"AppOpen'])),
    named("timestamp", "timestamp", timestamp),
    fc.option(named("customEventName", "custom_event_name", mostly(fc.constant(q("ChestOpened")), ["", "x".repeat(128), "x".repeat(129), "Chest\u0001", "Trésor", "\uFEFF", "a\\b"].map(q).concat('"Chest\\/x"', '"Chest\u0001"'))), { freq: 2, nil: [] }),
    fc.option(named("event_id", "eventId", mostly(fc.uuid().map(q), ["", "a", "a", "x".repeat(64), "x".repeat(65), "id\u0007", "id\u007f", "idé", "\uFEFFa", "a\\b"].map(q).concat('"a\\/b"', '"id\u0007"', "7"))), { freq: 2, nil: [] }),
    fc.option(named("customdata", "customdata", customdata), { freq: 2, nil: [] }),
    rarely(fc.constantFrom<Member>([q("extra"), "1"], [q("Type"), q("AppOpen")], [q("event"), "{}"])),
    fc.nat(),
  )
  .map(([type, timestamp, name, id, cd, unknown, by]): Json => ({ obj: rotate([...type, ...timestamp, ...name, ...id, ...cd, ...(unknown ? [unknown] : [])], by) }));
const events: fc.Arbitrary<Json> = fc.oneof(
  { weight: 20, arbitrary: fc.array(edgyEvent, { minLength: 0, maxLength: 4 }).map((arr): Json => ({ arr })) },
  { weight: 1, arbitrary: fc.tuple(edgyEvent, fc.constantFrom(199, 200, 201)).map(([e, n]): Json => ({ arr: Array.from({ length: n }, () => e) })) },
);
const edgyBatch: fc.Arbitrary<Json> = fc
  .tuple(
    named("user_id", "userId", mostly(fc.constant(q("u-1")), ["", "x".repeat(64), "x".repeat(65), "ü-1", "u\u007f", "u\\1"].map(q).concat('"u\\/1"', '"u\u00011"', "7"))),
    named("game_id", "gameId", mostly(fc.constant(q("com.example.game")), ["nodots", "", "com.é.game"].map(q).concat('"com.example.g\\u0061me"'))),
    named("events", "events", events),
    fc.option(named("sent_at", "sentAt", mostly(fc.constant(q("2026-11-26T09:15:00.250+01:00")), ["", "soon", "2026-02-30T09:15:00Z", "2026-11-26T09:15:00z"].map(q).concat("5", "null"))), { freq: 2, nil: [] }),
    rarely(fc.constantFrom<Member>([q("extra"), "1"], [q("User_id"), q("u-2")])),
    fc.nat(),
  )
  .map(([user, game, evs, sent, unknown, by]): Json => ({ obj: rotate([...user, ...game, ...evs, ...sent, ...(unknown ? [unknown] : [])], by) }));
const edgyBody = fc.tuple(edgyBatch, whitespace).map(([j, ws]) => Buffer.from(print(j, ws), "utf8"));

// Batches as a client library writes them: JSON.stringify of valid events.
const text = fc.constantFrom<"grapheme-ascii" | "grapheme">("grapheme-ascii", "grapheme");
const clientEvent = fc.record({
  type: fc.constantFrom(...types),
  timestamp: fc.date({ min: new Date("1971-01-02T00:00:00Z"), max: new Date("9998-12-30T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString()),
  customdata: fc.option(
    text.chain((unit) => fc.dictionary(fc.string({ unit, maxLength: 10 }), fc.jsonValue({ maxDepth: 3, stringUnit: unit }), { maxKeys: 5 })),
    { nil: undefined },
  ),
  id: fc.option(fc.uuid(), { nil: undefined }),
});
/** Every key of every object in `v`. */
const keysOf = (v: unknown): string[] =>
  Array.isArray(v) ? v.flatMap(keysOf) : typeof v === "object" && v !== null ? Object.entries(v).flatMap(([k, x]) => [k, ...keysOf(x)]) : [];
type ClientEvent = typeof clientEvent extends fc.Arbitrary<infer E> ? E : never;
const clientBody = (evs: ClientEvent[], protoNames: boolean): Buffer =>
  Buffer.from(
    JSON.stringify({
      [protoNames ? "user_id" : "userId"]: "7d3c2a8e-1f0b-4c55-9a57-2b8d6f0e4a11",
      [protoNames ? "game_id" : "gameId"]: "com.example.game",
      events: evs.map((e) => ({
        type: e.type,
        timestamp: e.timestamp,
        ...(e.customdata === undefined ? {} : { customdata: e.customdata }),
        ...(e.type === "Custom" ? { [protoNames ? "custom_event_name" : "customEventName"]: "ChestOpened" } : {}),
        ...(e.id === undefined ? {} : { [protoNames ? "event_id" : "eventId"]: e.id }),
      })),
    }),
  );
const clientBatch = fc.tuple(fc.array(clientEvent, { minLength: 1, maxLength: 20 }), fc.boolean());
// Short ones, mostly sure of, for mutations to break.
const smallClientBody = fc.tuple(fc.array(clientEvent, { minLength: 1, maxLength: 3 }), fc.boolean()).map(([evs, protoNames]) => clientBody(evs, protoNames));

// A body whose customdata holds `bytes`, not UTF-8 or not JSON, in a value or a key.
const withBytes = (inKey: boolean, bytes: number[]): Buffer => {
  const customdata = inKey ? '{"k@":1}' : '{"k":"a@b"}';
  const [head, tail] = `{"user_id":"u-1","game_id":"com.example.game","events":[{"type":"AppOpen","timestamp":"2026-11-26T09:15:00Z","customdata":${customdata}}]}`.split("@");
  return Buffer.concat([Buffer.from(head!), Buffer.from(bytes), Buffer.from(tail!)]);
};
const oddBytes = [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xff], [0xc3, 0xa9], [0xf0, 0x9f, 0x98, 0x80], [0xef, 0xbb, 0xbf], [0x00], [0x1f], [0x7f]];

describe("checkJsonBatch (differential against parseJsonBody + checkBatch)", () => {
  after(() => {
    // The Connect check was held to its exact path all along: not vacuously.
    assert.ok(sureProto > 300, `checkProtoJsonBatch was sure of only ${sureProto} batches`);
  });

  it("accepts only what the exact path accepts, with the same summary, near every rule's edge", () => {
    let sure = 0;
    fc.assert(
      fc.property(edgyBody, (body) => {
        for (const limits of limitSets) if (sound(body, limits)) sure++;
      }),
      { numRuns: 3000 },
    );
    assert.ok(sure > 300, `sure of only ${sure} batches`);
  });

  it("accepts only what the exact path accepts on mutated bytes, cut and padded bodies and bad UTF-8", () => {
    let sure = 0;
    fc.assert(
      fc.property(mutatedBytes(fc.oneof(edgyBody, smallClientBody), 3), (bytes) => {
        for (const limits of limitSets) if (sound(Buffer.from(bytes), limits)) sure++;
      }),
      { numRuns: 3000 },
    );
    const framed = fc.tuple(edgyBody, fc.nat(), fc.constantFrom("cut", "x", "{}", ",", " \t\r\n", "\uFEFF", "\u00a0", "\u0000")).map(([body, at, how]) =>
      how === "cut" ? body.subarray(0, at % (body.length + 1)) : how === "\uFEFF" ? Buffer.concat([Buffer.from(how), body]) : Buffer.concat([body, Buffer.from(how)]),
    );
    fc.assert(
      fc.property(framed, (body) => {
        for (const limits of limitSets) if (sound(body, limits)) sure++;
      }),
      { numRuns: 1500 },
    );
    for (const bytes of oddBytes) for (const inKey of [false, true]) for (const limits of limitSets) sound(withBytes(inKey, bytes), limits);
    assert.ok(sure > 40, `sure of only ${sure} batches`);
  });

  it("accepts only what the exact path accepts for every timestamp one byte away from a valid one", () => {
    // Timestamps are read by byte position, without a string: each byte at each
    // position must be judged as the exact path judges it.
    for (const ts of validTimestamps) {
      const body = Buffer.from(`{"user_id":"u-1","game_id":"com.example.game","events":[{"type":"AppOpen","timestamp":"${ts}"}]}`, "latin1");
      const from = body.indexOf(ts, 0, "latin1");
      for (let at = from; at < from + ts.length; at++) {
        const was = body[at]!;
        for (let byte = 0; byte < 256; byte++) {
          body[at] = byte;
          sound(body, limitSets[0]!);
        }
        body[at] = was;
      }
    }
  });

  it("is sure of every valid batch a client writes with JSON.stringify", () => {
    fc.assert(
      fc.property(clientBatch, ([evs, protoNames]) => {
        const ids = evs.flatMap((e) => (e.id === undefined ? [] : [e.id]));
        fc.pre(new Set(ids).size === ids.length);
        const body = clientBody(evs, protoNames);
        const limits = { maxDepth: 16, maxBytes: 64 * 1024 };
        assert.ok(typeof exact(body, limits) !== "string", "the batch is valid");
        assert.ok(sound(body, limits), `not sure of a valid batch: ${body.toString()}`);
        // Connect's check leaves keys with escapes to the exact path.
        const plainKeys = evs.every((e) => keysOf(e.customdata).every((k) => JSON.stringify(k) === `"${k}"`));
        if (plainKeys) assert.ok(soundProto(body, limits, checkJsonBatch(body, limits)), `Connect's check not sure of a valid batch: ${body.toString()}`);
      }),
      { numRuns: 500 },
    );
  });

  it("checkProtoJsonBatch: not sure of a key repeated in one customdata object, as connect refuses it", () => {
    const limits = limitSets[0]!;
    const cd = (customdata: string) =>
      Buffer.from(`{"user_id":"u-1","game_id":"com.example.game","events":[{"type":"AppOpen","timestamp":"2026-11-26T09:15:00Z","customdata":${customdata}}]}`);
    const summary = { userId: "u-1", gameId: "com.example.game", eventCount: 1 };
    const keys = (n: number) => `{${Array.from({ length: n }, (_, i) => `"k${i}":${i}`).join(",")}}`;
    const sure = ['{"a":{"x":1},"b":{"x":2,"y":[{"x":3},{"x":4}]}}', '{"__proto__":{"x":1},"constructor":null}', '{"é":1,"e":2}', keys(64)];
    for (const customdata of sure) {
      assert.deepEqual(checkProtoJsonBatch(cd(customdata), limits), summary, customdata);
      assert.deepEqual(exactProto(cd(customdata), limits), summary, customdata);
    }
    const repeated = ['{"a":1,"a":2}', '{"a":{"x":1,"x":2}}', '{"a":[{"x":1,"x":2}]}', '{"\\u0061":1,"a":2}', '{"a\\/b":1,"a/b":2}'];
    for (const customdata of repeated) {
      assert.equal(checkProtoJsonBatch(cd(customdata), limits), undefined, customdata);
      assert.match(String(exactProto(cd(customdata), limits)), /duplicate object key/, customdata);
      assert.deepEqual(checkJsonBatch(cd(customdata), limits), summary, `REST keeps the last: ${customdata}`);
    }
    // Left to the exact path although connect accepts them: escaped keys, very wide objects.
    for (const customdata of ['{"k\\"q":1}', keys(65)]) {
      assert.equal(checkProtoJsonBatch(cd(customdata), limits), undefined, customdata);
      assert.deepEqual(exactProto(cd(customdata), limits), summary, customdata);
    }
  });

  it("sums up a plain batch, is not sure of each broken rule, of 0 or 201 events, and is sure of 200", () => {
    const limits = limitSets[0]!;
    const ok = '{"type":"AppOpen","timestamp":"2026-11-26T09:15:00Z"}';
    const body = (events: string[], user = '"user_id":"u-1"', game = '"game_id":"com.example.game"') => Buffer.from(`{${user},${game},"events":[${events.join(",")}]}`);
    const quick = (b: Buffer, l = limits) => checkJsonBatch(b, l);
    assert.deepEqual(quick(body([ok])), { userId: "u-1", gameId: "com.example.game", eventCount: 1 });
    // Whose batch it is, is the caller's to check against the token.
    assert.deepEqual(quick(body([ok], '"userId":"someone-else"', '"gameId":"org.other.game"')), { userId: "someone-else", gameId: "org.other.game", eventCount: 1 });
    const many = (n: number) => Array.from({ length: n }, (_, i) => `{"type":"AppOpen","timestamp":"2026-11-26T09:15:00Z","event_id":"e-${i}"}`);
    assert.equal(quick(body(many(200)))?.eventCount, 200);
    assert.equal(quick(body(many(201))), undefined);
    assert.equal(quick(body([])), undefined);
    const airy = Buffer.from(' \r\n{\t"userId" :\n"u-1" ,\r\n "gameId":"com.example.game",\n\t"events" : [ { "type" : "Custom" , "customEventName" : "ChestOpened" ,\n "timestamp":"2026-11-26T09:15:00Z", "customdata" : { "a" : [ 1 , -0 , 1.50 , "é" , "\\n" ] , "b" : { } } } ]\n}\r\n\t ');
    assert.deepEqual(quick(airy), { userId: "u-1", gameId: "com.example.game", eventCount: 1 });
    assert.deepEqual(exact(airy, limits), quick(airy));
    // Valid, but a field by both its names is left to the exact path.
    assert.equal(quick(body([ok], '"user_id":"u-1","userId":"u-1"')), undefined);
    // Repeated keys, wide objects, "__proto__" and escaped keys in customdata:
    // a repeated key is counted with each value, never less than JSON.parse keeps.
    const cd = (customdata: string) => body([`{"type":"AppOpen","timestamp":"2026-11-26T09:15:00Z","customdata":${customdata}}`]);
    const wideObject = `{${Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(",")}}`;
    for (const customdata of ['{"a":1,"a":2}', '{"__proto__":{"x":1}}', '{"k\\"q":1,"\\u00e9":"\\n"}', wideObject]) {
      assert.deepEqual(quick(cd(customdata)), { userId: "u-1", gameId: "com.example.game", eventCount: 1 }, customdata);
      assert.deepEqual(exact(cd(customdata), limits), quick(cd(customdata)), customdata);
    }
    // Sizes at the limit: {"a":"xyz"} counts 12 bytes (customdataProblem counts
    // a comma per key); a repeated key counts twice.
    assert.ok(quick(cd('{"a":"xyz"}'), { maxDepth: 2, maxBytes: 12 }));
    assert.equal(quick(cd('{"a":"xyz"}'), { maxDepth: 2, maxBytes: 11 }), undefined);
    assert.equal(typeof exact(cd('{"a":"xyz"}'), { maxDepth: 2, maxBytes: 11 }), "string");
    assert.equal(quick(cd('{"a":"","a":"xyz"}'), { maxDepth: 2, maxBytes: 12 }), undefined);
    const broken: Array<[string, Buffer]> = [
      ["no user_id", body([ok], '"user":"u-1"')],
      ["a user_id of 65 characters", body([ok], `"user_id":"${"u".repeat(65)}"`)],
      ["a game_id without dots", body([ok], undefined, '"game_id":"nodots"')],
      ["unknown type", body(['{"type":"Levelcompleted","timestamp":"2026-11-26T09:15:00Z"}'])],
      ["no type", body(['{"timestamp":"2026-11-26T09:15:00Z"}'])],
      ["no timestamp", body(['{"type":"AppOpen"}'])],
      ["February 30", body(['{"type":"AppOpen","timestamp":"2026-02-30T10:00:00Z"}'])],
      ["hour 24", body(['{"type":"AppOpen","timestamp":"2026-11-26T24:00:00Z"}'])],
      ["a non-digit as the year's last digit", body(['{"type":"AppOpen","timestamp":"300x-11-26T09:15:00Z"}'])],
      ["offset minutes 60", body(['{"type":"AppOpen","timestamp":"2026-11-26T09:15:00+01:60"}'])],
      ["Custom without a name", body(['{"type":"Custom","timestamp":"2026-11-26T09:15:00Z"}'])],
      ["Custom with an empty name", body(['{"type":"Custom","timestamp":"2026-11-26T09:15:00Z","customEventName":""}'])],
      ["a name of 129 characters", body([`{"type":"AppOpen","timestamp":"2026-11-26T09:15:00Z","customEventName":"${"n".repeat(129)}"}`])],
      ["an id of 65 characters", body([`{"type":"AppOpen","timestamp":"2026-11-26T09:15:00Z","event_id":"${"i".repeat(65)}"}`])],
      ["an escaped control character in an id", body(['{"type":"AppOpen","timestamp":"2026-11-26T09:15:00Z","event_id":"a\\u0000b"}'])],
      ["customdata nested too deep", body(['{"type":"AppOpen","timestamp":"2026-11-26T09:15:00Z","customdata":{"a":{"b":{}}}}'])],
      ["customdata an array", body(['{"type":"AppOpen","timestamp":"2026-11-26T09:15:00Z","customdata":[]}'])],
      ["a number out of range", body(['{"type":"AppOpen","timestamp":"2026-11-26T09:15:00Z","customdata":{"a":1e400}}'])],
      ["a trailing comma", body([ok + ","])],
      ["text after the body", Buffer.concat([body([ok]), Buffer.from("{}")])],
    ];
    for (const [what, b] of broken) {
      assert.equal(quick(b, { maxDepth: 2, maxBytes: 1024 }), undefined, what);
      assert.equal(typeof exact(b, { maxDepth: 2, maxBytes: 1024 }), "string", `${what} is refused by the exact path`);
    }
    // A field by both names where JSON.parse and a last-one-wins reading differ:
    // checkBatch takes the proto name's value unless it is null.
    const both: Array<[string, Buffer]> = [
      ["ids by both names", body(['{"type":"AppOpen","timestamp":"2026-11-26T09:15:00Z","event_id":"x","eventId":"y"}', '{"type":"AppOpen","timestamp":"2026-11-26T09:15:00Z","event_id":"x"}'])],
      ["names by both names", body(['{"type":"Custom","timestamp":"2026-11-26T09:15:00Z","customEventName":"","custom_event_name":"X"}'])],
      ["type twice", body(['{"type":"AppOpen","timestamp":"2026-11-26T09:15:00Z","type":"Custom"}'])],
      ["user_id and userId", body([ok], '"userId":"u-2","user_id":"u-1","userId":"u-1"')],
    ];
    for (const [what, b] of both) {
      assert.equal(quick(b), undefined, what);
      if (what !== "user_id and userId") assert.equal(typeof exact(b, limits), "string", `${what} is refused by the exact path`);
    }
    // Escapes and non-ASCII in one customdata string: exact sizes, and UTF-8 still checked.
    const mixed = cd('{"a":"\\n\u00e9\\u00e9\u{1F600}"}');
    assert.ok(quick(mixed, { maxDepth: 2, maxBytes: 14 }));
    assert.equal(quick(mixed, { maxDepth: 2, maxBytes: 13 }), undefined);
    assert.equal(typeof exact(mixed, { maxDepth: 2, maxBytes: 13 }), "string");
    const badUtf8 = Buffer.concat([cd('{"a":"\\n@"}').subarray(0, 0), Buffer.from(cd('{"a":"\\n@"}').toString("latin1").replace("@", "\xff"), "latin1")]);
    assert.equal(quick(badUtf8), undefined, "invalid UTF-8 next to an escape");
    assert.match(String(exact(badUtf8, limits)), /not valid UTF-8/);
    // The events as read for the worker: customdata is the body's own text
    // where JSON.stringify would write it the same, and written again where not.
    for (const customdata of [
      '{"a":1,"a":2}', '{"b":1,"1":2}', '{"b":1,"0x":2}', '{"a":{"a":1},"b":{"a":2,"c":[{"a":3},{"a":4}]}}', '{"a":{"x":1,"x":2},"x":3}',
      '{"k\\"q":"\\n\\t\\"\\\\é\u{1F600}\u2028"}', '{"a":"\\/"}', '{"a":"\\u00e9\\u001f"}', '{"a":1.50}', '{"a":1e5}', '{"a":-0}', '{"a":0.000001}', '{"a":0.0000001}',
      '{"a":123456789012345,"b":-12.5,"c":1234567890123456}', '{ "a":1}', '{"a" :1}', '{"a":[1, 2]}', '{"__proto__":{"x":1},"constructor":null}', wideObject,
      `{${Array.from({ length: 70 }, (_, i) => `"k${i}":${i}`).join(",")}}`,
    ]) {
      const read = readJsonBatch(cd(customdata), limits);
      assert.equal(read?.events[0]?.customdataJson, JSON.stringify(JSON.parse(customdata)), customdata);
      assert.deepEqual(read, exactEvents(cd(customdata), limits), customdata);
    }
    const full = readJsonBatch(body(['{"type":"Custom","customEventName":"ChestOpened","timestamp":"2026-11-26T09:15:00.5+01:00","eventId":"e-1","customdata":{"a":1}}', ok]), limits);
    assert.deepEqual(full?.events, [
      { type: "Custom", timestamp: "2026-11-26T09:15:00.5+01:00", customEventName: "ChestOpened", eventId: "e-1", customdataJson: '{"a":1}' },
      { type: "AppOpen", timestamp: "2026-11-26T09:15:00Z", customEventName: undefined, eventId: undefined, customdataJson: undefined },
    ]);
    const dup = ["same", "other", "same"].map((id) => `{"type":"AppOpen","timestamp":"2026-11-26T09:15:00Z","eventId":"${id}"}`);
    assert.equal(quick(body(dup)), undefined, "a repeated id");
    assert.match(String(exact(body(dup), limits)), /appears twice/);
  });
});
